"""Operational state for health checks and metrics: is the database there, what waits, what is stale.

Read-only queries over mailboxes and the outbox, cheap enough to run at every scrape. Knows
nothing of HTTP or of the metrics format: the web layer turns these figures into responses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, case, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from inbox.models import Direction, Mailbox, MailboxKind, Message, OutboxItem, OutboxStatus
from inbox.schema import current_revision, head_revision
from inbox.services import job_runs, yahoo_consent


@dataclass(frozen=True)
class Readiness:
    ok: bool
    database: bool
    schema_current: bool
    problem: str = ""


def readiness(engine: Engine) -> Readiness:
    """Whether the database answers and its schema is the one this code needs."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        return Readiness(False, False, False, f"database unreachable: {exc.__class__.__name__}")
    head = head_revision()
    if current != head:
        return Readiness(False, True, False, f"schema at {current}, code needs {head}")
    return Readiness(True, True, True)


@dataclass(frozen=True)
class MailboxHealth:
    name: str
    kind: str
    active: bool
    last_success_age: float | None  # seconds since the last successful poll, None if never
    failing: bool
    license_days_left: float | None  # mall channels whose key expires (Rakuten licence key)
    # Yahoo! channels: days until the consent (refresh token) lapses, negative once lapsed;
    # None when no consent time is recorded.
    consent_days_left: float | None = None


@dataclass(frozen=True)
class OutboxHealth:
    by_status: dict[str, int] = field(default_factory=dict)
    oldest_queued_age: float = 0.0  # seconds the oldest queued item has waited


def mailboxes(session: Session, *, now: datetime) -> list[MailboxHealth]:
    rows = []
    for box in session.scalars(select(Mailbox).order_by(Mailbox.name)):
        expires = (box.settings or {}).get("license_expires_at")
        days_left = None
        if expires:
            try:
                days_left = (datetime.fromisoformat(expires) - now).total_seconds() / 86400
            except (TypeError, ValueError):
                days_left = None
        rows.append(
            MailboxHealth(
                name=box.name,
                kind=box.kind.value,
                active=box.active,
                last_success_age=(now - box.last_success_at).total_seconds()
                if box.last_success_at
                else None,
                failing=bool(box.last_error),
                license_days_left=days_left,
                consent_days_left=_consent_days_left(box, now),
            )
        )
    return rows


def _consent_days_left(box: Mailbox, now: datetime) -> float | None:
    if box.kind != MailboxKind.YAHOO:
        return None
    try:
        return yahoo_consent.consent_days_left(box, now)
    except (TypeError, ValueError):  # a hand-edited consent_at that is not a time
        return None


def outbox(session: Session, *, now: datetime) -> OutboxHealth:
    counts = {
        status.value: count
        for status, count in session.execute(
            select(OutboxItem.status, func.count()).group_by(OutboxItem.status)
        )
    }
    oldest = session.scalar(
        select(func.min(OutboxItem.created_at)).where(OutboxItem.status == OutboxStatus.QUEUED)
    )
    return OutboxHealth(
        by_status={s.value: counts.get(s.value, 0) for s in OutboxStatus},
        oldest_queued_age=(now - oldest).total_seconds() if oldest else 0.0,
    )


@dataclass(frozen=True)
class IngestHealth:
    """What a mailbox has stored, counted from the database (the same in every process)."""

    name: str
    kind: str
    ingested: int  # customer messages stored (inbound), ever, minus those erased
    parse_failures: int  # of those, flagged: stored raw because they could not be read
    # For the newest stored inbound message: seconds between the source receiving it (its
    # received time) and inbox storing it. None before the first message.
    ingest_lag: float | None


def ingest(session: Session) -> list[IngestHealth]:
    """Per mailbox: messages ingested, parse failures, and the ingest lag of the newest one."""
    counts: dict[int, tuple[int, int]] = {
        mailbox_id: (total, failed or 0)
        for mailbox_id, total, failed in session.execute(
            select(
                Message.mailbox_id,
                func.count(),
                func.sum(case((Message.parse_failed, 1), else_=0)),
            )
            .where(Message.direction == Direction.INBOUND)
            .group_by(Message.mailbox_id)
        )
    }
    rows = []
    for box in session.scalars(select(Mailbox).order_by(Mailbox.name)):
        # max(id) per parse_failed value: each one seek to the end of the index.
        newest_id = max(
            session.scalar(
                select(func.max(Message.id)).where(
                    Message.mailbox_id == box.id,
                    Message.direction == Direction.INBOUND,
                    Message.parse_failed == flag,
                )
            ) or 0
            for flag in (False, True)
        )
        newest = session.execute(
            select(Message.created_at, Message.received_at).where(Message.id == newest_id)
        ).first()
        total, failed = counts.get(box.id, (0, 0))
        rows.append(
            IngestHealth(
                name=box.name,
                kind=box.kind.value,
                ingested=total,
                parse_failures=int(failed),
                ingest_lag=max(0.0, (newest.created_at - newest.received_at).total_seconds())
                if newest
                else None,
            )
        )
    return rows


def job_durations(session: Session) -> dict[str, float]:
    """Seconds the last run of each recorded job took (the alert scan, retention)."""
    return {run.name: run.duration_seconds for run in job_runs.last_runs(session)}


@dataclass(frozen=True)
class MailboxOutbox:
    name: str
    kind: str
    by_status: dict[str, int]
    oldest_queued_age: float | None  # None: nothing queued


def outbox_by_mailbox(session: Session, *, now: datetime) -> list[MailboxOutbox]:
    """The outbox per mailbox: items by state and the oldest queued item's age."""
    counts: dict[int, dict[str, int]] = {}
    for mailbox_id, status, count in session.execute(
        select(OutboxItem.mailbox_id, OutboxItem.status, func.count())
        .where(OutboxItem.mailbox_id.is_not(None))
        .group_by(OutboxItem.mailbox_id, OutboxItem.status)
    ):
        counts.setdefault(mailbox_id, {})[status.value] = count
    oldest = dict(session.execute(
        select(OutboxItem.mailbox_id, func.min(OutboxItem.created_at))
        .where(OutboxItem.status == OutboxStatus.QUEUED, OutboxItem.mailbox_id.is_not(None))
        .group_by(OutboxItem.mailbox_id)
    ).all())
    rows = []
    for box in session.scalars(select(Mailbox).order_by(Mailbox.name)):
        mine = counts.get(box.id, {})
        rows.append(MailboxOutbox(
            name=box.name, kind=box.kind.value,
            by_status={s.value: mine.get(s.value, 0) for s in OutboxStatus},
            oldest_queued_age=(now - oldest[box.id]).total_seconds() if box.id in oldest else None,
        ))
    return rows
