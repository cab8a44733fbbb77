"""Raw RFC 5322 bytes -> ParsedMessage: headers, MIME walk, bodies, attachments; no storage."""

from __future__ import annotations

import binascii
import email
import email.errors
import email.utils
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.policy import compat32
from typing import Any

from inbox.ingest import charsets, params
from inbox.ingest.bounces import BounceReport, read_bounce
from inbox.ingest.charsets import b64decode_lenient, decode_bytes, decode_header
from inbox.ingest.classify import classify
from inbox.ingest.html_text import html_to_text, sanitize_html
from inbox.ingest.notices import Notice
from inbox.ingest.quoting import split_quoted
from inbox.ingest.subjects import find_ticket_token, normalize_subject

__all__ = ["Address", "ParsedAttachment", "ParsedMessage", "parse_message"]


@dataclass(frozen=True)
class Address:
    name: str  # decoded display name, "" if none
    address: str  # as given, stripped; "" if unparsable


@dataclass
class ParsedAttachment:
    filename: str  # decoded; "attachment-<n>.<ext>" when the part has none
    content_type: str
    size: int
    sha256: str  # hex digest of the decoded bytes
    inline: bool  # has a Content-ID and is not disposition "attachment" (used via cid:)
    content_id: str | None  # without <>
    data: bytes = field(repr=False)


@dataclass
class ParsedMessage:
    subject: str
    from_: Address | None
    to: list[Address]
    cc: list[Address]
    reply_to: list[Address]
    date: datetime | None  # timezone-aware
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    normalized_subject: str
    ticket_token: str | None
    kind: str  # normal | auto_reply | bounce | bulk
    text: str
    new_text: str
    quoted_text: str
    html: str | None  # sanitized; cid: URLs left for the viewer to rewrite
    attachments: list[ParsedAttachment]
    charsets: list[str]
    warnings: list[str]
    raw_headers: list[tuple[str, str]]  # values undecoded, bytes shown as latin-1
    bounce: BounceReport | None = None  # what a bounce returns (kind "bounce" only)

    def to_json_dict(self, *, raw_headers: bool = False) -> dict[str, Any]:
        """The JSON-ready shape stored and served by the rest of the app."""

        def addr(a: Address) -> dict[str, str]:
            return {"name": a.name, "address": a.address}

        out: dict[str, Any] = {
            "subject": self.subject,
            "from": addr(self.from_) if self.from_ else None,
            "to": [addr(a) for a in self.to],
            "cc": [addr(a) for a in self.cc],
            "reply_to": [addr(a) for a in self.reply_to],
            "date": self.date.isoformat() if self.date else None,
            "message_id": self.message_id,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references),
            "thread": {
                "normalized_subject": self.normalized_subject,
                "ticket_token": self.ticket_token,
            },
            "kind": self.kind,
            "text": self.text,
            "new_text": self.new_text,
            "html": self.html,
            "attachments": [
                {
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size": a.size,
                    "sha256": a.sha256,
                    "inline": a.inline,
                }
                for a in self.attachments
            ],
            "charsets": list(self.charsets),
            "warnings": list(self.warnings),
        }
        if raw_headers:
            out["raw_headers"] = [[n, v] for n, v in self.raw_headers]
        return out


# --- helpers -----------------------------------------------------------------------------------

_MSGID = re.compile(r"<\s*([^<>\s]+?)\s*>")
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BINARY_BYTES = bytes(range(0x00, 0x09)) + bytes(range(0x0E, 0x1B)) + bytes(range(0x1C, 0x20))
_MAX_DEPTH = 40
_ = Notice  # a stored warning, translated by the web layer when it shows it


_DEFECTS = {
    "CloseBoundaryNotFoundDefect": _(
        "The message looks truncated: a multipart closing boundary is missing."
    ),
    "StartBoundaryNotFoundDefect": _("A multipart part's boundary never appears in its body."),
    "NoBoundaryInMultipartDefect": _("A multipart part has no boundary parameter."),
    "MissingHeaderBodySeparatorDefect": _(
        "The header block is malformed (a line that is not a header before the blank line)."
    ),
    "FirstHeaderLineIsContinuationDefect": _("The first header line is a continuation line."),
}
_EXT_OVERRIDES = {
    "text/plain": ".txt",
    "application/octet-stream": ".bin",
    "image/jpeg": ".jpg",
    "message/rfc822": ".eml",
    "text/html": ".html",
}


def _ext_for(ctype: str) -> str:
    return _EXT_OVERRIDES.get(ctype) or mimetypes.guess_extension(ctype) or ".bin"


class _Ctx:
    def __init__(self, hints: charsets.Hints | None = None) -> None:
        self.hints = hints
        self.warnings: list[str] = []
        self.charsets: list[str] = []
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[ParsedAttachment] = []
        # Text kept aside in case the message has no text part: the preambles of multiparts,
        # and inline text parts that carry a name (ctype, bytes, declared charset).
        self.preambles: list[str] = []
        self.named_text: list[tuple[str, bytes, str | None]] = []

    def warn(self, text: str) -> None:
        if text and text not in self.warnings:
            self.warnings.append(text)

    def notes(self, notes: tuple[str, ...] | list[str]) -> None:
        for note in notes:
            self.warn(Notice("A carrier pictograph was read as an emoji: %(note)s.", note=note))

    def charset(self, name: str | None) -> None:
        if name:
            name = name.strip().strip("\"'").lower()
            if name and name not in self.charsets:
                self.charsets.append(name)


def _param_text(
    name: str, plain: dict[str, str], ext: dict[str, params.Runs], ctx: _Ctx
) -> str | None:
    """Decoded text of one parameter, its charsets and repair notes recorded in ctx."""
    got = params.param_text(name, plain, ext, ctx.hints)
    for cs in got.charsets:
        ctx.charset(cs)
    for note in got.warnings:
        ctx.warn(note)
    ctx.notes(got.notes)
    return got.text


def _decode_cte(data: bytes, cte: str, ctx: _Ctx, what: str) -> bytes:
    if cte == "base64":
        out, clean = b64decode_lenient(data)
        if not clean:
            ctx.warn(Notice("The base64 data of %(what)s was damaged; kept what decoded.", what=what))
        return out
    if cte == "quoted-printable":
        return binascii.a2b_qp(data)
    if cte in ("", "7bit", "8bit", "binary"):
        return data
    if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
        try:
            m = Message()
            m.set_payload(data.decode("latin-1"))
            m["Content-Transfer-Encoding"] = cte
            return m.get_payload(decode=True) or b""
        except Exception:  # noqa: BLE001
            ctx.warn(Notice("The uuencoded data of %(what)s could not be decoded; kept it raw.", what=what))
            return data
    ctx.warn(Notice("Unknown Content-Transfer-Encoding %(cte)s on %(what)s; kept it raw.", cte=repr(cte), what=what))
    return data


def _guess_boundary(body: bytes) -> str | None:
    for m in re.finditer(rb"^--([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*\r?$", body, re.MULTILINE):
        b = m.group(1).removesuffix(b"--")
        if body.count(b"--" + b) >= 2:
            return b.decode("ascii")
    return None


def _looks_binary(data: bytes) -> bool:
    if not data:
        return False
    sample = data[:4096]
    ctrl = len(sample) - len(sample.translate(None, _BINARY_BYTES))
    return ctrl * 20 > len(sample)


def _unflow(text: str, delsp: bool) -> str:
    out: list[str] = []
    buf = ""
    for line in text.split("\n"):
        if line.startswith(" "):
            line = line[1:]
        if line.endswith(" ") and line != "-- ":
            buf += line[:-1] if delsp else line
            continue
        out.append(buf + line)
        buf = ""
    if buf:
        out.append(buf)
    return "\n".join(out)


# --- MIME walk ---------------------------------------------------------------------------------


def _first(part: Message, name: str) -> str | None:
    for k, v in part.raw_items():
        if k.lower() == name:
            return str(v)
    return None


def _walk(part: Message, ctx: _Ctx, depth: int, *, guessed: bool = False) -> None:
    for d in part.defects:
        ctx.warn(_DEFECTS.get(type(d).__name__, ""))
    if depth > _MAX_DEPTH:
        ctx.warn(_("MIME nesting is too deep; deeper parts were skipped."))
        return
    ctype, cparams, cext = params.split_params(_first(part, "content-type"))
    if "/" not in ctype:
        ctype = "text/plain"
    # compat32 keeps the raw body as str with surrogate escapes; get_payload() would decode it
    # with the declared charset and errors="replace", so read the raw payload directly.
    payload = part._payload
    if ctype in ("message/rfc822", "message/global") and isinstance(payload, list):
        _attach_message(part, payload, ctx)
        return
    if isinstance(payload, list) and ctype.startswith("message/"):
        # message/delivery-status and friends: compat32 parses them into header blocks.
        pol = compat32.clone(linesep="\r\n")
        data = b"".join(block.as_bytes(policy=pol) for block in payload)
        ctx.attachments.append(_attachment(f"{ctype.split('/', 1)[1]}.txt", ctype, data, None, ""))
        return
    if isinstance(payload, list):
        if isinstance(part.preamble, str) and part.preamble.strip():
            ctx.preambles.append(part.preamble)
        for sub in payload:
            try:
                _walk(sub, ctx, depth + 1)
            except Exception as e:  # noqa: BLE001 - one bad part must not lose the others
                ctx.warn(Notice("A MIME part could not be read (%(error)s); skipped it.", error=type(e).__name__))
        return
    if not isinstance(payload, str):
        payload = ""
    raw = payload.encode("ascii", "surrogateescape")
    if ctype.startswith("multipart/"):
        boundary = None if guessed else _guess_boundary(raw)
        if boundary:
            ctx.warn(Notice("A multipart part's boundary did not match its body; used %(boundary)s.", boundary=repr(boundary)))
            sub = email.message_from_bytes(
                f'Content-Type: {ctype}; boundary="{boundary}"\r\n\r\n'.encode() + raw,
                policy=compat32,
            )
            _walk(sub, ctx, depth + 1, guessed=True)
            return
        ctype = "text/plain"
    _leaf(part, ctype, cparams, cext, raw, ctx)


def _leaf(
    part: Message,
    ctype: str,
    cparams: dict[str, str],
    cext: dict[str, params.Runs],
    raw: bytes,
    ctx: _Ctx,
) -> None:
    cte = (_first(part, "content-transfer-encoding") or "").strip().strip("\"'").lower()
    data = _decode_cte(raw, cte.split(";")[0].strip(), ctx, Notice("a %(type)s part", type=ctype))
    disp, dparams, dext = params.split_params(_first(part, "content-disposition"))
    filename = _param_text("filename", dparams, dext, ctx) or _param_text(
        "name", cparams, cext, ctx
    )
    filename = params.clean_filename(filename) if filename else ""
    cid_raw = _first(part, "content-id")
    cid = params.unfold(params.to_latin1(cid_raw)).strip().strip("<>").strip() or None if cid_raw else None

    if ctype in ("text/plain", "text/html") and disp != "attachment" and not filename:
        if _looks_binary(data):
            ctx.warn(Notice("A %(type)s part held binary data; kept it as an attachment.", type=ctype))
            ctype = "application/octet-stream"
        else:
            declared = cparams.get("charset")
            got = decode_bytes(data, declared, hints=ctx.hints)
            ctx.notes(got.notes)
            ctx.charset(declared)
            ctx.charset(got.charset)
            if got.warning:
                ctx.warn(Notice("The %(type)s body: %(problem)s", type=ctype, problem=got.warning))
            text = got.text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
            if ctype == "text/html":
                ctx.html.append(text)
            else:
                if cparams.get("format", "").lower() == "flowed":
                    text = _unflow(text, cparams.get("delsp", "").lower() == "yes")
                ctx.plain.append(text)
            return
    if ctype in ("text/plain", "text/html") and disp != "attachment" and not _looks_binary(data):
        ctx.named_text.append((ctype, data, cparams.get("charset")))
    n = len(ctx.attachments) + 1
    name = filename or f"attachment-{n}{_ext_for(ctype)}"
    ctx.attachments.append(_attachment(name, ctype, data, cid, disp))


_BOILERPLATE = re.compile(
    r"^\s*(This is a multi-?part message in MIME format\.?|This is a MIME-encapsulated message\.?"
    r"|This message is in MIME format\..*)\s*$",
    re.IGNORECASE | re.MULTILINE,
)


def _fallback_text(ctx: _Ctx) -> str:
    """The visible text of a message without a text part: an inline text part that carries a
    name, else the text a broken mailer wrote before the first MIME boundary."""
    for ctype, data, declared in ctx.named_text:
        got = decode_bytes(data, declared, hints=ctx.hints)
        text = got.text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
        if ctype == "text/html":
            text = html_to_text(text)
        if text:
            ctx.warn(_("The message has no text part; showed its inline named text part."))
            return text
    for preamble in ctx.preambles:
        raw = preamble.encode("ascii", "surrogateescape")
        text = _BOILERPLATE.sub("", decode_bytes(raw, None, hints=ctx.hints).text)
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
        if text:
            ctx.warn(_("The message has no text part; showed the text before its first boundary."))
            return text
    return ""


def _attachment(
    filename: str, ctype: str, data: bytes, cid: str | None, disp: str
) -> ParsedAttachment:
    return ParsedAttachment(
        filename=filename,
        content_type=ctype,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        inline=cid is not None and disp != "attachment",
        content_id=cid,
        data=data,
    )


def _attach_message(part: Message, payload: list[Message], ctx: _Ctx) -> None:
    inner = payload[0] if payload else Message()
    try:
        data = inner.as_bytes(policy=compat32.clone(linesep="\r\n"))
    except Exception:  # noqa: BLE001
        data = b""
        ctx.warn(_("An attached message could not be re-serialized; stored it empty."))
    _ctype, dparams, dext = params.split_params(_first(part, "content-disposition"))
    filename = _param_text("filename", dparams, dext, ctx)
    if not filename:
        subj = decode_header(_first(inner, "subject") or "", hints=ctx.hints).text
        filename = f"{params.unfold(subj)[:120]}.eml" if subj.strip() else ""
    n = len(ctx.attachments) + 1
    name = params.clean_filename(filename or "") or f"attachment-{n}.eml"
    ctx.attachments.append(_attachment(name, "message/rfc822", data, None, "attachment"))


# --- headers -----------------------------------------------------------------------------------


def _addresses(values: list[str], label: str, ctx: _Ctx) -> list[Address]:
    out: list[Address] = []
    for value in values:
        pre = decode_header(value, encoded_words=False, hints=ctx.hints)
        ctx.notes(pre.notes)
        if pre.warning:
            ctx.warn(Notice("%(header)s %(problem)s.", header=label, problem=pre.warning))
            ctx.charset(pre.charset)
        for name, addr in email.utils.getaddresses([params.unfold(pre.text)]):
            if "=?" in name:
                got = decode_header(name, hints=ctx.hints)
                ctx.notes(got.notes)
                if got.warning:
                    ctx.warn(Notice("%(header)s %(problem)s.", header=label, problem=got.warning))
                for declared in got.labels:
                    ctx.charset(declared)
                ctx.charset(got.charset if got.charset != "us-ascii" else None)
                name = got.text
            name, addr = name.strip(), addr.strip()
            if "@" not in addr:  # group syntax, bare words, "<>": keep only a named entry
                addr = ""
            if name or addr:
                out.append(Address(name=name, address=addr))
    return out


def _msgids(value: str | None) -> list[str]:
    if not value:
        return []
    ids = _MSGID.findall(value)
    if not ids:
        ids = [t for t in params.unfold(value).split() if "@" in t]
    return list(dict.fromkeys(ids))


def _date(value: str | None, ctx: _Ctx) -> datetime | None:
    if value is None:
        ctx.warn(Notice("The message has no Date header."))
        return None
    text = params.unfold(params.to_latin1(value))
    try:
        dt = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        shown = decode_header(value, encoded_words=False, hints=ctx.hints).text
        ctx.warn(Notice("The Date header %(date)s could not be parsed.", date=repr(_CTRL.sub("", params.unfold(shown))[:60])))
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


# --- entry point -------------------------------------------------------------------------------


def parse_message(raw: bytes, *, ticket_pattern: str = r"\[#(\d+)\]") -> ParsedMessage:
    """Parse one raw message. Never raises for non-empty input: every problem becomes an
    entry in `warnings` and parsing continues. Raises ValueError("empty message") for b""."""
    if not raw:
        raise ValueError("empty message")
    ctx = _Ctx(charsets.Hints.for_message(bytes(raw)))
    try:
        return _parse(bytes(raw), ticket_pattern, ctx)
    except Exception as e:  # noqa: BLE001 - last resort: a poison message must not stop ingest
        ctx.warn(Notice("The message could not be parsed (%(error)s); stored it raw.", error=type(e).__name__))
        data = bytes(raw)
        return ParsedMessage(
            subject="",
            from_=None,
            to=[],
            cc=[],
            reply_to=[],
            date=None,
            message_id=None,
            in_reply_to=None,
            references=[],
            normalized_subject="",
            ticket_token=None,
            kind="normal",
            text="",
            new_text="",
            quoted_text="",
            html=None,
            attachments=[
                ParsedAttachment(
                    "message.eml",
                    "message/rfc822",
                    len(data),
                    hashlib.sha256(data).hexdigest(),
                    False,
                    None,
                    data,
                )
            ],
            charsets=ctx.charsets,
            warnings=ctx.warnings,
            raw_headers=[],
        )


def _parse(raw: bytes, ticket_pattern: str, ctx: _Ctx) -> ParsedMessage:
    msg = email.message_from_bytes(raw, policy=compat32)
    raw_headers = [(str(k), params.to_latin1(str(v))) for k, v in msg.raw_items()]
    headers: dict[str, list[str]] = {}
    for k, v in msg.raw_items():
        headers.setdefault(k.lower(), []).append(str(v))

    def first(name: str) -> str | None:
        vals = headers.get(name)
        return vals[0] if vals else None

    subject = ""
    if "subject" in headers:
        got = decode_header(first("subject"), hints=ctx.hints)
        ctx.notes(got.notes)
        subject = _CTRL.sub("", params.unfold(got.text.replace("\t", " ")))
        if got.warning:
            ctx.warn(Notice("%(header)s %(problem)s.", header="Subject", problem=got.warning))
        for label in got.labels:
            ctx.charset(label)
        if got.charset != "us-ascii":
            ctx.charset(got.charset)

    def addrs(name: str, label: str) -> list[Address]:
        try:
            return _addresses(headers.get(name, []), label, ctx)
        except Exception:  # noqa: BLE001
            ctx.warn(Notice("The %(header)s header could not be parsed.", header=label))
            return []

    from_list = addrs("from", "From")
    to, cc, reply_to = addrs("to", "To"), addrs("cc", "Cc"), addrs("reply-to", "Reply-To")
    date = _date(first("date"), ctx)
    mid = _msgids(first("message-id"))
    message_id = mid[0] if mid else (params.unfold(first("message-id") or "").strip("<> ") or None)
    irt = _msgids(first("in-reply-to"))
    references = _msgids(" ".join(headers.get("references", [])))

    try:
        _walk(msg, ctx, 0)
    except Exception as e:  # noqa: BLE001
        ctx.warn(Notice("The MIME structure could not be fully read (%(error)s).", error=type(e).__name__))

    text = "\n\n".join(t.strip("\n") for t in ctx.plain if t.strip())
    html_src = "\n".join(ctx.html)
    if not text and html_src:
        text = html_to_text(html_src)
    if not text:
        try:
            text = _fallback_text(ctx)
        except Exception:  # noqa: BLE001 - a fallback must not lose the rest of the message
            text = ""
    html: str | None = None
    if html_src:
        try:
            html = sanitize_html(html_src)
        except Exception:  # noqa: BLE001
            ctx.warn(Notice("The HTML body could not be sanitized; dropped it."))
    new_text, quoted = split_quoted(text)

    try:
        token = find_ticket_token(subject, ticket_pattern)
    except re.error:
        ctx.warn(Notice("The ticket pattern %(pattern)s is not a valid regular expression.", pattern=repr(ticket_pattern)))
        token = None

    kind = classify(msg, subject=subject)
    return ParsedMessage(
        subject=subject,
        from_=from_list[0] if from_list else None,
        to=to,
        cc=cc,
        reply_to=reply_to,
        date=date,
        message_id=message_id,
        in_reply_to=irt[0] if irt else None,
        references=references,
        normalized_subject=normalize_subject(subject),
        ticket_token=token,
        kind=kind,
        text=text,
        new_text=new_text,
        quoted_text=quoted,
        html=html,
        attachments=ctx.attachments,
        charsets=ctx.charsets,
        warnings=ctx.warnings,
        raw_headers=raw_headers,
        bounce=read_bounce(msg) if kind == "bounce" else None,
    )
