"""Reply deadlines: the mailbox's calendar and rules, due_at set by rule or by hand, stages and stage filters. Knows nothing of alerts or email."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from inbox.ingest.store import StoredMessage
from inbox.models import (
    Direction,
    Event,
    Mailbox,
    Message,
    MessageKind,
    OutboxItem,
    OutboxStatus,
    Priority,
    Role,
    Status,
    Thread,
    User,
)
from inbox.services import customers
from inbox.services.access import can_see_mailbox, require_role, visible_mailbox_ids
from inbox.services.business_hours import (
    MAX_SCAN_DAYS,
    WEEKDAYS,
    BusinessCalendar,
    DeadlineRule,
    InvalidCalendar,
    Stage,
    due_from_rule,
    pick_rule,
    quick_pick,
    stage_at,
)
from inbox.services.errors import InvalidInput, InvalidInputs, NotFound, Term

DEFAULT_RULES = [DeadlineRule(business_days=1)]
# Statuses in which a deadline still matters; a resolved thread's deadline is history.
OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.WAITING)
# A deadline set by hand further away than this is almost certainly a typo in the year.
MAX_AHEAD = timedelta(days=5 * 366)


def calendar_for(mailbox: Mailbox) -> BusinessCalendar:
    """The mailbox team's business calendar (its timezone, hours, closed days, JP holidays)."""
    cfg: dict[str, Any] = {"timezone": mailbox.timezone}
    cfg.update({k: v for k, v in (mailbox.calendar or {}).items() if k != "timezone"})
    return BusinessCalendar.from_config(cfg)


def calendars_for(session: Session, mailbox_ids: Iterable[int]) -> dict[int, BusinessCalendar]:
    """Calendars of the given mailboxes, keyed by mailbox id (one query)."""
    ids = list(mailbox_ids)
    if not ids:
        return {}
    return {
        m.id: calendar_for(m) for m in session.scalars(select(Mailbox).where(Mailbox.id.in_(ids)))
    }


def rules_for(mailbox: Mailbox) -> list[DeadlineRule]:
    rules = [DeadlineRule(**r) for r in (mailbox.deadline_rules or [])]
    return rules or DEFAULT_RULES


def rule_for(mailbox: Mailbox, thread: Thread) -> DeadlineRule | None:
    """The deadline rule that applies to the thread now: the one a sorting rule named (if the
    mailbox still has it), else the most specific one matching its tags, priority and category."""
    rules = rules_for(mailbox)
    if thread.deadline_rule:
        for rule in rules:
            if rule.name == thread.deadline_rule:
                return rule
    return pick_rule(
        rules,
        tags=[t.tag for t in thread.tags],
        priority=thread.priority.value if thread.priority else None,
        category=thread.category_id,
        customer_vip=customers.is_vip(thread),
    )


def rule_names(mailbox: Mailbox) -> list[str]:
    """Names of the mailbox's named deadline rules, which a sorting rule can apply."""
    return [r.name for r in rules_for(mailbox) if r.name]


def on_stored_message(session: Session, stored: StoredMessage) -> None:
    """Ingest hook: a customer's own message (not automatic mail, not ours) may start a deadline."""
    message = stored.message
    if message.direction == Direction.INBOUND and message.kind == MessageKind.NORMAL:
        on_customer_message(session, stored.thread, message.received_at)


def on_customer_message(session: Session, thread: Thread, received_at: datetime) -> None:
    """A customer wrote: set the deadline by the mailbox rule unless one was set by hand."""
    if thread.due_at is not None:
        return  # the first unanswered customer message sets the deadline; a reply clears it
    mailbox = thread.mailbox or session.get(Mailbox, thread.mailbox_id)
    rule = rule_for(mailbox, thread)
    if rule is None:
        return
    due = due_from_rule(rule, received_at, calendar_for(mailbox))
    thread.due_at = due
    thread.due_set_by_hand = False
    session.add(
        Event(
            thread=thread, kind="deadline_set", data={"due_at": due.isoformat(), "by": "rule"}
        )
    )


def unanswered_since(session: Session, thread: Thread) -> datetime | None:
    """When the customer's first message that the team has not answered yet arrived (None: none).

    A reply counts as an answer once it went out: one still queued, failed or refused in the
    outbox does not (its deadline is still running, see ``inbox.services.delivery``).
    """
    undelivered = select(OutboxItem.id).where(
        OutboxItem.message_row_id == Message.id, OutboxItem.status != OutboxStatus.SENT
    )
    last_reply = (
        select(func.max(Message.received_at))
        .where(
            Message.thread_id == thread.id,
            Message.direction == Direction.OUTBOUND,
            Message.kind == MessageKind.NORMAL,  # an auto-acknowledgement answers nothing
            ~undelivered.exists(),
        )
        .scalar_subquery()
    )
    return session.scalar(
        select(func.min(Message.received_at)).where(
            Message.thread_id == thread.id,
            Message.direction == Direction.INBOUND,
            or_(last_reply.is_(None), Message.received_at > last_reply),
        )
    )


def on_classification_changed(session: Session, thread: Thread, now: datetime) -> None:
    """Tags, priority, category or the named rule changed: a rule-set deadline follows the rule
    that applies now (by hand, in bulk or by a sorting rule).

    The deadline is counted again from the first unanswered customer message under the most
    specific matching rule (so tagging a thread 返品 gives it the 返品 rule's deadline). A
    deadline set by hand stays; a thread the team has answered gets none.
    """
    if thread.due_set_by_hand or thread.status == Status.RESOLVED:
        return
    # The caller holds unsaved changes under a version check: reading must not flush them.
    with session.no_autoflush:
        _follow_rule(session, thread, now)


def _follow_rule(session: Session, thread: Thread, now: datetime) -> None:
    start = unanswered_since(session, thread)
    if start is None:
        return
    mailbox = thread.mailbox or session.get(Mailbox, thread.mailbox_id)
    rule = rule_for(mailbox, thread)
    due = due_from_rule(rule, start, calendar_for(mailbox)) if rule is not None else None
    if due == thread.due_at:
        return
    if due is None:
        kind, data = "deadline_cleared", {"due_at": thread.due_at.isoformat(), "by": "rule"}
    else:
        kind, data = "deadline_set", {"due_at": due.isoformat(), "by": "rule"}
    session.add(Event(thread=thread, kind=kind, data={**data, "at": now.isoformat(), "reason": "reclassified"}))
    thread.due_at = due
    thread.due_set_by_hand = False


def on_team_reply(session: Session, thread: Thread, now: datetime) -> None:
    """The team's reply went out: a rule-set deadline is met and cleared.

    A deadline set by hand stays: a person chose it, and only a person removes it. Written as a
    conditional UPDATE that leaves ``Thread.version`` alone (a delivery must not turn pages
    open on the thread into false conflicts) and loses to a change a person made meanwhile.
    """
    due = thread.due_at
    if due is None or thread.due_set_by_hand:
        return
    done = session.execute(
        update(Thread)
        .where(Thread.id == thread.id, Thread.due_at == due, Thread.due_set_by_hand.is_(False))
        .values(due_at=None)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return
    set_committed_value(thread, "due_at", None)
    session.add(
        Event(
            thread=thread,
            kind="deadline_cleared",
            data={"due_at": due.isoformat(), "by": "reply", "at": now.isoformat()},
        )
    )


def stage_of(thread: Thread, now: datetime, cal: BusinessCalendar | None = None) -> Stage:
    """What the thread's badge shows at ``now``: NONE when there is no deadline or it is resolved."""
    if thread.due_at is None or thread.status == Status.RESOLVED:
        return Stage.NONE
    return stage_at(thread.due_at, now, cal or calendar_for(thread.mailbox))


# --- setting by hand ----------------------------------------------------------------------


def due_from_input(
    cal: BusinessCalendar,
    *,
    now: datetime,
    pick: str | None = None,
    day: date | None = None,
    at: time | None = None,
    zone: tzinfo | None = None,
) -> datetime:
    """The UTC deadline a person asked for.

    ``pick`` is a quick pick (``today``, ``tomorrow``, ``+Nbd``; see ``quick_pick``). Else
    ``day`` with ``at`` is a wall-clock time in ``zone`` (the viewer's timezone, which is how
    they see every time), and ``day`` alone means the team's close of business that day.
    Raises InvalidInput for an unknown pick, a missing date or a date absurdly far away.
    """
    if pick:
        try:
            return quick_pick(pick, now, cal)
        except InvalidCalendar:  # the pick is fine, the calendar never opens: say so
            raise
        except ValueError as exc:
            raise InvalidInput("Unknown quick pick %(pick)r.", pick=pick) from exc
    if day is None:
        raise InvalidInput("Choose a date or a quick pick.")
    if at is None:
        due = cal.close_on(day)
    else:
        due = datetime.combine(day, at, tzinfo=zone or cal.tz).astimezone(cal.tz)
    if abs(due - now) > MAX_AHEAD:
        raise InvalidInput("That date is too far away; check the year.")
    return due.astimezone(UTC)


def set_by_hand(
    session: Session, thread: Thread, due_at: datetime, *, actor_id: int | None, now: datetime
) -> None:
    """Set the deadline a person chose; it then survives team replies until a person clears it."""
    thread.due_at = due_at
    thread.due_set_by_hand = True
    session.add(
        Event(
            thread=thread,
            actor_id=actor_id,
            kind="deadline_set",
            data={"due_at": due_at.isoformat(), "by": "hand", "at": now.isoformat()},
        )
    )


def clear_by_hand(session: Session, thread: Thread, *, actor_id: int | None, now: datetime) -> None:
    """Remove the deadline (no alerts, no badge) and record who did it."""
    if thread.due_at is None:
        return
    session.add(
        Event(
            thread=thread,
            actor_id=actor_id,
            kind="deadline_cleared",
            data={"due_at": thread.due_at.isoformat(), "by": "hand", "at": now.isoformat()},
        )
    )
    thread.due_at = None
    thread.due_set_by_hand = False


# --- stages as SQL ------------------------------------------------------------------------


def _stage_range(stage: Stage, now: datetime, cal: BusinessCalendar) -> tuple[datetime, datetime]:
    """``[lo, hi)`` of due_at that is DUE_TODAY / DUE_TOMORROW at ``now`` (see ``stage_at``)."""
    today = cal.to_local(now).date()
    tomorrow_start = cal.start_of_day(today + timedelta(days=1))
    if stage == Stage.DUE_TODAY:
        return now, tomorrow_start
    # prev_working_day(due day) <= today < due day  <=>  today < due day <= next_working_day(today)
    return tomorrow_start, cal.start_of_day(cal.next_working_day(today) + timedelta(days=1))


def stage_condition(
    stage: Stage | str,
    now: datetime,
    *,
    calendars: Mapping[int, BusinessCalendar] | None = None,
    zone: tzinfo | str | None = None,
) -> ColumnElement[bool]:
    """A WHERE condition on Thread (due_at, status, mailbox_id) for threads in ``stage`` at ``now``.

    "Today" is the team's local date: pass ``calendars`` (mailbox id → calendar, from
    ``calendars_for``) for exact per-mailbox ranges; threads of mailboxes not in it never
    match. Without ``calendars``, ``zone`` (e.g. the viewer's timezone) approximates every
    team with a Mon–Fri calendar with JP holidays in that zone. Resolved threads never
    match. Raises InvalidInput for an unknown stage.
    """
    try:
        stage = Stage(stage)
    except ValueError as exc:
        raise InvalidInput("Unknown deadline stage %(stage)r.", stage=stage) from exc
    if stage == Stage.NONE:
        raise InvalidInput("Filter by overdue, due_today or due_tomorrow.")
    base = and_(Thread.status.in_(OPEN_STATUSES), Thread.due_at.is_not(None))
    if stage == Stage.OVERDUE:
        return and_(base, Thread.due_at <= now)
    if stage == Stage.DUE_TODAY:
        base = and_(base, Thread.due_at > now)
    if calendars is None:
        tz = ZoneInfo(zone) if isinstance(zone, str) else zone or ZoneInfo("Asia/Tokyo")
        lo, hi = _stage_range(stage, now, BusinessCalendar(tz=tz))  # type: ignore[arg-type]
        return and_(base, Thread.due_at >= lo, Thread.due_at < hi)
    # Mailboxes that share a calendar share a range: one OR branch per distinct range.
    by_range: dict[tuple[datetime, datetime], list[int]] = {}
    for mailbox_id, cal in calendars.items():
        by_range.setdefault(_stage_range(stage, now, cal), []).append(mailbox_id)
    branches = [
        and_(Thread.mailbox_id.in_(ids), Thread.due_at >= lo, Thread.due_at < hi)
        for (lo, hi), ids in by_range.items()
    ]
    return and_(base, or_(*branches) if branches else false())


def stage_filter(stmt: Select, stage: Stage | str, now: datetime, **kw: Any) -> Select:
    """``stmt`` (a SELECT over Thread) limited to ``stage``; keywords as for ``stage_condition``."""
    return stmt.where(stage_condition(stage, now, **kw))


# --- what a person sees -------------------------------------------------------------------


def badge_counts(session: Session, user: User, now: datetime) -> dict[str, int]:
    """The user's overdue and due-today counts for the header, in one indexed query.

    Counts threads assigned to the user (index on assignee and status); for leads and admins
    also ``team_overdue`` and ``team_due_today`` over every mailbox they see, whoever holds them. "Today" is the
    user's own local date, which approximates each team's local date (they differ only for
    a user working a mailbox of another timezone); ``stage_condition`` with ``calendars`` is
    the exact per-mailbox form, for pages that can afford it.
    """
    tz = ZoneInfo(user.timezone)
    local_today = now.astimezone(tz).date()
    end_of_today = datetime.combine(local_today + timedelta(days=1), time(0), tzinfo=tz)
    row = session.execute(
        select(
            func.count(case((Thread.due_at <= now, 1))),
            func.count(case((Thread.due_at > now, 1))),
        ).where(
            Thread.assignee_id == user.id,
            Thread.status.in_(OPEN_STATUSES),
            Thread.due_at < end_of_today,
        )
    ).one()
    counts = {"overdue": int(row[0]), "due_today": int(row[1])}
    if user.role in (Role.LEAD, Role.ADMIN):  # leads also see their team's, apart from their own
        team = session.execute(
            select(
                func.count(case((Thread.due_at <= now, 1))),
                func.count(case((Thread.due_at > now, 1))),
            ).where(
                Thread.mailbox_id.in_(visible_mailbox_ids(session, user)),
                Thread.status.in_(OPEN_STATUSES),
                Thread.due_at < end_of_today,
            )
        ).one()
        counts |= {"team_overdue": int(team[0]), "team_due_today": int(team[1])}
    return counts


def my_deadlines(session: Session, user: User, *, limit: int = 200) -> list[Thread]:
    """Open threads assigned to ``user`` that have a deadline, earliest first (overdue on top)."""
    stmt = (
        select(Thread)
        .options(joinedload(Thread.mailbox), joinedload(Thread.contact))
        .where(
            Thread.assignee_id == user.id,
            Thread.status.in_(OPEN_STATUSES),
            Thread.due_at.is_not(None),
        )
        .order_by(Thread.due_at, Thread.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


# --- a mailbox's business hours, closed days and rules ---------------------------------------


def editable_mailbox(session: Session, user: User, mailbox_id: int) -> Mailbox:
    """The mailbox, if ``user`` may edit its calendar: admins, and leads who are members.

    Raises NotFound when the user may not see the mailbox, PermissionDenied for agents.
    """
    if (
        not can_see_mailbox(session, user, mailbox_id)
        or (mailbox := session.get(Mailbox, mailbox_id)) is None
    ):
        raise NotFound("This mailbox does not exist or is not yours.")
    require_role(user, Role.ADMIN, Role.LEAD)
    return mailbox


def calendar_form(mailbox: Mailbox) -> dict[str, Any]:
    """The mailbox's settings as the text a form shows (hours per weekday, one closed day a line)."""
    cfg = mailbox.calendar or {}
    hours = cfg.get("hours")
    if hours is None:
        hours = {wd: ("09:00-18:00" if i < 5 else None) for i, wd in enumerate(WEEKDAYS)}
    rules = [
        {
            "amount": r.get("business_days", r.get("business_hours")),
            "unit": "days" if r.get("business_days") is not None else "hours",
            "tag": r.get("tag") or "",
            "priority": r.get("priority") or "",
            "category": r.get("category") or "",
            "name": r.get("name") or "",
            "customer_vip": {True: "yes", False: "no"}.get(r.get("customer_vip"), ""),
        }
        for r in (mailbox.deadline_rules or [])
    ]
    return {
        "timezone": mailbox.timezone,
        "hours": {wd: hours.get(wd) or "" for wd in WEEKDAYS},
        "closed": "\n".join(str(c) for c in cfg.get("closed", [])),
        "jp_holidays": bool(cfg.get("jp_holidays", True)),
        "rules": rules,
    }


def _rule(row: Mapping[str, str], n: int) -> dict[str, Any] | None:
    amount = (row.get("amount") or "").strip()
    if not amount:
        return None
    unit, tag, priority = row.get("unit"), (row.get("tag") or "").strip(), row.get("priority") or ""
    if priority and priority not in {p.value for p in Priority}:
        raise InvalidInput("Rule %(n)s: unknown priority %(priority)r.", n=n, priority=priority)
    name = " ".join((row.get("name") or "").split())[:64] or None
    category_text = (row.get("category") or "").strip()
    vip_text = (row.get("customer_vip") or "").strip()
    if vip_text not in ("", "yes", "no"):
        raise InvalidInput("Rule %(n)s: unknown customer choice.", n=n)
    if category_text and not category_text.isdigit():
        raise InvalidInput("Rule %(n)s: unknown category.", n=n)
    try:
        value: float = int(amount) if unit == "days" else float(amount)
        rule = DeadlineRule(
            business_days=int(value) if unit == "days" else None,
            business_hours=value if unit == "hours" else None,
            tag=tag or None,
            priority=priority or None,
            category=int(category_text) if category_text else None,
            name=name,
            customer_vip={"yes": True, "no": False}.get(vip_text),
        )
    except ValueError as exc:
        raise InvalidInput("Rule %(n)s: %(amount)r is not a valid number of %(unit)s.", n=n, amount=amount, unit=unit) from exc
    return {k: v for k, v in asdict(rule).items() if v is not None}


DAY_NAMES = {
    "mon": Term("Monday"),
    "tue": Term("Tuesday"),
    "wed": Term("Wednesday"),
    "thu": Term("Thursday"),
    "fri": Term("Friday"),
    "sat": Term("Saturday"),
    "sun": Term("Sunday"),
}


def _calendar_problems(timezone: str, cfg: Mapping[str, Any]) -> list[InvalidInput]:
    """Every problem of a calendar form, each in words a user can act on (not the first only)."""
    problems: list[InvalidInput] = []

    def fails(part: Mapping[str, Any]) -> bool:
        try:
            BusinessCalendar.from_config({"timezone": "UTC", **part})
        except ValueError:
            return True
        return False

    if fails({"timezone": timezone}):
        problems.append(
            InvalidInput("Unknown time zone %(tz)s; use a name such as Asia/Tokyo.", tz=timezone)
        )
    for wd, span in cfg["hours"].items():
        if span is not None and fails({"hours": {wd: span}}):
            problems.append(
                InvalidInput(
                    "%(day)s: enter the hours as HH:MM-HH:MM, closing after opening"
                    " (for example 09:00-18:00), not %(span)s.",
                    day=DAY_NAMES[wd],
                    span=span,
                )
            )
    for line in cfg["closed"]:
        if fails({"closed": [line]}):
            problems.append(
                InvalidInput(
                    "Closed days: %(line)s is not a date (YYYY-MM-DD) or a range of at most"
                    " a year (YYYY-MM-DD..YYYY-MM-DD).",
                    line=line,
                )
            )
    if not problems and fails({"timezone": timezone, **cfg}):
        problems.append(InvalidInput("Open on at least one day of the week."))
    return problems


def save_calendar(
    session: Session,
    mailbox: Mailbox,
    *,
    timezone: str,
    hours: Mapping[str, str],
    closed: str,
    jp_holidays: bool,
    rules: Iterable[Mapping[str, str]],
    actor_id: int | None,
    now: datetime,
) -> None:
    """Validate and store the mailbox's calendar and rules; existing deadlines are not recomputed.

    ``hours`` maps mon..sun to ``"HH:MM-HH:MM"`` (empty: closed); ``closed`` holds one date
    or ``YYYY-MM-DD..YYYY-MM-DD`` range per line; each rule row has ``amount``, ``unit``
    (``days``/``hours``), optional ``tag`` and ``priority`` (rows without an amount are
    skipped). Raises InvalidInput naming the first problem.
    """
    cfg: dict[str, Any] = {
        "hours": {wd: (hours.get(wd) or "").strip() or None for wd in WEEKDAYS},
        "closed": [line.strip() for line in closed.splitlines() if line.strip()],
        "jp_holidays": bool(jp_holidays),
    }
    problems = _calendar_problems(timezone.strip(), cfg)
    if problems:
        raise InvalidInputs(problems)
    cal = BusinessCalendar.from_config({"timezone": timezone.strip(), **cfg})
    try:
        cal.next_working_day(cal.to_local(now).date())
    except InvalidCalendar as exc:
        raise InvalidInput(
            "Closed days: they leave no working day within %(days)s days; shorten them.", days=MAX_SCAN_DAYS
        ) from exc
    parsed = [r for n, row in enumerate(rules, 1) if (r := _rule(row, n)) is not None]
    mailbox.timezone = timezone.strip()
    mailbox.calendar = cfg
    mailbox.deadline_rules = parsed
    session.add(
        Event(
            actor_id=actor_id,
            kind="mailbox_calendar_changed",
            data={"mailbox": mailbox.id, "calendar": cfg, "rules": parsed, "at": now.isoformat()},
        )
    )
