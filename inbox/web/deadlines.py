"""Deadline pages: set a thread's deadline, my deadlines, alert settings, a mailbox's business hours, stuck alert mail."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, TimeField
from wtforms.validators import Optional

from inbox.db import utcnow
from inbox.models import Role, Thread, User
from inbox.services import alert_log, alerts, categories, deadlines
from inbox.services.access import get_thread, require_role, visible_mailboxes
from inbox.services.business_hours import WEEKDAYS
from inbox.services.errors import InvalidInput
from inbox.web import db, localtime, user_zone
from inbox.web.errors import translated

bp = Blueprint("deadlines", __name__, url_prefix="/deadlines")
QUICK_PICKS = ("today", "tomorrow", "+2bd", "+3bd", "+5bd")
RULE_ROWS_EXTRA = 2


class DeadlineForm(FlaskForm):
    day = DateField(validators=[Optional()])
    at = TimeField(validators=[Optional()])


class AlertSettingsForm(FlaskForm):
    digest = BooleanField()


def _me() -> User:
    return current_user._get_current_object()


def _now():
    if "deadline_now" not in g:
        g.deadline_now = utcnow()
    return g.deadline_now


def _stage(thread: Thread) -> str:
    """The badge stage of ``thread`` now, by its team's calendar (calendars cached per request)."""
    cache = g.setdefault("deadline_calendars", {})
    if thread.mailbox_id not in cache:
        cache[thread.mailbox_id] = deadlines.calendar_for(thread.mailbox)
    return deadlines.stage_of(thread, _now(), cache[thread.mailbox_id]).value


def _badges() -> dict[str, int] | None:
    """The header counts; computed at most once per request, only when a page shows them."""
    if not current_user.is_authenticated:
        return None
    if "deadline_badges" not in g:
        g.deadline_badges = deadlines.badge_counts(db(), _me(), _now())
    return g.deadline_badges


@bp.app_template_filter("isotime")
def isotime(value: str | None) -> str:
    """A stored ISO 8601 time (event data) in the viewer's timezone; "" when unreadable."""
    try:
        return localtime(datetime.fromisoformat(value or ""))
    except (TypeError, ValueError):
        return ""


@bp.app_context_processor
def _template_helpers() -> dict:
    return {"deadline_stage": _stage, "deadline_badges": _badges, "deadline_picks": QUICK_PICKS}


@bp.post("/threads/<int:thread_id>")
@login_required
def set_thread(thread_id: int):
    session, me, form = db(), _me(), DeadlineForm()
    thread = get_thread(session, me, thread_id)
    try:
        if not form.validate():
            raise InvalidInput(_("Enter the date as YYYY-MM-DD and the time as HH:MM."))
        if request.form.get("action") == "clear":
            deadlines.clear_by_hand(session, thread, actor_id=me.id, now=_now())
        else:
            cal = deadlines.calendar_for(thread.mailbox)
            due = deadlines.due_from_input(
                cal,
                now=_now(),
                pick=request.form.get("pick"),
                day=form.day.data,
                at=form.at.data,
                zone=user_zone(),
            )
            deadlines.set_by_hand(session, thread, due, actor_id=me.id, now=_now())
            if request.form.get("pick") == "today" and cal.to_local(due).date() != cal.to_local(_now()).date():
                # 本日 pressed after business hours (or on a closed day): say where it went
                flash(
                    _("No business hours are left today, so the deadline moved to the next business day: %(when)s.",
                      when=localtime(due)),
                    "info",
                )  # fmt: skip
    except InvalidInput as exc:
        flash(translated(exc), "error")
    else:
        session.commit()
        flash(_("Deadline saved."), "info")
    return redirect(url_for("thread.show", thread_id=thread.id))


@bp.get("/mine")
@login_required
def mine():
    threads = deadlines.my_deadlines(db(), _me())
    return render_template("deadlines/mine.html", threads=threads)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    me, form = _me(), AlertSettingsForm(digest=_me().alert_digest)
    if form.validate_on_submit():
        require_role(me, Role.LEAD, Role.ADMIN)
        user = db().merge(me)
        user.alert_digest = bool(form.digest.data)
        db().commit()
        flash(_("Settings saved."), "info")
        return redirect(url_for("deadlines.settings"))
    return render_template("deadlines/settings.html", form=form, may_digest=me.role != Role.AGENT)


@bp.get("/mailboxes")
@login_required
def mailboxes():
    me = _me()
    require_role(me, Role.LEAD, Role.ADMIN)
    return render_template("deadlines/mailboxes.html", mailboxes=visible_mailboxes(db(), me))


def _calendar_input() -> dict:
    """The calendar form's fields, in the shape ``deadlines.save_calendar`` takes."""
    f = request.form
    columns = [f.getlist(f"rule_{k}") for k in ("amount", "unit", "tag", "priority")]
    rows = [
        dict(zip(("amount", "unit", "tag", "priority"), r, strict=True))
        for r in zip(*columns, strict=False)
    ]
    for key in ("category", "name", "customer_vip"):  # optional columns (a form without them still saves)
        for row, value in zip(rows, f.getlist(f"rule_{key}"), strict=False):
            row[key] = value
    return {
        "timezone": f.get("timezone", ""),
        "hours": {wd: f.get(f"hours_{wd}", "") for wd in WEEKDAYS},
        "closed": f.get("closed", ""),
        "jp_holidays": bool(f.get("jp_holidays")),
        "rules": rows,
    }


@bp.route("/mailboxes/<int:mailbox_id>", methods=["GET", "POST"])
@login_required
def mailbox(mailbox_id: int):
    session, me, form = db(), _me(), FlaskForm()
    box = deadlines.editable_mailbox(session, me, mailbox_id)
    values, status = deadlines.calendar_form(box), 200
    if form.validate_on_submit():
        values = _calendar_input()
        try:
            deadlines.save_calendar(session, box, **values, actor_id=me.id, now=_now())
        except InvalidInput as exc:
            for problem in getattr(exc, "problems", [exc]):  # every problem, not the first only
                flash(translated(problem), "error")
            status = 400
        else:
            session.commit()
            flash(_("Business hours saved."), "info")
            return redirect(url_for("deadlines.mailbox", mailbox_id=box.id))
    return render_template(
        "deadlines/mailbox.html",
        mailbox=box,
        categories=categories.choices(session, box.id),
        form=form,
        values=values,
        weekdays=WEEKDAYS,
        extra_rows=RULE_ROWS_EXTRA,
    ), status


@bp.get("/admin/outbox")
@login_required
def stuck_alerts():
    require_role(_me(), Role.ADMIN)
    return render_template(
        "deadlines/outbox.html", items=alerts.stuck_items(db()), form=FlaskForm()
    )


@bp.post("/admin/outbox/<int:item_id>/resend")
@login_required
def resend(item_id: int):
    me, session = _me(), db()
    require_role(me, Role.ADMIN)
    alerts.resend(session, item_id, actor_id=me.id, now=_now())
    session.commit()
    flash(_("The alert mail is queued again."), "info")
    return redirect(url_for("deadlines.stuck_alerts"))


def _day_arg(key: str, problems: list[str]) -> datetime | None:
    """A YYYY-MM-DD query value as the start of that day in the viewer's zone (UTC)."""
    value = request.args.get(key, "").strip()
    if not value:
        return None
    try:
        day = datetime.strptime(value[:10], "%Y-%m-%d").date()
    except ValueError:
        problems.append(_("Enter dates as YYYY-MM-DD."))
        return None
    return datetime.combine(day, time(0), tzinfo=user_zone()).astimezone(UTC)


@bp.get("/alerts")
@login_required
def sent_alerts():
    """Deadline alerts sent, newest first: leads see their mailboxes', admins every mailbox's."""
    me, session, problems = _me(), db(), []
    mailbox = request.args.get("mailbox", "")
    before = request.args.get("before", "")
    since, until = _day_arg("since", problems), _day_arg("until", problems)
    flt = alert_log.AlertFilter(
        mailbox_id=int(mailbox) if mailbox.isdigit() and len(mailbox) < 19 else None,
        since=since,
        until=until + timedelta(days=1) if until else None,  # the "until" day is included
    )
    before_id = int(before) if before.isdigit() and len(before) < 19 else None
    rows = alert_log.sent_alerts(session, me, flt, before_id=before_id)
    args = {k: v for k, v in request.args.items() if k in ("mailbox", "since", "until") and v}
    return render_template(
        "deadlines/alerts.html",
        rows=rows,
        mailboxes=visible_mailboxes(session, me),
        args=args,
        problems=problems,
        more=len(rows) == alert_log.PAGE,
    ), 400 if problems else 200
