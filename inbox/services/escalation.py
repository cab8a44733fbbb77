"""Escalation: an assigned thread still overdue N business hours after its deadline also alerts its mailbox's leads.

N is per mailbox (``Mailbox.settings["escalation_hours"]``; absent: no escalation) and is
counted in the mailbox's business hours. Exactly once per thread and deadline, as the other
alerts: an ``Alert`` row with stage "escalated" (unique on thread, stage, deadline) and its
outbox item (unique key) are written in one transaction, and the process that loses the
unique race writes nothing. Runs inside the alert scan (``alerts.scan``) under its lease.
The leads also get an in-app notification (kind "escalated"). Knows nothing of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.config import Settings
from inbox.models import Alert, Event, Mailbox, MailboxMember, Role, Thread, User
from inbox.services import alerts, notifications, outbox
from inbox.services.deadlines import OPEN_STATUSES, calendar_for, editable_mailbox
from inbox.services.errors import InvalidInput

STAGE = "escalated"
SETTING = "escalation_hours"
MAX_HOURS = 2000
# Deadlines further back than this are not looked at (N business hours can span days).
HORIZON = timedelta(days=90)


def _(message: str) -> str:
    """Mark a message for translation; the web layer translates it when showing it."""
    return message


@dataclass(frozen=True, order=True)
class DueEscalation:
    thread_id: int
    due_at: datetime


def hours_for(mailbox: Mailbox) -> float | None:
    """The mailbox's escalation delay in business hours, or None when it does not escalate."""
    value = (mailbox.settings or {}).get(SETTING)
    try:
        hours = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return hours if hours is not None and 0 < hours <= MAX_HOURS else None


def idempotency_key(thread_id: int, due_at: datetime) -> str:
    return f"alert:{thread_id}:{STAGE}:{due_at.isoformat()}"


def find_due(session: Session, *, now: datetime) -> list[DueEscalation]:
    """Assigned open threads whose escalation time has come and that were not escalated for
    this deadline, in one order for every process. Escalations that could not be issued within
    ``alerts.LOOKBACK`` of their time are dropped, like the other alerts."""
    found: list[DueEscalation] = []
    for mailbox in session.scalars(select(Mailbox).order_by(Mailbox.id)):
        hours = hours_for(mailbox)
        if hours is None:
            continue
        cal = calendar_for(mailbox)
        done = exists().where(
            Alert.thread_id == Thread.id, Alert.due_at == Thread.due_at, Alert.stage == STAGE
        )
        rows = session.execute(
            select(Thread.id, Thread.due_at).where(
                Thread.mailbox_id == mailbox.id,
                Thread.status.in_(OPEN_STATUSES),
                Thread.due_at > now - HORIZON,
                Thread.due_at <= now,
                Thread.assignee_id.is_not(None),
                ~done,
            )
        )
        for thread_id, due_at in rows:
            at = cal.add_business_hours(due_at, hours)
            if at <= now and now - at <= alerts.LOOKBACK:
                found.append(DueEscalation(thread_id, due_at))
    return sorted(found)


def leads_for(session: Session, thread: Thread) -> list[User]:
    """The mailbox's active leads other than the assignee; with none, the active admins."""
    leads = list(
        session.scalars(
            select(User)
            .join(MailboxMember, MailboxMember.user_id == User.id)
            .where(
                MailboxMember.mailbox_id == thread.mailbox_id,
                User.role == Role.LEAD,
                User.active,
                User.id != thread.assignee_id,
            )
            .order_by(User.id)
        )
    )
    if leads:
        return leads
    return list(
        session.scalars(
            select(User)
            .where(User.role == Role.ADMIN, User.active, User.id != thread.assignee_id)
            .order_by(User.id)
        )
    )


def issue(session: Session, due: DueEscalation, *, now: datetime, settings: Settings) -> bool:
    """Record the escalation and queue its mail in the caller's transaction; False if another
    process did it first, or the thread changed (resolved, unassigned, new deadline)."""
    thread = session.get(Thread, due.thread_id)
    if (
        thread is None
        or thread.status not in OPEN_STATUSES
        or thread.assignee_id is None
        or thread.due_at != due.due_at
        or (hours := hours_for(thread.mailbox)) is None
    ):
        return False
    alert = Alert(thread_id=thread.id, stage=STAGE, due_at=due.due_at)
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        return False
    leads = leads_for(session, thread)
    if leads:
        key = idempotency_key(thread.id, due.due_at)
        raw = alerts.render_mail(
            "deadline_escalated", leads, settings=settings, now=now,
            message_id=alerts.message_id_for(key),
            context={
                "ticket": settings.ticket_token_for(thread.id),
                "subject": thread.subject,
                "mailbox": thread.mailbox.name,
                "due_at": due.due_at,
                "assignee": thread.assignee.name if thread.assignee else None,
                "hours": hours,
            },
        )
        item = outbox.enqueue(
            session, kind=alerts.KIND, idempotency_key=key, now=now,
            mail_from=settings.alert_from_address, recipients=[u.email for u in leads], raw=raw,
            payload={"stage": STAGE, "due_at": due.due_at.isoformat()},
            mailbox_id=thread.mailbox_id, thread_id=thread.id,
        )
        alert.outbox_id = item.id
        for lead in leads:
            notifications.notify(
                session, lead.id, notifications.ESCALATED.name, now=now, thread_id=thread.id,
                key=key, data={"due_at": due.due_at.isoformat(), "assignee": thread.assignee_id},
            )
    session.add(
        Event(
            thread_id=thread.id,
            kind="deadline_escalated",
            data={"due_at": due.due_at.isoformat(), "leads": [u.id for u in leads]},
            created_at=now,
        )
    )
    return True


def scan(session: Session, *, now: datetime, settings: Settings) -> tuple[int, int]:
    """Issue every due escalation; (issued, lost to another process). The caller commits."""
    issued = lost = 0
    for due in find_due(session, now=now):
        if issue(session, due, now=now, settings=settings):
            issued += 1
        else:
            lost += 1
    return issued, lost


# --- the per-mailbox setting ---------------------------------------------------------------


def parse_hours(text: str) -> float | None:
    """The form's text as hours (empty: off). Raises InvalidInput for anything else."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        hours = float(value)
    except ValueError as exc:
        raise InvalidInput(_("Enter the escalation delay as a number of business hours.")) from exc
    if not 0 < hours <= MAX_HOURS or hours != hours:
        raise InvalidInput(_("The escalation delay must be more than 0 and at most 2000 business hours."))
    return round(hours, 2)


def save_hours(
    session: Session, user: User, mailbox_id: int, text: str, *, now: datetime
) -> Mailbox:
    """Set (or, empty, switch off) the mailbox's escalation delay; leads of the mailbox and
    admins only (NotFound / PermissionDenied otherwise), InvalidInput for a bad value. Audited."""
    mailbox = editable_mailbox(session, user, mailbox_id)
    hours = parse_hours(text)
    before = (mailbox.settings or {}).get(SETTING)
    mailbox.change_settings(**{SETTING: hours})
    session.add(
        Event(
            actor_id=user.id,
            kind="mailbox_escalation_changed",
            data={"mailbox": mailbox.id, "from": before, "to": hours, "at": now.isoformat()},
            created_at=now,
        )
    )
    return mailbox


def form_value(mailbox: Mailbox) -> Any:
    hours = hours_for(mailbox)
    if hours is None:
        return ""
    return int(hours) if hours == int(hours) else hours
