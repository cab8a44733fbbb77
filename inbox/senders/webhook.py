"""Delivery of webhook events (outbox kind "webhook"): an HTTP POST, signed, to the subscription's URL.

Headers: ``X-Inbox-Event``, ``X-Inbox-Delivery`` (the event id: a redelivery keeps it, so a
receiver can drop repeats), ``X-Inbox-Timestamp`` (Unix seconds) and ``X-Inbox-Signature:
sha256=<hex>``, the HMAC-SHA256 with the subscription's secret of ``<timestamp>.<body>``. A 2xx
answer is delivered; 408, 429, 5xx and network errors are tried again later with the outbox's
growing delay; other answers fail. Redirects are not followed, and the URL is checked again
before each attempt (its host may have moved into a private network since it was saved).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from inbox.models import OutboxItem, OutboxStatus, WebhookDelivery, WebhookSubscription
from inbox.services import outbox, webhooks
from inbox.services.errors import InvalidInput
from inbox.services.outbox import DeliveryOutcome

RETRY_STATUSES = {408, 425, 429}
KEPT_BODY = 500


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` over ``<timestamp>.<body>``: what a receiver recomputes to verify."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _text(body: dict[str, Any]) -> str:
    thread = body.get("thread") or {}
    data = body.get("data") or {}
    line = f"[{body.get('event')}]"
    if thread:
        line += f" #{thread.get('id')} {thread.get('subject', '')} ({thread.get('status')})"
    extra = ", ".join(f"{k}: {v}" for k, v in data.items() if v is not None)
    return f"{line}\n{extra}" if extra else line


def render(body: dict[str, Any], fmt: str) -> bytes:
    """The request body in the subscription's format: the event as JSON, or a chat message
    (Slack incoming webhooks read ``text``; Chatwork bridges read ``body``) carrying the event too."""
    if fmt == "slack":
        payload: dict[str, Any] = {"text": _text(body), "inbox_event": body}
    elif fmt == "chatwork":
        payload = {"body": f"[info][title]inbox[/title]{_text(body)}[/info]", "inbox_event": body}
    else:
        payload = body
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def deliver(item: OutboxItem, runtime: Any) -> DeliveryOutcome:
    with runtime.Session() as session:
        delivery = session.get(WebhookDelivery, (item.payload or {}).get("delivery"))
        sub = session.get(WebhookSubscription, delivery.subscription_id) if delivery else None
        if delivery is None or sub is None:
            return DeliveryOutcome(OutboxStatus.FAILED, "The webhook subscription was deleted.")
        url, fmt, event, body = sub.url, sub.format, delivery.event, dict(delivery.body)
        secret = webhooks.secret_of(sub, runtime.secrets)
    settings = runtime.settings
    try:
        webhooks.check_url(url, allow_private=settings.webhooks_allow_private)
    except InvalidInput as exc:
        return DeliveryOutcome(OutboxStatus.FAILED, str(exc))
    data = render(body, fmt)
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "inbox-webhooks/1",
        "X-Inbox-Event": event,
        "X-Inbox-Delivery": str(body.get("id", "")),
        "X-Inbox-Timestamp": stamp,
        "X-Inbox-Signature": sign(secret, stamp, data),
    }
    outbox.begin_attempt(runtime.Session, item)
    try:
        response = httpx.post(url, content=data, headers=headers, follow_redirects=False,
                              timeout=settings.webhooks_timeout_seconds)  # fmt: skip
    except httpx.HTTPError as exc:
        return DeliveryOutcome(OutboxStatus.QUEUED, f"{type(exc).__name__}: {exc}")
    details = {"status": response.status_code, "body": response.text[:KEPT_BODY]}
    if 200 <= response.status_code < 300:
        return DeliveryOutcome(OutboxStatus.SENT, None, details)
    error = f"The receiver answered {response.status_code}."
    if response.status_code in RETRY_STATUSES or response.status_code >= 500:
        return DeliveryOutcome(OutboxStatus.QUEUED, error, details)
    return DeliveryOutcome(OutboxStatus.FAILED, error, details)
