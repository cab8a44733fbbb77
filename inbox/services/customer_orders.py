"""Order numbers per thread: gathered at ingest (an ``AFTER_STORE`` hook), once for existing
mail (``backfill``), and looked up by number within the user's mailboxes.

Only the message just stored is read at ingest (its subject and text, and the mall inquiry's
own order number), so the cost per message is one small query; pages never read mail to find
order numbers. Extraction itself is ``inbox.services.order_numbers``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from inbox.ingest.store import StoredMessage
from inbox.models import Direction, Message, Thread, ThreadOrderNumber, User
from inbox.services import order_numbers
from inbox.services.access import restrict_threads

MAX_PER_THREAD = 50
MAX_RESULTS = 100
MAX_SCAN = 1_000  # threads naming one number, before the mailbox check
MAX_HOPS = 50  # merged stubs followed to the thread they live in


def _mall_number(thread: Thread) -> str | None:
    value = (thread.external_meta or {}).get("order_number")
    number = order_numbers.normalise(str(value)) if value else ""
    return number or None


def numbers_of(thread: Thread, messages: Iterable[Message]) -> list[tuple[str, str]]:
    """(number, source) pairs a thread mentions: the mall's order first, then mail text."""
    found: dict[str, str] = {}
    mall = _mall_number(thread)
    if mall:
        found[mall] = "mall"
    for message in messages:
        if message.direction == Direction.NOTE:
            continue
        for number in order_numbers.find(f"{message.subject or ''}\n{message.text or ''}"):
            found.setdefault(number, "mail")
    return list(found.items())[:MAX_PER_THREAD]


def record(session: Session, thread: Thread, pairs: list[tuple[str, str]]) -> int:
    """Add the numbers the thread does not have yet; returns how many were added."""
    if not pairs or thread.id is None:
        return 0
    # Ingest stores a batch without autoflush: numbers added for an earlier message of the
    # same batch are still pending, not yet in the table.
    pending = {
        o.number
        for o in session.new
        if isinstance(o, ThreadOrderNumber) and o.thread_id == thread.id
    }
    have = pending | set(
        session.scalars(
            select(ThreadOrderNumber.number).where(ThreadOrderNumber.thread_id == thread.id)
        )
    )
    added = 0
    for number, source in pairs:
        if number not in have and len(have) < MAX_PER_THREAD:
            session.add(ThreadOrderNumber(thread_id=thread.id, number=number, source=source))
            have.add(number)
            added += 1
    return added


def on_stored_message(session: Session, stored: StoredMessage) -> None:
    """Ingest hook: the order numbers of the message just stored (and of its mall inquiry)."""
    if stored.thread.id is None:
        session.flush()
    record(session, stored.thread, numbers_of(stored.thread, [stored.message]))


def backfill(session: Session, *, after_id: int = 0, batch: int = 200) -> tuple[int, int, int]:
    """Gather order numbers of threads with id > ``after_id``, ``batch`` threads at a time.
    Returns (threads read, numbers added, last thread id); the caller commits and calls again
    with the last id until no thread is read."""
    threads = list(session.scalars(
        select(Thread).where(Thread.id > after_id).order_by(Thread.id).limit(batch)
    ))  # fmt: skip
    if not threads:
        return 0, 0, after_id
    by_thread: dict[int, list[Message]] = {t.id: [] for t in threads}
    for message in session.scalars(select(Message).where(Message.thread_id.in_(by_thread))):
        by_thread[message.thread_id].append(message)
    added = sum(record(session, t, numbers_of(t, by_thread[t.id])) for t in threads)
    session.flush()
    return len(threads), added, threads[-1].id


def threads_with(session: Session, user: User, query: str) -> list[Thread]:
    """Threads of the user's mailboxes that mention the order number ``query`` (normalised;
    exact match), newest first."""
    number = order_numbers.normalise(query)
    if len(number) < 4:
        return []
    ids = set(session.scalars(
        select(ThreadOrderNumber.thread_id).where(ThreadOrderNumber.number == number).limit(MAX_SCAN)
    ))  # fmt: skip
    # A merged stub keeps its order numbers but its messages live on in its target: list that.
    for _hop in range(MAX_HOPS):
        stubs = dict(session.execute(
            select(Thread.id, Thread.merged_into_id).where(Thread.id.in_(ids), Thread.merged_into_id.is_not(None))
        ).all())  # fmt: skip
        if not stubs:
            break
        ids = (ids - stubs.keys()) | set(stubs.values())
    stmt = restrict_threads(
        select(Thread).where(Thread.id.in_(ids), Thread.merged_into_id.is_(None)), session, user
    )
    return list(session.scalars(
        stmt.options(joinedload(Thread.mailbox), joinedload(Thread.contact))
        .order_by(Thread.last_activity_at.desc(), Thread.id.desc()).limit(MAX_RESULTS)
    ).unique())  # fmt: skip
