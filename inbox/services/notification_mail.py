"""Mailing notifications: one mail per notification, or one daily digest per user, queued in the outbox.

A notification someone wants by mail is written "pending" in the transaction of its event
(``notifications.notify``); this scan turns pending ones into outbox items. Exactly once
comes from the outbox's unique idempotency key: ``notify:<id>`` for a single mail and
``notify-digest:<user>:<local date>`` for a digest, whose item lists the notifications it
carries (a second scanner that loses the race marks only those). Delivery is the outbox's
business (registered for ``MAIL_KIND`` by ``inbox.wiring``). Knows nothing of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from inbox.config import Settings
from inbox.models import Notification, NotificationSetting, OutboxItem, Thread, User
from inbox.services import alerts, claims, notifications, outbox

MAIL_KIND = "notification"
LEASE = "notification-mail"
BATCH = 200
DIGEST_LIMIT = 200


@dataclass
class MailResult:
    claimed: bool
    singles: int = 0
    digests: int = 0


def _describe(session: Session, rows: list[Notification], settings: Settings) -> list[dict[str, Any]]:
    threads = {
        t.id: t
        for t in session.scalars(
            select(Thread).where(Thread.id.in_({r.thread_id for r in rows if r.thread_id}))
        )
    }
    ids = {r.actor_id for r in rows if r.actor_id}
    actors = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    items = []
    for row in rows:
        thread = threads.get(row.thread_id) if row.thread_id else None
        actor = actors.get(row.actor_id) if row.actor_id else None
        items.append({
            "kind": row.kind,
            "at": row.created_at,
            "data": row.data or {},
            "actor": actor.name if actor else None,
            "ticket": settings.ticket_token_for(thread.id) if thread else "",
            "subject": thread.subject if thread else "",
            "mailbox": thread.mailbox.name if thread else "",
        })
    return items


def _wants_digest(session: Session, user_id: int) -> bool:
    setting = session.get(NotificationSetting, user_id)
    return bool(setting and setting.digest)


def queue_singles(session: Session, *, settings: Settings, now: datetime) -> int:
    """Queue one mail per pending notification of users who want single mails; how many."""
    rows = list(
        session.scalars(
            select(Notification)
            .where(Notification.mail_state == notifications.PENDING)
            .order_by(Notification.id)
            .limit(BATCH)
        )
    )
    queued = 0
    for row in rows:
        if _wants_digest(session, row.user_id):
            continue
        user = session.get(User, row.user_id)
        if user is None or not user.active or not user.email:
            row.mail_state = None
            continue
        key = f"notify:{row.id}"
        raw = alerts.render_mail(
            "notification", [user], settings=settings, now=now,
            message_id=alerts.message_id_for(key),
            context={"item": _describe(session, [row], settings)[0]},
        )
        item = outbox.enqueue(
            session, kind=MAIL_KIND, idempotency_key=key, now=now,
            mail_from=settings.alert_from_address, recipients=[user.email], raw=raw,
            payload={"notifications": [row.id], "user": user.id}, thread_id=row.thread_id,
        )
        row.mail_state, row.outbox_id = notifications.QUEUED, item.id
        queued += 1
    return queued


def digest_key(user: User, now: datetime) -> str:
    return f"notify-digest:{user.id}:{now.astimezone(ZoneInfo(user.timezone)).date().isoformat()}"


def queue_digests(session: Session, *, settings: Settings, now: datetime) -> int:
    """Once a day per digest user, from the alert hour of their own timezone on, queue one mail
    with their pending notifications; those arriving after it wait for the next day's."""
    users = list(
        session.scalars(
            select(User)
            .join(NotificationSetting, NotificationSetting.user_id == User.id)
            .where(NotificationSetting.digest, User.active)
            .where(
                select(Notification.id)
                .where(Notification.user_id == User.id, Notification.mail_state == notifications.PENDING)
                .exists()
            )
            .order_by(User.id)
        )
    )
    queued = 0
    for user in users:
        local = now.astimezone(ZoneInfo(user.timezone))
        key = digest_key(user, now)
        if local.time() < settings.alert_notify_at or session.scalar(
            select(OutboxItem.id).where(OutboxItem.idempotency_key == key)
        ):
            continue
        rows = list(
            session.scalars(
                select(Notification)
                .where(Notification.user_id == user.id, Notification.mail_state == notifications.PENDING)
                .order_by(Notification.created_at, Notification.id)
                .limit(DIGEST_LIMIT)
            )
        )
        raw = alerts.render_mail(
            "notification_digest", [user], settings=settings, now=now,
            message_id=alerts.message_id_for(key),
            context={"items": _describe(session, rows, settings), "date": local.date()},
        )
        item = outbox.enqueue(
            session, kind=MAIL_KIND, idempotency_key=key, now=now,
            mail_from=settings.alert_from_address, recipients=[user.email], raw=raw,
            payload={"notifications": [r.id for r in rows], "user": user.id, "digest": True},
        )
        carried = list((item.payload or {}).get("notifications") or [])
        session.execute(
            update(Notification)
            .where(Notification.id.in_(carried), Notification.mail_state == notifications.PENDING)
            .values(mail_state=notifications.QUEUED, outbox_id=item.id)
            .execution_options(synchronize_session=False)
        )
        queued += 1
    return queued


def scan(Session: sessionmaker[Session], settings: Settings, *, now: datetime) -> MailResult:
    """One pass without the lease: single mails, then the digests that are due."""
    result = MailResult(claimed=True)
    with Session() as session:
        result.singles = queue_singles(session, settings=settings, now=now)
        session.commit()
    with Session() as session:
        result.digests = queue_digests(session, settings=settings, now=now)
        session.commit()
    return result


def run(runtime: Any, *, owner: str, now: datetime) -> MailResult:
    """Scheduler entry point: take the lease, then ``scan``; a busy lease means skip."""
    settings: Settings = runtime.settings
    ttl = timedelta(seconds=max(3 * settings.outbox_seconds, 30))
    with runtime.Session() as session:
        claimed = claims.try_claim(session, LEASE, owner, now=now, ttl=ttl)
        session.commit()
    if not claimed:
        return MailResult(claimed=False)
    try:
        return scan(runtime.Session, settings, now=now)
    finally:
        with runtime.Session() as session:
            claims.release(session, LEASE, owner)
            session.commit()
