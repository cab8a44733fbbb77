"""Approval before send (承認): the approvers' queue, one held reply to approve (as is or edited) or
return, and the author's own held and returned replies. The rules live in ``inbox.services.approval``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from inbox.db import utcnow
from inbox.models import ApprovalRequest, Thread, User
from inbox.services import approval, replies
from inbox.web import db, runtime
from inbox.web.audit import note

bp = Blueprint("approvals", __name__, url_prefix="/approvals")


def _me() -> User:
    return current_user._get_current_object()


@bp.app_context_processor
def _approval_helpers() -> dict[str, Any]:
    def approval_badges() -> dict[str, int]:
        """Held replies waiting for me, and my replies returned to me (header counts)."""
        if not current_user.is_authenticated:
            return {"pending": 0, "returned": 0}
        me = _me()
        return {"pending": approval.pending_count(db(), me), "returned": approval.returned_count(db(), me)}

    def thread_approvals(thread: Thread) -> list[tuple[ApprovalRequest, list[User], bool]]:
        """The thread's held replies with their approvers and whether I may decide them."""
        session, me = db(), _me()
        rows = approval.on_thread(session, thread)
        names = approval.approvers(session, thread.mailbox) if rows else []
        return [(r, names, approval.can_decide(session, r, me)) for r in rows]

    return {"approval_badges": approval_badges, "thread_approvals": thread_approvals}


@bp.route("/")
@login_required
def index():
    return render_template("approvals/index.html", rows=approval.pending_for(db(), _me()))


@bp.route("/mine")
@login_required
def mine():
    return render_template("approvals/mine.html", rows=approval.mine(db(), _me()))


def _page(request_row: ApprovalRequest, *, text: str | None = None, problems=(), status: int = 200):
    session = db()
    page = render_template(
        "approvals/show.html", r=request_row, thread=request_row.thread,
        approvers=approval.approvers(session, request_row.thread.mailbox),
        may_decide=approval.can_decide(session, request_row, _me()),
        text=request_row.draft.get("text", "") if text is None else text,
        problems=[gettext(p, **getattr(p, "params", {})) for p in problems],
    )
    return page, status


@bp.route("/<int:request_id>")
@login_required
def show(request_id: int):
    return _page(approval.get_request(db(), _me(), request_id))


@bp.post("/<int:request_id>/approve")
@login_required
def approve(request_id: int):
    session, me, rt = db(), _me(), runtime()
    held = approval.get_request(session, me, request_id)
    text = request.form.get("body")
    if text is not None:
        text = text.replace("\r\n", "\n")
    try:
        approval.approve(session, held, me, now=utcnow(), settings=rt.settings, blobs=rt.blobs,
                         text=text, confirm=request.form.get("confirm") == "1")
    except replies.ReplyProblems as exc:
        session.rollback()
        return _page(approval.get_request(session, me, request_id), text=text, problems=exc.problems,
                     status=422)
    except replies.ReplyConflict as exc:
        session.rollback()
        held = approval.get_request(session, me, request_id)
        page = render_template("approvals/confirm.html", r=held, thread=held.thread,
                               replies=exc.replies, text=text)
        return page, 409
    note("approval.approve", f"thread:{held.thread_id}",
         {"request": held.id, "author": held.author_id, "edited": bool(held.diff)})
    session.commit()
    flash(gettext("Approved. The reply is queued and will be sent in a moment."), "success")
    return redirect(url_for("approvals.index"))


@bp.post("/<int:request_id>/return")
@login_required
def return_(request_id: int):
    session, me = db(), _me()
    held = approval.get_request(session, me, request_id)
    approval.return_to_author(session, held, me, request.form.get("comment", ""), now=utcnow())
    note("approval.return", f"thread:{held.thread_id}", {"request": held.id, "author": held.author_id})
    session.commit()
    flash(gettext("The reply was returned to %(name)s with your comment.", name=held.author.name), "success")
    return redirect(url_for("approvals.index"))


@bp.post("/<int:request_id>/withdraw")
@login_required
def withdraw(request_id: int):
    session, me = db(), _me()
    held = approval.get_request(session, me, request_id)
    approval.withdraw(session, held, me, now=utcnow())
    note("approval.withdraw", f"thread:{held.thread_id}", {"request": held.id})
    session.commit()
    flash(gettext("The reply was taken back; it will not be sent."), "success")
    return redirect(url_for("thread.show", thread_id=held.thread_id))
