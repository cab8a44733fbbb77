"""Read a bounce (delivery status notification): which message of ours it returns, to whom, and why.

Understands RFC 3464 reports (``multipart/report`` with ``message/delivery-status`` and the
returned ``message/rfc822`` or ``text/rfc822-headers``), qmail-style plain text ("Below this
line is a copy of the message") and plain-text bounces that quote the original headers, such
as Japanese carriers' (宛先不明). Knows nothing of tickets or the database: matching the
report to an outbound message is ``inbox.services.bounces``'. Never raises.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email.message import Message
from email.policy import compat32

__all__ = ["BounceReport", "read_bounce"]

MAX_IDS = 10
MAX_SCAN = 256 * 1024  # characters of a text part looked at
_MSGID_LINE = re.compile(r"^[ \t>]*message-id:[ \t]*\n?[ \t]*<([^<>\s]+@[^<>\s]+)>", re.I | re.M)
_QMAIL_RCPT = re.compile(r"^<([^<>\s@]+@[^<>\s]+)>:", re.M)
_TEXT_RCPT = re.compile(
    r"^[ \t]*(?:final-recipient|original-recipient|x-failed-recipients|recipient(?: address)?"
    r"|宛先(?:アドレス)?|送信先)[ \t]*[:：][ \t]*(?:rfc822;)?[ \t]*<?([^<>\s@;,]+@[^<>\s;,]+?)>?[ \t\r]*$",
    re.I | re.M,
)
_ADDR = re.compile(r"<?([^<>\s@;,]+@[^<>\s;,]+)>?")
_QMAIL_MARK = re.compile(r"^-+ ?Below this line is a copy of the message", re.I | re.M)


@dataclass
class BounceReport:
    """What a bounce says: the Message-IDs of the returned message (without <>), the
    recipients that failed (lower-cased) and the reason as the server gave it."""

    original_ids: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    diagnostic: str = ""

    def add_id(self, value: str | None) -> None:
        value = (value or "").strip().strip("<>").strip()
        if value and "@" in value and value not in self.original_ids and len(self.original_ids) < MAX_IDS:
            self.original_ids.append(value[:998])

    def add_recipient(self, value: str | None) -> None:
        m = _ADDR.search(value or "")
        if m:
            address = m.group(1).strip(".").lower()[:320]
            if address not in self.recipients and len(self.recipients) < MAX_IDS:
                self.recipients.append(address)


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload() or "").encode("latin-1", "replace")
    charset = part.get_content_charset() or "us-ascii"
    for name in (charset, "utf-8", "iso-2022-jp", "cp932"):
        try:
            return payload[: MAX_SCAN * 2].decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload[: MAX_SCAN * 2].decode("latin-1")


def _status_fields(part: Message, report: BounceReport) -> None:
    """message/delivery-status: per-recipient blocks (compat32 gives them as sub-messages)."""
    blocks = part.get_payload()
    if isinstance(blocks, str):  # not split into blocks: read it as header lines
        blocks = [email.message_from_string(b, policy=compat32) for b in re.split(r"\n\s*\n", blocks)]
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, Message):
            continue
        action = (block.get("Action") or "").strip().lower()
        if action and action not in ("failed", "delayed"):
            continue  # "delivered", "relayed", "expanded": not a failure
        for name in ("Final-Recipient", "Original-Recipient"):
            if block.get(name):
                report.add_recipient(str(block.get(name)).split(";", 1)[-1])
                break
        reason = block.get("Diagnostic-Code") or block.get("Status")
        if reason and not report.diagnostic:
            report.diagnostic = " ".join(str(reason).split(";", 1)[-1].split())[:500]


def _returned_headers(part: Message, report: BounceReport) -> None:
    ctype = part.get_content_type()
    if ctype == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else None
        if isinstance(inner, Message):
            report.add_id(inner.get("Message-ID"))
        return
    original = email.message_from_string(_text(part), policy=compat32)
    report.add_id(original.get("Message-ID"))


def _plain(text: str, report: BounceReport) -> None:
    text = text[:MAX_SCAN]
    for m in _MSGID_LINE.finditer(text):
        report.add_id(m.group(1))
    for rx in (_QMAIL_RCPT, _TEXT_RCPT):
        for m in rx.finditer(text):
            report.add_recipient(m.group(1))
    if not report.diagnostic:
        head = _QMAIL_MARK.split(text, 1)[0]
        lines = [ln.strip() for ln in head.splitlines() if ln.strip()]
        reason = [ln for ln in lines if re.search(r"\b[45]\d\d\b|[45]\.\d+\.\d+|不明|存在しません|unknown|not found", ln, re.I)]
        if reason:
            report.diagnostic = " ".join(reason[:2])[:500]


def _parts(msg: Message):
    """Every part, without going into a returned message (its own body is not the report)."""
    yield msg
    if msg.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
        return
    payload = msg.get_payload()
    if msg.is_multipart() and isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                yield from _parts(sub)


def read_bounce(msg: Message) -> BounceReport:
    """The report of a message classified as a bounce (an empty report when nothing is found)."""
    report = BounceReport()
    try:
        for name in msg.get_all("X-Failed-Recipients") or []:
            for address in str(name).split(","):
                report.add_recipient(address)
        for part in _parts(msg):
            ctype = part.get_content_type()
            if ctype == "message/delivery-status":
                _status_fields(part, report)
            elif ctype in ("message/rfc822", "text/rfc822-headers"):
                _returned_headers(part, report)
        if not report.original_ids or not report.recipients:
            for part in _parts(msg):
                if part.get_content_type() == "text/plain" and not part.get_filename():
                    _plain(_text(part), report)
                    if report.original_ids and report.recipients:
                        break
    except Exception:  # noqa: BLE001 - a damaged bounce is still stored, just not matched
        pass
    return report
