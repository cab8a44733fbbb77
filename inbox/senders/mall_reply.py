"""Delivery of mall replies ("rakuten_reply", "yahoo_reply") through the malls' APIs, never posting twice; and credential alert mail.

Before posting, the mall's copy of the conversation is searched for the same text posted
since the reply was queued (an earlier attempt whose answer was lost): found means sent.
A timeout or 5xx after the POST is ``unknown`` and is never retried automatically; the
next poll matches the mall's copy (``inbox.ingest.mall``) and marks it sent. Rakuten's 409
("already exists") is matched at once the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import Mailbox, Message, OutboxItem, OutboxStatus
from inbox.senders.smtp import SmtpSettings
from inbox.services import mall_replies, outbox
from inbox.services.mall_credentials import credentials_blocked, open_source
from inbox.services.outbox import DeliveryOutcome
from inbox.sources.mall_http import MallError, MallSource

log = logging.getLogger(__name__)

KINDS = (mall_replies.RAKUTEN_CHANNEL.kind, mall_replies.YAHOO_CHANNEL.kind)
UNCONFIRMED = ("Unconfirmed: {why} The reply is not sent again automatically; the next poll"
               " looks for it in the mall and marks it sent when it is there.")


def _find(source: MallSource, ref: str, body: str, after: datetime,
          posted_at: datetime | None = None) -> str | None:
    try:
        return source.find_reply(ref, body, after=after, posted_at=posted_at)
    except MallError as exc:
        log.info("could not look for reply in %s: %s", ref, exc)
        return None


def refusal(exc: MallError) -> DeliveryOutcome:
    if exc.kind in ("network", "rate_limited"):
        return DeliveryOutcome(OutboxStatus.QUEUED, str(exc))  # nothing reached the mall
    if exc.kind in ("auth_expired", "auth_invalid", "reconsent"):
        return DeliveryOutcome(OutboxStatus.QUEUED, str(exc))  # sent once new credentials are in
    return DeliveryOutcome(OutboxStatus.REJECTED, str(exc))


def open_channel(
    runtime: Any, item: OutboxItem, *, wait: Callable[[Session, OutboxItem], str | None] | None = None
) -> MallSource | DeliveryOutcome:
    """The mall source of the item's channel, or the outcome to record instead: failed without
    a channel or inquiry, queued while the credentials must be renewed or ``wait`` gives a reason."""
    with runtime.Session() as session:
        mailbox = session.get(Mailbox, item.mailbox_id)
        if mailbox is None or not (item.payload or {}).get("ref"):
            return DeliveryOutcome(OutboxStatus.FAILED, "The item has no mall channel or inquiry.")
        if credentials_blocked(mailbox):
            return DeliveryOutcome(OutboxStatus.QUEUED, mailbox.last_error or "The channel's credentials must be renewed.")
        reason = wait(session, item) if wait else None
        if reason:
            return DeliveryOutcome(OutboxStatus.QUEUED, reason)
        try:
            return open_source(runtime, mailbox)
        except MallError as exc:
            return DeliveryOutcome(OutboxStatus.FAILED, str(exc))


def deliver(item: OutboxItem, runtime: Any) -> DeliveryOutcome:
    """Post the reply once; outcome sent (with the mall's key when known), queued, rejected or unknown."""
    payload = item.payload or {}
    ref, body = payload.get("ref"), payload.get("body") or ""
    source = open_channel(runtime, item)
    if isinstance(source, DeliveryOutcome):
        return source
    queued_at = item.created_at
    earlier = _find(source, ref, body, queued_at)
    if earlier is not None:
        return DeliveryOutcome(OutboxStatus.SENT, None, {"key": earlier, "reconciled": True})
    files = [(f["filename"], runtime.blobs.get(f["sha256"])) for f in payload.get("files") or []]
    outbox.begin_attempt(runtime.Session, item)
    try:
        posted = source.post_reply(ref, body, files)
    except MallError as exc:
        if exc.kind == "conflict":
            key = _find(source, ref, body, queued_at)
            if key is not None:
                return DeliveryOutcome(OutboxStatus.SENT, None, {"key": key, "reconciled": True})
            return DeliveryOutcome(OutboxStatus.UNKNOWN, UNCONFIRMED.format(why=f"{exc}"))
        if exc.maybe_done or exc.kind == "contract":
            return DeliveryOutcome(OutboxStatus.UNKNOWN, UNCONFIRMED.format(why=f"{exc}"))
        return refusal(exc)
    key = posted.key or _find(source, ref, body, queued_at, posted.posted_at)
    details = {"key": key, "posted_at": posted.posted_at.isoformat() if posted.posted_at else None}
    if key is None and not posted.confirmed:
        return DeliveryOutcome(OutboxStatus.UNKNOWN, UNCONFIRMED.format(
            why="the mall accepted the request but did not say which message it stored."), details)
    _mark_read(source, ref)
    return DeliveryOutcome(OutboxStatus.SENT, None, details)


def _mark_read(source: MallSource, ref: str) -> None:
    """The team answered: mark the inquiry read in the mall too (best effort; the reply is sent)."""
    try:
        source.mark_read([ref])
    except MallError as exc:
        log.info("could not mark %s read in the mall: %s", ref, exc)


def after_delivery(session: Session, item: OutboxItem, outcome: DeliveryOutcome, now: datetime) -> None:
    """Give our message row the mall's key, or remember the mall's timestamp for the next poll."""
    key, posted_at = outcome.details.get("key"), outcome.details.get("posted_at")
    if posted_at:
        item.payload = {**(item.payload or {}), "posted_at": posted_at}
    message = session.get(Message, item.message_row_id) if item.message_row_id else None
    if message is None:
        return
    if item.status == OutboxStatus.UNKNOWN and not (message.source_key or "out:").startswith("out:"):
        item.status, item.sent_at = OutboxStatus.SENT, now  # a poll matched the mall's copy meanwhile
        return
    if not key or message.source_key == key:
        return
    taken = session.scalar(select(Message.id).where(
        Message.mailbox_id == message.mailbox_id, Message.source_key == key))
    if taken is None:
        message.source_key = key
        if posted_at:
            message.sent_at = datetime.fromisoformat(posted_at)


def deliver_alert(item: OutboxItem, runtime: Any) -> DeliveryOutcome:
    """A credential alert: the prepared mail, over the alert SMTP server of the settings."""
    if not item.raw or not item.recipients:
        return DeliveryOutcome(OutboxStatus.FAILED, "The alert mail has no content or no recipient.")
    settings = SmtpSettings(**runtime.settings.alert_smtp)
    outbox.begin_attempt(runtime.Session, item)
    return runtime.seams.smtp.send(settings, item.mail_from, item.recipients, item.raw)

