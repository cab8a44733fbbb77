"""Approval before send (承認): which replies wait for an approver, who approves, and the decisions.

A reply that needs approval is checked like any reply (``replies.check_draft``) and then held
as an ``ApprovalRequest`` (承認待ち): nothing is recorded as sent and nothing reaches the
outbox, so the thread keeps its status and deadline. An approver approves it as written or
edited (the difference is kept) and only then is it queued, once, through
``replies.send_reply`` under the author's name, with the double-reply guard measured from the
moment it was held; or returns it with a comment, and its author finds it back in the
composer. Every step is an ``Event`` in the thread's history.

Why approval is needed is one function, ``required``: the author (staff in training), the
mailbox, the thread's category (``Mailbox.approval_category_ids``) or a sorting rule (the
``Thread.approval_required`` flag its ``require_approval`` action sets). Who approves is
``approvers``. Knows nothing of HTTP; never commits.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from inbox.config import Settings
from inbox.models import (
    ApprovalRequest,
    ApprovalStatus,
    Event,
    Mailbox,
    MailboxApprover,
    MailboxMember,
    Message,
    Role,
    Thread,
    User,
)
from inbox.services import notifications, presence, replies
from inbox.services.access import can_see_mailbox
from inbox.services.errors import ConcurrentChange, InvalidInput, NotFound, PermissionDenied
from inbox.storage import BlobStore

USER, MAILBOX, CATEGORY, RULE = "user", "mailbox", "category", "rule"


def _(text: str) -> str:
    """Marks a text for the translation catalogue; the web layer translates it."""
    return text


ALREADY_DECIDED = _("Someone else already approved or returned this reply, or its author took it back.")


class AlreadyDecided(ConcurrentChange):
    """Someone else approved or returned the reply first (or its author took it back)."""


# --- when approval is needed ---------------------------------------------------------------


def required(session: Session, thread: Thread, author: User) -> str | None:
    """Why a reply by ``author`` on ``thread`` needs approval (USER, MAILBOX, CATEGORY or
    RULE), or None when it goes out at once. A mailbox set to let its leads skip approval
    lets an approver's (or a member lead's) own replies through, unless the author is
    personally flagged."""
    mailbox = thread.mailbox
    if author.approval_required:
        return USER
    reason = None
    category_id = getattr(thread, "category_id", None)  # sorting rules' categories
    if mailbox.approval_required:
        reason = MAILBOX
    elif category_id is not None and category_id in (mailbox.approval_category_ids or []):
        reason = CATEGORY
    elif thread.approval_required:
        reason = RULE
    if reason is not None and mailbox.approval_lead_skip and is_lead(session, mailbox, author):
        return None
    return reason


def require_for_thread(session: Session, thread: Thread, *, now: datetime, rule: str = "") -> None:
    """What a sorting rule's ``require_approval`` action does: replies on ``thread`` wait for
    an approver from now on. Leaves ``Thread.version`` alone (no false edit conflicts)."""
    if thread.approval_required:
        return
    session.execute(
        update(Thread).where(Thread.id == thread.id).values(approval_required=True)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(thread, "approval_required", True)
    session.add(Event(thread_id=thread.id, kind="approval_flagged", data={"rule": rule}, created_at=now))


def is_lead(session: Session, mailbox: Mailbox, user: User) -> bool:
    """An approver of ``mailbox``, or a lead who is one of its members."""
    if user.id in approver_ids(session).get(mailbox.id, set()):
        return True
    member = session.get(MailboxMember, {"mailbox_id": mailbox.id, "user_id": user.id})
    return user.role == Role.LEAD and member is not None


# --- who approves ------------------------------------------------------------------------


def approver_ids(session: Session, mailbox_ids: Iterable[int] | None = None) -> dict[int, set[int]]:
    """Approvers per mailbox: the named ones (active, and able to see the mailbox); without
    any, the mailbox's active member leads; without those, the active admins, so that no
    reply waits for nobody. Three queries, whatever the number of mailboxes."""
    ids = list(mailbox_ids) if mailbox_ids is not None else list(session.scalars(select(Mailbox.id)))
    if not ids:
        return {}
    admins = set(session.scalars(select(User.id).where(User.active, User.role == Role.ADMIN)))
    members = session.execute(
        select(MailboxMember.mailbox_id, User.id, User.role)
        .join(User, User.id == MailboxMember.user_id)
        .where(MailboxMember.mailbox_id.in_(ids), User.active)
    ).all()
    member_ids = {(m, u) for m, u, _r in members}
    named_rows = session.execute(
        select(MailboxApprover.mailbox_id, MailboxApprover.user_id).where(
            MailboxApprover.mailbox_id.in_(ids)
        )
    ).all()
    result: dict[int, set[int]] = {}
    for mailbox_id in ids:
        named = {u for m, u in named_rows if m == mailbox_id and (u in admins or (m, u) in member_ids)}
        leads = {u for m, u, r in members if m == mailbox_id and r == Role.LEAD}
        result[mailbox_id] = named or leads or set(admins)
    return result


def approvers(session: Session, mailbox: Mailbox) -> list[User]:
    """The users who may approve replies held in ``mailbox``, by name."""
    ids = approver_ids(session, [mailbox.id]).get(mailbox.id, set())
    return list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.name))) if ids else []


def approvable_mailbox_ids(session: Session, user: User) -> list[int]:
    """Mailboxes whose held replies ``user`` may approve."""
    if not user.active:
        return []
    return sorted(m for m, ids in approver_ids(session).items() if user.id in ids)


def named_approver_ids(session: Session, mailbox: Mailbox) -> list[int]:
    """The users named as approvers of ``mailbox`` (for its settings form)."""
    return list(session.scalars(
        select(MailboxApprover.user_id).where(MailboxApprover.mailbox_id == mailbox.id)
    ))


def set_approvers(session: Session, mailbox: Mailbox, user_ids: Iterable[int]) -> None:
    """Make exactly ``user_ids`` the named approvers of ``mailbox``; each must be able to see
    it (a member, or an admin). Raises InvalidInput naming the first who cannot."""
    wanted = set(user_ids)
    members = {m.user_id for m in mailbox.members}
    for user in session.scalars(select(User).where(User.id.in_(wanted))):
        if user.role != Role.ADMIN and user.id not in members:
            raise InvalidInput("%(name)s cannot approve: make them a member of the mailbox first.",
                               name=user.name)
    if len(wanted) != session.scalar(select(func.count(User.id)).where(User.id.in_(wanted))):
        raise InvalidInput("No such user.")
    rows = {r.user_id: r for r in session.scalars(
        select(MailboxApprover).where(MailboxApprover.mailbox_id == mailbox.id))}
    for user_id, row in rows.items():
        if user_id not in wanted:
            session.delete(row)
    for user_id in sorted(wanted - set(rows)):
        session.add(MailboxApprover(mailbox_id=mailbox.id, user_id=user_id))
    session.flush()


# --- holding a reply ---------------------------------------------------------------------


def _draft_data(draft: replies.Draft, text: str) -> dict:
    return {"to": draft.to, "cc": draft.cc, "bcc": draft.bcc, "subject": draft.subject,
            "text": text, "attachments": [asdict(a) for a in draft.attachments]}


def submit(
    session: Session, thread: Thread, author: User, draft: replies.Draft, *, now: datetime,
    settings: Settings, blobs: BlobStore, prepared: replies.PreparedMail | None = None,
    revises: int | None = None,
) -> Message | ApprovalRequest:
    """Send the reply (``replies.send_reply``) or, when ``required``, hold it for approval.
    ``revises`` names the author's returned reply that this one is an edit of. Raises what
    ``replies.send_reply`` raises; flushes, never commits."""
    reason = required(session, thread, author)
    if reason is None:
        result: Message | ApprovalRequest = replies.send_reply(
            session, thread, author, draft, now=now, settings=settings, blobs=blobs, prepared=prepared)
    else:
        result = hold(session, thread, author, draft, reason=reason, now=now)
    if revises is not None:
        _close_returned(session, thread, author, revises, ApprovalStatus.REVISED, now=now)
    return result


def hold(
    session: Session, thread: Thread, author: User, draft: replies.Draft, *, reason: str, now: datetime
) -> ApprovalRequest:
    """Check the reply and keep it as 承認待ち. The same ``draft.reply_key`` twice returns the
    first request. Raises ReplyProblems or ReplyConflict like ``replies.send_reply``."""
    existing = _by_key(session, thread, draft.reply_key)
    if existing is not None:
        return existing
    _channel, text, _to, _cc, _bcc = replies.check_draft(session, thread, draft)
    request = ApprovalRequest(
        thread_id=thread.id, mailbox_id=thread.mailbox_id, author_id=author.id,
        status=ApprovalStatus.PENDING, reason=reason, reply_key=draft.reply_key[:64],
        draft=_draft_data(draft, text), written_text=text, created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(request)
    except IntegrityError:  # the same composer posted twice at once
        return _by_key(session, thread, draft.reply_key)
    session.add(Event(thread_id=thread.id, actor_id=author.id, kind="approval_requested",
                      data={"approval": request.id, "reason": reason}, created_at=now))
    presence.stop_composing(session, thread.id, author.id)
    for user in approvers(session, thread.mailbox):
        if user.id != author.id:
            _notify(session, user.id, "approval_requested", request, now)
    return request


def _by_key(session: Session, thread: Thread, reply_key: str) -> ApprovalRequest | None:
    return session.scalar(select(ApprovalRequest).where(
        ApprovalRequest.thread_id == thread.id, ApprovalRequest.reply_key == reply_key[:64]))


# Notification kinds this module sends, for ``inbox.wiring`` to register; a kind that is not
# registered is not sent (the thread and the author's "returned replies" page show it anyway).
NOTIFICATION_KINDS = (
    notifications.Kind("approval_requested", _("A reply awaits my approval"), mail=True),
    notifications.Kind("approval_approved", _("My reply was approved")),
    notifications.Kind("approval_returned", _("My reply was returned to me"), mail=True),
)


def _notify(session: Session, user_id: int, kind: str, request: ApprovalRequest, now: datetime) -> None:
    """Tell ``user_id`` through the notifications service, once per request and kind."""
    if kind not in notifications.KINDS:
        return
    notifications.notify(session, user_id, kind, now=now, thread_id=request.thread_id,
                          data={"approval": request.id}, key=f"{kind}:{request.id}",
                          actor_id=request.decided_by_id or request.author_id)


# --- deciding ------------------------------------------------------------------------------


def get_request(session: Session, user: User, request_id: int) -> ApprovalRequest:
    """A held reply the user may see (its mailbox is theirs); NotFound otherwise."""
    request = session.get(ApprovalRequest, request_id)
    if request is None or not can_see_mailbox(session, user, request.mailbox_id):
        raise NotFound("This reply awaiting approval does not exist or is not in your mailboxes.")
    return request


def can_decide(session: Session, request: ApprovalRequest, user: User) -> bool:
    """An approver of the request's mailbox, and not its author (four eyes)."""
    return user.id != request.author_id and user.id in approver_ids(
        session, [request.mailbox_id]).get(request.mailbox_id, set())


def _check_decider(session: Session, request: ApprovalRequest, user: User) -> None:
    if user.id == request.author_id:
        raise PermissionDenied("You cannot approve or return your own reply.")
    if not can_decide(session, request, user):
        raise PermissionDenied("Only the approvers of this mailbox can approve or return its replies.")


def _decide(session: Session, request: ApprovalRequest, status: ApprovalStatus, by: User,
            now: datetime, *, allowed: tuple[ApprovalStatus, ...] = (ApprovalStatus.PENDING,),
            **values: object) -> None:
    """Move the request on, conditionally on its stored state: of two approvers clicking at
    once exactly one wins, the other gets AlreadyDecided."""
    done = session.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == request.id, ApprovalRequest.status.in_(allowed))
        .values(status=status, decided_by_id=by.id, decided_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(request)
    if done.rowcount != 1:
        raise AlreadyDecided(ALREADY_DECIDED)


def diff_text(before: str, after: str) -> str:
    """A unified diff of the author's text and the approved text ('' when they are equal)."""
    if before == after:
        return ""
    lines = difflib.unified_diff(before.split("\n"), after.split("\n"), "written", "approved", lineterm="")
    return "\n".join(lines)


def approve(
    session: Session, request: ApprovalRequest, approver: User, *, now: datetime,
    settings: Settings, blobs: BlobStore, text: str | None = None, confirm: bool = False,
) -> Message:
    """Approve the held reply as written (``text`` None) or edited, and queue it once under
    its author's name. Raises PermissionDenied, AlreadyDecided, ReplyProblems (the edited text
    breaks the channel's rules) and, unless ``confirm``, ReplyConflict when another reply was
    recorded on the thread after the reply was held. Flushes; the caller commits or rolls back.
    """
    _check_decider(session, request, approver)
    if request.status != ApprovalStatus.PENDING:
        raise AlreadyDecided(ALREADY_DECIDED)
    thread = session.get(Thread, request.thread_id, with_for_update=True)
    data = request.draft
    draft = replies.Draft(
        to=data.get("to", ""), cc=data.get("cc", ""), bcc=data.get("bcc", ""),
        subject=data.get("subject", ""),
        text=data.get("text", "") if text is None else text,
        reply_key=request.reply_key, opened_at=request.created_at,
        attachments=[replies.StagedAttachment(**a) for a in data.get("attachments", [])],
        confirm=confirm,
    )
    try:  # in a savepoint: a refused edit or a colleague's reply leaves the request pending
        with session.begin_nested():
            _decide(session, request, ApprovalStatus.APPROVED, approver, now)
            message = replies.send_reply(session, thread, request.author, draft, now=now,
                                         settings=settings, blobs=blobs)
    except Exception:
        session.expire(request)
        raise
    edited = diff_text(request.written_text, message.text)
    request.diff, request.message_row_id = edited, message.id
    request.draft = {**data, "text": message.text}
    session.add(Event(thread_id=thread.id, actor_id=approver.id, kind="approval_approved",
                      data={"approval": request.id, "message": message.id, "edited": bool(edited),
                            "author": request.author_id}, created_at=now))
    _notify(session, request.author_id, "approval_approved", request, now)
    return message


def return_to_author(
    session: Session, request: ApprovalRequest, approver: User, comment: str, *, now: datetime
) -> None:
    """Send the held reply back to its author with ``comment`` (required): it is not sent, and
    the author finds it in the composer. Raises InvalidInput, PermissionDenied, AlreadyDecided."""
    _check_decider(session, request, approver)
    comment = comment.replace("\r\n", "\n").strip()
    if not comment:
        raise InvalidInput("Write a comment that tells the author what to change.")
    _decide(session, request, ApprovalStatus.RETURNED, approver, now, comment=comment[:4000])
    session.add(Event(thread_id=request.thread_id, actor_id=approver.id, kind="approval_returned",
                      data={"approval": request.id, "author": request.author_id,
                            "comment": comment[:4000]}, created_at=now))
    _notify(session, request.author_id, "approval_returned", request, now)


def withdraw(session: Session, request: ApprovalRequest, author: User, *, now: datetime) -> None:
    """The author takes back a reply waiting for approval or returned to them: never sent."""
    if author.id != request.author_id:
        raise PermissionDenied("Only the author can take back this reply.")
    _decide(session, request, ApprovalStatus.WITHDRAWN, author, now,
            allowed=(ApprovalStatus.PENDING, ApprovalStatus.RETURNED))
    session.add(Event(thread_id=request.thread_id, actor_id=author.id, kind="approval_withdrawn",
                      data={"approval": request.id}, created_at=now))


def _close_returned(session: Session, thread: Thread, author: User, request_id: int,
                    status: ApprovalStatus, *, now: datetime) -> None:
    request = session.get(ApprovalRequest, request_id)
    if request is None or request.thread_id != thread.id or request.author_id != author.id:
        return
    if request.status != ApprovalStatus.RETURNED:
        return
    session.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == request.id, ApprovalRequest.status == ApprovalStatus.RETURNED)
        .values(status=status).execution_options(synchronize_session=False)
    )
    session.refresh(request)


# --- what people see -----------------------------------------------------------------------


def pending_for(session: Session, user: User) -> list[ApprovalRequest]:
    """Held replies ``user`` may decide, oldest first (never their own)."""
    ids = approvable_mailbox_ids(session, user)
    if not ids:
        return []
    return list(session.scalars(
        select(ApprovalRequest)
        .where(ApprovalRequest.mailbox_id.in_(ids), ApprovalRequest.status == ApprovalStatus.PENDING,
               ApprovalRequest.author_id != user.id)
        .order_by(ApprovalRequest.created_at, ApprovalRequest.id)
    ))


def pending_count(session: Session, user: User) -> int:
    """How many held replies wait for ``user`` (the header badge)."""
    ids = approvable_mailbox_ids(session, user)
    if not ids:
        return 0
    return session.scalar(
        select(func.count(ApprovalRequest.id)).where(
            ApprovalRequest.mailbox_id.in_(ids), ApprovalRequest.status == ApprovalStatus.PENDING,
            ApprovalRequest.author_id != user.id)
    ) or 0


def mine(session: Session, user: User, *, limit: int = 100) -> list[ApprovalRequest]:
    """The user's own held, returned and recently decided replies, newest first."""
    return list(session.scalars(
        select(ApprovalRequest).where(ApprovalRequest.author_id == user.id)
        .order_by(ApprovalRequest.created_at.desc(), ApprovalRequest.id.desc()).limit(limit)
    ))


def returned_count(session: Session, user: User) -> int:
    """The user's replies returned to them and not yet revised or taken back."""
    return session.scalar(select(func.count(ApprovalRequest.id)).where(
        ApprovalRequest.author_id == user.id, ApprovalRequest.status == ApprovalStatus.RETURNED)) or 0


def on_thread(session: Session, thread: Thread) -> list[ApprovalRequest]:
    """Every held reply of the thread that is not settled, plus approved ones, oldest first."""
    return list(session.scalars(
        select(ApprovalRequest).where(ApprovalRequest.thread_id == thread.id,
                                      ApprovalRequest.status != ApprovalStatus.WITHDRAWN)
        .order_by(ApprovalRequest.created_at, ApprovalRequest.id)
    ))


def returned_draft(session: Session, thread: Thread, user: User, *, reply_key: str,
                   now: datetime) -> tuple[ApprovalRequest, replies.Draft] | None:
    """The user's latest reply returned on ``thread``, as a draft for the composer."""
    request = session.scalar(
        select(ApprovalRequest).where(
            ApprovalRequest.thread_id == thread.id, ApprovalRequest.author_id == user.id,
            ApprovalRequest.status == ApprovalStatus.RETURNED)
        .order_by(ApprovalRequest.decided_at.desc(), ApprovalRequest.id.desc()).limit(1)
    )
    if request is None:
        return None
    data = request.draft
    draft = replies.Draft(
        to=data.get("to", ""), cc=data.get("cc", ""), bcc=data.get("bcc", ""),
        subject=data.get("subject", ""), text=data.get("text", ""), reply_key=reply_key,
        opened_at=now, attachments=[replies.StagedAttachment(**a) for a in data.get("attachments", [])],
    )
    return request, draft
