"""Who is viewing or writing a reply on a thread right now (二重返信防止), kept in ThreadPresence rows.

A browser sends a heartbeat every few seconds; rows older than ``FRESH`` are ignored, so a
closed tab disappears by itself. No cache or extra server: one small row per (thread, user).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from inbox.models import ThreadPresence, User

FRESH = timedelta(seconds=30)


@dataclass(frozen=True)
class Presence:
    user_id: int
    name: str
    composing: bool
    seen_at: datetime


def heartbeat(
    session: Session, thread_id: int, user_id: int, *, composing: bool, now: datetime
) -> None:
    """Record that ``user_id`` is on the thread now (writing a reply if ``composing``).

    One statement (INSERT … ON CONFLICT DO UPDATE), so two tabs of one user never collide.
    """
    values = {"thread_id": thread_id, "user_id": user_id, "composing": composing, "seen_at": now}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(ThreadPresence).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["thread_id", "user_id"],
        set_={"composing": composing, "seen_at": now},
    )
    session.execute(stmt)


def stop_composing(session: Session, thread_id: int, user_id: int) -> None:
    """The user sent (or dropped) their reply: still viewing, no longer writing."""
    session.execute(
        update(ThreadPresence)
        .where(ThreadPresence.thread_id == thread_id, ThreadPresence.user_id == user_id)
        .values(composing=False)
        .execution_options(synchronize_session=False)
    )


def others_here(
    session: Session, thread_id: int, *, user_id: int | None, now: datetime
) -> list[Presence]:
    """Everyone else seen on the thread in the last ``FRESH`` seconds, writers first."""
    rows = session.execute(
        select(ThreadPresence, User.name)
        .join(User, User.id == ThreadPresence.user_id)
        .where(ThreadPresence.thread_id == thread_id, ThreadPresence.seen_at >= now - FRESH)
        .order_by(ThreadPresence.composing.desc(), User.name)
    )
    return [
        Presence(p.user_id, name, p.composing, p.seen_at)
        for p, name in rows
        if p.user_id != user_id
    ]


def prune(session: Session, *, now: datetime, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete rows nobody refreshed for a long time (housekeeping; stale rows are ignored anyway)."""
    result = session.execute(
        delete(ThreadPresence).where(ThreadPresence.seen_at < now - older_than)
    )
    return result.rowcount or 0


# Someone counts as working (for "assign to the least-loaded member who is working") if they
# were on a thread page within WORKING_RECENT, or logged in within WORKING_SHIFT.
WORKING_RECENT = timedelta(minutes=30)
WORKING_SHIFT = timedelta(hours=10)


def working_user_ids(session: Session, user_ids: list[int], *, now: datetime) -> set[int]:
    """Those of ``user_ids`` who are working now (see WORKING_RECENT and WORKING_SHIFT)."""
    if not user_ids:
        return set()
    seen = set(
        session.scalars(
            select(ThreadPresence.user_id).where(
                ThreadPresence.user_id.in_(user_ids), ThreadPresence.seen_at >= now - WORKING_RECENT
            )
        )
    )
    logged_in = set(
        session.scalars(
            select(User.id).where(User.id.in_(user_ids), User.last_login_at >= now - WORKING_SHIFT)
        )
    )
    return seen | logged_in
