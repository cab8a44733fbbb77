"""Delivery of deadline alert mail (outbox kind "alert") over the alert SMTP server from the settings."""

from __future__ import annotations

from typing import Any

from inbox.models import OutboxItem, OutboxStatus
from inbox.senders.smtp import SmtpSettings
from inbox.services import outbox
from inbox.services.outbox import DeliveryOutcome


def deliver(item: OutboxItem, runtime: Any) -> DeliveryOutcome:
    """Send the item's prepared bytes as they are, through the runtime's mail transport."""
    if not item.raw or not item.recipients:
        return DeliveryOutcome(
            OutboxStatus.FAILED, "The alert mail has no content or no recipient."
        )
    settings = SmtpSettings(**runtime.settings.alert_smtp)
    outbox.begin_attempt(runtime.Session, item)
    return runtime.seams.smtp.send(settings, item.mail_from, item.recipients, item.raw)

