"""Delivery of "mall_complete" items: mark the inquiry read and complete in the mall once its thread is resolved.

Completing twice does no harm (Rakuten counts "already set" as done), so unlike a reply a
timeout or a 5xx is simply tried again later, as are expired or refused credentials (sent
once new ones are in). A reply queued on the thread before the item is posted first.
Queued by ``inbox.services.mall_complete``.
"""

from __future__ import annotations

from typing import Any

from inbox.ingest.mall import credentials_blocked, open_source
from inbox.models import Mailbox, OutboxItem, OutboxStatus
from inbox.senders.mall_reply import _refused
from inbox.services import mall_complete, outbox
from inbox.services.outbox import DeliveryOutcome
from inbox.sources.mall_http import MallError


def deliver(item: OutboxItem, runtime: Any) -> DeliveryOutcome:
    """Mark the inquiry in the payload done; outcome sent, queued (try later) or refused."""
    ref = (item.payload or {}).get("ref")
    with runtime.Session() as session:
        mailbox = session.get(Mailbox, item.mailbox_id)
        if mailbox is None or not ref:
            return DeliveryOutcome(OutboxStatus.FAILED, "The item has no mall channel or inquiry.")
        if credentials_blocked(mailbox):
            return DeliveryOutcome(OutboxStatus.QUEUED, mailbox.last_error or "The channel's credentials must be renewed.")
        if mall_complete.reply_pending(session, item):
            return DeliveryOutcome(OutboxStatus.QUEUED, "Waiting for the reply to be posted first.")
        try:
            source = open_source(runtime, mailbox)
        except MallError as exc:
            return DeliveryOutcome(OutboxStatus.FAILED, str(exc))
    try:
        source.mark_done([ref])
    except MallError as exc:
        if exc.maybe_done:  # timeout or 5xx: completing again is harmless
            return DeliveryOutcome(OutboxStatus.QUEUED, str(exc))
        outcome = _refused(exc)
        if outcome.status == OutboxStatus.REJECTED:
            return DeliveryOutcome(OutboxStatus.REJECTED, f"Not marked complete in the mall: {exc}")
        return outcome
    return DeliveryOutcome(OutboxStatus.SENT)


outbox.register(mall_complete.KIND, deliver)
