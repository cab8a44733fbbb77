"""Delivery of deadline alert mail (outbox kind "alert") over the alert SMTP server from the settings."""

from __future__ import annotations

from typing import Any

from inbox.models import OutboxItem, OutboxStatus
from inbox.senders.smtp import SmtpSettings, send_raw
from inbox.services import outbox
from inbox.services.outbox import DeliveryOutcome


def deliver(item: OutboxItem, runtime: Any) -> DeliveryOutcome:
    """Send the item's prepared bytes as they are; outcomes as ``send_raw`` sorts them."""
    if not item.raw or not item.recipients:
        return DeliveryOutcome(
            OutboxStatus.FAILED, "The alert mail has no content or no recipient."
        )
    settings = SmtpSettings(**runtime.settings.alert_smtp)
    outbox.begin_attempt(runtime.Session, item)
    return send_raw(settings, item.mail_from, item.recipients, item.raw)

