"""Operational state for health checks and metrics: is the database there, what waits, what is stale.

Read-only queries over mailboxes and the outbox, cheap enough to run at every scrape. Knows
nothing of HTTP or of the metrics format: the web layer turns these figures into responses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from inbox.models import Mailbox, OutboxItem, OutboxStatus
from inbox.schema import current_revision, head_revision


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
    license_days_left: float | None  # mall channels whose key or consent expires


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
            )
        )
    return rows


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
