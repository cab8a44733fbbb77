"""SMTP delivery of a built message, with errors sorted into retry-later, refused, and unknown."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from inbox.models import OutboxStatus
from inbox.outgoing.headers import HeaderProblem, envelope_address
from inbox.services.outbox import DeliveryOutcome

SECURITY_MODES = ("plain", "starttls", "ssl")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "starttls"  # "plain" | "starttls" | "ssl"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(
                f"Unknown SMTP security {self.security!r}: use plain, starttls or ssl."
            )


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    context = settings.ssl_context or ssl.create_default_context()
    if settings.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.security == "starttls":
            client.starttls(context=context)
    if settings.username:
        client.login(settings.username, settings.password or "")
    return client


class MailTransport(Protocol):
    """What a deliverer needs to hand a message to a mail server (``SmtpTransport`` is the real one).

    Outcomes follow ``send_raw``'s contract: QUEUED (safe to retry), FAILED (refused, with the
    server's words), UNKNOWN (may have gone out), SENT. Tests pass a recording transport through
    ``inbox.seams.Seams.smtp``.
    """

    def send(
        self, settings: SmtpSettings, mail_from: str, recipients: Sequence[str], raw: bytes
    ) -> DeliveryOutcome: ...


class SmtpTransport:
    """Sends over SMTP with ``smtplib`` (``send_raw``)."""

    def send(
        self, settings: SmtpSettings, mail_from: str, recipients: Sequence[str], raw: bytes
    ) -> DeliveryOutcome:
        return send_raw(settings, mail_from, recipients, raw)


def send_raw(
    settings: SmtpSettings, mail_from: str, recipients: Sequence[str], raw: bytes
) -> DeliveryOutcome:
    """Send ``raw`` as it is. Before DATA is accepted a failure is safe to retry; after, it is not.

    - connection, TLS, log-in or 4xx answers before the data: QUEUED (try again later);
    - 5xx answers (recipient or sender refused, message refused): FAILED, with the server's words;
    - the connection dropping after the data was sent, before the answer: UNKNOWN.
    """
    where = f"{settings.host}:{settings.port}"
    try:  # never hand a line break, NUL or an address SMTP cannot carry to the server
        mail_from = envelope_address(mail_from)
        recipients = [envelope_address(r) for r in recipients]
    except HeaderProblem as exc:
        return DeliveryOutcome(OutboxStatus.FAILED, f"Not sent: an address cannot be used: {exc}")
    try:
        client = _connect(settings)
    except smtplib.SMTPAuthenticationError as exc:
        return DeliveryOutcome(
            OutboxStatus.FAILED, f"SMTP log-in to {where} was refused: {_words(exc)}"
        )
    except (OSError, smtplib.SMTPException) as exc:
        return DeliveryOutcome(
            OutboxStatus.QUEUED, f"Could not connect to the SMTP server {where}: {_words(exc)}"
        )
    try:
        try:
            refused = client.sendmail(mail_from, list(recipients), raw)
        except smtplib.SMTPRecipientsRefused as exc:
            return _refused(exc.recipients)
        except smtplib.SMTPResponseException as exc:
            status = OutboxStatus.QUEUED if 400 <= exc.smtp_code < 500 else OutboxStatus.FAILED
            return DeliveryOutcome(
                status, f"The SMTP server {where} answered {exc.smtp_code}: {_words(exc)}"
            )
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            return DeliveryOutcome(
                OutboxStatus.UNKNOWN,
                f"The connection to {where} broke while sending; the message may have gone out ({_words(exc)}).",
            )
        if refused:
            return DeliveryOutcome(
                OutboxStatus.SENT, None, {"refused": {k: v[0] for k, v in refused.items()}}
            )
        return DeliveryOutcome(OutboxStatus.SENT)
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


def _refused(recipients: dict) -> DeliveryOutcome:
    codes = [code for code, _ in recipients.values()]
    status = OutboxStatus.QUEUED if all(400 <= c < 500 for c in codes) else OutboxStatus.FAILED
    text = "; ".join(f"{rcpt}: {code} {_words(msg)}" for rcpt, (code, msg) in recipients.items())
    return DeliveryOutcome(status, f"Recipients refused: {text}")


def _words(exc: BaseException | bytes) -> str:
    if isinstance(exc, bytes):
        return exc.decode("utf-8", "replace")
    if isinstance(exc, smtplib.SMTPResponseException):
        msg = exc.smtp_error
        return msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
    return str(exc) or exc.__class__.__name__
