"""Delivery of new Yahoo!ショッピング topics ("yahoo_topic") through V2/externalStoreTopic, never twice.

Posted once: a timeout or 5xx after the POST, or an answer without the topic id, is ``unknown``
and never retried automatically (a second POST would open a second topic for the customer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from inbox.models import Mailbox, OutboxItem, OutboxStatus
from inbox.senders.mall_reply import UNCONFIRMED, refusal
from inbox.services import mall_topics, outbox
from inbox.services.mall_credentials import credentials_blocked, open_source
from inbox.services.outbox import DeliveryOutcome
from inbox.sources.mall_http import MallError

KIND = mall_topics.KIND


def deliver(item: OutboxItem, runtime: Any) -> DeliveryOutcome:
    """Open the topic; sent with the topic id, or queued, rejected or unknown."""
    payload = item.payload or {}
    with runtime.Session() as session:
        mailbox = session.get(Mailbox, item.mailbox_id)
        if mailbox is None:
            return DeliveryOutcome(OutboxStatus.FAILED, "The item has no Yahoo! channel.")
        if credentials_blocked(mailbox):
            return DeliveryOutcome(
                OutboxStatus.QUEUED,
                mailbox.last_error or "The channel's credentials must be renewed.",
            )
        try:
            source = open_source(runtime, mailbox)
        except MallError as exc:
            return DeliveryOutcome(OutboxStatus.FAILED, str(exc))
    start = getattr(source, "start_topic", None)
    if start is None:
        return DeliveryOutcome(OutboxStatus.FAILED, "This channel cannot start a topic.")
    outbox.begin_attempt(runtime.Session, item)
    try:
        topic_id = start(
            payload.get("order_id") or "",
            payload.get("category_id") or "",
            payload.get("title") or "",
            payload.get("body") or "",
        )
    except MallError as exc:
        if exc.maybe_done or exc.kind in ("contract", "conflict"):
            return DeliveryOutcome(OutboxStatus.UNKNOWN, UNCONFIRMED.format(why=f"{exc}"))
        return refusal(exc)
    if topic_id is None:
        return DeliveryOutcome(
            OutboxStatus.UNKNOWN,
            UNCONFIRMED.format(why="Yahoo! accepted the topic but did not say its id."),
        )
    return DeliveryOutcome(OutboxStatus.SENT, None, {"topic": topic_id, "key": f"{topic_id}#m1"})


def after_delivery(
    session: Session, item: OutboxItem, outcome: DeliveryOutcome, now: datetime
) -> None:
    """The thread takes the topic id as its external_ref (see ``mall_topics.after_delivery``)."""
    if item.status == OutboxStatus.SENT:
        mall_topics.after_delivery(session, item, outcome.details.get("topic"))
