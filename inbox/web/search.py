"""The search page: threads by ticket number, sender name or address, subject or body text,
within the user's mailboxes, narrowed by filters; and the user's saved searches."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inbox.db import utcnow
from inbox.models import Status
from inbox.services import customer_orders, saved_searches
from inbox.services import search as search_service
from inbox.services.access import visible_mailboxes
from inbox.services.queue import assignable_users
from inbox.services.search import SearchFilters
from inbox.web import db, user_zone
from inbox.web.inputs import parse_id

bp = Blueprint("search", __name__, url_prefix="/search")


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def filters_from(args) -> tuple[SearchFilters, dict[str, str], list[str]]:
    """The filters of a search request, the arguments they came from, and what was refused."""
    raw = {k: (args.get(k) or "").strip()[:40] for k in saved_searches.FILTER_KEYS}
    problems: list[str] = []
    mailbox_id = parse_id(raw["mailbox"]) if raw["mailbox"] else None
    if raw["mailbox"] and mailbox_id is None:
        problems.append(_("Unknown mailbox."))
    status = None
    if raw["status"]:
        try:
            status = Status(raw["status"])
        except ValueError:
            problems.append(_("Unknown status."))
    assignee: int | None = None
    if raw["assignee"] == "me":
        assignee = current_user.id
    elif raw["assignee"] == "none":
        assignee = 0
    elif raw["assignee"]:
        assignee = parse_id(raw["assignee"])
        if assignee is None:
            problems.append(_("Unknown assignee."))
    zone = user_zone()
    since_day, until_day = _day(raw["since"]), _day(raw["until"])
    if (raw["since"] and since_day is None) or (raw["until"] and until_day is None):
        problems.append(_("Enter dates as YYYY-MM-DD."))
    since = datetime.combine(since_day, time(), zone) if since_day else None
    until = datetime.combine(until_day + timedelta(days=1), time(), zone) if until_day else None
    if since and until and since >= until:
        problems.append(_("The period ends before it begins."))
        since = until = None
    return SearchFilters(mailbox_id, status, assignee, since, until), raw, problems


@bp.route("")
@login_required
def index():
    session, user = db(), current_user._get_current_object()
    query = request.args.get("q", "")
    filters, raw, problems = filters_from(request.args)
    result = search_service.search(session, user, query, filters=filters)
    orders = customer_orders.threads_with(session, user, query) if query.strip() else []
    return render_template(
        "search/index.html", result=result, raw=raw, problems=problems, Status=Status, orders=orders,
        mailboxes=visible_mailboxes(session, user), assignees=assignable_users(session, user),
        saved=saved_searches.list_for(session, user),
    ), (400 if problems else 200)


@bp.route("/saved", methods=["POST"])
@login_required
def save():
    session, user = db(), current_user._get_current_object()
    form = request.form
    _filters, raw, problems = filters_from(form)
    if problems:
        for problem in problems:
            flash(problem, "error")
    else:
        saved_searches.save(session, user, form.get("name", ""), form.get("q", ""), raw, now=utcnow())
        session.commit()
        flash(_("Search saved."))
    return redirect(url_for(".index", q=form.get("q", ""), **{k: v for k, v in raw.items() if v}))


@bp.route("/saved/<int:search_id>/delete", methods=["POST"])
@login_required
def delete(search_id: int):
    session = db()
    saved_searches.delete(session, current_user._get_current_object(), search_id)
    session.commit()
    flash(_("Saved search deleted."))
    return redirect(url_for(".index"))
