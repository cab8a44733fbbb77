"""Merging threads of one mailbox into one, splitting a thread in two, and undoing either.

A merge moves the other threads' messages (with their sends, approvals, alerts, search terms,
tags and followers) into the target; each merged thread stays as a stub whose page redirects
to the target (``Thread.merged_into_id``) and whose own history is shown there. The target
keeps the earliest open deadline of them all. A split moves a message and every later one into
a new thread; the deadline goes with the newest customer message. Each operation is a
``ThreadOperation`` row holding what it moved, so that the history's "undo" puts things back.
KPI facts of every thread touched are computed again from their history (``kpi_facts``), so
the facts kept and the facts rebuilt agree. The split itself lives in ``thread_split``, the
steps both share in ``thread_moves``. Never commits; knows nothing of the web.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from inbox.models import (
    Alert,
    ApprovalRequest,
    Message,
    MessageTerm,
    OutboxItem,
    ReplyDraft,
    Status,
    Thread,
    ThreadFollower,
    ThreadOperation,
    ThreadTag,
    User,
)
from inbox.services import audit, history
from inbox.services.errors import InvalidInput, NotFound
from inbox.services.thread_moves import (
    MAX_HOPS,
    MAX_ID,
    UNRESOLVED,
    _,
    _flush,
    _ids,
    _iso,
    _may_change,
    _move,
    _recount,
    _refresh,
    _set_due,
    _set_status,
    _state,
    _stub,
    _time,
    _visible,
)
from inbox.services.thread_split import split, undo_split

__all__ = ["follow", "merge", "split", "undo", "undoable"]

MAX_MERGE = 20


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
        else undo_split(session, user, op, now)
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
