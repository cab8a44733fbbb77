"""The queue page: views, filters, sort and keyset pages of the user's threads, and bulk changes."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inbox.db import utcnow
from inbox.models import Status
from inbox.services import categories, saved_searches
from inbox.services import live as live_service
from inbox.services import queue as queue_service
from inbox.services.errors import InvalidInput
from inbox.web import db, live, runtime
from inbox.web.errors import translated
from inbox.web.inputs import id_list

bp = Blueprint("queue", __name__)


def _filter_from_args() -> queue_service.QueueFilter:
    args = request.args
    try:
        statuses = tuple(Status(v) for v in args.getlist("status") if v)
    except ValueError as exc:
        raise InvalidInput("Unknown status.") from exc
    return queue_service.QueueFilter(
        view=args.get("view") or "default",
        mailbox_id=args.get("mailbox", type=int),
        statuses=statuses,
        assignee=args.get("assignee") or None,
        tag=(args.get("tag") or "").strip() or None,
        deadline=args.get("deadline") or None,
        sort=args.get("sort") or None,
    )


@bp.route("/")
@login_required
def index():
    flt, me, now = _filter_from_args(), current_user._get_current_object(), utcnow()
    version = live_service.queue_version(db(), me, now=now, key=(request.full_path, str(get_locale())))
    if (not_modified := live.unchanged(version)) is not None:
        return not_modified
    screen = queue_service.queue_screen(
        db(), me, flt, now=now, after=request.args.get("after"), limit=runtime().settings.page_size,
    )  # fmt: skip
    return live.tagged(render_template(
        "queue/index.html", screen=screen, flt=flt, Status=Status, views=queue_service.VIEWS,
        category_choices=categories.visible_choices(db(), me),
        saved_searches=saved_searches.list_for(db(), me), live_version=version,
    ), version)  # fmt: skip


@bp.route("/bulk", methods=["POST"])
@login_required
def bulk():
    form = request.form
    action = form.get("action", "")
    value = form.get(
        {"assign": "assignee", "status": "status", "add_tag": "tag", "category": "category"}.get(action, "")
    )
    ids = id_list(form.getlist("thread"))
    session = db()
    done = queue_service.bulk_update(
        session, current_user._get_current_object(), ids, action, value, now=utcnow()
    )
    session.commit()
    flash(_("%(changed)d changed, %(unchanged)d already so, %(skipped)d skipped.",
            changed=done.changed, unchanged=done.unchanged, skipped=done.skipped))  # fmt: skip
    for error, n in done.reasons:  # why, per reason: "2 skipped: X is not a member of support."
        flash(_("%(n)d skipped: %(reason)s", n=n, reason=translated(error)), "error")
    back = form.get("next", "")
    return redirect(back if back.startswith("/") and not back.startswith("//") else url_for(".index"))
