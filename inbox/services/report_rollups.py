"""Daily report roll-ups: the figures of the reports page read from a few rows per mailbox and day.

``report_arrivals`` (threads per local day and hour), ``report_replies`` (delivered replies per
day and author, with the deadline counts), ``report_resolutions`` (resolutions, first
resolutions, reopenings and FCR per day) and ``report_durations`` (threads per whole hour of
first response and of resolution time, per day) are kept by the database itself: triggers on
``thread_facts`` and ``reply_facts`` (migration 0027) add each fact row's contribution and take
the old one back on every insert, update and delete, whichever code or cascade changed it. So a
90-day report reads about 90 × mailboxes × 24 rows instead of every thread of the period.

Days are the mailbox's local days (the facts' ``*_day`` columns), so the roll-ups answer only a
period in the mailbox's own timezone and without filters on agent, category or tag
(``answers``); otherwise ``inbox.services.reports`` reads the facts. ``rebuild`` recomputes
every roll-up from the facts (``inbox report rebuild-facts`` ends with it). Never commits.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, delete, func, insert, literal, literal_column, select, union_all
from sqlalchemy.orm import Session

from inbox.models import (
    Mailbox,
    ReplyFact,
    ReportArrivals,
    ReportDurations,
    ReportReplies,
    ReportResolutions,
    ThreadFact,
)

# A first resolution counts as resolved at first contact unless the thread reopens within this
# many seconds; the triggers of migration 0027 keep the same number, frozen there.
FCR_REOPEN_WINDOW_S = 7 * 86400


def answers(session: Session, mailbox_ids: list[int], zone_key: str, *, narrowed: bool) -> bool:
    """Whether the roll-ups can answer a report over ``mailbox_ids`` for a period in ``zone_key``:
    no agent/category/tag filter (``narrowed``) and every mailbox keeps its days in that zone."""
    if narrowed or not mailbox_ids:
        return False
    zones = set(session.scalars(select(Mailbox.timezone).where(Mailbox.id.in_(mailbox_ids)).distinct()))
    return zones == {zone_key}


def arrivals(session: Session, ids: list[int], start: date, end: date) -> list[tuple[date, int, int, int]]:
    """(local day, weekday, hour, threads) of the arrivals from ``start`` to ``end`` inclusive."""
    r = ReportArrivals
    rows = session.execute(
        select(r.day, r.hour, func.sum(r.threads))
        .where(r.mailbox_id.in_(ids), r.day >= start, r.day <= end)
        .group_by(r.day, r.hour)
    )
    return [(day, day.weekday(), hour, int(n)) for day, hour, n in rows if n]


def replies(session: Session, ids: list[int], start: date, end: date) -> list[tuple[int | None, int, int, int]]:
    """(author or None, replies, within the deadline, with a deadline), as ``reports._replies``."""
    r = ReportReplies
    rows = session.execute(
        select(r.author_id, func.sum(r.replies), func.sum(r.within_deadline), func.sum(r.with_deadline))
        .where(r.mailbox_id.in_(ids), r.day >= start, r.day <= end)
        .group_by(r.author_id)
    )
    return [(author or None, int(n), int(w), int(d)) for author, n, w, d in rows if n]


def first_resolutions(session: Session, ids: list[int], start: date, end: date) -> tuple[int, int, int, int]:
    """(first resolutions, reopened, FCR, FCR base), as ``reports._resolutions``."""
    r = ReportResolutions
    row = session.execute(
        select(func.sum(r.first_resolved), func.sum(r.reopened), func.sum(r.fcr), func.sum(r.fcr_base))
        .where(r.mailbox_id.in_(ids), r.day >= start, r.day <= end)
    ).one()
    return tuple(int(x or 0) for x in row)  # type: ignore[return-value]


def resolved_per_day(session: Session, ids: list[int], start: date, end: date) -> dict[date, int]:
    """Threads resolved now, by the local day of their latest resolution (the backlog's outflow)."""
    r = ReportResolutions
    rows = session.execute(
        select(r.day, func.sum(r.resolved))
        .where(r.mailbox_id.in_(ids), r.day >= start, r.day <= end)
        .group_by(r.day)
    )
    return {day: int(n) for day, n in rows if n}


def open_before(session: Session, ids: list[int], day: date) -> int:
    """Threads open when ``day`` starts: every arrival before it less every thread whose latest
    resolution came before it (as ``reports._open_at``, for a thread whose first customer message
    did not come after its resolution)."""
    came = session.scalar(select(func.sum(ReportArrivals.threads)).where(
        ReportArrivals.mailbox_id.in_(ids), ReportArrivals.day < day)) or 0
    gone = session.scalar(select(func.sum(ReportResolutions.resolved)).where(
        ReportResolutions.mailbox_id.in_(ids), ReportResolutions.day < day)) or 0
    return int(came) - int(gone)


# (facts column with the seconds, facts column with the instant); the expression indexes
# ix_thread_facts_first_response_hours and ix_thread_facts_resolution_hours (migration 0027) find
# one hour's facts of a period
_MEASURE_COLUMNS = {
    ReportDurations.FIRST_RESPONSE: (ThreadFact.first_response_business_s, ThreadFact.first_reply_at),
    ReportDurations.RESOLUTION: (ThreadFact.resolution_business_s, ThreadFact.resolved_at),
}


def _whole_hours(seconds: Any) -> Any:
    """``seconds / 3600`` in integers, written as the ``ix_thread_facts_*_hours`` indexes are."""
    return seconds.op("/")(literal_column("3600"))


def percentiles(session: Session, measure: int, ids: list[int], start: date, end: date,
                bounds: tuple[datetime, datetime], quantiles: tuple[float, ...]
                ) -> tuple[int, list[int | None]]:
    """(count, nearest-rank percentiles in seconds) of a duration over the period, exact.

    The hour holding each rank comes from ``report_durations`` (one row per whole hour, day and
    mailbox); the exact second from the period's facts of that hour only (``bounds``: the period
    as instants, the same days in the mailboxes' timezone).
    """
    d = ReportDurations
    hours = session.execute(
        select(d.hours, func.sum(d.threads))
        .where(d.measure == measure, d.mailbox_id.in_(ids), d.day >= start, d.day <= end)
        .group_by(d.hours).order_by(d.hours)
    ).all()
    n = sum(int(count) for _hours, count in hours)
    if not n:
        return 0, [None for _q in quantiles]
    seconds, at = _MEASURE_COLUMNS[measure]
    found: list[int | None] = []
    for q in quantiles:
        rank, seen, holding = max(1, math.ceil(q * n)), 0, hours[-1][0]
        for whole, count in hours:
            if seen + count >= rank:
                holding = whole
                break
            seen += count
        found.append(_nth_of_hour(session, seconds, at, ids, bounds, holding, rank - seen - 1))
    return n, found


def _nth_of_hour(session: Session, seconds: Any, at: Any, ids: list[int],
                 bounds: tuple[datetime, datetime], whole: int, offset: int) -> int | None:
    stmt = (select(seconds).where(_whole_hours(seconds) == whole, at >= bounds[0], at < bounds[1],
                                  ThreadFact.mailbox_id.in_(ids))
            .order_by(seconds).offset(offset).limit(1))
    return session.scalar(stmt)


def rebuild(session: Session) -> None:
    """Recompute every roll-up from the facts (a repair; the triggers keep them otherwise)."""
    for table in (ReportArrivals, ReportReplies, ReportResolutions, ReportDurations):
        session.execute(delete(table))
    f, rf = ThreadFact, ReplyFact
    for measure, (seconds, at) in _MEASURE_COLUMNS.items():
        day = f.first_reply_day if measure == ReportDurations.FIRST_RESPONSE else f.resolved_day
        whole = _whole_hours(seconds)
        session.execute(insert(ReportDurations).from_select(
            ["measure", "mailbox_id", "day", "hours", "threads"],
            select(literal(measure), f.mailbox_id, day, whole, func.count())
            .where(at.is_not(None), day.is_not(None), seconds.is_not(None))
            .group_by(f.mailbox_id, day, whole)))
    session.execute(insert(ReportArrivals).from_select(
        ["mailbox_id", "day", "hour", "threads"],
        select(f.mailbox_id, f.received_day, f.received_hour, func.count())
        .where(f.received_at.is_not(None), f.received_day.is_not(None), f.received_hour.is_not(None))
        .group_by(f.mailbox_id, f.received_day, f.received_hour)))
    author = func.coalesce(rf.author_id, 0)
    session.execute(insert(ReportReplies).from_select(
        ["mailbox_id", "day", "author_id", "replies", "within_deadline", "with_deadline"],
        select(rf.mailbox_id, rf.delivered_day, author, func.count(),
               func.count().filter(rf.within_deadline.is_(True)),
               func.count().filter(rf.within_deadline.is_not(None)))
        .where(rf.delivered_day.is_not(None))
        .group_by(rf.mailbox_id, rf.delivered_day, author)))
    zero = literal(0)

    def flag(condition: object) -> object:
        return case((condition, 1), else_=0)

    latest = select(f.mailbox_id.label("mailbox_id"), f.resolved_day.label("day"),
                    literal(1).label("resolved"), zero.label("first_resolved"), zero.label("reopened"),
                    zero.label("fcr"), zero.label("fcr_base")).where(
        f.resolved_at.is_not(None), f.received_at.is_not(None), f.resolved_day.is_not(None))
    first = select(
        f.mailbox_id, f.first_resolved_day, zero, literal(1), flag(f.first_reopened_at.is_not(None)),
        flag((f.replies_at_first_resolve == 1) & (
            f.first_reopen_after_s.is_(None) | (f.first_reopen_after_s > FCR_REOPEN_WINDOW_S))),
        flag(f.replies_at_first_resolve >= 1),
    ).where(f.first_resolved_at.is_not(None), f.first_resolved_day.is_not(None))
    both = union_all(latest, first).subquery()
    session.execute(insert(ReportResolutions).from_select(
        ["mailbox_id", "day", "resolved", "first_resolved", "reopened", "fcr", "fcr_base"],
        select(both.c.mailbox_id, both.c.day, func.sum(both.c.resolved), func.sum(both.c.first_resolved),
               func.sum(both.c.reopened), func.sum(both.c.fcr), func.sum(both.c.fcr_base))
        .group_by(both.c.mailbox_id, both.c.day)))
