"""Charset decoding for mail bytes and RFC 2047 / RFC 2231 values: trust a label when the bytes
fit it, repair it when they do not, and decide undeclared bytes by evidence (detect.py).
Labels live in charset_names.py, Japanese decoders in japanese.py, carrier emoji in emoji.py.
Knows nothing of MIME structure."""

from __future__ import annotations

import binascii
import re
import urllib.parse
from dataclasses import dataclass

from inbox.ingest import emoji
from inbox.ingest.charset_names import EUC as _EUC
from inbox.ingest.charset_names import JIS as _JIS
from inbox.ingest.charset_names import SEVEN_BIT as _SEVEN_BIT
from inbox.ingest.charset_names import SJIS as _SJIS
from inbox.ingest.charset_names import normalize_charset
from inbox.ingest.detect import Hints, best_guess, is_clean, japanese_evidence
from inbox.ingest.japanese import (
    decode_euc,
    decode_eucjp_ms,
    decode_jis,
    euc_text,
    kana_score,
    sjis_decode,
)
from inbox.ingest.notices import Notice, joined

__all__ = [
    "Decoded",
    "Hints",
    "b64decode_lenient",
    "decode_bytes",
    "decode_header",
    "decode_jis",
    "decode_rfc2231",
    "normalize_charset",
]


@dataclass(frozen=True)
class Decoded:
    """Text plus the charset actually used and a repair note ("" when nothing was repaired)."""

    text: str
    charset: str
    warning: str = ""
    labels: tuple[str, ...] = ()  # charset labels declared in RFC 2047 encoded words
    notes: tuple[str, ...] = ()  # carrier pictographs mapped to emoji, with their raw codes


# --- detection cascade ------------------------------------------------------------------------


def _has_8bit(data: bytes) -> bool:
    return not data.isascii()


def _try(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _decode_euc(data: bytes) -> Decoded | None:
    got = decode_euc(data)
    return Decoded(*got) if got is not None else None


def _utf8_decode(data: bytes, carrier: str | None) -> tuple[str | None, list[str]]:
    text = _try(data, "utf-8")
    if text is None:
        return None, []
    return emoji.map_unicode_pua(text, carrier)


def _carrier(hints: Hints | None) -> str | None:
    return hints.carrier if hints is not None else None


def _detect(data: bytes, hints: Hints | None = None) -> Decoded:
    """Decode undeclared or mislabelled bytes by evidence (see inbox.ingest.detect)."""
    carrier = _carrier(hints)
    if b"\x1b$" in data or b"\x1b(" in data:
        notes: list[str] = []
        text, _ = decode_jis(data, carrier=carrier, notes=notes)
        used = "iso-2022-jp-ms" if _try(data, "iso2022_jp") is None else _JIS
        return Decoded(text, used, notes=tuple(notes))
    if not _has_8bit(data):
        return Decoded(data.decode("ascii"), "us-ascii")
    text, notes = _utf8_decode(data, carrier)
    if text is not None:
        return Decoded(text, "utf-8", notes=tuple(notes))
    decoders = {"cp932": lambda d: sjis_decode(d, carrier)[0], "euc-jp": euc_text}
    got = best_guess(data, hints, decoders)
    if got is not None:
        text, cs = got
        if cs == _EUC:
            euc = _decode_euc(data)
            if euc is not None:
                return euc
        if cs == _SJIS:
            return Decoded(text, cs, notes=tuple(sjis_decode(data, carrier)[1]))
        return Decoded(text, cs)
    # Nothing decodes cleanly: Japanese with user-defined characters, else Western, else UTF-8.
    sj, notes = sjis_decode(data, carrier)
    if sj is not None and japanese_evidence(sj):
        return Decoded(sj, _SJIS, notes=tuple(notes))
    latin = _try(data, "cp1252")
    if latin is not None and is_clean(latin):
        return Decoded(latin, "cp1252")
    return Decoded(data.decode("utf-8", "replace"), "utf-8")


def decode_bytes(data: bytes, declared: str | None, *, hints: Hints | None = None) -> Decoded:
    """Decode data labelled with charset `declared` (may be None or wrong).

    Trusts the label when the bytes are valid for it, repairs otherwise, and says so in
    `warning`. Never raises. `hints` (the rest of the message) guide undeclared bytes.
    """
    label = (declared or "").strip().strip("\"'").lower() or None
    cs = normalize_charset(label)
    if not data:
        return Decoded("", cs or "us-ascii")
    try:
        return _decode_declared(data, label, cs, hints)
    except Exception:  # noqa: BLE001 - decoding must never stop ingest
        return Decoded(
            data.decode("utf-8", "replace"),
            "utf-8",
            Notice("Text could not be decoded cleanly; decoded as utf-8 with replacements."),
        )


def _relabelled(data: bytes, label: str | None, why: str, hints: Hints | None) -> Decoded:
    got = _detect(data, hints)
    return Decoded(got.text, got.charset, Notice("%(why)s; decoded as %(charset)s.", why=why, charset=got.charset), notes=got.notes)


def _label_carrier(label: str, hints: Hints | None) -> str | None:
    """The carrier named by a carrier-specific label (x-sjis-docomo...), else the hints'."""
    return emoji.carrier_for(labels=(label,)) or _carrier(hints)


def _decode_declared(
    data: bytes, label: str | None, cs: str | None, hints: Hints | None
) -> Decoded:
    eight = _has_8bit(data)
    if label is None:
        got = _detect(data, hints)
        if got.charset in ("us-ascii",):
            return got
        why = Notice("No charset was declared; detected %(charset)s.", charset=got.charset)
        return Decoded(got.text, got.charset, why, notes=got.notes)
    if cs is None:
        return _relabelled(data, label, Notice("Unknown charset label %(label)s", label=repr(label)), hints)
    if cs == _JIS:
        if eight:
            got = _detect(data, hints)
            return Decoded(
                got.text,
                got.charset,
                Notice("Declared %(label)s but had 8-bit bytes; decoded as %(charset)s.", label=label, charset=got.charset),
                notes=got.notes,
            )
        notes: list[str] = []
        text, clean = decode_jis(data, carrier=_label_carrier(label, hints), notes=notes)
        used = _JIS if _try(data, "iso2022_jp") is not None else "iso-2022-jp-ms"
        warn = "" if clean else Notice("Some %(label)s characters could not be decoded and were replaced.", label=label)
        return Decoded(text, used, warn, notes=tuple(notes))
    if not eight and cs in _SEVEN_BIT:
        try:
            return Decoded(data.decode(cs), cs)
        except UnicodeDecodeError:
            return Decoded(data.decode(cs, "replace"), cs, Notice("Some %(label)s text was invalid.", label=label))
    if not eight:
        if b"\x1b$" in data:  # 7-bit JIS mislabelled as ascii/utf-8/anything
            text, _ = decode_jis(data)
            return Decoded(text, _JIS, Notice("Declared %(label)s but was ISO-2022-JP; decoded as %(charset)s.", label=label, charset=_JIS))
        return Decoded(data.decode("ascii"), cs if cs != "us-ascii" else "us-ascii")
    if cs == "us-ascii":
        return _relabelled(data, label, Notice("Declared %(label)s but had 8-bit bytes", label=label), hints)
    if cs == "utf-8":
        text, notes = _utf8_decode(data, _carrier(hints))
        if text is not None:
            return Decoded(text, "utf-8", notes=tuple(notes))
        return _relabelled(data, label, Notice("Declared %(label)s but was not valid UTF-8", label=label), hints)
    # A multibyte or single-byte label on bytes that are valid UTF-8: mail vendors mislabel
    # UTF-8 often; the reverse (legacy text that happens to be valid UTF-8) is rare.
    utf = _try(data, "utf-8")
    if utf is not None:
        return Decoded(utf, "utf-8", Notice("Declared %(label)s but was UTF-8; decoded as utf-8.", label=label))
    if cs == _SJIS:
        carrier = _label_carrier(label, hints)
        text, notes = sjis_decode(data, carrier)
        if text is not None:
            return Decoded(text, _SJIS, notes=tuple(notes))
        euc = _decode_euc(data)
        if euc is not None:
            return Decoded(euc.text, euc.charset, Notice("Declared %(label)s but was EUC-JP.", label=label))
        text, notes = sjis_decode(data, carrier, "replace")
        return Decoded(
            text or "",
            _SJIS,
            Notice("Some %(label)s bytes were invalid and were replaced.", label=label),
            notes=tuple(notes),
        )
    if cs == _EUC:
        euc = _decode_euc(data)
        if euc is not None:
            return euc
        text = _try(data, "cp932")
        if text is not None and kana_score(text) > 0:
            return Decoded(text, _SJIS, Notice("Declared %(label)s but was Shift_JIS; decoded as cp932.", label=label))
        return Decoded(decode_eucjp_ms(data)[0], "cp51932", Notice("Some %(label)s bytes were invalid.", label=label))
    try:
        return Decoded(data.decode(cs), cs)
    except UnicodeDecodeError:
        return Decoded(
            data.decode(cs, "replace"), cs, Notice("Some %(label)s bytes were invalid and were replaced.", label=label)
        )


# --- RFC 2047 / RFC 2231 ----------------------------------------------------------------------

_EW = re.compile(
    r"=\?([^?\s]+)\?([bBqQ])\?([^?]*?)\?="  # well-formed (spaces tolerated inside)
    r"|=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)"  # missing terminator: runs to whitespace/end
)
_SURROGATE = re.compile("[\udc80-\udcff]")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r?\n$")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


def b64decode_lenient(data: bytes) -> tuple[bytes, bool]:
    """Decode base64, keeping whatever decodes; returns (bytes, clean)."""
    try:
        return binascii.a2b_base64(data), True
    except binascii.Error:
        pass
    body = data.split(b"=", 1)[0]
    body = _B64_JUNK.sub(b"", body)
    rem = len(body) % 4
    if rem == 1:
        body = body[:-1]
    elif rem:
        body += b"=" * (4 - rem)
    try:
        return binascii.a2b_base64(body), False
    except binascii.Error:
        return b"", False


def _ew_bytes(enc: str, text: str) -> bytes:
    raw = (
        text.encode("ascii", "surrogateescape")
        if text.isascii()
        else text.encode("utf-8", "surrogateescape")
    )
    if enc in "bB":
        return b64decode_lenient(raw.replace(b" ", b""))[0]
    return binascii.a2b_qp(raw, header=True)


def decode_header(
    value: str | bytes | None, *, encoded_words: bool = True, hints: Hints | None = None
) -> Decoded:
    """Decode a header value: RFC 2047 encoded words (also malformed ones) and raw 8-bit bytes.

    `value` may be a str carrying raw bytes as surrogate escapes (email compat32 parsing),
    or bytes. With encoded_words=False only raw bytes are decoded (for address lists, whose
    display names are decoded one by one after splitting). Returns the text, the last
    charset used and a repair note phrased to follow a header name ("had raw 8-bit ...").
    `hints` (the rest of the message) guide the decoding of raw 8-bit bytes.
    """
    if value is None:
        return Decoded("", "us-ascii")
    try:
        return _decode_header(value, encoded_words, hints)
    except Exception:  # noqa: BLE001 - a bad header must never stop ingest
        text = (
            value.decode("utf-8", "replace")
            if isinstance(value, bytes)
            else value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        )
        return Decoded(text, "utf-8", Notice("A header could not be decoded cleanly."))


def _decode_header(value: str | bytes, encoded_words: bool, hints: Hints | None) -> Decoded:
    warnings: list[str] = []
    notes: list[str] = []
    charset = "us-ascii"
    if isinstance(value, str) and (
        "\x1b" in value or (not value.isascii() and _SURROGATE.search(value))
    ):
        value = value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytes):
        value = _FOLD.sub("", value.decode("latin-1")).encode("latin-1")
        if not value.isascii() or b"\x1b" in value:
            got = _detect(value, hints)
            notes.extend(got.notes)
            charset = got.charset
            kind = Notice("raw 8-bit bytes") if not value.isascii() else Notice("raw ISO-2022-JP")
            warnings.append(Notice("had %(kind)s; decoded as %(charset)s", kind=kind, charset=got.charset))
            value = got.text
        else:
            value = value.decode("ascii")
    else:
        value = _FOLD.sub("", value)
    if not encoded_words or "=?" not in value:
        text = value.replace("\x00", "")
        return Decoded(text, charset, _header_warning(warnings), notes=tuple(notes))

    out: list[str] = []
    labels: list[str] = []
    pending: list[bytes] = []
    pending_cs: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal pending_cs, charset
        if pending:
            got = decode_bytes(b"".join(pending), pending_cs, hints=hints)
            charset = got.charset
            notes.extend(got.notes)
            out.append(got.text)
            if got.warning:
                warnings.append(Notice("had an encoded word that needed repair (%(why)s)", why=got.warning))
            pending.clear()
        pending_cs = None

    for m in _EW.finditer(value):
        between = value[pos : m.start()]
        if between and not (pending and between.isspace()):
            flush()
            out.append(between)
        cs = m.group(1) or m.group(4)
        enc = m.group(2) or m.group(5)
        text = m.group(3) if m.group(1) else m.group(6)
        if m.group(4):
            warnings.append(Notice("had an encoded word without its ?= terminator"))
        label = cs.split("*", 1)[0].lower()
        # Adjacent words of one charset are joined before decoding (a character or an escape
        # sequence may be split between them), also when the label is spelt differently.
        if pending and (normalize_charset(label) or label) != (
            normalize_charset(pending_cs) or pending_cs
        ):
            flush()
        pending_cs = label
        labels.append(label)
        pending.append(_ew_bytes(enc, text))
        pos = m.end()
    flush()
    out.append(value[pos:])
    return Decoded(
        "".join(out).replace("\x00", ""),
        charset,
        _header_warning(warnings),
        tuple(dict.fromkeys(labels)),
        tuple(notes),
    )


def _header_warning(parts: list[str]) -> str:
    return joined(parts)


def decode_rfc2231(
    charset: str | None, pct_value: str, *, hints: Hints | None = None
) -> Decoded:
    """Decode an RFC 2231 extended parameter value (already joined from its continuations)."""
    raw = urllib.parse.unquote_to_bytes(pct_value.encode("latin-1", "replace"))
    return decode_bytes(raw, charset or None, hints=hints)
