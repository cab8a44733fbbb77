"""Message kind (normal, auto_reply, bounce, bulk) from headers; knows nothing of tickets."""

from __future__ import annotations

import re
import unicodedata
from email.message import Message

from inbox.ingest.charsets import decode_header

__all__ = ["KINDS", "classify"]

KINDS = ("normal", "auto_reply", "bounce", "bulk")

_OOO_SUBJECT = re.compile(
    r"^\s*(?:[\[【(（]?(?:自動応答|自動返信|自動送信|不在通知|不在のお知らせ|休暇のお知らせ)|automatic reply|auto(?:matic)?[- ]?reply"
    r"|auto[- ]?response|out of (?:the )?office|autoreply|abwesenheitsnotiz|réponse automatique)",
    re.IGNORECASE,
)
_BOUNCE_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "mail-daemon"})
_ADDR = re.compile(r"<?([^<>\s@]+)@")
_EMPTY_PATH = re.compile(r"^\s*<\s*>\s*$")


def _headers(msg: Message) -> dict[str, str]:
    """First value of each header, lower-cased name, raw (undecoded) value."""
    out: dict[str, str] = {}
    for name, value in msg.raw_items():
        out.setdefault(name.lower(), str(value))
    return out


def _token(value: str) -> str:
    return value.split(";", 1)[0].strip().strip("\"'").lower()


def _is_report(ctype: str) -> bool:
    main = _token(ctype)
    if main != "multipart/report":
        return False
    m = re.search(r"report-type\s*=\s*\"?([\w-]+)", ctype, re.IGNORECASE)
    return bool(m and m.group(1).lower() in ("delivery-status", "disposition-notification"))


def classify(msg: Message, *, subject: str | None = None) -> str:
    """Return "bounce", "auto_reply", "bulk" or "normal" for a parsed message.

    `subject` is the decoded subject when the caller has it (saves decoding twice).
    Precedence: bounce > auto_reply > bulk > normal. Never raises.
    """
    try:
        return _classify(msg, subject)
    except Exception:  # noqa: BLE001 - classification must not stop ingest
        return "normal"


def _classify(msg: Message, subject: str | None) -> str:
    h = _headers(msg)
    ctype = h.get("content-type", "")
    report = _is_report(ctype) and "delivery-status" in ctype.lower()
    sender = h.get("from", "")
    m = _ADDR.search(sender) if sender else None
    local = m.group(1).lower() if m else ""
    empty_return_path = bool(_EMPTY_PATH.match(h.get("return-path", "x")))

    if report or local in _BOUNCE_LOCALPARTS or "x-failed-recipients" in h:
        return "bounce"

    auto_submitted = _token(h.get("auto-submitted", "no"))
    if auto_submitted and auto_submitted != "no":
        return "auto_reply"
    if "x-autoreply" in h or "x-autorespond" in h:
        return "auto_reply"
    suppress = h.get("x-auto-response-suppress", "").lower()
    if any(t in suppress for t in ("all", "oof", "autoreply")):
        return "auto_reply"
    precedence = _token(h.get("precedence", ""))
    if precedence == "auto_reply":
        return "auto_reply"
    if empty_return_path:
        return "auto_reply"
    if subject is None:
        subject = decode_header(h.get("subject", "")).text
    if _OOO_SUBJECT.match(unicodedata.normalize("NFKC", subject)):
        return "auto_reply"

    if precedence in ("bulk", "junk", "list"):
        return "bulk"
    if "list-id" in h or "list-unsubscribe" in h:
        return "bulk"
    return "normal"
