"""Scheduled sends: when a reply (or new mail) may leave, and cancelling one before it does.

A scheduled send is an ordinary outbox item whose ``next_attempt_at`` and ``scheduled_at`` are
the chosen time: the outbox never claims it earlier. Until a worker claims it, it can be
cancelled (status ``cancelled``) or edited (``replies.edit_draft`` then a reply that replaces
it). The thread keeps its deadline until the reply is delivered, so a deadline that falls
before the scheduled time is still shown at risk. Knows nothing of HTTP.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from inbox.models import Event, OutboxItem, OutboxStatus, Thread
from inbox.services.business_hours import BusinessCalendar
from inbox.services.errors import InvalidInput, NotFound

PICKS = ("now", "morning", "hour", "at")
_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?")
MAX_AHEAD = timedelta(days=366)


def next_business_morning(now: datetime, cal: BusinessCalendar) -> datetime:
    """The opening time of the team's next working morning: today's if it is still ahead
    (a working day before opening), else the next working day's (UTC)."""
    today = cal.to_local(now).date()
    if cal.is_working_day(today):
        opens = cal._open_close(today)[0]
        if now < opens:
            return opens
    return cal._open_close(cal.next_working_day(today))[0]


def resolve(
    pick: str, local_value: str, *, now: datetime, cal: BusinessCalendar, zone: str
) -> datetime | None:
    """The UTC time a send was scheduled for: None for "now", the next business morning, in one
    hour, or ``local_value`` (``YYYY-MM-DDTHH:MM`` in the writer's ``zone``). Raises InvalidInput
    for an unknown pick, a time that cannot be read, one in the past or more than a year ahead."""
    pick = (pick or "now").strip()
    if pick not in PICKS:
        raise InvalidInput(
            "Choose when to send: now, the next business morning, in one hour or at a time."
        )
    if pick == "now":
        return None
    if pick == "morning":
        return next_business_morning(now, cal)
    if pick == "hour":
        return now + timedelta(hours=1)
    value = (local_value or "").strip()
    try:
        if not _LOCAL.fullmatch(value):
            raise ValueError(value)
        at = datetime.fromisoformat(value)
        at = at.replace(tzinfo=ZoneInfo(zone)) if at.tzinfo is None else at
        at = at.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidInput("Give the date and time to send at.") from exc
    return check(at, now=now)


def check(at: datetime, *, now: datetime) -> datetime:
    """``at`` if a send may be scheduled for it; InvalidInput if it is past or too far ahead."""
    if at <= now:
        raise InvalidInput("The time to send at has already passed. Choose a later time.")
    if at - now > MAX_AHEAD:
        raise InvalidInput("A send can be scheduled at most one year ahead.")
    return at


def is_scheduled(item: OutboxItem) -> bool:
    """Still waiting for its scheduled time: queued, never attempted, with a scheduled time."""
    return (
        item.scheduled_at is not None
        and item.status == OutboxStatus.QUEUED
        and item.attempts == 0
        and item.last_error is None
    )


def scheduled_items(session: Session, thread: Thread) -> list[OutboxItem]:
    """The thread's sends still waiting for their time, soonest first."""
    rows = session.scalars(
        select(OutboxItem)
        .where(
            OutboxItem.thread_id == thread.id,
            OutboxItem.scheduled_at.is_not(None),
            OutboxItem.status == OutboxStatus.QUEUED,
        )
        .order_by(OutboxItem.scheduled_at, OutboxItem.id)
    )
    return [i for i in rows if is_scheduled(i)]


def cancel(
    session: Session, thread: Thread, item_id: int, *, now: datetime, actor_id: int
) -> OutboxItem:
    """Cancel the scheduled send ``item_id`` of ``thread`` before it leaves; flushes only.

    Raises NotFound for an item that is not a scheduled send of this thread and InvalidInput
    when it is already leaving or gone (the worker claimed it first)."""
    item = session.get(OutboxItem, item_id)
    if item is None or item.thread_id != thread.id or item.scheduled_at is None:
        raise NotFound("This scheduled send does not exist on this thread.")
    done = session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.id == item.id,
            OutboxItem.status == OutboxStatus.QUEUED,
            OutboxItem.attempts == 0,
        )
        .values(status=OutboxStatus.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise InvalidInput("This send cannot be cancelled any more: it is being sent or was sent.")
    session.refresh(item)
    session.add(
        Event(
            thread_id=thread.id,
            actor_id=actor_id,
            kind="send_cancelled",
            data={"outbox": item.id, "scheduled_at": item.scheduled_at.isoformat()},
        )
    )
    return item


def deadline_before(thread: Thread, item: OutboxItem) -> bool:
    """Whether the thread's deadline passes before the scheduled send answers the customer."""
    return bool(
        thread.due_at is not None
        and item.scheduled_at is not None
        and thread.due_at < item.scheduled_at
    )
