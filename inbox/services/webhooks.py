"""Webhooks: subscriptions (one mailbox's or every mailbox's events), the events themselves, and
their delivery log. Sending lives in ``inbox.senders.webhook``, through the outbox.

An event becomes one ``WebhookDelivery`` per matching active subscription, and one outbox item
(kind ``webhook``) per delivery, in the transaction that made the event: an event is never
announced for a change that was rolled back. The hooks below are registered in
``inbox.wiring``. Target URLs must be http(s) and, unless the settings allow it, must not
resolve to loopback, private or link-local addresses (``check_url``). Knows nothing of HTTP
serving.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.crypto import SecretBox
from inbox.models import (
    Direction,
    Mailbox,
    MessageKind,
    OutboxItem,
    OutboxStatus,
    Role,
    Thread,
    User,
    WebhookDelivery,
    WebhookSubscription,
)
from inbox.services import outbox
from inbox.services.access import require_role
from inbox.services.errors import InvalidInput, NotFound

KIND = "webhook"
EVENTS = (
    "thread.created",
    "customer.replied",
    "thread.assigned",
    "thread.status_changed",
    "deadline.stage_reached",
    "reply.failed",
)
FORMATS = ("json", "slack", "chatwork")
KEPT_RESPONSES = 5
MAX_URL = 2000
REPLY_FAILED = (OutboxStatus.FAILED, OutboxStatus.REJECTED, OutboxStatus.UNKNOWN)

Resolver = Callable[[str], list[str]]


def _(message: str) -> str:
    """Mark a message for translation; the web layer translates it when showing it."""
    return message


def resolve(host: str) -> list[str]:
    """The host's addresses (what the sender would connect to)."""
    return sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})


def check_url(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> str:
    """The URL if webhooks may go there; InvalidInput otherwise (not http(s), no host, or a
    loopback/private/link-local/reserved address unless ``allow_private``)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(_("Give an http:// or https:// address."))
    if parts.username or parts.password:
        raise InvalidInput(_("Put no user name or password in the address."))
    if allow_private:
        return url
    try:
        addresses = resolver(parts.hostname)
    except (OSError, UnicodeError) as exc:
        raise InvalidInput(_("The address's host name cannot be found.")) from exc
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise InvalidInput(_("That address is inside a private network; webhooks may not go there."))
    return url


# --- subscriptions ------------------------------------------------------------------------------


def _values(session: Session, *, name: str, url: str, events: list[str], fmt: str,
            mailbox_id: int | None, allow_private: bool) -> dict[str, Any]:  # fmt: skip
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise InvalidInput(_("Give the webhook a name of at most 120 characters."))
    chosen = [e for e in EVENTS if e in set(events)]
    if not chosen or len(chosen) != len(set(events)):
        raise InvalidInput(_("Choose at least one event."))
    if fmt not in FORMATS:
        raise InvalidInput(_("Unknown message format."))
    if mailbox_id is not None and session.get(Mailbox, mailbox_id) is None:
        raise InvalidInput(_("No such mailbox."))
    url = check_url(url, allow_private=allow_private)
    return {"name": name, "url": url, "events": chosen, "format": fmt, "mailbox_id": mailbox_id}


def create(session: Session, box: SecretBox, *, by: User, allow_private: bool, now: datetime,
           **values: Any) -> WebhookSubscription:  # fmt: skip
    """A new subscription with a fresh signing secret. Admins only (PermissionDenied)."""
    require_role(by, Role.ADMIN)
    clean = _values(session, allow_private=allow_private, **values)
    sub = WebhookSubscription(**clean, secret_encrypted=box.seal({"secret": secrets.token_urlsafe(32)}),
                              created_by_id=by.id, created_at=now)  # fmt: skip
    session.add(sub)
    session.flush()
    return sub


def update(session: Session, sub: WebhookSubscription, *, by: User, allow_private: bool,
           active: bool, **values: Any) -> None:  # fmt: skip
    require_role(by, Role.ADMIN)
    for key, value in _values(session, allow_private=allow_private, **values).items():
        setattr(sub, key, value)
    sub.active = active


def get(session: Session, sub_id: int, *, by: User) -> WebhookSubscription:
    require_role(by, Role.ADMIN)
    sub = session.get(WebhookSubscription, sub_id)
    if sub is None:
        raise NotFound(_("No such webhook."))
    return sub


def secret_of(sub: WebhookSubscription, box: SecretBox) -> str:
    return str(box.open(sub.secret_encrypted).get("secret", ""))


def subscriptions(session: Session) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.name)))


def deliveries(session: Session, sub: WebhookSubscription, *, limit: int = 50) -> list[tuple[WebhookDelivery, OutboxItem | None]]:
    """The subscription's latest deliveries, newest first, with their outbox items."""
    rows = session.execute(
        select(WebhookDelivery, OutboxItem)
        .outerjoin(OutboxItem, OutboxItem.id == WebhookDelivery.outbox_id)
        .where(WebhookDelivery.subscription_id == sub.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return [(d, i) for d, i in rows]


# --- events -------------------------------------------------------------------------------------


def thread_summary(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "mailbox_id": thread.mailbox_id,
        "subject": thread.subject,
        "status": thread.status.value,
        "priority": thread.priority.value,
        "assignee_id": thread.assignee_id,
        "due_at": thread.due_at.isoformat() if thread.due_at else None,
        "customer": thread.contact.address if thread.contact else None,
    }


def _queue(session: Session, sub: WebhookSubscription, event: str, event_id: str,
           body: dict[str, Any], now: datetime) -> WebhookDelivery:  # fmt: skip
    delivery = WebhookDelivery(subscription_id=sub.id, event=event, event_id=event_id, body=body,
                               responses=[], created_at=now)  # fmt: skip
    session.add(delivery)
    session.flush()
    item = outbox.enqueue(session, kind=KIND, idempotency_key=f"webhook:{delivery.id}", now=now,
                          payload={"delivery": delivery.id})  # fmt: skip
    delivery.outbox_id = item.id
    return delivery


def emit(session: Session, event: str, thread: Thread, *, now: datetime,
         data: dict[str, Any] | None = None) -> list[WebhookDelivery]:  # fmt: skip
    """Queue ``event`` about ``thread`` to every active subscription that wants it."""
    subs = [
        s for s in session.scalars(select(WebhookSubscription).where(
            WebhookSubscription.active.is_(True),
            (WebhookSubscription.mailbox_id.is_(None)) | (WebhookSubscription.mailbox_id == thread.mailbox_id),
        ).order_by(WebhookSubscription.id))
        if event in (s.events or [])
    ]  # fmt: skip
    if not subs:
        return []
    event_id = uuid.uuid4().hex
    body = {"id": event_id, "event": event, "occurred_at": now.isoformat(),
            "thread": thread_summary(thread), "data": data or {}}  # fmt: skip
    return [_queue(session, sub, event, event_id, body, now) for sub in subs]


def redeliver(session: Session, delivery_id: int, *, by: User, now: datetime) -> WebhookDelivery:
    """Send a delivery's event again, as a new delivery with the same event id."""
    require_role(by, Role.ADMIN)
    old = session.get(WebhookDelivery, delivery_id)
    if old is None:
        raise NotFound(_("No such delivery."))
    sub = session.get(WebhookSubscription, old.subscription_id)
    return _queue(session, sub, old.event, old.event_id, old.body, now)


def ping(session: Session, sub: WebhookSubscription, *, by: User, now: datetime) -> WebhookDelivery:
    """A test event (``ping``) to one subscription."""
    require_role(by, Role.ADMIN)
    event_id = uuid.uuid4().hex
    body = {"id": event_id, "event": "ping", "occurred_at": now.isoformat(), "thread": None,
            "data": {"webhook": sub.name}}  # fmt: skip
    return _queue(session, sub, "ping", event_id, body, now)


# --- hooks (registered in inbox.wiring) ---------------------------------------------------------


def on_stored_message(session: Session, stored: Any) -> None:
    """Ingest: a customer's own message opened a thread, or followed up on one."""
    message = stored.message
    if message.direction != Direction.INBOUND or message.kind != MessageKind.NORMAL:
        return
    event = "thread.created" if stored.created else "customer.replied"
    emit(session, event, stored.thread, now=stored.now, data={"message_id": message.id})


def on_status_changed(session: Session, thread: Thread, now: datetime) -> None:
    emit(session, "thread.status_changed", thread, now=now)


def on_assigned(session: Session, thread: Thread, now: datetime) -> None:
    emit(session, "thread.assigned", thread, now=now)


def on_stage_reached(session: Session, thread: Thread, stage: str, due_at: datetime, now: datetime) -> None:
    emit(session, "deadline.stage_reached", thread, now=now,
         data={"stage": stage, "due_at": due_at.isoformat()})  # fmt: skip


def on_outcome(session: Session, item: OutboxItem, now: datetime, context: Any = None) -> None:
    """A reply that did not reach the customer (failed, refused, or unknown)."""
    if item.kind == KIND or item.message_row_id is None or item.status not in REPLY_FAILED:
        return
    thread = session.get(Thread, item.thread_id) if item.thread_id else None
    if thread is not None:
        emit(session, "reply.failed", thread, now=now,
             data={"message_id": item.message_row_id, "status": item.status.value,
                   "error": item.last_error})  # fmt: skip


def after_delivery(session: Session, item: OutboxItem, result: outbox.DeliveryOutcome, now: datetime) -> None:
    """Keep the last responses of the delivery (status code, start of the body, error)."""
    delivery = session.get(WebhookDelivery, (item.payload or {}).get("delivery"))
    if delivery is None:
        return
    entry = {"at": now.isoformat(), "outcome": result.status.value,
             "status": result.details.get("status"), "body": result.details.get("body", ""),
             "error": result.error}  # fmt: skip
    delivery.responses = [entry, *(delivery.responses or [])][:KEPT_RESPONSES]
