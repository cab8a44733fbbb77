"""Reports: KPI figures for a period and filters, read from the daily roll-ups and the facts (never messages).

A period is a range of local dates in the viewer's timezone; each figure is computed for it
and for the previous period of the same length. Every number has a *figure key* naming the
threads behind it (``threads_behind`` lists them), so the page can link each number to its
threads. Leads see their mailboxes, admins all. Business-hour figures are in hours.
Grouping by day and the weekday × hour heat map use the mailbox's own timezone (kept in the
facts at write time). Knows nothing of the web.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, Select, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from inbox.models import (
    Mailbox,
    MailboxKind,
    ReplyFact,
    ReportDurations,
    Role,
    Thread,
    ThreadFact,
    ThreadTag,
    User,
)
from inbox.services import report_rollups
from inbox.services.access import require_role, visible_mailbox_ids
from inbox.services.errors import InvalidInput

MAX_DAYS = 731
PAGE = 100
DEFAULT_DAYS = 30
FCR_REOPEN_WINDOW = timedelta(seconds=report_rollups.FCR_REOPEN_WINDOW_S)
FIGURES = (
    "received", "first_response", "resolution", "deadline_met", "deadline_missed", "replies",
    "resolved_first", "reopened", "fcr", "backlog",
)


def _(text: str) -> str:
    """Marks a text for the translation catalogue; the web layer translates it."""
    return text


@dataclass(frozen=True)
class ReportFilter:
    """A period (inclusive local dates in ``zone``) and the optional narrowing filters."""

    start: date
    end: date
    zone: ZoneInfo
    mailbox_id: int | None = None
    channel: str | None = None
    agent_id: int | None = None
    category_id: int | None = None
    tag: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as UTC instants ``[from, to)``."""
        return _midnight(self.start, self.zone), _midnight(self.end + timedelta(days=1), self.zone)

    def previous(self) -> ReportFilter:
        """The period of the same length just before this one, same filters."""
        return replace(self, start=self.start - timedelta(days=self.days),
                       end=self.start - timedelta(days=1))

    def as_args(self) -> dict[str, Any]:
        args = {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "mailbox": self.mailbox_id, "channel": self.channel, "agent": self.agent_id,
                "category": self.category_id, "tag": self.tag}
        return {k: v for k, v in args.items() if v not in (None, "")}


def _midnight(d: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(d, time(0), tzinfo=zone).astimezone(UTC)


def _int_arg(args: Mapping[str, Any], key: str) -> int | None:
    value = (args.get(key) or "").strip() if isinstance(args.get(key), str) else args.get(key)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(_("The filters are not valid.")) from None
    if not 0 < number < 2**63:
        raise InvalidInput(_("The filters are not valid."))
    return number


def parse_filter(args: Mapping[str, Any], *, zone: ZoneInfo, today: date) -> ReportFilter:
    """Read a period and filters from query arguments; the last 30 days by default.

    Raises InvalidInput for a malformed date, an end before the start, a period longer than
    two years, or a malformed filter.
    """
    try:
        end = date.fromisoformat(args["end"]) if args.get("end") else today
        start = (date.fromisoformat(args["start"]) if args.get("start")
                 else end - timedelta(days=DEFAULT_DAYS - 1))
    except (TypeError, ValueError):
        raise InvalidInput(_("Enter the dates as YYYY-MM-DD.")) from None
    if end < start:
        raise InvalidInput(_("The period ends before it starts."))
    if (end - start).days + 1 > MAX_DAYS or start.year < 1971 or end.year > 9998:
        raise InvalidInput(_("A period can be at most two years long."))
    channel = (args.get("channel") or "").strip() or None
    if channel is not None and channel not in {k.value for k in MailboxKind}:
        raise InvalidInput(_("The filters are not valid."))
    tag = (args.get("tag") or "").strip()[:64] or None
    return ReportFilter(start=start, end=end, zone=zone, mailbox_id=_int_arg(args, "mailbox"),
                        channel=channel, agent_id=_int_arg(args, "agent"),
                        category_id=_int_arg(args, "category"), tag=tag)


def parse_narrowing(args: Mapping[str, Any]) -> dict[str, Any]:
    """The optional ``day`` (backlog), ``dow``/``hour`` (heat map) and ``before`` (paging) arguments."""
    out: dict[str, Any] = {}
    try:
        if args.get("day"):
            out["day"] = date.fromisoformat(args["day"])
        for key, top in (("dow", 6), ("hour", 23), ("before", 2**63 - 1)):
            if args.get(key) not in (None, ""):
                value = int(args[key])
                if not 0 <= value <= top:
                    raise ValueError(key)
                out[key] = value
    except (TypeError, ValueError):
        raise InvalidInput(_("The filters are not valid.")) from None
    return out


def scope_ids(session: Session, user: User | None, flt: ReportFilter) -> list[int]:
    """The mailbox ids the report covers: the viewer's, narrowed by mailbox and channel.
    ``user`` None is the operator at the command line: every mailbox.

    Raises PermissionDenied unless the viewer is a lead or an admin.
    """
    if user is None:
        ids = list(session.scalars(select(Mailbox.id).order_by(Mailbox.id)))
    else:
        require_role(user, Role.LEAD, Role.ADMIN)
        ids = visible_mailbox_ids(session, user)
    if flt.mailbox_id is not None:
        ids = [i for i in ids if i == flt.mailbox_id]
    if flt.channel is not None and ids:
        ids = list(session.scalars(
            select(Mailbox.id).where(Mailbox.id.in_(ids), Mailbox.kind == MailboxKind(flt.channel))))
    return ids


def _category_column() -> Any:
    return getattr(Thread, "category_id", None)


def _narrow(stmt: Select, flt: ReportFilter, ids: list[int], fact_thread: Any, fact_mailbox: Any,
            *, agent_column: Any = None) -> Select:
    """Apply the scope and the thread filters to a SELECT over a facts table."""
    stmt = stmt.where(fact_mailbox.in_(ids))
    category = _category_column()
    if flt.agent_id is not None and agent_column is not None:
        stmt = stmt.where(agent_column == flt.agent_id)
    needs_thread = (flt.agent_id is not None and agent_column is None) or (
        flt.category_id is not None and category is not None)
    if needs_thread:
        stmt = stmt.join(Thread, Thread.id == fact_thread)
        if flt.agent_id is not None and agent_column is None:
            stmt = stmt.where(Thread.assignee_id == flt.agent_id)
        if flt.category_id is not None and category is not None:
            stmt = stmt.where(category == flt.category_id)
    if flt.tag is not None:
        stmt = stmt.where(select(ThreadTag.thread_id).where(
            ThreadTag.thread_id == fact_thread, ThreadTag.tag == flt.tag).exists())
    return stmt


def figure_condition(figure: str, flt: ReportFilter, *, day: date | None = None,
                     dow: int | None = None, hour: int | None = None) -> ColumnElement[bool]:
    """Which ``ThreadFact`` rows are behind a figure (``replies``/``deadline_*``: see ``_reply_threads``)."""
    lo, hi = flt.bounds()
    f = ThreadFact
    if figure == "received":
        cond = and_(f.received_at >= lo, f.received_at < hi)
        if dow is not None:
            cond = and_(cond, f.received_dow == dow)
        if hour is not None:
            cond = and_(cond, f.received_hour == hour)
        return cond
    if figure == "first_response":
        return and_(f.first_reply_at >= lo, f.first_reply_at < hi, f.first_response_business_s.is_not(None))
    if figure == "resolution":
        return and_(f.resolved_at >= lo, f.resolved_at < hi, f.resolution_business_s.is_not(None))
    first_resolved = and_(f.first_resolved_at >= lo, f.first_resolved_at < hi)
    if figure == "resolved_first":
        return first_resolved
    if figure == "reopened":
        return and_(first_resolved, f.first_reopened_at.is_not(None))
    if figure == "fcr_base":
        return and_(first_resolved, f.replies_at_first_resolve >= 1)
    if figure == "fcr":
        return and_(first_resolved, f.replies_at_first_resolve == 1, or_(
            f.first_reopen_after_s.is_(None),
            f.first_reopen_after_s > int(FCR_REOPEN_WINDOW.total_seconds())))
    if figure == "backlog":  # open at the end of ``day`` (in the period's zone)
        until = _midnight((day or flt.end) + timedelta(days=1), flt.zone)
        return and_(f.received_at < until, or_(f.resolved_at.is_(None), f.resolved_at >= until))
    raise InvalidInput(_("Unknown figure."))


@dataclass
class Spread:
    """Median and 90th percentile of a duration, in business hours, over ``count`` threads."""

    count: int = 0
    median_h: float | None = None
    p90_h: float | None = None


@dataclass
class Share:
    part: int = 0
    whole: int = 0

    @property
    def percent(self) -> float | None:
        return round(100 * self.part / self.whole, 1) if self.whole else None


@dataclass
class Figures:
    """The scalar figures of one period."""

    received: int = 0
    first_response: Spread = field(default_factory=Spread)
    resolution: Spread = field(default_factory=Spread)
    within_deadline: Share = field(default_factory=Share)
    reopen: Share = field(default_factory=Share)
    fcr: Share = field(default_factory=Share)
    replies: int = 0
    backlog_end: int = 0


@dataclass
class Report:
    flt: ReportFilter
    now: Figures
    before: Figures
    agents: list[tuple[int | None, str, int, int]]  # (user id, name, replies, previous period)
    backlog: list[tuple[date, int]]
    heatmap: list[list[int]]  # [weekday 0=Mon][hour]
    mailbox_ids: list[int]


def percentile(sorted_values: list[int], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None for none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return float(sorted_values[rank - 1])


def _rank(q: float, n: Any) -> Any:
    """``percentile``'s nearest rank, max(1, ceil(q * n)), in SQL with the same float arithmetic."""
    product = q * n
    whole = cast(product, Integer)
    return whole + case((product > whole, 1), else_=0)


_ROLLUP_MEASURE = {"first_response": ReportDurations.FIRST_RESPONSE, "resolution": ReportDurations.RESOLUTION}


def _spread(session: Session, column: Any, figure: str, flt: ReportFilter, ids: list[int],
            rollup: bool = False) -> Spread:
    """Median and 90th percentile: from the whole hours in the roll-ups and the period's facts of
    the hours holding them, else computed by the database over the period's facts (PostgreSQL's
    ``percentile_disc``, elsewhere one ordered pass numbering the rows)."""
    if rollup:
        n, found = report_rollups.percentiles(session, _ROLLUP_MEASURE[figure], ids, flt.start, flt.end,
                                              flt.bounds(), (0.5, 0.9))
        return Spread(n, *[None if v is None else round(float(v) / 3600, 2) for v in found])
    stmt = _narrow(select(column.label("v")).where(figure_condition(figure, flt)), flt, ids,
                   ThreadFact.thread_id, ThreadFact.mailbox_id)
    values = stmt.subquery()
    if session.get_bind().dialect.name == "postgresql":
        n, *found = session.execute(select(
            func.count(values.c.v), *(func.percentile_disc(q).within_group(values.c.v) for q in (0.5, 0.9))
        )).one()
    else:
        ranked = select(values.c.v, func.row_number().over(order_by=values.c.v).label("rn"),
                        func.count().over().label("n")).where(values.c.v.is_not(None)).subquery()
        rows = session.execute(select(ranked.c.v, ranked.c.rn, ranked.c.n).where(
            or_(ranked.c.rn == _rank(0.5, ranked.c.n), ranked.c.rn == _rank(0.9, ranked.c.n)))).all()
        n = rows[0].n if rows else 0
        at = {r.rn: r.v for r in rows}
        found = [at.get(max(1, math.ceil(q * n))) for q in (0.5, 0.9)] if n else [None, None]
    hours = [None if v is None else round(float(v) / 3600, 2) for v in found]
    return Spread(int(n or 0), *hours)


def _from_rollups(session: Session, flt: ReportFilter, ids: list[int]) -> bool:
    """Whether the daily roll-ups answer the counts of ``flt`` (see ``report_rollups.answers``)."""
    narrowed = flt.agent_id is not None or flt.category_id is not None or flt.tag is not None
    return report_rollups.answers(session, ids, flt.zone.key, narrowed=narrowed)


def _resolutions(session: Session, flt: ReportFilter, ids: list[int], rollup: bool = False
                 ) -> tuple[int, int, int, int]:
    """(first resolutions, reopened, FCR, FCR base) of the period: from the roll-ups, else one
    pass over a covering index of the facts."""
    if rollup:
        return report_rollups.first_resolutions(session, ids, flt.start, flt.end)
    f = ThreadFact
    measures = [func.count().filter(figure_condition(name, flt))
                for name in ("reopened", "fcr", "fcr_base")]
    stmt = _narrow(select(func.count(), *measures).select_from(f)
                   .where(figure_condition("resolved_first", flt)), flt, ids, f.thread_id, f.mailbox_id)
    row = session.execute(stmt).one()
    return tuple(int(x or 0) for x in row)  # type: ignore[return-value]


def _reply_stmt(stmt: Select, flt: ReportFilter, ids: list[int]) -> Select:
    lo, hi = flt.bounds()
    stmt = stmt.where(ReplyFact.delivered_at >= lo, ReplyFact.delivered_at < hi)
    return _narrow(stmt, flt, ids, ReplyFact.thread_id, ReplyFact.mailbox_id,
                   agent_column=ReplyFact.author_id)


def _arrivals(session: Session, flt: ReportFilter, ids: list[int], rollup: bool = False
              ) -> list[tuple[date, int, int, int]]:
    """(local day, weekday, hour, threads) of the period's arrivals: from the roll-ups, else one
    pass over a covering index of the facts."""
    if rollup:
        return report_rollups.arrivals(session, ids, flt.start, flt.end)
    f = ThreadFact
    stmt = _narrow(select(f.received_day, f.received_dow, f.received_hour, func.count())
                   .where(figure_condition("received", flt)), flt, ids, f.thread_id, f.mailbox_id)
    return list(session.execute(stmt.group_by(f.received_day, f.received_dow, f.received_hour)).all())


def _replies(session: Session, flt: ReportFilter, ids: list[int], rollup: bool = False
             ) -> list[tuple[int | None, int, int, int]]:
    """(author, replies, within the deadline, with a deadline) of the period's delivered replies."""
    if rollup:
        return report_rollups.replies(session, ids, flt.start, flt.end)
    stmt = _reply_stmt(select(
        ReplyFact.author_id, func.count(ReplyFact.id),
        func.count(ReplyFact.id).filter(ReplyFact.within_deadline.is_(True)),
        func.count(ReplyFact.id).filter(ReplyFact.within_deadline.is_not(None))), flt, ids)
    return list(session.execute(stmt.group_by(ReplyFact.author_id)).all())


def figures(session: Session, flt: ReportFilter, ids: list[int], *, arrivals: list | None = None,
            replies: list | None = None, backlog_end: int | None = None,
            rollup: bool | None = None) -> Figures:
    """The scalar figures of ``flt``'s period over mailboxes ``ids``; the counts come from the
    daily roll-ups when they answer (``rollup`` None: decide here), the rest from the facts."""
    out = Figures()
    if not ids:
        return out
    rollup = _from_rollups(session, flt, ids) if rollup is None else rollup
    arrivals = _arrivals(session, flt, ids, rollup) if arrivals is None else arrivals
    replies = _replies(session, flt, ids, rollup) if replies is None else replies
    out.received = sum(n for *_key, n in arrivals)
    out.first_response = _spread(session, ThreadFact.first_response_business_s, "first_response", flt, ids,
                                 rollup)
    out.resolution = _spread(session, ThreadFact.resolution_business_s, "resolution", flt, ids, rollup)
    out.within_deadline = Share(sum(r[2] for r in replies), sum(r[3] for r in replies))
    out.replies = sum(r[1] for r in replies)
    resolved, reopened, fcr, fcr_base = _resolutions(session, flt, ids, rollup)
    out.reopen = Share(reopened, resolved)
    out.fcr = Share(fcr, fcr_base)
    out.backlog_end = (_open_at(session, flt, ids, flt.bounds()[1], rollup) if backlog_end is None
                       else backlog_end)
    return out


def _agents(session: Session, now: list, before: list) -> list[tuple[int | None, str, int, int]]:
    counts: dict[int | None, list[int]] = {}
    for i, rows in enumerate((now, before)):
        for author, n, *_rest in rows:
            counts.setdefault(author, [0, 0])[i] = n
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_([a for a in counts if a]))).all())
    rows = [(a, names.get(a, "—") if a else "—", n[0], n[1]) for a, n in counts.items()]
    return sorted(rows, key=lambda r: (-r[2], r[1]))


def _open_at(session: Session, flt: ReportFilter, ids: list[int], at: datetime, rollup: bool = False) -> int:
    """Threads open at ``at`` (a midnight of the period's zone): arrived before it and not
    resolved then. From the roll-ups: arrivals less resolutions before that day. Else counted as
    those never resolved (a partial index holds only them) plus those resolved since ``at``."""
    if rollup:
        return report_rollups.open_before(session, ids, at.astimezone(flt.zone).date())
    f = ThreadFact

    def count(*where: ColumnElement[bool]) -> int:
        stmt = select(func.count()).select_from(f).where(*where)
        return session.scalar(_narrow(stmt, flt, ids, f.thread_id, f.mailbox_id)) or 0

    return count(f.resolved_at.is_(None), f.received_at < at) + count(f.resolved_at >= at, f.received_at < at)


def _backlog(session: Session, flt: ReportFilter, ids: list[int], arrivals: list, rollup: bool = False
             ) -> tuple[int, list[tuple[date, int]]]:
    """Open threads when the period starts, and at the end of each of its days."""
    lo, hi = flt.bounds()
    f = ThreadFact
    level = start = _open_at(session, flt, ids, lo, rollup)
    came: dict[date, int] = {}
    for day, _dow, _hour, n in arrivals:
        came[day] = came.get(day, 0) + n
    if rollup:
        done = report_rollups.resolved_per_day(session, ids, flt.start, flt.end)
    else:
        done = dict(session.execute(_narrow(
            select(f.resolved_day, func.count()).where(
                f.resolved_at >= lo, f.resolved_at < hi, f.received_at.is_not(None)),
            flt, ids, f.thread_id, f.mailbox_id).group_by(f.resolved_day)).all())
    series = []
    for n in range(flt.days):
        d = flt.start + timedelta(days=n)
        level += came.get(d, 0) - done.get(d, 0)
        series.append((d, max(level, 0)))
    return start, series


def _heatmap(arrivals: list) -> list[list[int]]:
    grid = [[0] * 24 for _ in range(7)]
    for _day, dow, hour, n in arrivals:
        if dow is not None and hour is not None:
            grid[dow][hour] += n
    return grid


def build_report(session: Session, user: User | None, flt: ReportFilter) -> Report:
    """Every figure of the period and of the previous one. Raises PermissionDenied for agents."""
    ids = scope_ids(session, user, flt)
    if not ids:
        return Report(flt, Figures(), Figures(), [], [(flt.start + timedelta(days=n), 0)
                      for n in range(flt.days)], [[0] * 24 for _ in range(7)], ids)
    rollup = _from_rollups(session, flt, ids)
    arrivals, replies = _arrivals(session, flt, ids, rollup), _replies(session, flt, ids, rollup)
    before = flt.previous()
    replies_before = _replies(session, before, ids, rollup)
    at_start, backlog = _backlog(session, flt, ids, arrivals, rollup)
    return Report(
        flt=flt, now=figures(session, flt, ids, arrivals=arrivals, replies=replies,
                             backlog_end=backlog[-1][1], rollup=rollup),
        before=figures(session, before, ids, replies=replies_before, backlog_end=at_start,
                       rollup=rollup),
        agents=_agents(session, replies, replies_before), backlog=backlog,
        heatmap=_heatmap(arrivals), mailbox_ids=ids,
    )


def threads_behind_stmt(session: Session, user: User | None, flt: ReportFilter, figure: str,
                        **kw: Any) -> Select:
    """A SELECT of ``Thread`` ids behind one number of the report (newest first).

    ``figure`` is one of ``FIGURES``; ``day`` (backlog), ``dow``/``hour`` (heat map) narrow it.
    Raises InvalidInput for an unknown figure, PermissionDenied for agents.
    """
    if figure not in FIGURES:
        raise InvalidInput(_("Unknown figure."))
    ids = scope_ids(session, user, flt)
    if figure in ("replies", "deadline_met", "deadline_missed"):
        stmt = _reply_stmt(select(ReplyFact.thread_id), flt, ids)
        if figure != "replies":
            stmt = stmt.where(ReplyFact.within_deadline.is_(figure == "deadline_met"))
        return stmt.distinct()
    stmt = select(ThreadFact.thread_id).where(figure_condition(figure, flt, **kw))
    return _narrow(stmt, flt, ids, ThreadFact.thread_id, ThreadFact.mailbox_id)


def threads_behind(session: Session, user: User, flt: ReportFilter, figure: str, *,
                   before_id: int | None = None, limit: int = PAGE, **kw: Any) -> list[Thread]:
    """One page (by falling id) of the threads behind a number."""
    inner = threads_behind_stmt(session, user, flt, figure, **kw).subquery()
    stmt = select(Thread).where(Thread.id.in_(select(inner.c[0])))
    if before_id is not None:
        stmt = stmt.where(Thread.id < before_id)
    return list(session.scalars(stmt.order_by(Thread.id.desc()).limit(limit)))
