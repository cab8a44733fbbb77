"""Failed sends: replies that failed, were refused or whose result is unknown, with send-again and mark-as-sent."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from inbox.db import utcnow
from inbox.models import OutboxItem, Thread
from inbox.services import delivery, replies
from inbox.services.access import visible_mailbox_ids
from inbox.web import db

bp = Blueprint("outbox", __name__, url_prefix="/outbox")


@bp.app_context_processor
def _send_helpers() -> dict[str, Any]:
    def send_states(threads: Iterable[Thread]) -> dict[int, str]:
        """Thread id -> "sending" or "failing" for threads with a reply not yet delivered."""
        return delivery.send_states(db(), [t.id for t in threads])

    def failed_send_count() -> int:
        if not current_user.is_authenticated:
            return 0
        return delivery.failed_count(db(), current_user._get_current_object())

    def send_reason(item: OutboxItem) -> str:
        return gettext(delivery.reason(item))

    return {
        "send_states": send_states,
        "failed_send_count": failed_send_count,
        "send_reason": send_reason,
        "send_failing": delivery.is_failing,
    }


def _back(default: str):
    target = request.form.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//") else default)


@bp.route("/failed")
@login_required
def failed():
    session, user = db(), current_user._get_current_object()
    rows = replies.failed_replies(session, visible_mailbox_ids(session, user))
    return render_template("outbox/failed.html", rows=rows)


@bp.route("/<int:item_id>/resend", methods=["POST"])
@login_required
def resend(item_id: int):
    session, user = db(), current_user._get_current_object()
    item = replies.get_reply_item(session, item_id, visible_mailbox_ids(session, user))
    replies.send_again(session, item, now=utcnow(), actor_id=user.id)
    session.commit()
    flash(gettext("The reply is queued again."), "success")
    return _back(url_for("outbox.failed"))


@bp.route("/<int:item_id>/mark-sent", methods=["POST"])
@login_required
def mark_sent(item_id: int):
    session, user = db(), current_user._get_current_object()
    item = replies.get_reply_item(session, item_id, visible_mailbox_ids(session, user))
    replies.mark_sent(session, item, now=utcnow(), actor_id=user.id)
    session.commit()
    flash(gettext("The reply is recorded as sent."), "success")
    return _back(url_for("outbox.failed"))
