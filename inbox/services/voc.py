"""Voice of the customer: count the terms of customer messages as they arrive, and read the counts.

``analyse_batch`` takes inbound customer messages not analysed yet (normal mail and mall
messages; not auto-replies, bounces, bulk mail, notes or our replies), finds the terms of their
*new* text only (``Message.new_text``: quoted history is not counted again) with
``inbox.services.voc_terms``, and in the same transaction adds one to ``term_counts`` per
(mailbox, day, term), links message and term (``message_terms``) and marks the message analysed
(``terms_analysed``). That marker's primary key makes counting exactly-once: two schedulers that
took the same message cannot both commit. ``analysis_cursors`` only keeps the scan short.

The page reads ``term_counts`` and ``message_terms`` (never the mail). Knows nothing of HTTP.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.models import (
    AnalysisCursor,
    Category,
    Direction,
    Mailbox,
    Message,
    MessageKind,
    MessageTerm,
    TermAnalysed,
    TermCount,
    Thread,
    ThreadTag,
)
from inbox.services import claims, voc_terms

log = logging.getLogger(__name__)

CURSOR = "voc"
LEASE = "voc-terms"
BATCH = 200
# The cursor stays this far behind: a message whose transaction committed late (a lower id
# seen after higher ones) is still picked up by the scan above the cursor.
CURSOR_LAG = timedelta(minutes=30)


def _upsert_counts(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = TermCount.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(rows)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["mailbox_id", "day", "term"],
            set_={"count": table.c.count + stmt.excluded["count"]},
        )
    )


def _cursor(session: Session) -> AnalysisCursor:
    row = session.get(AnalysisCursor, CURSOR)
    if row is None:
        try:
            with session.begin_nested():
                session.add(AnalysisCursor(name=CURSOR, last_id=0))
        except IntegrityError:
            pass
        row = session.get(AnalysisCursor, CURSOR)
    return row


def customer_messages():
    """The messages whose words count: inbound, normal, readable."""
    return and_(
        Message.direction == Direction.INBOUND,
        Message.kind == MessageKind.NORMAL,
        Message.parse_failed.is_(False),
    )


def analyse_batch(
    session: Session, *, now: datetime, limit: int = BATCH, tokens: Any = None
) -> int:
    """Count the terms of up to ``limit`` customer messages not analysed yet; flushes, never
    commits (the caller commits, or rolls back on IntegrityError: another worker was faster).
    Returns how many messages were analysed."""
    cursor = _cursor(session)
    start = cursor.last_id
    done = select(TermAnalysed.message_id).where(TermAnalysed.message_id == Message.id)
    rows = session.execute(
        select(
            Message.id,
            Message.thread_id,
            Message.mailbox_id,
            Message.received_at,
            Message.new_text,
            Message.text,
        )
        .where(Message.id > start, customer_messages(), ~done.exists())
        .order_by(Message.id)
        .limit(limit + 1)
    ).all()
    batch, rest = rows[:limit], rows[limit:]
    zones = {
        m.id: ZoneInfo(m.timezone)
        for m in session.scalars(
            select(Mailbox).where(Mailbox.id.in_({r.mailbox_id for r in batch}))
        )
    }
    counts: Counter[tuple[int, date, str]] = Counter()
    links = []
    for row in batch:
        day = row.received_at.astimezone(zones[row.mailbox_id]).date()
        text = row.new_text if row.new_text.strip() else row.text
        for term in sorted(voc_terms.terms(text, tokens)):
            counts[(row.mailbox_id, day, term)] += 1
            links.append(
                {
                    "message_id": row.id,
                    "term": term,
                    "thread_id": row.thread_id,
                    "mailbox_id": row.mailbox_id,
                    "day": day,
                }
            )
    if batch:
        session.execute(
            TermAnalysed.__table__.insert(),
            [{"message_id": r.id, "analysed_at": now} for r in batch],
        )
    if links:
        session.execute(MessageTerm.__table__.insert(), links)
    _upsert_counts(
        session,
        [
            {"mailbox_id": m, "day": d, "term": t, "count": c}
            for (m, d, t), c in sorted(counts.items())
        ],
    )
    # Move the cursor up to what is both analysed and old enough that no earlier id can still appear.
    settled = session.scalar(
        select(func.max(Message.id)).where(
            Message.id > start, Message.created_at < now - CURSOR_LAG
        )
    )
    if settled is not None:
        if rest:
            settled = min(settled, rest[0].id - 1)
        if settled > start:
            session.execute(
                update(AnalysisCursor)
                .where(AnalysisCursor.name == CURSOR, AnalysisCursor.last_id == start)
                .values(last_id=settled)
                .execution_options(synchronize_session=False)
            )
    session.flush()
    return len(batch)


def run(runtime: Any, *, owner: str, now: datetime, batches: int = 10) -> int:
    """Scheduler entry point: take the VoC lease, then analyse up to ``batches`` batches,
    one transaction each. A busy lease means skip. Returns the messages analysed."""
    with runtime.Session() as session:
        claimed = claims.try_claim(session, LEASE, owner, now=now, ttl=timedelta(minutes=5))
        session.commit()
    if not claimed:
        return 0
    total = 0
    tokens = voc_terms.default_tokens()
    try:
        for _ in range(batches):
            with runtime.Session() as session:
                try:
                    n = analyse_batch(session, now=now, tokens=tokens)
                    session.commit()
                except IntegrityError:  # another worker analysed some of these first
                    session.rollback()
                    break
            total += n
            if n < BATCH:
                break
    finally:
        with runtime.Session() as session:
            claims.release(session, LEASE, owner)
            session.commit()
    if total:
        log.info("voice of the customer: %s messages analysed", total)
    return total


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date  # first day
    end: date  # last day, included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


@dataclass(frozen=True)
class TermRow:
    term: str
    count: int
    previous: int

    @property
    def change(self) -> int:
        return self.count - self.previous


def _counts(session: Session, mailbox_ids: list[int], period: Period) -> dict[str, int]:
    rows = session.execute(
        select(TermCount.term, func.sum(TermCount.count))
        .where(
            TermCount.mailbox_id.in_(mailbox_ids),
            TermCount.day >= period.start,
            TermCount.day <= period.end,
        )
        .group_by(TermCount.term)
    )
    return {term: int(n) for term, n in rows}


def top_terms(
    session: Session, mailbox_ids: list[int], period: Period, *, limit: int = 30
) -> tuple[list[TermRow], list[TermRow]]:
    """The most used terms of the period, and those rising most against the previous period of
    the same length (at least two messages now, and more than before)."""
    if not mailbox_ids:
        return [], []
    now_counts = _counts(session, mailbox_ids, period)
    before = _counts(session, mailbox_ids, period.previous())
    rows = [TermRow(t, n, before.get(t, 0)) for t, n in now_counts.items()]
    top = sorted(rows, key=lambda r: (-r.count, r.term))[:limit]
    rising = [r for r in rows if r.count >= 2 and r.count > r.previous]
    rising.sort(key=lambda r: (-(r.count - r.previous) / (r.previous + 1), -r.count, r.term))
    return top, rising[:limit]


def _bounds(p: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return (
        datetime.combine(p.start, datetime.min.time(), zone),
        datetime.combine(p.end + timedelta(days=1), datetime.min.time(), zone),
    )


def _arrived(mailbox_ids: list[int], p: Period, zone: ZoneInfo) -> Any:
    start, end = _bounds(p, zone)
    return and_(
        Thread.mailbox_id.in_(mailbox_ids), Thread.created_at >= start, Thread.created_at < end
    )


def top_tags(
    session: Session, mailbox_ids: list[int], period: Period, zone: ZoneInfo, *, limit: int = 20
) -> list[TermRow]:
    """Tags of the threads that arrived in the period, with the previous period's count."""
    if not mailbox_ids:
        return []

    def count(p: Period) -> dict[str, int]:
        rows = session.execute(
            select(ThreadTag.tag, func.count())
            .join(Thread, Thread.id == ThreadTag.thread_id)
            .where(_arrived(mailbox_ids, p, zone))
            .group_by(ThreadTag.tag)
        )
        return {tag: int(n) for tag, n in rows}

    now_counts, before = count(period), count(period.previous())
    rows = [TermRow(t, n, before.get(t, 0)) for t, n in now_counts.items()]
    return sorted(rows, key=lambda r: (-r.count, r.term))[:limit]


@dataclass(frozen=True)
class CategoryRow:
    category_id: int
    label: str  # "配送 › 遅延" for a child category
    count: int
    previous: int

    @property
    def change(self) -> int:
        return self.count - self.previous


def top_categories(
    session: Session, mailbox_ids: list[int], period: Period, zone: ZoneInfo, *, limit: int = 20
) -> list[CategoryRow]:
    """Categories (問い合わせ種別) of the threads that arrived in the period, with the previous
    period's count: one grouped count per period over ``threads``, never the messages. A
    category counted only in the previous period shows with 0 now (it is falling)."""
    if not mailbox_ids:
        return []

    def count(p: Period) -> dict[int, int]:
        rows = session.execute(
            select(Thread.category_id, func.count())
            .where(_arrived(mailbox_ids, p, zone), Thread.category_id.is_not(None))
            .group_by(Thread.category_id)
        )
        return {int(c): int(n) for c, n in rows}

    now_counts, before = count(period), count(period.previous())
    keys = set(now_counts) | set(before)
    labels = {c.id: c.label for c in session.scalars(select(Category).where(Category.id.in_(keys)))}
    rows = [
        CategoryRow(k, labels.get(k, "—"), now_counts.get(k, 0), before.get(k, 0)) for k in keys
    ]
    return sorted(rows, key=lambda r: (-r.count, -r.previous, r.label))[:limit]


def threads_arrived(
    session: Session,
    mailbox_ids: list[int],
    period: Period,
    zone: ZoneInfo,
    *,
    tag: str | None = None,
    category_id: int | None = None,
    limit: int = 200,
) -> list[Thread]:
    """The threads behind a tag's or a category's count: arrived in the period, newest first."""
    if not mailbox_ids or (tag is None) == (category_id is None):
        return []
    stmt = select(Thread).where(_arrived(mailbox_ids, period, zone))
    if tag is not None:
        stmt = stmt.where(
            select(ThreadTag.thread_id)
            .where(ThreadTag.thread_id == Thread.id, ThreadTag.tag == tag[:64])
            .exists()
        )
    else:
        stmt = stmt.where(Thread.category_id == category_id)
    return list(
        session.scalars(stmt.order_by(Thread.created_at.desc(), Thread.id.desc()).limit(limit))
    )


def threads_with_term(
    session: Session, mailbox_ids: list[int], term: str, period: Period, *, limit: int = 200
) -> list[Thread]:
    """The threads whose customer messages of the period contain ``term``, newest activity first."""
    if not mailbox_ids or not term:
        return []
    ids = (
        select(MessageTerm.thread_id)
        .where(
            MessageTerm.term == term[: voc_terms.MAX_TERM],
            MessageTerm.mailbox_id.in_(mailbox_ids),
            MessageTerm.day >= period.start,
            MessageTerm.day <= period.end,
        )
        .distinct()
    )
    return list(
        session.scalars(
            select(Thread)
            .where(Thread.id.in_(ids))
            .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
            .limit(limit)
        )
    )
