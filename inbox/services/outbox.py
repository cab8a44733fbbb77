"""The outbox: messages waiting to go out (replies, alert mail, mall replies), claimed by one worker, never sent twice.

Life of an item: ``queued`` → claimed as ``sending`` (committed before anything is sent) →
``sent``; or back to ``queued`` with a growing delay after a temporary failure; or ``failed``
(permanent refusal, or too many attempts); or ``rejected`` (the receiver refused the content).
An item found in ``sending`` whose lease expired means a worker died between sending and
recording: it may have gone out, so it becomes ``unknown`` and waits for a person — it is
never sent again automatically. The same holds for a delivery that returns ``unknown``.

Delivery per kind is registered in ``DELIVERERS``; this module knows no protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from inbox.models import Event, OutboxItem, OutboxStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class DeliveryOutcome:
    """What a deliverer reports: sent, try again later, or a final state with its reason."""

    status: OutboxStatus  # SENT, QUEUED (retry later), FAILED, REJECTED or UNKNOWN
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


# kind -> deliver(item, context) -> DeliveryOutcome. Registered by the delivery modules.
Deliverer = Callable[[OutboxItem, Any], DeliveryOutcome]
DELIVERERS: dict[str, Deliverer] = {}
# kind -> hook(session, item, outcome, now) run in the transaction that records the outcome.
AFTER_DELIVERY: dict[str, Callable[[Session, OutboxItem, DeliveryOutcome, datetime], None]] = {}


def register(kind: str, deliver: Deliverer, *, after: Callable[..., None] | None = None) -> None:
    DELIVERERS[kind] = deliver
    if after is not None:
        AFTER_DELIVERY[kind] = after


def enqueue(
    session: Session,
    *,
    kind: str,
    idempotency_key: str,
    now: datetime,
    mail_from: str = "",
    recipients: Iterable[str] = (),
    raw: bytes | None = None,
    payload: dict[str, Any] | None = None,
    mailbox_id: int | None = None,
    thread_id: int | None = None,
    message_row_id: int | None = None,
) -> OutboxItem:
    """Queue an item; the same ``idempotency_key`` twice returns the first item. Flushes only."""
    existing = session.scalar(
        select(OutboxItem).where(OutboxItem.idempotency_key == idempotency_key)
    )
    if existing is not None:
        return existing
    item = OutboxItem(
        kind=kind,
        idempotency_key=idempotency_key,
        mail_from=mail_from,
        recipients=list(recipients),
        raw=raw,
        payload=dict(payload or {}),
        mailbox_id=mailbox_id,
        thread_id=thread_id,
        message_row_id=message_row_id,
        status=OutboxStatus.QUEUED,
        next_attempt_at=now,
    )
    try:
        with session.begin_nested():
            session.add(item)
    except IntegrityError:  # another process queued the same key meanwhile
        return session.scalar(
            select(OutboxItem).where(OutboxItem.idempotency_key == idempotency_key)
        )
    return item


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def expire_stale(session: Session, *, now: datetime) -> int:
    """Items left in ``sending`` past their lease become ``unknown`` (maybe sent: a person decides)."""
    stale = list(
        session.scalars(
            select(OutboxItem).where(
                OutboxItem.status == OutboxStatus.SENDING, OutboxItem.claimed_until < now
            )
        )
    )
    for item in stale:
        item.status = OutboxStatus.UNKNOWN
        item.last_error = (
            "The worker stopped while sending; the message may or may not have gone out."
        )
        item.claimed_by = item.claimed_until = None
        session.add(Event(thread_id=item.thread_id, kind="send_unknown", data={"outbox": item.id}))
    return len(stale)


def claim_due(session: Session, *, owner: str, now: datetime, limit: int = 20) -> list[int]:
    """Mark up to ``limit`` due items as ``sending`` for ``owner``; the caller commits before sending.

    On PostgreSQL rows are picked with FOR UPDATE SKIP LOCKED, so workers never wait on or
    take each other's items; SQLite serializes writers, which gives the same result.
    """
    stmt = (
        select(OutboxItem.id)
        .where(OutboxItem.status == OutboxStatus.QUEUED, OutboxItem.next_attempt_at <= now)
        .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(session.scalars(stmt))
    if ids:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(ids), OutboxItem.status == OutboxStatus.QUEUED)
            .values(
                status=OutboxStatus.SENDING,
                claimed_by=owner,
                claimed_until=now + LEASE,
                attempts=OutboxItem.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
    return ids


def record(session: Session, item: OutboxItem, outcome: DeliveryOutcome, *, now: datetime) -> None:
    """Store a delivery's outcome on its item (and let the kind's hook update the thread)."""
    item.claimed_by = item.claimed_until = None
    item.last_error = outcome.error
    if outcome.status == OutboxStatus.SENT:
        item.status, item.sent_at = OutboxStatus.SENT, now
    elif outcome.status == OutboxStatus.QUEUED and item.attempts < MAX_ATTEMPTS:
        item.status, item.next_attempt_at = OutboxStatus.QUEUED, now + retry_delay(item.attempts)
    elif outcome.status == OutboxStatus.QUEUED:
        item.status = OutboxStatus.FAILED
        item.last_error = f"Gave up after {item.attempts} attempts: {outcome.error}"
    else:
        item.status = outcome.status
    if item.status != OutboxStatus.QUEUED and item.thread_id is not None:
        session.add(
            Event(
                thread_id=item.thread_id,
                kind=f"send_{item.status.value}",
                data={"outbox": item.id, "error": item.last_error},
            )
        )
    hook = AFTER_DELIVERY.get(item.kind)
    if hook is not None:
        hook(session, item, outcome, now)


def deliver_due(
    Session: sessionmaker[Session],
    context: Any,
    *,
    owner: str,
    now: Callable[[], datetime],
    limit: int = 20,
) -> dict[str, int]:
    """One round: expire stale leases, claim due items, deliver each, record each outcome."""
    with Session() as session:
        expire_stale(session, now=now())
        ids = claim_due(session, owner=owner, now=now(), limit=limit)
        session.commit()
    counts: dict[str, int] = {}
    for item_id in ids:
        with Session() as session:
            item = session.get(OutboxItem, item_id)
            session.expunge(item)
        deliver = DELIVERERS.get(item.kind)
        if deliver is None:
            outcome = DeliveryOutcome(
                OutboxStatus.FAILED, f"No delivery is set up for {item.kind!r} items."
            )
        else:
            try:
                outcome = deliver(item, context)
            except Exception as exc:
                log.exception("delivery of outbox item %s crashed", item_id)
                outcome = DeliveryOutcome(
                    OutboxStatus.UNKNOWN, f"Delivery failed unexpectedly: {exc}"
                )
        with Session() as session:
            item = session.get(OutboxItem, item_id)
            record(session, item, outcome, now=now())
            session.commit()
            counts[item.status.value] = counts.get(item.status.value, 0) + 1
    return counts


def resend(session: Session, item: OutboxItem, *, now: datetime, actor_id: int | None) -> None:
    """A person asks to send a failed, rejected or unknown item again."""
    if item.status not in (OutboxStatus.FAILED, OutboxStatus.UNKNOWN, OutboxStatus.REJECTED):
        return
    item.status, item.next_attempt_at, item.attempts = OutboxStatus.QUEUED, now, 0
    session.add(
        Event(
            thread_id=item.thread_id,
            actor_id=actor_id,
            kind="send_retried",
            data={"outbox": item.id},
        )
    )
