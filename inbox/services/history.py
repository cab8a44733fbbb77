"""A thread's history: writing events for changes people make, and reading them back for display.

Knows nothing of how a change is decided (``assignment``, ``notes``) or shown (templates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from inbox.models import Event, Thread, User

# hook(session, thread, event, now), run for every event ``record`` adds, in the caller's
# transaction (the event is not flushed yet). Filled by ``inbox.wiring`` (notifications).
AFTER_RECORD: list[Callable[[Session, Thread, Event, datetime], None]] = []


def record(
    session: Session, thread: Thread, kind: str, data: dict[str, Any], *, by: User | None, now: datetime
) -> Event:
    """Add one event for ``thread`` (flushes nothing; the caller's transaction keeps it)."""
    # By relationship, not id: a thread made in this transaction (at ingest) has no id yet.
    event = Event(thread=thread, actor_id=by.id if by else None, kind=kind, data=data, created_at=now)
    session.add(event)
    for hook in AFTER_RECORD:
        hook(session, thread, event, now)
    return event


def audit(
    session: Session, kind: str, data: dict[str, Any], *, by: User | None, now: datetime
) -> Event:
    """Add one event that belongs to no thread: what an admin or lead changed in the settings."""
    event = Event(thread_id=None, actor_id=by.id if by else None, kind=kind, data=data, created_at=now)
    session.add(event)
    return event


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a thread's history: who did what, when; ``users`` names the ids in ``data``."""

    at: datetime
    actor: User | None
    kind: str
    data: dict[str, Any]
    users: dict[int, User] = field(default_factory=dict)
    thread_id: int | None = None  # the thread it happened on (another one for a merged thread)

    def user(self, key: str) -> User | None:
        value = self.data.get(key)
        return self.users.get(value) if isinstance(value, int) else None


def thread_history(session: Session, thread_id: int) -> list[HistoryEntry]:
    """Every event of the thread and of the threads merged into it, oldest first, with the users
    it mentions loaded."""
    merged = select(Thread.id).where(Thread.merged_into_id == thread_id)
    events = list(
        session.scalars(
            select(Event)
            .options(joinedload(Event.actor))
            .where((Event.thread_id == thread_id) | Event.thread_id.in_(merged))
            .order_by(Event.created_at, Event.id)
        )
    )
    ids = {
        v for e in events for k, v in (e.data or {}).items() if k in ("from", "to") and isinstance(v, int)
    }
    ids |= {
        v for e in events if e.kind == "note_added" for v in (e.data or {}).get("mentions", [])
    }
    users = (
        {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    )
    return [
        HistoryEntry(at=e.created_at, actor=e.actor, kind=e.kind, data=e.data or {}, users=users,
                     thread_id=e.thread_id)
        for e in events
    ]
