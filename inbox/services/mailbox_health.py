"""Mailbox health: each poll's outcome recorded on the mailbox, and one mail to the admins per outage.

An outage starts with the first failed poll after a success and ends with the next
success. The admin page shows it in words ("failing since ..., N attempts"); once
``FAILURES_BEFORE_NOTICE`` polls in a row have failed, the active admins get one mail
(through the outbox, kind "alert"), never one per poll. Knows nothing of the web or of
how polling works.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.config import Settings
from inbox.ingest.columns import clean
from inbox.models import Mailbox, MailboxOutage, Role, User
from inbox.services import outbox
from inbox.services.alerts import KIND, message_id_for, render_mail

FAILURES_BEFORE_NOTICE = 3


def record_poll(
    session: Session, mailbox_id: int, *, error: str | None, now: datetime, settings: Settings
) -> MailboxOutage | None:
    """Record one poll of the mailbox (``error`` None: it succeeded); the caller commits.

    Returns the mailbox's outage, if its polls are failing.
    """
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is None:
        return None
    mailbox.last_poll_at = now
    outage = session.get(MailboxOutage, mailbox_id)
    if error is None:
        mailbox.last_success_at = now
        mailbox.last_error = None
        if outage is not None:
            session.delete(outage)
        return None
    if outage is None:
        outage = MailboxOutage(mailbox_id=mailbox_id, since=now, failed_polls=0)
        session.add(outage)
    outage.failed_polls = (outage.failed_polls or 0) + 1
    mailbox.last_error, mailbox.last_error_at = clean(error, 2000), now
    if outage.failed_polls >= FAILURES_BEFORE_NOTICE and outage.notified_at is None:
        notify_admins(session, mailbox, outage, now=now, settings=settings)
        outage.notified_at = now
    return outage


def outages(session: Session) -> dict[int, MailboxOutage]:
    """The current outages by mailbox id (for the admin page)."""
    return {o.mailbox_id: o for o in session.scalars(select(MailboxOutage))}


def notify_admins(
    session: Session, mailbox: Mailbox, outage: MailboxOutage, *, now: datetime, settings: Settings
) -> None:
    """Queue the one mail about this outage to every active admin (none: nothing is queued)."""
    admins = list(session.scalars(select(User).where(User.active, User.role == Role.ADMIN)))
    if not admins:
        return
    key = f"mailbox-failing:{mailbox.id}:{outage.since.isoformat()}"
    raw = render_mail(
        "mailbox_failing",
        admins,
        settings=settings,
        now=now,
        message_id=message_id_for(key),
        context={
            "mailbox": mailbox.name,
            "since": outage.since,
            "attempts": outage.failed_polls,
            "error": (mailbox.last_error or "")[:500],
        },
    )
    outbox.enqueue(
        session,
        kind=KIND,
        idempotency_key=key,
        now=now,
        mail_from=settings.alert_from_address,
        recipients=[u.email for u in admins],
        raw=raw,
        payload={"mailbox_failing": mailbox.id},
        mailbox_id=mailbox.id,
    )
