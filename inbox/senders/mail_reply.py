"""Delivery of outbox items of kind "reply": SMTP with the mailbox's settings, then a copy in its IMAP Sent folder.

Builds nothing: the exact bytes were made when the reply was queued. A failed Sent-folder
copy is recorded on the item but never makes the mail go out again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy.orm import Session

from inbox.crypto import SecretBox
from inbox.models import Event, Mailbox, MailboxKind, OutboxItem, OutboxStatus
from inbox.senders.smtp import SmtpSettings
from inbox.services import outbox
from inbox.services.mailboxes import imap_settings
from inbox.sources.imap import ImapConnector, ImapError

log = logging.getLogger(__name__)

KIND = "reply"


def _(message: str) -> str:
    """Mark a stored message for translation; the web layer translates it when showing it."""
    return message


class SmtpNotConfigured(ValueError):
    """The mailbox has no usable SMTP settings."""


def smtp_settings(mailbox: Mailbox, secrets: SecretBox) -> SmtpSettings:
    """SMTP settings from ``Mailbox.settings`` (smtp_host, smtp_port, smtp_security,
    smtp_username) and the sealed secret ``smtp_password``. Raises SmtpNotConfigured."""
    s = mailbox.settings or {}
    host = (s.get("smtp_host") or "").strip()
    if not host:
        raise SmtpNotConfigured(_("No SMTP server is set for this mailbox."))
    security = s.get("smtp_security") or "starttls"
    default_port = {"ssl": 465, "starttls": 587}.get(security, 25)
    try:
        return SmtpSettings(
            host=host,
            port=int(s.get("smtp_port") or default_port),
            security=security,
            username=s.get("smtp_username") or None,
            password=secrets.open(mailbox.secret_encrypted).get("smtp_password") or None,
            timeout=float(s.get("smtp_timeout", 30)),
        )
    except ValueError as exc:
        raise SmtpNotConfigured(f"The SMTP settings of {mailbox.name} are invalid: {exc}") from exc


def _copy_to_sent(mailbox: Mailbox, secrets: SecretBox, raw: bytes, imap: ImapConnector) -> str | None:
    """Append to the Sent folder; the error text if that failed, None if done or not wanted."""
    if mailbox.kind != MailboxKind.IMAP or not (mailbox.settings or {}).get("sent_folder", "Sent"):
        return None
    try:
        settings = imap_settings(mailbox, secrets)
        if not settings.sent_folder:
            return None
        with imap(settings) as conn:
            conn.append_sent(raw)
    except ImapError as exc:
        return str(exc)
    except (OSError, ValueError) as exc:
        return f"{exc.__class__.__name__}: {exc}"
    return None


def deliver_reply(item: OutboxItem, runtime: Any) -> outbox.DeliveryOutcome:
    """Send one reply over SMTP; once sent, copy it to the Sent folder (IMAP mailboxes)."""
    with runtime.Session() as session:
        mailbox = session.get(Mailbox, item.mailbox_id) if item.mailbox_id else None
        if mailbox is not None:
            session.expunge(mailbox)
    if mailbox is None or not item.raw:
        return outbox.DeliveryOutcome(OutboxStatus.FAILED, "The reply has no mailbox or no content.")
    try:
        settings = smtp_settings(mailbox, runtime.secrets)
    except SmtpNotConfigured as exc:
        return outbox.DeliveryOutcome(OutboxStatus.FAILED, str(exc))
    outbox.begin_attempt(runtime.Session, item)
    outcome = runtime.seams.smtp.send(settings, item.mail_from, item.recipients, item.raw)
    if outcome.status != OutboxStatus.SENT:
        return outcome
    details = dict(outcome.details)
    details["copied_to_sent"] = False
    if mailbox.kind == MailboxKind.IMAP:
        error = _copy_to_sent(mailbox, runtime.secrets, item.raw, runtime.seams.imap)
        if error is None:
            details["copied_to_sent"] = True
        else:
            log.warning("reply %s was sent but not copied to Sent: %s", item.id, error)
            details["sent_copy_error"] = error
    return outbox.DeliveryOutcome(OutboxStatus.SENT, None, details)


def send_test_mail(mailbox: Mailbox, runtime: Any, to: str, *, now: datetime) -> outbox.DeliveryOutcome:
    """Send a short test mail from ``mailbox`` to ``to`` over its SMTP settings, at once (not
    through the outbox): the admin form's "send test mail" button."""
    try:
        settings = smtp_settings(mailbox, runtime.secrets)
    except SmtpNotConfigured as exc:
        return outbox.DeliveryOutcome(OutboxStatus.FAILED, str(exc))
    if not mailbox.address:
        return outbox.DeliveryOutcome(OutboxStatus.FAILED, "The mailbox has no address to send from.")
    msg = EmailMessage()
    msg["From"] = Address(mailbox.display_name or "", addr_spec=mailbox.address)
    msg["To"] = to
    msg["Subject"] = f"inbox test mail / テストメール ({mailbox.name})"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=mailbox.address.rsplit("@", 1)[-1])
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(
        f"This test mail was sent through {settings.host}:{settings.port} for the mailbox"
        f" {mailbox.name}.\nこのメールはメールボックス {mailbox.name} の送信テストです。\n"
    )
    return runtime.seams.smtp.send(settings, mailbox.address, [to], msg.as_bytes())


def after_reply(
    session: Session, item: OutboxItem, outcome: outbox.DeliveryOutcome, now: datetime
) -> None:
    """Note the Sent-folder copy (or why it failed) and refused recipients on the item."""
    if outcome.status != OutboxStatus.SENT:
        return
    item.copied_to_sent = bool(outcome.details.get("copied_to_sent"))
    notes = []
    if outcome.details.get("sent_copy_error"):
        notes.append(f"Sent, but not copied to the Sent folder: {outcome.details['sent_copy_error']}")
        session.add(
            Event(
                thread_id=item.thread_id,
                kind="sent_copy_failed",
                data={"outbox": item.id, "error": outcome.details["sent_copy_error"]},
            )
        )
    if outcome.details.get("refused"):
        refused = ", ".join(f"{k} ({v})" for k, v in outcome.details["refused"].items())
        notes.append(f"Sent, but these recipients were refused: {refused}")
    if notes:
        item.last_error = " / ".join(notes)

