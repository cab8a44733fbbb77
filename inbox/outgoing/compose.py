"""Building outgoing mail, the reverse of parsing: reply subjects, quoting, Message-IDs, MIME bytes.

Pure functions over text and bytes: no database, no network, no Flask. The charset rule:
UTF-8 by default; ISO-2022-JP (7bit) when asked, falling back to UTF-8 for the whole message
when some text is outside JIS X 0208 (e.g. ①, 髙, ～) so that nothing is ever lost.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import encoders, message_from_bytes
from email.charset import BASE64, Charset
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import format_datetime, formataddr, getaddresses
from zoneinfo import ZoneInfo

from inbox.ingest.subjects import find_ticket_token
from inbox.models import Mailbox, Message, Thread
from inbox.outgoing.headers import (
    address_problem,
    check_header_block,
    checked,
    clean_text,
    envelope_address,
    has_controls,
)

__all__ = [
    "BuiltMail",
    "BuiltReply",
    "OutgoingAttachment",
    "attribution_line",
    "build_mail",
    "build_reply",
    "format_address",
    "make_message_id",
    "parse_addresses",
    "quote",
    "references_for",
    "reply_subject",
    "thread_of_message_id",
    "with_ticket_token",
]

JIS = "iso-2022-jp"
MAX_LINE_BYTES = 998
WEEKDAYS_JA = "月火水木金土日"
_REPLY_PREFIX = re.compile(
    r"^\s*(?:re|ｒｅ|返信)\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]\s*", re.IGNORECASE
)
_OUR_ID = re.compile(r"^inbox\.(\d+)\.([0-9a-f]+)\.([0-9a-f]{8})@")


@dataclass(frozen=True)
class OutgoingAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class BuiltMail:
    raw: bytes  # CRLF line ends, ready for SMTP and IMAP APPEND
    charset: str  # the charset actually used for text: "utf-8" or "iso-2022-jp"
    charset_note: str | None  # why the asked-for charset was not used, if it was not


@dataclass(frozen=True)
class BuiltReply(BuiltMail):
    message_id: str  # without <>
    in_reply_to: str | None
    references: list[str]
    subject: str


# --- addresses ---------------------------------------------------------------------------------


def format_address(name: str, address: str) -> str:
    """``山田 太郎 <yamada@example.jp>`` for the composer's fields (not MIME-encoded)."""
    name = clean_text(name).replace('"', "").strip()
    if not name:
        return address
    if any(c in name for c in ",;<>@()[]:\\"):
        name = f'"{name}"'
    return f"{name} <{address}>"


def parse_addresses(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Addresses typed in a field, and the parts that are not mail addresses.

    A field holding a line break or another control character is refused as a whole: a
    browser's one-line field cannot send one, so it was forged or pasted from a header.
    """
    text = text.replace("\t", " ")
    if has_controls(text):
        return [], [clean_text(text)]
    found: list[tuple[str, str]] = []
    bad: list[str] = []
    for name, address in getaddresses([text]):
        address = address.strip()
        if not address and not name.strip():
            continue
        if address_problem(address):
            bad.append(address or name)
        elif address.lower() not in {a.lower() for _n, a in found}:
            found.append((name.strip(), address))
    return found, bad


# --- subjects and threading ----------------------------------------------------------------


def with_ticket_token(subject: str, token: str, pattern: str) -> str:
    """``subject`` with the ticket ``token`` appended, unless that very ticket is already in it."""
    subject = subject.strip()
    number = re.search(r"\d+", token)
    found = find_ticket_token(subject, pattern)
    if found is not None and number is not None and found == number.group(0):
        return subject
    return f"{subject} {token}".strip()


def reply_subject(subject: str, token: str, pattern: str) -> str:
    """``Re: <subject> [#n]``: one "Re:" whatever prefixes the customer's mail had, token once."""
    rest = subject or ""
    while True:
        m = _REPLY_PREFIX.match(rest)
        if not m or m.end() == 0:
            break
        rest = rest[m.end() :]
    return with_ticket_token(f"Re: {rest.strip()}", token, pattern)


def make_message_id(thread_id: int, domain: str, secret: str) -> str:
    """A new Message-ID (without <>) naming the thread, signed so replies to it thread reliably."""
    nonce = secrets.token_hex(8)
    return f"inbox.{thread_id}.{nonce}.{_sign(thread_id, nonce, secret)}@{domain}"


def thread_of_message_id(message_id: str, secret: str) -> int | None:
    """The thread number in one of our own Message-IDs when its signature is right, else None."""
    m = _OUR_ID.match(message_id.strip("<> "))
    if m is None:
        return None
    if not hmac.compare_digest(m.group(3), _sign(int(m.group(1)), m.group(2), secret)):
        return None
    return int(m.group(1))


def _sign(thread_id: int, nonce: str, secret: str) -> str:
    mac = hmac.new(secret.encode(), f"{thread_id}.{nonce}".encode(), hashlib.sha256)
    return mac.hexdigest()[:8]


def references_for(references: Sequence[str], message_id: str | None, limit: int = 20) -> list[str]:
    """References of a reply: the parent's References plus its Message-ID, first ones kept."""
    refs = [r for r in dict.fromkeys([*references, *([message_id] if message_id else [])]) if r]
    if len(refs) > limit:  # keep the thread's root and the most recent ones
        refs = [refs[0], *refs[-(limit - 1) :]]
    return refs


# --- quoting -----------------------------------------------------------------------------------


def attribution_line(when: datetime, name: str, tz: str) -> str:
    """``2026年11月20日(金) 10:00 山田 太郎 様:`` in the mailbox's time zone."""
    local = when.astimezone(ZoneInfo(tz))
    day = f"{local.year}年{local.month}月{local.day}日({WEEKDAYS_JA[local.weekday()]})"
    who = f"{name.strip()} 様" if name.strip() else ""
    return f"{day} {local:%H:%M} {who}:".replace("  ", " ")


def quote(text: str, header: str) -> str:
    """The header line, then every line of ``text`` prefixed with ``>``."""
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    return "\n".join([header, *(f"> {line}" if line else ">" for line in lines)])


# --- MIME --------------------------------------------------------------------------------------


def _fits_jis(texts: Sequence[str]) -> str | None:
    """None when every text can go out as ISO-2022-JP intact, else the reason it cannot."""
    bad: list[str] = []
    for text in texts:
        for ch in text:
            try:
                ch.encode("iso2022_jp")
            except UnicodeEncodeError:
                if ch not in bad:
                    bad.append(ch)
    if bad:
        shown = " ".join(bad[:10])
        return (
            f"Sent as UTF-8 instead of ISO-2022-JP: these characters are not in JIS X 0208: {shown}"
        )
    return None


def _text_part(text: str, charset: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", "plain")
    del part["MIME-Version"]
    body = text.replace("\r\n", "\n")
    if charset == JIS:
        encoded = "\n".join(line.encode("iso2022_jp").decode("ascii") for line in body.split("\n"))
        part.set_payload(encoded)
        part.set_param("charset", "ISO-2022-JP")
        part["Content-Transfer-Encoding"] = "7bit"
    else:
        utf8 = Charset("utf-8")
        utf8.body_encoding = BASE64
        part.set_payload(body, utf8)
    return part


def _header(value: str, charset: str) -> Header | str:
    value = clean_text(value)
    if value.isascii() and "=?" not in value:
        return value
    # Text that looks like an encoded word is encoded too, so that it shows as typed.
    return Header(value, JIS if charset == JIS else "utf-8")


def _address(name: str, address: str, charset: str) -> str:
    name, address = clean_text(name), envelope_address(address)
    if not name:
        return address
    if name.isascii() and "=?" not in name:
        return formataddr((name, address))
    # formataddr leaves ASCII names as they are; one that looks like an encoded word is
    # encoded here so that it shows as typed.
    # Header splits a long name into several encoded words, so that the line can be folded.
    encoded = Header(name, JIS if charset == JIS else "utf-8").encode(linesep="")
    return f"{encoded} <{address}>"


def _msg_id(value: str) -> str:
    """A Message-ID without <> and without anything but visible ASCII."""
    return re.sub(r"[^\x21-\x7e]", "", value).strip("<>")


def _forwarded_part(raw: bytes) -> MIMEBase:
    """A message/rfc822 part holding ``raw`` unchanged (its own header block intact)."""
    inner = message_from_bytes(raw, policy=compat32)
    part = MIMEMessage(inner)
    del part["MIME-Version"]
    cte = "7bit" if all(b < 0x80 for b in raw) else "8bit"
    part["Content-Transfer-Encoding"] = cte
    return part


def build_mail(
    *,
    from_: tuple[str, str],
    to: Sequence[tuple[str, str]],
    cc: Sequence[tuple[str, str]],
    subject: str,
    text: str,
    message_id: str,
    date: datetime,
    in_reply_to: str | None,
    references: Sequence[str],
    attachments: Sequence[OutgoingAttachment] = (),
    charset: str = "utf-8",
    tz: str = "Asia/Tokyo",
    extra_headers: Sequence[tuple[str, str]] = (),
) -> BuiltMail:
    """The exact bytes of a human reply. No Bcc header, no Auto-Submitted, no auto-reply suppression
    (an automatic message passes those as ``extra_headers``, ASCII values only).

    ``charset`` "iso-2022-jp" is used when all text (subject, names, body) fits JIS X 0208 and no
    encoded line is longer than 998 bytes; otherwise UTF-8, with ``charset_note`` saying why.
    """
    note: str | None = None
    used = "utf-8"
    if charset.lower() == JIS:
        names = [from_[0], *(n for n, _ in to), *(n for n, _ in cc)]
        note = _fits_jis([subject, text, *names])
        if note is None:
            longest = max(len(line.encode("iso2022_jp")) for line in text.split("\n"))
            if longest > MAX_LINE_BYTES:
                note = "Sent as UTF-8 instead of ISO-2022-JP: a line is too long for 7bit mail."
            else:
                used = JIS
    body = _text_part(text, used)
    if attachments:
        msg: MIMEBase = MIMEMultipart("mixed")
        msg.attach(body)
        for att in attachments:
            maintype, _, subtype = (att.content_type or "application/octet-stream").partition("/")
            if att.content_type == "message/rfc822":  # a forwarded mail: as it is, never base64
                part = _forwarded_part(att.data)
            else:
                part = MIMEBase(maintype or "application", subtype or "octet-stream")
                del part["MIME-Version"]
                part.set_payload(att.data)
                encoders.encode_base64(part)
            filename = clean_text(att.filename) or "attachment"
            name = filename if filename.isascii() else ("utf-8", "", filename)
            part.add_header("Content-Disposition", "attachment", filename=name)
            msg.attach(part)
    else:
        msg = body
    del msg["MIME-Version"]
    headers: list[tuple[str, object]] = [
        ("From", _address(*from_, used)),
        ("To", ", ".join(_address(n, a, used) for n, a in to)),
    ]
    if cc:
        headers.append(("Cc", ", ".join(_address(n, a, used) for n, a in cc)))
    headers += [
        ("Subject", _header(subject, used)),
        ("Date", format_datetime(date.astimezone(ZoneInfo(tz)))),
        ("Message-ID", f"<{_msg_id(message_id)}>"),
    ]
    if in_reply_to and _msg_id(in_reply_to):
        headers.append(("In-Reply-To", f"<{_msg_id(in_reply_to)}>"))
    refs = [_msg_id(r) for r in references if _msg_id(r)]
    if refs:
        headers.append(("References", " ".join(f"<{r}>" for r in refs)))
    headers += [(k, v) for k, v in extra_headers]
    headers.append(("MIME-Version", "1.0"))
    existing = list(msg.items())
    for key in list(msg.keys()):
        del msg[key]
    for key, value in [*headers, *existing]:
        # Every value passes the modern policy, which refuses line breaks. The bytes are still
        # written by compat32: the modern policy would re-encode ISO-2022-JP headers as UTF-8.
        checked(key, value.encode(maxlinelen=0) if isinstance(value, Header) else str(value))
        msg[key] = value
    raw = msg.as_bytes(policy=compat32.clone(linesep="\r\n"))
    check_header_block(raw, [key for key, _value in [*headers, *existing]])
    return BuiltMail(raw=raw, charset=used, charset_note=note)


def build_reply(
    *,
    mailbox: Mailbox,
    thread: Thread,
    parent: Message | None,
    to: Sequence[tuple[str, str]],
    cc: Sequence[tuple[str, str]],
    subject: str,
    text: str,
    attachments: Sequence[OutgoingAttachment],
    now: datetime,
    secret: str,
) -> BuiltReply:
    """A reply from ``mailbox`` on ``thread`` to ``parent``: a new signed Message-ID on the
    mailbox's domain, In-Reply-To/References from the parent, the mailbox's charset and zone."""
    domain = (mailbox.address or "").rsplit("@", 1)[-1] or "localhost"
    message_id = make_message_id(thread.id, domain, secret)
    parent_id = parent.message_id if parent is not None else None
    if parent_id and parent_id.endswith("@inbox.generated"):
        parent_id = None  # a stand-in made at ingest, not a real Message-ID
    references = references_for(parent.references if parent else [], parent_id)
    built = build_mail(
        from_=(mailbox.display_name or "", mailbox.address or ""),
        to=to,
        cc=cc,
        subject=subject,
        text=text,
        message_id=message_id,
        date=now,
        in_reply_to=parent_id,
        references=references,
        attachments=attachments,
        charset=mailbox.outbound_charset or "utf-8",
        tz=mailbox.timezone,
    )
    return BuiltReply(
        raw=built.raw,
        charset=built.charset,
        charset_note=built.charset_note,
        message_id=message_id,
        in_reply_to=parent_id,
        references=references,
        subject=clean_text(subject),
    )
