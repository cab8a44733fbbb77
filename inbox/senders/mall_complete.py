"""Delivery of "mall_complete" items: mark the inquiry read and complete in the mall once its thread is resolved.

Completing twice does no harm (Rakuten counts "already set" as done), so unlike a reply a
timeout or a 5xx is simply tried again later, as are expired or refused credentials (sent
once new ones are in). A reply queued on the thread before the item is posted first.
Queued by ``inbox.services.mall_complete``. "mall_incomplete" items (a reopened thread) undo
the completion the same way (``deliver_incomplete``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from inbox.models import OutboxItem, OutboxStatus
from inbox.senders.mall_reply import open_channel, refusal
from inbox.services import mall_complete, outbox
from inbox.services.outbox import DeliveryOutcome
from inbox.sources.mall_http import MallError


def _reply_first(session: Session, item: OutboxItem) -> str | None:
    if mall_complete.reply_pending(session, item):
        return "Waiting for the reply to be posted first."
    return None


def deliver(item: OutboxItem, runtime: Any) -> DeliveryOutcome:
    """Mark the inquiry in the payload done; outcome sent, queued (try later) or refused."""
    source = open_channel(runtime, item, wait=_reply_first)
    if isinstance(source, DeliveryOutcome):
        return source
    ref, condition = item.payload["ref"], item.payload.get("condition")
    outbox.begin_attempt(runtime.Session, item)
    try:
        source.mark_done([ref], condition=condition if isinstance(condition, int) else None)
    except MallError as exc:
        if exc.maybe_done:  # timeout or 5xx: completing again is harmless
            return DeliveryOutcome(OutboxStatus.QUEUED, str(exc))
        outcome = refusal(exc)
        if outcome.status == OutboxStatus.REJECTED:
            return DeliveryOutcome(OutboxStatus.REJECTED, f"Not marked complete in the mall: {exc}")
        return outcome
    return DeliveryOutcome(OutboxStatus.SENT)



def deliver_incomplete(item: OutboxItem, runtime: Any) -> DeliveryOutcome:
    """Mark the inquiry in the payload incomplete again; like ``deliver``, repeating does no harm."""
    source = open_channel(runtime, item)
    if isinstance(source, DeliveryOutcome):
        return source
    outbox.begin_attempt(runtime.Session, item)
    try:
        source.mark_incomplete([item.payload["ref"]])
    except MallError as exc:
        if exc.maybe_done:
            return DeliveryOutcome(OutboxStatus.QUEUED, str(exc))
        outcome = refusal(exc)
        if outcome.status == OutboxStatus.REJECTED:
            return DeliveryOutcome(OutboxStatus.REJECTED, f"Not marked incomplete in the mall: {exc}")
        return outcome
    return DeliveryOutcome(OutboxStatus.SENT)
