"""The queue: which threads a user sees, filtered and paged with keyset paging (no OFFSET)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from inbox.models import Status, Thread, ThreadTag, User
from inbox.services.access import restrict_threads
from inbox.services.errors import InvalidInput


@dataclass(frozen=True)
class QueueFilter:
    mailbox_id: int | None = None
    statuses: tuple[Status, ...] = ()
    assignee: str | None = None  # "me", "none", or a user id as text
    tag: str | None = None


@dataclass
class QueuePage:
    threads: list[Thread]
    next_cursor: str | None
    counts: dict[str, int] = field(default_factory=dict)


def encode_cursor(thread: Thread) -> str:
    raw = f"{thread.last_activity_at.isoformat()}|{thread.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when, _, ident = base64.urlsafe_b64decode(padded).decode().partition("|")
        return datetime.fromisoformat(when), int(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("The page link is damaged; start from the first page.") from exc


def list_threads(
    session: Session, user: User, flt: QueueFilter, *, after: str | None = None, limit: int = 50
) -> QueuePage:
    """Threads the user may see, newest activity first, ``limit`` per page after ``after``."""
    stmt = restrict_threads(select(Thread), session, user)
    if flt.mailbox_id is not None:
        stmt = stmt.where(Thread.mailbox_id == flt.mailbox_id)
    if flt.statuses:
        stmt = stmt.where(Thread.status.in_(flt.statuses))
    if flt.assignee == "me":
        stmt = stmt.where(Thread.assignee_id == user.id)
    elif flt.assignee == "none":
        stmt = stmt.where(Thread.assignee_id.is_(None))
    elif flt.assignee:
        if not flt.assignee.isdigit():
            raise InvalidInput("Unknown assignee filter.")
        stmt = stmt.where(Thread.assignee_id == int(flt.assignee))
    if flt.tag:
        stmt = stmt.where(
            Thread.id.in_(select(ThreadTag.thread_id).where(ThreadTag.tag == flt.tag))
        )
    if after:
        when, ident = decode_cursor(after)
        stmt = stmt.where(
            or_(
                Thread.last_activity_at < when,
                and_(Thread.last_activity_at == when, Thread.id < ident),
            )
        )
    stmt = (
        stmt.options(
            joinedload(Thread.contact), joinedload(Thread.assignee), joinedload(Thread.mailbox)
        )
        .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
        .limit(limit + 1)
    )
    rows = list(session.scalars(stmt).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    return QueuePage(threads=rows, next_cursor=encode_cursor(rows[-1]) if more and rows else None)


def status_counts(session: Session, user: User, mailbox_id: int | None = None) -> dict[str, int]:
    """Number of threads per status in the user's mailboxes (for the side bar)."""
    stmt = restrict_threads(
        select(Thread.status, func.count()).group_by(Thread.status), session, user
    )
    if mailbox_id is not None:
        stmt = stmt.where(Thread.mailbox_id == mailbox_id)
    counts = {s.value: 0 for s in Status}
    for status, n in session.execute(stmt):
        counts[Status(status).value] = n
    return counts
