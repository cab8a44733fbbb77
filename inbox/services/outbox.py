"""The outbox: messages waiting to go out (replies, alert mail, mall replies), claimed by one worker, never sent twice.

Life of an item: ``queued`` → claimed as ``sending`` (committed before anything is sent) →
attempt started (``attempt_started_at``, committed on its own by the deliverer just before its
network call, see ``begin_attempt``) → ``sent``; or back to ``queued`` with a growing delay
after a temporary failure; or ``failed`` (permanent refusal, or too many attempts); or
``rejected`` (the receiver refused the content). An item found in ``sending`` whose lease
expired means its worker died: if its attempt had started it may have gone out, so it becomes
``unknown`` and waits for a person — it is never sent again automatically; if not, nothing can
have gone out and it goes back to ``queued``. A delivery that returns ``unknown`` is kept too.

Delivery per kind is registered in ``DELIVERERS``; this module knows no protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from inbox.db import utcnow
from inbox.models import Event, OutboxItem, OutboxStatus

log = logging.getLogger(__name__)


def _(message: str) -> str:
    """Mark a stored message for translation; the web layer translates it when showing it."""
    return message


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
# hook(session, item, now, context) run for every item whose final state was just recorded (any
# kind); ``context`` is what the deliverers get (the runtime), None outside a delivery round.
AFTER_ANY: list[Callable[[Session, OutboxItem, datetime, Any], None]] = []


class ClaimLost(Exception):
    """The item is no longer this worker's claim (its lease ran out and it was taken back)."""


# The clock of the delivery round in progress (``deliver_due`` sets it); the real one otherwise.
_clock: ContextVar[Callable[[], datetime]] = ContextVar("outbox_clock", default=utcnow)


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


def expire_stale(session: Session, *, now: datetime, context: Any = None) -> dict[str, int]:
    """Items left in ``sending`` past their lease: back to ``queued`` if their attempt never
    started (nothing can have gone out), else ``unknown`` (maybe sent: a person decides)."""
    stale = list(
        session.scalars(
            select(OutboxItem).where(
                OutboxItem.status == OutboxStatus.SENDING, OutboxItem.claimed_until < now
            )
        )
    )
    counts = {"requeued": 0, "unknown": 0}
    for item in stale:
        item.claimed_by = item.claimed_until = None
        if item.attempt_started_at is None:
            item.status, item.next_attempt_at = OutboxStatus.QUEUED, now
            item.attempts = max(item.attempts - 1, 0)  # the claim counted an attempt never made
            counts["requeued"] += 1
            continue
        item.status = OutboxStatus.UNKNOWN
        item.last_error = _(
            "The worker stopped after it had started sending; the message may or may not have gone out."
        )
        counts["unknown"] += 1
        session.add(
            Event(
                thread_id=item.thread_id,
                kind="send_unknown",
                data={"outbox": item.id, "started": item.attempt_started_at.isoformat()},
            )
        )
        hook = AFTER_DELIVERY.get(item.kind)
        if hook is not None:
            hook(session, item, DeliveryOutcome(OutboxStatus.UNKNOWN, item.last_error), now)
        for after in AFTER_ANY:
            after(session, item, now, context)
    if stale:
        log.info("outbox: stale claims %s", counts)
    return counts


def begin_attempt(Session: sessionmaker[Session], item: OutboxItem) -> None:
    """Record, in its own transaction, that ``item``'s network call starts now.

    Deliverers call it immediately before they contact the server. Raises ClaimLost when the
    item is no longer claimed by ``item.claimed_by`` (then nothing may be sent).
    """
    now = _clock.get()()
    with Session() as session:
        done = session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.id == item.id,
                OutboxItem.status == OutboxStatus.SENDING,
                OutboxItem.claimed_by == item.claimed_by,
            )
            .values(attempt_started_at=now)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    if done.rowcount != 1:
        raise ClaimLost(f"outbox item {item.id} is no longer claimed by {item.claimed_by}")
    item.attempt_started_at = now


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
                attempt_started_at=None,
                attempts=OutboxItem.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
    return ids


def record(
    session: Session, item: OutboxItem, outcome: DeliveryOutcome, *, now: datetime, context: Any = None
) -> None:
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
    if item.status != OutboxStatus.QUEUED:
        for after in AFTER_ANY:
            after(session, item, now, context)


def deliver_due(
    Session: sessionmaker[Session],
    context: Any,
    *,
    owner: str,
    now: Callable[[], datetime],
    limit: int = 20,
) -> dict[str, int]:
    """One round: expire stale leases, claim due items, deliver each, record each outcome."""
    token = _clock.set(now)
    try:
        return _deliver_round(Session, context, owner=owner, now=now, limit=limit)
    finally:
        _clock.reset(token)


def _deliver_round(
    Session: sessionmaker[Session], context: Any, *, owner: str, now: Callable[[], datetime], limit: int
) -> dict[str, int]:
    with Session() as session:
        expire_stale(session, now=now(), context=context)
        ids = claim_due(session, owner=owner, now=now(), limit=limit)
        session.commit()
    counts: dict[str, int] = {}
    for item_id in ids:
        with Session() as session:
            item = session.get(OutboxItem, item_id)
            session.expunge(item)
        if item.status != OutboxStatus.SENDING or item.claimed_by != owner:
            continue  # taken back after our lease ran out
        deliver = DELIVERERS.get(item.kind)
        if deliver is None:
            outcome = DeliveryOutcome(
                OutboxStatus.FAILED, f"No delivery is set up for {item.kind!r} items."
            )
        else:
            try:
                outcome = deliver(item, context)
            except ClaimLost:
                log.warning("outbox item %s: claim lost before sending; left alone", item_id)
                continue
            except Exception as exc:
                log.exception("delivery of outbox item %s crashed", item_id)
                started = item.attempt_started_at is not None  # else nothing went out: retry
                outcome = DeliveryOutcome(
                    OutboxStatus.UNKNOWN if started else OutboxStatus.QUEUED,
                    f"Delivery failed unexpectedly: {exc}",
                )
        with Session() as session:
            item = session.get(OutboxItem, item_id)
            if item.status != OutboxStatus.SENDING or item.claimed_by != owner:
                log.warning("outbox item %s changed hands while sending; outcome %s not recorded",
                            item_id, outcome.status.value)
                continue
            record(session, item, outcome, now=now(), context=context)
            session.commit()
            counts[item.status.value] = counts.get(item.status.value, 0) + 1
    return counts


def resend(session: Session, item: OutboxItem, *, now: datetime, actor_id: int | None) -> None:
    """A person asks to send a failed, rejected or unknown item again (or a waiting one now)."""
    waiting = item.status == OutboxStatus.QUEUED and item.last_error is not None
    if item.status not in (OutboxStatus.FAILED, OutboxStatus.UNKNOWN, OutboxStatus.REJECTED) and not waiting:
        return
    item.status, item.next_attempt_at, item.attempts = OutboxStatus.QUEUED, now, 0
    item.attempt_started_at = item.last_error = None
    session.add(
        Event(
            thread_id=item.thread_id,
            actor_id=actor_id,
            kind="send_retried",
            data={"outbox": item.id},
        )
    )
