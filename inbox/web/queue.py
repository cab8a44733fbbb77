"""The queue page: the threads of the user's mailboxes, filtered and paged."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from inbox.models import Status
from inbox.services import queue as queue_service
from inbox.services.access import can_see_mailbox, visible_mailboxes
from inbox.services.errors import InvalidInput, NotFound
from inbox.web import db, runtime

bp = Blueprint("queue", __name__)


def _filter_from_args() -> queue_service.QueueFilter:
    args = request.args
    mailbox = args.get("mailbox", type=int)
    statuses = []
    for value in args.getlist("status"):
        try:
            statuses.append(Status(value))
        except ValueError as exc:
            raise InvalidInput(f"Unknown status {value!r}.") from exc
    return queue_service.QueueFilter(
        mailbox_id=mailbox,
        statuses=tuple(statuses),
        assignee=args.get("assignee") or None,
        tag=args.get("tag") or None,
    )


@bp.route("/")
@login_required
def index():
    session = db()
    user = current_user._get_current_object()
    flt = _filter_from_args()
    if flt.mailbox_id is not None and not can_see_mailbox(session, user, flt.mailbox_id):
        raise NotFound("This mailbox does not exist or is not yours.")
    page = queue_service.list_threads(
        session, user, flt, after=request.args.get("after"), limit=runtime().settings.page_size
    )
    return render_template(
        "queue/index.html",
        page=page,
        flt=flt,
        mailboxes=visible_mailboxes(session, user),
        counts=queue_service.status_counts(session, user, flt.mailbox_id),
        Status=Status,
    )
