"""Business-hours calendar, due dates and alert stages per team timezone; no clock, DB or mail."""

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jpholiday

from inbox.services.errors import InvalidInput

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS: Mapping[int, tuple[time, time] | None] = MappingProxyType(
    {wd: (time(9), time(18)) if wd < 5 else None for wd in range(7)}
)
# A calendar with no working day inside this many days is treated as misconfigured.
MAX_SCAN_DAYS = 1000
# One "closed" range longer than this is almost certainly a typo in the year.
MAX_CLOSED_RANGE_DAYS = 366

_CONFIG_KEYS = ("timezone", "hours", "closed", "jp_holidays")
_SPAN_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~〜]\s*(\d{1,2}):(\d{2})\s*$")
_QUICK_BD_RE = re.compile(r"^\+(\d{1,3})bd$")


class InvalidCalendar(InvalidInput, ValueError):
    """A business calendar that cannot be used, from a config file, a form or the database.

    ``str()`` is English and starts with the offending key (``"hours.mon: ..."``), for config
    files and the CLI; the web layer shows it translated like any ``InvalidInput``. Still a
    ``ValueError``, as it always was.
    """


def _require_aware(dt: datetime, name: str) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name}: naive datetime {dt!r}; pass a timezone-aware datetime")


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team works: weekly open hours in its own timezone, minus its closed days.

    Each working day is one contiguous span ``[open, close)`` on the local date (no lunch
    break, no spans past midnight: ``close`` must be later than ``open``). A date is a
    working day when its weekday has hours, it is not in ``closed_dates`` and, if
    ``observe_jp_holidays``, ``jpholiday.is_holiday`` is false for it. Weekdays missing
    from ``hours`` are closed. Local times are resolved with PEP 495 ``fold=0``, and all
    arithmetic is done on UTC instants, so DST days count their real length.

    Every method that takes a datetime rejects naive ones (``ValueError``); every method
    that returns one returns it in UTC (except ``to_local``).
    """

    tz: ZoneInfo
    hours: Mapping[int, tuple[time, time] | None] = field(default_factory=lambda: DEFAULT_HOURS)
    closed_dates: frozenset[date] = frozenset()
    observe_jp_holidays: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.tz, tzinfo):
            raise ValueError(f"tz: expected a ZoneInfo, got {self.tz!r}")
        unknown = sorted(set(self.hours) - set(range(7)), key=repr)
        if unknown:
            raise ValueError(f"hours: weekday keys must be 0 (Mon) .. 6 (Sun), got {unknown}")
        normalised: dict[int, tuple[time, time] | None] = {}
        for wd in range(7):
            span = self.hours.get(wd)
            if span is not None:
                opens, closes = span
                if opens.tzinfo is not None or closes.tzinfo is not None:
                    raise ValueError(f"hours[{wd}]: open/close must be naive local times")
                if not opens < closes:
                    raise ValueError(f"hours[{wd}]: close {closes} must be after open {opens}")
            normalised[wd] = span
        if all(span is None for span in normalised.values()):
            raise InvalidCalendar("%(key)s: at least one weekday must be open", key="hours")
        object.__setattr__(self, "hours", MappingProxyType(normalised))
        object.__setattr__(self, "closed_dates", frozenset(self.closed_dates))

    def __hash__(self) -> int:
        return hash(
            (self.tz, tuple(self.hours.items()), self.closed_dates, self.observe_jp_holidays)
        )

    @classmethod
    def from_config(cls, cfg: Mapping) -> "BusinessCalendar":
        """Build a calendar from a config mapping (as loaded from TOML or a dict).

        Keys: ``timezone`` (required IANA name), ``hours`` (``{"mon": "09:00-18:00",
        "sat": None, ...}``; ``None``/``"closed"`` or leaving a day out means closed; the
        separator may be ``-``, ``–``, ``~`` or ``〜``; omit the key for Mon–Fri 09:00–18:00),
        ``closed`` (list of ``"YYYY-MM-DD"``, inclusive ``"YYYY-MM-DD..YYYY-MM-DD"`` or
        ``date`` values) and ``jp_holidays`` (bool, default true).

        Raises ``ValueError`` whose message starts with the offending key, e.g.
        ``"hours.mon: ..."`` or ``"closed[1]: ..."``.
        """
        if not isinstance(cfg, Mapping):
            raise InvalidCalendar(
                "%(key)s: expected a mapping, got %(value)s", key="config", value=type(cfg).__name__
            )
        unknown = [k for k in cfg if k not in _CONFIG_KEYS]
        if unknown:
            raise InvalidCalendar(
                "%(key)s: unknown key; expected one of %(keys)s", key=unknown[0], keys=", ".join(_CONFIG_KEYS)
            )
        jp = cfg.get("jp_holidays", True)
        if not isinstance(jp, bool):
            raise InvalidCalendar("%(key)s: expected true or false, got %(value)s", key="jp_holidays", value=repr(jp))
        return cls(
            tz=_parse_timezone(cfg.get("timezone")),
            hours=_parse_hours(cfg["hours"]) if "hours" in cfg else DEFAULT_HOURS,
            closed_dates=_parse_closed(cfg.get("closed", [])),
            observe_jp_holidays=jp,
        )

    def to_local(self, dt: datetime) -> datetime:
        """``dt`` converted to the team's timezone."""
        _require_aware(dt, "dt")
        return dt.astimezone(self.tz)

    def is_working_day(self, d: date) -> bool:
        """True if ``d`` has hours, is not a team closed day and (if observed) no JP holiday."""
        if self.hours[d.weekday()] is None or d in self.closed_dates:
            return False
        return not (self.observe_jp_holidays and jpholiday.is_holiday(d))

    def is_open(self, at: datetime) -> bool:
        """True if ``at`` falls inside the open hours of a working day."""
        _require_aware(at, "at")
        d = self.to_local(at).date()
        if not self.is_working_day(d):
            return False
        opens, closes = self._open_close(d)
        return opens <= at < closes

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self._scan(d, 1)

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        return self._scan(d, -1)

    def add_business_days(self, start: datetime, n: int) -> datetime:
        """Close of business on the ``n``-th working day counted from ``start``'s anchor day.

        The anchor day is ``start``'s local date if that is a working day and ``start`` is
        before its close; otherwise (after close, weekend, holiday, closed day) it is the
        next working day, i.e. mail that arrives out of hours counts as arriving at the
        next opening. The result is the close of the anchor day for ``n=0``, and of the
        ``n``-th working day after the anchor day otherwise. Example (Tokyo, 09–18):
        Fri 17:00 + 1 → Mon 18:00; Fri 18:30 + 1 → Tue 18:00; Sat + 0 → Mon 18:00.

        Raises ``ValueError`` for negative ``n`` or naive ``start``.
        """
        _require_aware(start, "start")
        if n < 0:
            raise ValueError(f"n: must be >= 0, got {n}")
        day = self._anchor_day(start)
        for _ in range(n):
            day = self.next_working_day(day)
        return self._open_close(day)[1]

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        """The instant after ``hours`` of open time have elapsed from ``start``.

        Only time inside open spans counts; a ``start`` outside them begins at the next
        opening. A result that lands exactly on a close is returned as that close (not
        the next opening); ``hours=0`` returns ``start`` if open, else the next opening.
        Raises ``ValueError`` for negative or non-finite ``hours`` or naive ``start``.
        """
        _require_aware(start, "start")
        if not (math.isfinite(hours) and hours >= 0):
            raise ValueError(f"hours: must be a finite number >= 0, got {hours!r}")
        remaining = timedelta(hours=hours)
        cursor = start.astimezone(UTC)
        day = self._anchor_day(start)
        while True:
            opens, closes = self._open_close(day)
            cursor = max(cursor, opens)
            available = closes - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
            day = self.next_working_day(day)

    def open_seconds(self, start: datetime, end: datetime) -> int:
        """Seconds of open time between ``start`` and ``end`` (0 if ``end`` is not later).

        Counts only the parts of working days' spans inside ``[start, end)``: nights,
        weekends, closed days and (if observed) Japanese holidays add nothing. Example
        (Tokyo, 09–18): Fri 17:00 → Mon 10:00 is 2 hours.
        Raises ``ValueError`` for a naive ``start`` or ``end``.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end <= start:
            return 0
        total = timedelta(0)
        day, last = self.to_local(start).date(), self.to_local(end).date()
        while day <= last:
            if self.is_working_day(day):
                opens, closes = self._open_close(day)
                overlap = min(closes, end) - max(opens, start)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return int(total.total_seconds())

    def start_of_day(self, d: date) -> datetime:
        """Local midnight at the start of ``d`` in the team's timezone, as UTC."""
        return self._at(d, time(0))

    def close_on(self, d: date) -> datetime:
        """The close of business on ``d`` (UTC); a closed weekday uses the latest close of the week."""
        span = self.hours[d.weekday()]
        closes = span[1] if span is not None else max(s[1] for s in self.hours.values() if s)
        return self._at(d, closes)

    def _at(self, d: date, t: time) -> datetime:
        return datetime.combine(d, t, tzinfo=self.tz).astimezone(UTC)

    def _open_close(self, d: date) -> tuple[datetime, datetime]:
        """UTC ``(open, close)`` of ``d``, which the caller knows is a working day."""
        opens, closes = self.hours[d.weekday()]
        return self._at(d, opens), self._at(d, closes)

    def _anchor_day(self, start: datetime) -> date:
        d = self.to_local(start).date()
        if self.is_working_day(d) and start < self._open_close(d)[1]:
            return d
        return self.next_working_day(d)

    def _scan(self, d: date, step: int) -> date:
        for offset in range(1, MAX_SCAN_DAYS + 1):
            candidate = d + timedelta(days=step * offset)
            if self.is_working_day(candidate):
                return candidate
        raise InvalidCalendar(
            "%(key)s: no working day within %(days)s days of %(day)s", key="closed", days=MAX_SCAN_DAYS, day=d
        )


def _parse_timezone(value: object) -> ZoneInfo:
    if value is None:
        raise InvalidCalendar("%(key)s: required, e.g. 'Asia/Tokyo'", key="timezone")
    if not isinstance(value, str):
        raise InvalidCalendar("%(key)s: expected an IANA name, got %(value)s", key="timezone", value=repr(value))
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidCalendar("%(key)s: unknown timezone %(value)s", key="timezone", value=repr(value)) from None


def _parse_hours(value: object) -> dict[int, tuple[time, time] | None]:
    if not isinstance(value, Mapping):
        raise InvalidCalendar("%(key)s: expected a mapping of mon..sun, got %(value)s", key="hours", value=repr(value))
    parsed: dict[int, tuple[time, time] | None] = {}
    for key, span in value.items():
        where = f"hours.{key}"
        name = key.lower() if isinstance(key, str) else key
        if name not in WEEKDAYS:
            raise InvalidCalendar(
                "%(key)s: unknown weekday; expected one of %(days)s", key=where, days=", ".join(WEEKDAYS)
            )
        wd = WEEKDAYS.index(name)
        if wd in parsed:
            raise InvalidCalendar("%(key)s: %(day)s given twice", key=where, day=name)
        if span is None or (isinstance(span, str) and span.strip().lower() == "closed"):
            parsed[wd] = None
            continue
        match = _SPAN_RE.match(span) if isinstance(span, str) else None
        if match is None:
            raise InvalidCalendar(
                "%(key)s: expected 'HH:MM-HH:MM' or None, got %(value)s", key=where, value=repr(span)
            )
        h1, m1, h2, m2 = map(int, match.groups())
        try:
            opens, closes = time(h1, m1), time(h2, m2)
        except ValueError:
            raise InvalidCalendar("%(key)s: invalid time in %(value)s", key=where, value=repr(span)) from None
        if not opens < closes:
            raise InvalidCalendar(
                "%(key)s: close must be after open, got %(value)s", key=where, value=repr(span)
            )
        parsed[wd] = (opens, closes)
    return parsed


def _parse_closed(value: object) -> frozenset[date]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | set | frozenset):
        raise InvalidCalendar(
            "%(key)s: expected a list of dates or ranges, got %(value)s", key="closed", value=repr(value)
        )
    days: set[date] = set()
    for i, item in enumerate(value):
        key = f"closed[{i}]"
        if isinstance(item, date) and not isinstance(item, datetime):
            days.add(item)
            continue
        if not isinstance(item, str):
            raise InvalidCalendar(
                "%(key)s: expected 'YYYY-MM-DD' or 'YYYY-MM-DD..YYYY-MM-DD', got %(value)s", key=key, value=repr(item)
            )
        first_s, sep, last_s = item.partition("..")
        try:
            first = date.fromisoformat(first_s.strip())
            last = date.fromisoformat(last_s.strip()) if sep else first
        except ValueError:
            raise InvalidCalendar("%(key)s: invalid date in %(value)s", key=key, value=repr(item)) from None
        if last < first:
            raise InvalidCalendar("%(key)s: range ends before it starts: %(value)s", key=key, value=repr(item))
        length = (last - first).days + 1
        if length > MAX_CLOSED_RANGE_DAYS:
            raise InvalidCalendar(
                "%(key)s: range of %(days)s days exceeds %(max)s", key=key, days=length, max=MAX_CLOSED_RANGE_DAYS
            )
        days.update(first + timedelta(days=k) for k in range(length))
    return frozenset(days)


class Stage(StrEnum):
    NONE = "none"
    DUE_TOMORROW = "due_tomorrow"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"


def stage_at(due_at: datetime | None, now: datetime, cal: BusinessCalendar) -> Stage:
    """The alert stage of a deadline as seen at ``now``, by the team's local dates.

    OVERDUE from ``due_at`` on; DUE_TODAY from local midnight of the due date; DUE_TOMORROW
    from local midnight of ``previous_working_day(due date)``, including any closed days
    in between (a Monday deadline is "due tomorrow" all Friday, Saturday and Sunday, so the
    stage never steps back); NONE before that, or when ``due_at`` is None.
    """
    _require_aware(now, "now")
    if due_at is None:
        return Stage.NONE
    _require_aware(due_at, "due_at")
    if now >= due_at:
        return Stage.OVERDUE
    due_day = cal.to_local(due_at).date()
    today = cal.to_local(now).date()
    if today == due_day:
        return Stage.DUE_TODAY
    if cal.previous_working_day(due_day) <= today < due_day:
        return Stage.DUE_TOMORROW
    return Stage.NONE


def stage_starts(
    due_at: datetime, cal: BusinessCalendar, *, notify_at: time = time(9, 0)
) -> dict[Stage, datetime]:
    """When (UTC) each alert for ``due_at`` should be sent, in stage order.

    - DUE_TOMORROW: ``notify_at`` local on ``previous_working_day(due date)``.
    - DUE_TODAY: ``notify_at`` local on the due date if that is before ``due_at``;
      otherwise one hour before ``due_at``, but not before local midnight of the due date.
    - OVERDUE: ``due_at``.

    A stage is dropped when its start is not strictly before the next kept stage's start
    (e.g. a deadline at exactly local midnight has no DUE_TODAY). Whether a stage is
    already past for a given ticket is the caller's business.
    """
    _require_aware(due_at, "due_at")
    due = due_at.astimezone(UTC)
    due_day = cal.to_local(due_at).date()
    today_at = cal._at(due_day, notify_at)
    if today_at >= due:
        today_at = max(due - timedelta(hours=1), cal._at(due_day, time(0)))
    candidates = {
        Stage.DUE_TOMORROW: cal._at(cal.previous_working_day(due_day), notify_at),
        Stage.DUE_TODAY: today_at,
    }
    kept = {Stage.OVERDUE: due}
    later = due
    for stage in (Stage.DUE_TODAY, Stage.DUE_TOMORROW):
        if candidates[stage] < later:
            kept[stage] = later = candidates[stage]
    return {stage: kept[stage] for stage in Stage if stage in kept}


def quick_pick(pick: str, now: datetime, cal: BusinessCalendar) -> datetime:
    """Resolve a UI quick pick to a UTC due time (always a close of business).

    ``"today"``: ``add_business_days(now, 0)`` (today's close, or the next working day's
    close if past it or not a working day). ``"tomorrow"``: close of the first working day
    after ``now``'s local date. ``"+Nbd"`` (N up to 999): ``add_business_days(now, N)``.
    Raises ``ValueError`` for anything else.
    """
    _require_aware(now, "now")
    if pick == "today":
        return cal.add_business_days(now, 0)
    if pick == "tomorrow":
        day = cal.next_working_day(cal.to_local(now).date())
        return cal._open_close(day)[1]
    match = _QUICK_BD_RE.match(pick)
    if match is None:
        raise ValueError(f"pick: unknown quick pick {pick!r}; expected today, tomorrow or +Nbd")
    return cal.add_business_days(now, int(match.group(1)))


@dataclass(frozen=True)
class DeadlineRule:
    """A mailbox's automatic deadline: exactly one of ``business_days``/``business_hours``.

    ``tag``/``priority``/``category`` (a category id) restrict which tickets it applies to
    (None matches any). ``name`` lets a sorting rule apply this rule by name.
    """

    business_days: int | None = None
    business_hours: float | None = None
    tag: str | None = None
    priority: str | None = None
    category: int | None = None
    name: str | None = None
    # True: only for threads of VIP customers (their profile's mark), False: only for others.
    customer_vip: bool | None = None

    def __post_init__(self) -> None:
        if (self.business_days is None) == (self.business_hours is None):
            raise ValueError("business_days/business_hours: set exactly one")
        if self.business_days is not None and self.business_days < 0:
            raise ValueError(f"business_days: must be >= 0, got {self.business_days}")
        if self.business_hours is not None and not (
            math.isfinite(self.business_hours) and self.business_hours >= 0
        ):
            raise ValueError(f"business_hours: must be >= 0, got {self.business_hours}")

    @property
    def specificity(self) -> int:
        """Customer VIP 8, category 4, tag 2, priority 1, added up (tag+priority 3 beats tag 2)."""
        return 8 * (self.customer_vip is not None) + 4 * (self.category is not None) + 2 * (self.tag is not None) + (self.priority is not None)

    def matches(
        self, *, tags: Collection[str], priority: str | None, category: int | None = None,
        customer_vip: bool = False,
    ) -> bool:  # fmt: skip
        return (
            (self.customer_vip is None or self.customer_vip == customer_vip)
            and (self.tag is None or self.tag in tags)
            and (self.priority is None or self.priority == priority)
            and (self.category is None or self.category == category)
        )


def pick_rule(
    rules: Sequence[DeadlineRule],
    *,
    tags: Collection[str],
    priority: str | None,
    category: int | None = None,
    customer_vip: bool = False,
) -> DeadlineRule | None:
    """The most specific matching rule (category > tag+priority > tag > priority > default).

    Ties go to the earliest rule in ``rules``; None if nothing matches. Tags compare exactly.
    """
    best: DeadlineRule | None = None
    for rule in rules:
        if rule.matches(tags=tags, priority=priority, category=category, customer_vip=customer_vip) and (
            best is None or rule.specificity > best.specificity
        ):
            best = rule
    return best


def due_from_rule(rule: DeadlineRule, received_at: datetime, cal: BusinessCalendar) -> datetime:
    """Apply ``rule`` to a message received at ``received_at``; returns UTC."""
    if rule.business_days is not None:
        return cal.add_business_days(received_at, rule.business_days)
    return cal.add_business_hours(received_at, rule.business_hours)
