"""Merging threads of one mailbox into one, splitting a thread in two, and undoing either.

A merge moves the other threads' messages (with their sends, approvals, alerts, search terms,
tags and followers) into the target; each merged thread stays as a stub whose page redirects
to the target (``Thread.merged_into_id``) and whose own history is shown there. The target
keeps the earliest open deadline of them all. A split moves a message and every later one into
a new thread; the deadline goes with the newest customer message. Each operation is a
``ThreadOperation`` row holding what it moved, so that the history's "undo" puts things back.
KPI facts of every thread touched are computed again from their history (``kpi_facts``), so
the facts kept and the facts rebuilt agree. Never commits; knows nothing of the web.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from inbox.ingest.subjects import normalize_subject
from inbox.models import (
    Alert,
    ApprovalRequest,
    Direction,
    Message,
    MessageTerm,
    OutboxItem,
    ReplyDraft,
    Role,
    Status,
    Thread,
    ThreadFollower,
    ThreadOperation,
    ThreadTag,
    User,
)
from inbox.services import audit, history, kpi_facts
from inbox.services.access import can_see_mailbox
from inbox.services.errors import ConcurrentChange, InvalidInput, NotFound, PermissionDenied

MAX_MERGE = 20
MAX_ID = 2**63 - 1
MAX_HOPS = 50
UNRESOLVED = (Status.NEW, Status.OPEN, Status.WAITING)


def _(message: str) -> str:
    """Mark a message for translation; the web layer translates it when showing it."""
    return message


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _visible(session: Session, user: User, thread_id: object, *, lock: bool = True) -> Thread:
    """The thread if it exists and ``user`` may see it, else NotFound (also for a bad id)."""
    if not isinstance(thread_id, int) or isinstance(thread_id, bool) or not 0 < thread_id <= MAX_ID:
        raise NotFound(
            _("Thread #%(id)s does not exist or is not in your mailboxes."), id=thread_id
        )
    thread = session.get(Thread, thread_id, with_for_update=lock or None)
    if thread is None or not can_see_mailbox(session, user, thread.mailbox_id):
        raise NotFound(
            _("Thread #%(id)s does not exist or is not in your mailboxes."), id=thread_id
        )
    return thread


def _may_change(user: User, thread: Thread) -> None:
    """Agents merge and split only threads that are unassigned or theirs; leads and admins any."""
    if user.role in (Role.LEAD, Role.ADMIN) or thread.assignee_id in (None, user.id):
        return
    raise PermissionDenied(
        _("Thread #%(id)s is assigned to someone else; ask a lead to merge or split it."),
        id=thread.id,
    )


def follow(session: Session, thread: Thread) -> Thread:
    """The thread a merged thread now lives in (itself if it was not merged)."""
    for _hop in range(MAX_HOPS):
        if thread.merged_into_id is None:
            return thread
        nxt = session.get(Thread, thread.merged_into_id)
        if nxt is None:
            return thread
        thread = nxt
    return thread


def _state(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "status": thread.status.value,
        "due_at": _iso(thread.due_at),
        "due_set_by_hand": thread.due_set_by_hand,
        "last_activity_at": _iso(thread.last_activity_at),
        "last_inbound_at": _iso(thread.last_inbound_at),
    }


def _ids(session: Session, stmt) -> list[int]:
    return list(session.scalars(stmt))


def _recount(session: Session, thread: Thread) -> None:
    """message_count, last activity and last customer message from the messages it now holds."""
    row = session.execute(
        select(func.count(), func.max(Message.received_at)).where(Message.thread_id == thread.id)
    ).one()
    inbound = session.scalar(
        select(func.max(Message.received_at)).where(
            Message.thread_id == thread.id, Message.direction == Direction.INBOUND
        )
    )
    thread.message_count = row[0] or 0
    if row[1] is not None:
        thread.last_activity_at = row[1]
    thread.last_inbound_at = inbound


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConcurrentChange(
            _("Someone else changed this thread while you were looking at it. Nothing was saved.")
        ) from exc


def _move(session: Session, model, ids: list[int], to_thread: int, *, key=None) -> None:
    if not ids:
        return
    column = key if key is not None else model.id
    session.execute(
        update(model)
        .where(column.in_(ids))
        .values(thread_id=to_thread)
        .execution_options(synchronize_session=False)
    )


def _set_due(
    session: Session,
    thread: Thread,
    due: datetime | None,
    hand: bool,
    by: User,
    now: datetime,
    why: str,
) -> None:
    """Change the deadline and record it the way ``kpi_facts.rebuild`` reads it."""
    if due == thread.due_at:
        thread.due_set_by_hand = hand if due is not None else False
        return
    if due is None:
        history.record(
            session,
            thread,
            "deadline_cleared",
            {"due_at": _iso(thread.due_at), "by": why, "at": now.isoformat()},
            by=by,
            now=now,
        )
    else:
        history.record(
            session,
            thread,
            "deadline_set",
            {"due_at": due.isoformat(), "by": why, "at": now.isoformat()},
            by=by,
            now=now,
        )
    thread.due_at, thread.due_set_by_hand = due, hand if due is not None else False


def _set_status(
    session: Session, thread: Thread, status: Status, by: User, now: datetime, why: str
) -> None:
    if thread.status == status:
        return
    history.record(
        session,
        thread,
        "status_changed",
        {"from": thread.status.value, "to": status.value, "by": why},
        by=by,
        now=now,
    )
    thread.status = status


def _stub(thread: Thread, into: Thread) -> None:
    """A thread merged away: redirects to ``into``, out of every queue, no deadline of its own."""
    thread.merged_into_id = into.id
    thread.status = Status.RESOLVED
    thread.due_at, thread.due_set_by_hand = None, False
    thread.message_count = 0


def _refresh(session: Session, threads: Iterable[Thread]) -> None:
    threads = list(threads)
    _flush(session)
    kpi_facts.rebuild_threads(session, [t.id for t in threads])
    for t in threads:
        session.expire(t, ["facts"])


# --- merge ---------------------------------------------------------------------------------------


def merge(
    session: Session, user: User, target_id: int, source_ids: Iterable[object], *, now: datetime
) -> ThreadOperation:
    """Merge the threads ``source_ids`` into ``target_id``; returns the operation (undoable).

    Raises NotFound for a thread the user may not see (or a bad id), InvalidInput for a thread
    merged into itself, already merged, in another mailbox or of another mall inquiry,
    PermissionDenied for an agent touching someone else's thread.
    """
    sources = list(dict.fromkeys(source_ids))
    if not sources:
        raise InvalidInput(_("Choose at least one other thread to merge into this one."))
    if target_id in sources:
        raise InvalidInput(_("A thread cannot be merged into itself."))
    if len(sources) > MAX_MERGE:
        raise InvalidInput(_("Merge at most %(n)s threads at a time."), n=MAX_MERGE)
    threads = {i: _visible(session, user, i) for i in sorted({target_id, *sources}, key=str)}
    target = threads[target_id]
    merging = [threads[i] for i in sources]
    for t in [target, *merging]:
        if t.merged_into_id is not None:
            raise InvalidInput(
                _("Thread #%(id)s was already merged into #%(into)s."),
                id=t.id,
                into=t.merged_into_id,
            )
        _may_change(user, t)
    for t in merging:
        if t.mailbox_id != target.mailbox_id:
            raise InvalidInput(
                _(
                    "Threads #%(a)s and #%(b)s are in different mailboxes; only threads of one mailbox can be merged."
                ),
                a=target.id,
                b=t.id,
            )
        if t.external_ref != target.external_ref:
            raise InvalidInput(
                _(
                    "Threads #%(a)s and #%(b)s are separate mall inquiries: the mall keeps each as its own conversation, so they cannot be merged."
                ),
                a=target.id,
                b=t.id,
            )
    op = ThreadOperation(
        kind="merge", thread_id=target.id, actor_id=user.id, data={}, created_at=now
    )
    session.add(op)
    session.flush()
    data: dict[str, Any] = {"target": _state(target), "sources": []}
    open_dues = [
        (t.due_at, t.due_set_by_hand)
        for t in [target, *merging]
        if t.due_at is not None and t.status in UNRESOLVED
    ]
    taken_alerts = {
        (a.stage, a.due_at)
        for a in session.scalars(select(Alert).where(Alert.thread_id == target.id))
    }
    target_tags = {t.tag for t in target.tags}
    target_followers = set(
        session.scalars(select(ThreadFollower.user_id).where(ThreadFollower.thread_id == target.id))
    )
    target_drafts = set(
        session.scalars(select(ReplyDraft.user_id).where(ReplyDraft.thread_id == target.id))
    )
    best_status = target.status
    for t in merging:
        alerts = []
        for a in session.scalars(select(Alert).where(Alert.thread_id == t.id).order_by(Alert.id)):
            if (a.stage, a.due_at) not in taken_alerts:
                taken_alerts.add((a.stage, a.due_at))
                alerts.append(a.id)
        moved = {
            "messages": _ids(session, select(Message.id).where(Message.thread_id == t.id)),
            "outbox": _ids(session, select(OutboxItem.id).where(OutboxItem.thread_id == t.id)),
            "approvals": _ids(
                session, select(ApprovalRequest.id).where(ApprovalRequest.thread_id == t.id)
            ),
            "alerts": alerts,
            "tags": sorted({x.tag for x in t.tags} - target_tags),
            "followers": sorted(
                set(
                    session.scalars(
                        select(ThreadFollower.user_id).where(ThreadFollower.thread_id == t.id)
                    )
                )
                - target_followers
            ),
            "drafts": sorted(
                set(session.scalars(select(ReplyDraft.user_id).where(ReplyDraft.thread_id == t.id)))
                - target_drafts
            ),
        }
        _move(session, Message, moved["messages"], target.id)
        _move(session, MessageTerm, moved["messages"], target.id, key=MessageTerm.message_id)
        _move(session, OutboxItem, moved["outbox"], target.id)
        _move(session, ApprovalRequest, moved["approvals"], target.id)
        _move(session, Alert, moved["alerts"], target.id)
        for tag in moved["tags"]:
            target.tags.append(ThreadTag(tag=tag))
        for uid in moved["followers"]:
            session.add(ThreadFollower(thread_id=target.id, user_id=uid, created_at=now))
        session.execute(
            update(ReplyDraft)
            .where(ReplyDraft.thread_id == t.id, ReplyDraft.user_id.in_(moved["drafts"]))
            .values(thread_id=target.id)
            .execution_options(synchronize_session=False)
        )
        target_tags |= set(moved["tags"])
        target_followers |= set(moved["followers"])
        target_drafts |= set(moved["drafts"])
        data["sources"].append({**_state(t), **moved})
        if best_status not in UNRESOLVED and t.status in UNRESOLVED:
            best_status = t.status
        elif best_status in UNRESOLVED and t.status in UNRESOLVED:
            best_status = min(best_status, t.status, key=UNRESOLVED.index)
        history.record(
            session, t, "merged_into", {"op": op.id, "into": target.id}, by=user, now=now
        )
        _stub(t, target)
    _set_status(session, target, best_status, user, now, "merge")
    due, hand = min(open_dues, key=lambda d: d[0]) if open_dues else (None, False)
    if target.status in UNRESOLVED:
        _set_due(session, target, due, hand, user, now, "merge")
    _recount(session, target)
    data["result"] = {"status": target.status.value, "due_at": _iso(target.due_at)}
    op.data = data
    history.record(
        session, target, "threads_merged", {"op": op.id, "sources": sources}, by=user, now=now
    )
    audit.record(
        session,
        actor_id=user.id,
        action="thread.merge",
        target=f"thread:{target.id}",
        changes={"sources": sources},
        now=now,
    )
    _refresh(session, [target, *merging])
    return op


def _undo_merge(session: Session, user: User, op: ThreadOperation, now: datetime) -> Thread:
    data = op.data or {}
    target = _visible(session, user, op.thread_id)
    _may_change(user, target)
    sources = []
    for snap in data.get("sources", []):
        t = _visible(session, user, snap["id"])
        if t.merged_into_id != target.id:
            raise InvalidInput(
                _("Thread #%(id)s changed since the merge; it cannot be put back."), id=t.id
            )
        sources.append((t, snap))
    for t, snap in sources:
        mine = select(Message.id).where(
            Message.id.in_(snap["messages"]), Message.thread_id == target.id
        )
        messages = _ids(session, mine)
        _move(session, Message, messages, t.id)
        _move(session, MessageTerm, messages, t.id, key=MessageTerm.message_id)
        _move(session, OutboxItem, snap["outbox"], t.id)
        _move(session, ApprovalRequest, snap["approvals"], t.id)
        _move(session, Alert, snap["alerts"], t.id)
        if snap["tags"]:  # the merged thread kept its own tags; the target loses those it got
            target.tags[:] = [x for x in target.tags if x.tag not in snap["tags"]]
        if snap["followers"]:
            session.execute(
                delete(ThreadFollower).where(
                    ThreadFollower.thread_id == target.id,
                    ThreadFollower.user_id.in_(snap["followers"]),
                )
            )
        if snap["drafts"]:
            session.execute(
                update(ReplyDraft)
                .where(ReplyDraft.thread_id == target.id, ReplyDraft.user_id.in_(snap["drafts"]))
                .values(thread_id=t.id)
                .execution_options(synchronize_session=False)
            )
        t.merged_into_id = None
        t.status = Status(snap["status"])
        t.due_at, t.due_set_by_hand = _time(snap["due_at"]), bool(snap["due_set_by_hand"])
        _recount(session, t)
        history.record(
            session, t, "merge_undone", {"op": op.id, "from": target.id}, by=user, now=now
        )
    before, result = data.get("target", {}), data.get("result", {})
    if target.status.value == result.get("status"):
        _set_status(session, target, Status(before["status"]), user, now, "undo")
    if _iso(target.due_at) == result.get("due_at"):
        _set_due(
            session,
            target,
            _time(before.get("due_at")),
            bool(before.get("due_set_by_hand")),
            user,
            now,
            "undo",
        )
    _recount(session, target)
    history.record(
        session,
        target,
        "merge_undone",
        {"op": op.id, "sources": [t.id for t, _s in sources]},
        by=user,
        now=now,
    )
    _refresh(session, [target, *(t for t, _s in sources)])
    return target


# --- split ---------------------------------------------------------------------------------------


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


def _undo_split(session: Session, user: User, op: ThreadOperation, now: datetime) -> Thread:
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


# --- undo and reading ----------------------------------------------------------------------------


def undo(session: Session, user: User, op_id: object, *, now: datetime) -> Thread:
    """Undo a merge or a split; returns the thread to show. Raises NotFound (no such operation,
    or not visible), InvalidInput (already undone, or the threads changed so that it cannot)."""
    if not isinstance(op_id, int) or not 0 < op_id <= MAX_ID:
        raise NotFound(_("There is no such change to undo."))
    op = session.get(ThreadOperation, op_id, with_for_update=True)
    if op is None:
        raise NotFound(_("There is no such change to undo."))
    _visible(session, user, op.thread_id, lock=False)
    if op.undone_at is not None:
        raise InvalidInput(_("This change was already undone."))
    thread = (
        _undo_merge(session, user, op, now)
        if op.kind == "merge"
        else _undo_split(session, user, op, now)
    )
    op.undone_at = now
    audit.record(
        session,
        actor_id=user.id,
        action=f"thread.{op.kind}_undone",
        target=f"thread:{op.thread_id}",
        changes={"operation": op.id},
        now=now,
    )
    _flush(session)
    return thread


def undoable(session: Session, op_ids: Iterable[object]) -> set[int]:
    """Those of ``op_ids`` (from history entries) that are not undone yet."""
    ids = {i for i in op_ids if isinstance(i, int)}
    if not ids:
        return set()
    return set(
        session.scalars(
            select(ThreadOperation.id).where(
                ThreadOperation.id.in_(ids), ThreadOperation.undone_at.is_(None)
            )
        )
    )


def merged_ids(session: Session, thread_id: int) -> list[int]:
    """Threads merged into this one (directly), oldest first: their history is shown here."""
    return list(
        session.scalars(
            select(Thread.id).where(Thread.merged_into_id == thread_id).order_by(Thread.id)
        )
    )
