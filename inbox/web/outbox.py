"""Failed sends: replies that failed, were refused or whose result is unknown, with send-again and mark-as-sent."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from inbox.db import utcnow
from inbox.services import replies
from inbox.services.access import visible_mailbox_ids
from inbox.web import db

bp = Blueprint("outbox", __name__, url_prefix="/outbox")


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
