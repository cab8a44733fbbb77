"""The audit trail: record who did what, when and from where; read it back with filters.

Append-only: this module only inserts and selects (the database refuses UPDATE and DELETE on
``audit_log`` too). Entries never carry a secret: callers pass the names of changed secret
keys, not their values. Knows nothing of Flask: the web layer passes the address in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from inbox.models import AuditEntry, User

# Actions written by the app (the admin page offers these as a filter).
ACTIONS = (
    "login.success", "login.failure", "login.locked", "login.2fa_failure", "login.sso_failure",
    "logout",
    "password.change", "password.reset_sent", "password.reset_used", "password.set_by_admin",
    "2fa.enable", "2fa.disable", "2fa.reset_by_admin", "2fa.recovery_used",
    "2fa.recovery_regenerated",
    "account.update", "user.create", "user.update",
    "mailbox.create", "mailbox.update",
    "template.create", "template.update", "template.delete",
    "export", "data.delete",
    "api_token.create", "api_token.revoke", "webhook.create", "webhook.update", "webhook.delete",
    "approval.approve", "approval.return", "approval.withdraw",
    "thread.merge", "thread.split", "thread.merge_undone", "thread.split_undone",
    "customer.update", "customer.link", "customer.unlink", "customer.merge",
)  # fmt: skip


def _plain(value: Any) -> Any:
    """A JSON-safe copy: enums by value, times as ISO text, sets and tuples as sorted lists."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    target: str = "",
    changes: Mapping[str, Any] | None = None,
    address: str | None = None,
    now: datetime,
) -> AuditEntry:
    """Add one entry (flushes, does not commit: it lands with the change it describes).

    ``actor_id`` None means the system or an unknown person (a failed log-in for an unknown
    address names the address in ``target``). ``changes`` maps a field to ``[before, after]``
    or to any JSON-safe value; for secrets pass only which keys changed.
    """
    actor_email = ""
    if actor_id is not None:
        actor = session.get(User, actor_id)
        actor_email = actor.email if actor is not None else ""
    entry = AuditEntry(
        created_at=now,
        actor_id=actor_id,
        actor_email=actor_email,
        action=action[:64],
        target=(target or "")[:255],
        changes=_plain(dict(changes or {})),
        address=(address or "")[:64],
    )
    session.add(entry)
    session.flush()
    return entry


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for the fields whose value differs."""
    return {
        key: [_plain(before.get(key)), _plain(after.get(key))]
        for key in sorted(set(before) | set(after))
        if _plain(before.get(key)) != _plain(after.get(key))
    }


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def _filtered(f: AuditFilter) -> Select[tuple[AuditEntry]]:
    stmt = select(AuditEntry)
    if f.actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == f.actor_id)
    if f.action:
        stmt = stmt.where(AuditEntry.action == f.action)
    if f.since is not None:
        stmt = stmt.where(AuditEntry.created_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(AuditEntry.created_at < f.until)
    return stmt


def entries(
    session: Session, f: AuditFilter, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    """Newest first, at most ``limit``; ``before_id`` pages on from an earlier page."""
    stmt = _filtered(f)
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    return list(session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit)))


def stream(session: Session, f: AuditFilter, *, batch: int = 500) -> Iterator[AuditEntry]:
    """Every matching entry, oldest first, read in batches (for the CSV export)."""
    after = 0
    while True:
        rows = list(
            session.scalars(
                _filtered(f).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(batch)
            )
        )
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id
