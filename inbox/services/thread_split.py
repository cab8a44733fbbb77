"""Splitting a thread from a chosen message into a new one, and undoing that.

The chosen message and every later one move into a new thread of the same mailbox and
customer; the deadline (and its alerts) goes with the newest customer message. Undo moves
everything back and leaves the new thread as a stub that redirects to the first. Never
commits; knows nothing of the web.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.ingest.subjects import normalize_subject
from inbox.models import (
    Alert,
    Direction,
    Message,
    MessageTerm,
    OutboxItem,
    Status,
    Thread,
    ThreadOperation,
    User,
)
from inbox.services import audit, history
from inbox.services.errors import InvalidInput, NotFound
from inbox.services.thread_moves import (
    UNRESOLVED,
    _,
    _ids,
    _may_change,
    _move,
    _recount,
    _refresh,
    _set_due,
    _set_status,
    _state,
    _stub,
    _visible,
)


def split(
    session: Session, user: User, thread_id: int, message_id: object, *, now: datetime
) -> ThreadOperation:
    """Move message ``message_id`` of the thread and every later one into a new thread.

    The new thread has the same mailbox, customer, priority, category and assignee; it takes the
    deadline (and its alerts) if the thread's newest customer message moves. Raises NotFound,
    InvalidInput (the first message, a message of another thread, a mall inquiry, a merged
    thread), PermissionDenied.
    """
    thread = _visible(session, user, thread_id)
    _may_change(user, thread)
    if thread.merged_into_id is not None:
        raise InvalidInput(
            _("Thread #%(id)s was already merged into #%(into)s."),
            id=thread.id,
            into=thread.merged_into_id,
        )
    if thread.external_ref is not None:
        raise InvalidInput(_("A mall inquiry is one conversation in the mall; it cannot be split."))
    messages = list(
        session.scalars(
            select(Message)
            .where(Message.thread_id == thread.id)
            .order_by(Message.received_at, Message.id)
        )
    )
    index = next((i for i, m in enumerate(messages) if m.id == message_id), None)
    if index is None:
        raise NotFound(
            _("Message %(message)s is not in thread #%(id)s."), message=message_id, id=thread.id
        )
    if index == 0:
        raise InvalidInput(
            _("Choose a later message: splitting from the first one would leave this thread empty.")
        )
    moved, kept = messages[index:], messages[:index]
    first = moved[0]
    said = [m for m in moved if m.direction != Direction.NOTE]
    waits = bool(said) and said[-1].direction == Direction.INBOUND
    subject = first.subject or thread.subject
    new = Thread(
        mailbox_id=thread.mailbox_id, subject=subject,
        normalized_subject=normalize_subject(subject)[:255], contact_id=thread.contact_id,
        status=Status.NEW if waits else thread.status, assignee_id=thread.assignee_id,
        priority=thread.priority, category_id=thread.category_id,
        last_activity_at=moved[-1].received_at, message_count=0, external_meta={},
        created_at=now,
    )  # fmt: skip
    session.add(new)
    op = ThreadOperation(
        kind="split", thread_id=thread.id, actor_id=user.id, data={}, created_at=now
    )
    session.add(op)
    session.flush()
    ids = [m.id for m in moved]
    inbound = [m for m in messages if m.direction == Direction.INBOUND]
    deadline_moves = bool(inbound) and inbound[-1].id in ids and thread.due_at is not None
    outbox = _ids(session, select(OutboxItem.id).where(OutboxItem.message_row_id.in_(ids)))
    alerts = (
        _ids(session, select(Alert.id).where(Alert.thread_id == thread.id))
        if deadline_moves
        else []
    )
    op.data = {
        "origin": _state(thread),
        "new": new.id,
        "messages": ids,
        "outbox": outbox,
        "alerts": alerts,
        "deadline_moved": deadline_moves,
    }
    _move(session, Message, ids, new.id)
    _move(session, MessageTerm, ids, new.id, key=MessageTerm.message_id)
    _move(session, OutboxItem, outbox, new.id)
    _move(session, Alert, alerts, new.id)
    history.record(
        session,
        new,
        "split_from",
        {"op": op.id, "from": thread.id, "message": first.id},
        by=user,
        now=now,
    )
    if deadline_moves:
        due, hand = thread.due_at, thread.due_set_by_hand
        kept_said = [m for m in kept if m.direction != Direction.NOTE]
        if not (kept_said and kept_said[-1].direction == Direction.INBOUND):
            _set_due(session, thread, None, False, user, now, "split")
        if new.status in UNRESOLVED:
            _set_due(session, new, due, hand, user, now, "split")
    _recount(session, thread)
    _recount(session, new)
    history.record(
        session,
        thread,
        "thread_split",
        {"op": op.id, "new": new.id, "message": first.id, "moved": len(ids)},
        by=user,
        now=now,
    )
    audit.record(
        session,
        actor_id=user.id,
        action="thread.split",
        target=f"thread:{thread.id}",
        changes={"new": new.id, "messages": len(ids)},
        now=now,
    )
    _refresh(session, [thread, new])
    return op


def undo_split(session: Session, user: User, op: ThreadOperation, now: datetime) -> Thread:
    data = op.data or {}
    origin = _visible(session, user, op.thread_id)
    new = _visible(session, user, data.get("new"))
    for t in (origin, new):
        _may_change(user, t)
        if t.merged_into_id is not None:
            raise InvalidInput(
                _("Thread #%(id)s changed since the split; it cannot be put back."), id=t.id
            )
    messages = _ids(session, select(Message.id).where(Message.thread_id == new.id))
    _move(session, Message, messages, origin.id)
    _move(session, MessageTerm, messages, origin.id, key=MessageTerm.message_id)
    _move(
        session,
        OutboxItem,
        _ids(session, select(OutboxItem.id).where(OutboxItem.thread_id == new.id)),
        origin.id,
    )
    taken = {
        (a.stage, a.due_at)
        for a in session.scalars(select(Alert).where(Alert.thread_id == origin.id))
    }
    back = [
        a.id
        for a in session.scalars(select(Alert).where(Alert.thread_id == new.id))
        if (a.stage, a.due_at) not in taken
    ]
    _move(session, Alert, back, origin.id)
    dues = [
        (t.due_at, t.due_set_by_hand)
        for t in (origin, new)
        if t.due_at is not None and t.status in UNRESOLVED
    ]
    status = origin.status
    if status not in UNRESOLVED and new.status in UNRESOLVED:
        status = new.status
    history.record(session, new, "split_undone", {"op": op.id, "into": origin.id}, by=user, now=now)
    _stub(new, origin)
    _set_status(session, origin, status, user, now, "undo")
    if origin.status in UNRESOLVED:
        due, hand = min(dues, key=lambda d: d[0]) if dues else (None, False)
        _set_due(session, origin, due, hand, user, now, "undo")
    _recount(session, origin)
    new.last_inbound_at = None
    history.record(session, origin, "split_undone", {"op": op.id, "new": new.id}, by=user, now=now)
    _refresh(session, [origin, new])
    return origin
