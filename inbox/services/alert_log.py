"""The log of deadline alerts sent: which thread, which stage, to whom, when.

Read-only; leads see their own mailboxes' alerts, admins every mailbox. Issuing alerts lives
in ``inbox.services.alerts``; this module knows nothing of the web.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from inbox.models import Alert, OutboxItem, Role, Thread, User
from inbox.services.access import require_role, visible_mailbox_ids
from inbox.services.errors import NotFound

PAGE = 50
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class AlertFilter:
    mailbox_id: int | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class SentAlert:
    alert: Alert
    thread: Thread
    mail: OutboxItem | None  # None: only daily-digest readers were told


def sent_alerts(
    session: Session,
    user: User,
    flt: AlertFilter,
    *,
    before_id: int | None = None,
    limit: int = PAGE,
) -> list[SentAlert]:
    """One page of alerts, newest first, older than ``before_id`` when given.

    Raises PermissionDenied unless the viewer is a lead or an admin, and NotFound when the
    mailbox filter names a mailbox the viewer may not see.
    """
    require_role(user, Role.LEAD, Role.ADMIN)
    ids = visible_mailbox_ids(session, user)
    if flt.mailbox_id is not None:
        if flt.mailbox_id not in ids:
            raise NotFound("There is no mailbox %(name)s.", name="#" + str(flt.mailbox_id))
        ids = [flt.mailbox_id]
    if not ids:
        return []
    mail = aliased(OutboxItem)
    stmt = (
        select(Alert, Thread, mail)
        .join(Thread, Thread.id == Alert.thread_id)
        .outerjoin(mail, mail.id == Alert.outbox_id)
        .where(Thread.mailbox_id.in_(ids))
        .order_by(Alert.id.desc())
        .limit(limit)
    )
    if flt.since is not None:
        stmt = stmt.where(Alert.created_at >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(Alert.created_at < flt.until)
    if before_id is not None:
        stmt = stmt.where(Alert.id < min(before_id, MAX_ID))
    return [SentAlert(alert=a, thread=t, mail=m) for a, t, m in session.execute(stmt)]
