"""What merging and splitting threads share: checks, snapshots, moving rows between threads,
deadline and status changes written as events, and the KPI facts computed again.

Used by ``inbox.services.thread_ops`` (merge, undo) and ``inbox.services.thread_split``. Never
commits; knows nothing of the web.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from inbox.models import (
    Direction,
    Message,
    Role,
    Status,
    Thread,
    User,
)
from inbox.services import history, kpi_facts
from inbox.services.access import can_see_mailbox
from inbox.services.errors import ConcurrentChange, NotFound, PermissionDenied

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
