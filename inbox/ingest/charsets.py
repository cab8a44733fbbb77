"""Charset decoding for mail bytes and RFC 2047 headers; knows nothing of MIME structure."""

from __future__ import annotations

import binascii
import codecs
import re
import urllib.parse
from dataclasses import dataclass

from inbox.ingest import emoji
from inbox.ingest.detect import Hints, best_guess, is_clean, japanese_evidence

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


# --- charset labels --------------------------------------------------------------------------

_JIS = "iso-2022-jp"
_SJIS = "cp932"
_EUC = "euc-jp"

_ALIASES: dict[str, str] = {
    "iso-2022-jp": _JIS,
    "iso2022jp": _JIS,
    "iso-2022-jp-ms": _JIS,
    "iso-2022-jp-1": _JIS,
    "iso-2022-jp-2": _JIS,
    "iso-2022-jp-3": _JIS,
    "iso-2022-jp-2004": _JIS,
    "csiso2022jp": _JIS,
    "iso_2022_jp": _JIS,
    "iso-2022-jp-kddi": _JIS,
    "cp50220": _JIS,
    "cp50221": _JIS,
    "cp50222": _JIS,
    "jis": _JIS,
    "x-windows-iso2022jp": _JIS,
    "shift_jis": _SJIS,
    "shift-jis": _SJIS,
    "x-sjis": _SJIS,
    "sjis": _SJIS,
    "s-jis": _SJIS,
    "ms_kanji": _SJIS,
    "csshiftjis": _SJIS,
    "windows-31j": _SJIS,
    "cp932": _SJIS,
    "x-ms-cp932": _SJIS,
    "shift_jis-2004": _SJIS,
    "shift_jisx0213": _SJIS,
    "ms932": _SJIS,
    "euc-jp": _EUC,
    "eucjp": _EUC,
    "x-euc-jp": _EUC,
    "euc_jp": _EUC,
    "cseucpkdfmtjapanese": _EUC,
    "euc-jis-2004": _EUC,
    "euc-jisx0213": _EUC,
    "cp51932": _EUC,
    "eucjp-ms": _EUC,
    "eucjp-win": _EUC,
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "x-utf-8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "us-ascii": "us-ascii",
    "ascii": "us-ascii",
    "ansi_x3.4-1968": "us-ascii",
    "646": "us-ascii",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso_8859-1": "cp1252",
    "l1": "cp1252",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb18030": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601-1989": "cp949",
    "ks_c_5601": "cp949",
    "ksc_5601": "cp949",
    "ksc5601": "cp949",
    "korean": "cp949",
    "euc-kr": "cp949",
    "x-euc-kr": "cp949",
    "cseuckr": "cp949",
    "csksc56011987": "cp949",
    "iso-ir-149": "cp949",
    "windows-949": "cp949",
    "x-windows-949": "cp949",
    "cp949": "cp949",
    "gb_2312-80": "gb18030",
    "gb_2312": "gb18030",
    "csgb2312": "gb18030",
    "x-euc-cn": "gb18030",
    "euc-cn": "gb18030",
    "chinese": "gb18030",
    "cn-gb": "gb18030",
    "big5": "cp950",
    "cn-big5": "cp950",
    "x-x-big5": "cp950",
    "csbig5": "cp950",
    "x-mac-roman": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-ukrainian": "mac-cyrillic",
    "x-mac-ce": "mac-latin2",
    "x-mac-centraleurope": "mac-latin2",
    "x-mac-greek": "mac-greek",
    "x-mac-turkish": "mac-turkish",
    "x-mac-icelandic": "mac-iceland",
    "windows-874": "cp874",
    "dos-874": "cp874",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-8-e": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "iso-8859-6-e": "iso8859-6",
    "logical": "iso8859-8",
    "visual": "iso8859-8",
    "koi8-ru": "koi8-u",
    "koi": "koi8-r",
    "koi8": "koi8-r",
    **{
        f"{prefix}-{carrier}": _SJIS
        for prefix in ("x-sjis", "shift_jis", "sjis", "x-shift_jis")
        for carrier in ("docomo", "imode", "kddi", "ezweb", "au", "softbank", "vodafone")
    },
    **{
        f"{prefix}-{carrier}": "utf-8"
        for prefix in ("x-utf8", "utf-8", "x-utf-8")
        for carrier in ("docomo", "kddi", "softbank")
    },
    "x-iso-2022-jp-kddi": _JIS,
    "utf-7": "utf-7",
    "utf7": "utf-7",
    "unicode-1-1-utf-7": "utf-7",
    "csunicode11utf7": "utf-7",
    "unicode-2-0-utf-7": "utf-7",
    "x-unicode-2-0-utf-7": "utf-7",
    "unicode-2-0-utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "utf8mb4": "utf-8",
    "x-iso-2022-jp": _JIS,
    "iso-2022-cn": "iso2022_jp_2",
    "hz-gb-2312": "hz",
    "ucs-2": "utf-16",
    "iso-10646-ucs-2": "utf-16",
    "csunicode": "utf-16",
    "unicodefffe": "utf-16-be",
}
# Encodings whose bytes are all 7-bit: an ASCII-only body is not plain ASCII text for them.
_SEVEN_BIT = {"utf-7", "hz", "iso2022_kr", "iso2022_jp_2", "utf-16", "utf-16-be", "utf-16-le"}
_WINDOWS = re.compile(r"^(?:x-)?(?:windows|cp|ibm|x-cp|x-ibm|ms)[-_]?(\d{3,5})$")

_SINGLE_BYTE = re.compile(r"^(cp125\d|iso-?8859-\d+|latin-?\d|koi8-[ru]|mac-?roman)$")


def normalize_charset(label: str | None) -> str | None:
    """Map a declared charset label to the name this module decodes with; None if unusable."""
    if not label:
        return None
    key = label.strip().strip("\"'").split("*", 1)[0].strip().lower()
    if not key:
        return None
    if key in _ALIASES:
        return _ALIASES[key]
    m = _WINDOWS.match(key)
    keys = [key, f"cp{m.group(1)}"] if m else [key]
    if key.startswith("x-"):
        keys.append(key[2:])
    for k in keys:
        if k in _ALIASES:
            return _ALIASES[k]
        try:
            info = codecs.lookup(k)
        except (LookupError, ValueError):
            continue
        return info.name if getattr(info, "_is_text_encoding", True) else None
    return None


# --- ISO-2022-JP with Microsoft/NEC extensions ------------------------------------------------

_ESC_SPLIT = re.compile(rb"(\x1b(?:\(B|\(J|\(I|\$@|\$B|\$\(D|\$\(O|\$\(Q|\$\(B))")
# cp932 code points for which plain JIS X 0208 decoders give different characters.
_CP932_TO_JIS = str.maketrans(
    {
        "\uff5e": "\u301c",
        "\u2225": "\u2016",
        "\uff0d": "\u2212",
        "\uffe0": "\u00a2",
        "\uffe1": "\u00a3",
        "\uffe2": "\u00ac",
    }
)


def _jis_pair_to_sjis(j1: int, j2: int) -> bytes:
    s1 = ((j1 - 0x21) >> 1) + 0x81
    if s1 > 0x9F:
        s1 += 0x40
    if j1 & 1:
        s2 = j2 + 0x1F + (1 if j2 >= 0x60 else 0)
    else:
        s2 = j2 + 0x7E
    return bytes((s1, s2))


def _jis_2byte_to_sjis(seg: bytes, carrier: str | None = None) -> bytes:
    out = bytearray()
    i, n = 0, len(seg)
    while i < n:
        b = seg[i]
        if 0x21 <= b <= 0x7E and i + 1 < n and 0x21 <= seg[i + 1] <= 0x7E:
            au = emoji.au_jis_to_sjis(b, seg[i + 1], carrier) if b >= 0x75 else None
            out += au if au is not None else _jis_pair_to_sjis(b, seg[i + 1])
            i += 2
        else:  # stray byte (line break inside a 2-byte run, truncation): pass through
            out.append(b)
            i += 1
    return bytes(out)


def decode_jis(
    data: bytes, *, carrier: str | None = None, notes: list[str] | None = None
) -> tuple[str, bool]:
    """Decode ISO-2022-JP, including NEC row 13 and IBM extensions (CP50220-style) and au's
    pictographs (ISO-2022-JP-KDDI), which become emoji with a line added to `notes`.

    Returns (text, clean) where clean is False when something could not be decoded.
    Falls back from the fast stdlib codec to a JIS -> Shift_JIS byte transform + cp932.
    """
    try:
        return data.decode("iso2022_jp"), True
    except UnicodeDecodeError:
        pass
    text, clean = _decode_jis_slow(data, carrier)
    text, mapped = emoji.map_sjis_pua(text, carrier)
    if notes is not None:
        notes.extend(mapped)
    return text, clean


def _decode_jis_slow(data: bytes, carrier: str | None) -> tuple[str, bool]:
    parts: list[str] = []
    mode = b"\x1b(B"
    clean = True
    for chunk in _ESC_SPLIT.split(data):
        if chunk.startswith(b"\x1b") and _ESC_SPLIT.fullmatch(chunk):
            mode = chunk
            continue
        if not chunk:
            continue
        if mode in (b"\x1b$B", b"\x1b$@", b"\x1b$(B"):
            text = (
                _jis_2byte_to_sjis(chunk, carrier)
                .decode("cp932", "replace")
                .translate(_CP932_TO_JIS)
            )
        elif mode == b"\x1b(I":
            text = bytes(b + 0x80 if 0x21 <= b <= 0x5F else b for b in chunk).decode(
                "cp932", "replace"
            )
        elif mode in (b"\x1b$(D", b"\x1b$(O", b"\x1b$(Q"):
            codec = "iso2022_jp_2" if mode == b"\x1b$(D" else "iso2022_jp_2004"
            text = (mode + chunk + b"\x1b(B").decode(codec, "replace")
        else:  # ASCII / JIS-Roman; 8-bit bytes here are most likely Shift_JIS
            text = chunk.decode("cp932", "replace") if max(chunk) > 0x7F else chunk.decode("ascii")
        if "\ufffd" in text:
            clean = False
        parts.append(text)
    return "".join(parts), clean


def _decode_eucjp_ms(data: bytes) -> tuple[str, bool]:
    """EUC-JP with NEC/IBM extensions (cp51932-like): EUC -> JIS -> Shift_JIS -> cp932.

    Returns (text, clean); clean is False when bytes were invalid or mapped to private use.
    """
    parts: list[str] = []
    out = bytearray()
    clean = True
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            out.append(b)
            i += 1
        elif b == 0x8E and i + 1 < n and 0xA1 <= data[i + 1] <= 0xDF:  # half-width katakana
            out.append(data[i + 1])
            i += 2
        elif 0xA1 <= b <= 0xFE and i + 1 < n and 0xA1 <= data[i + 1] <= 0xFE:
            out += _jis_pair_to_sjis(b & 0x7F, data[i + 1] & 0x7F)
            i += 2
        elif b == 0x8F and i + 2 < n:  # JIS X 0212 (3 bytes): cp932 has no room for it
            parts.append(out.decode("cp932", "replace"))
            out = bytearray()
            parts.append(data[i : i + 3].decode("euc_jp", "replace"))
            i += 3
        else:
            out += b"?"
            clean = False
            i += 1
    parts.append(out.decode("cp932", "replace"))
    text = "".join(parts).translate(_CP932_TO_JIS)
    if clean and ("\ufffd" in text or _PUA.search(text)):
        clean = False
    return text, clean


_PUA = re.compile("[\ue000-\uf8ff]")


# --- detection cascade ------------------------------------------------------------------------


def _has_8bit(data: bytes) -> bool:
    return not data.isascii()


def _kana_score(text: str) -> int:
    """Higher for text that looks like real Japanese (kana) and not half-width katakana noise."""
    score = 0
    for ch in text:
        o = ord(ch)
        if 0x3040 <= o <= 0x30FF or 0x4E00 <= o <= 0x9FFF or 0x3000 <= o <= 0x303F:
            score += 1
        elif 0xFF61 <= o <= 0xFF9F or 0xE000 <= o <= 0xF8FF or o == 0xFFFD:
            score -= 2
    return score


def _looks_western(text: str) -> bool:
    """Most non-ASCII characters are Latin-1 letters (é, ü, ß...): Western European text."""
    high = [c for c in text if ord(c) > 0x7F]
    letters = sum(1 for c in high if 0xC0 <= ord(c) <= 0xFF and ord(c) not in (0xD7, 0xF7))
    return letters * 10 >= len(high) * 9


def _try(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _decode_euc(data: bytes) -> Decoded | None:
    """Strict EUC-JP, then the NEC/IBM-extended variant mail systems really send (eucJP-ms,
    cp51932), then EUC-JIS-2004. None when none of them decodes cleanly."""
    text = _try(data, "euc_jp")
    if text is not None:
        return Decoded(text, _EUC)
    text, clean = _decode_eucjp_ms(data)
    if clean:
        return Decoded(text, "cp51932")
    text = _try(data, "euc_jis_2004")
    if text is not None:
        return Decoded(text, "euc-jis-2004")
    return None


def _euc_text(data: bytes) -> str | None:
    got = _decode_euc(data)
    return got.text if got is not None else None


def _sjis_decode(
    data: bytes, carrier: str | None, errors: str = "strict"
) -> tuple[str | None, list[str]]:
    """cp932 with carrier pictographs mapped to emoji; (None, []) when the bytes are invalid."""
    notes: list[str] = []
    try:
        if carrier == emoji.SOFTBANK and b"\xfb" in data:
            parts: list[str] = []
            start = i = 0
            while i < len(data) - 1:
                b = data[i]
                got = emoji.softbank_fb(b << 8 | data[i + 1]) if b == 0xFB else None
                if got is not None:
                    parts += [data[start:i].decode("cp932", errors), got[0]]
                    notes.append(got[1])
                    i = start = i + 2
                else:
                    i += 2 if 0x81 <= b <= 0x9F or 0xE0 <= b <= 0xFC else 1
            parts.append(data[start:].decode("cp932", errors))
            text = "".join(parts)
        else:
            text = data.decode("cp932", errors)
    except UnicodeDecodeError:
        return None, []
    text, mapped = emoji.map_sjis_pua(text, carrier)
    return text, notes + mapped


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
    decoders = {"cp932": lambda d: _sjis_decode(d, carrier)[0], "euc-jp": _euc_text}
    got = best_guess(data, hints, decoders)
    if got is not None:
        text, cs = got
        if cs == _EUC:
            euc = _decode_euc(data)
            if euc is not None:
                return euc
        if cs == _SJIS:
            return Decoded(text, cs, notes=tuple(_sjis_decode(data, carrier)[1]))
        return Decoded(text, cs)
    # Nothing decodes cleanly: Japanese with user-defined characters, else Western, else UTF-8.
    sj, notes = _sjis_decode(data, carrier)
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
            "Text could not be decoded cleanly; decoded as utf-8 with replacements.",
        )


def _relabelled(data: bytes, label: str | None, why: str, hints: Hints | None) -> Decoded:
    got = _detect(data, hints)
    return Decoded(got.text, got.charset, f"{why}; decoded as {got.charset}.", notes=got.notes)


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
        why = f"No charset was declared; detected {got.charset}."
        return Decoded(got.text, got.charset, why, notes=got.notes)
    if cs is None:
        return _relabelled(data, label, f"Unknown charset label {label!r}", hints)
    if cs == _JIS:
        if eight:
            got = _detect(data, hints)
            return Decoded(
                got.text,
                got.charset,
                f"Declared {label} but had 8-bit bytes; decoded as {got.charset}.",
                notes=got.notes,
            )
        notes: list[str] = []
        text, clean = decode_jis(data, carrier=_label_carrier(label, hints), notes=notes)
        used = _JIS if _try(data, "iso2022_jp") is not None else "iso-2022-jp-ms"
        warn = "" if clean else f"Some {label} characters could not be decoded and were replaced."
        return Decoded(text, used, warn, notes=tuple(notes))
    if not eight and cs in _SEVEN_BIT:
        try:
            return Decoded(data.decode(cs), cs)
        except UnicodeDecodeError:
            return Decoded(data.decode(cs, "replace"), cs, f"Some {label} text was invalid.")
    if not eight:
        if b"\x1b$" in data:  # 7-bit JIS mislabelled as ascii/utf-8/anything
            text, _ = decode_jis(data)
            return Decoded(text, _JIS, f"Declared {label} but was ISO-2022-JP; decoded as {_JIS}.")
        return Decoded(data.decode("ascii"), cs if cs != "us-ascii" else "us-ascii")
    if cs == "us-ascii":
        return _relabelled(data, label, f"Declared {label} but had 8-bit bytes", hints)
    if cs == "utf-8":
        text, notes = _utf8_decode(data, _carrier(hints))
        if text is not None:
            return Decoded(text, "utf-8", notes=tuple(notes))
        return _relabelled(data, label, f"Declared {label} but was not valid UTF-8", hints)
    # A multibyte or single-byte label on bytes that are valid UTF-8: mail vendors mislabel
    # UTF-8 often; the reverse (legacy text that happens to be valid UTF-8) is rare.
    utf = _try(data, "utf-8")
    if utf is not None:
        return Decoded(utf, "utf-8", f"Declared {label} but was UTF-8; decoded as utf-8.")
    if cs == _SJIS:
        carrier = _label_carrier(label, hints)
        text, notes = _sjis_decode(data, carrier)
        if text is not None:
            return Decoded(text, _SJIS, notes=tuple(notes))
        euc = _decode_euc(data)
        if euc is not None:
            return Decoded(euc.text, euc.charset, f"Declared {label} but was EUC-JP.")
        text, notes = _sjis_decode(data, carrier, "replace")
        return Decoded(
            text or "",
            _SJIS,
            f"Some {label} bytes were invalid and were replaced.",
            notes=tuple(notes),
        )
    if cs == _EUC:
        euc = _decode_euc(data)
        if euc is not None:
            return euc
        text = _try(data, "cp932")
        if text is not None and _kana_score(text) > 0:
            return Decoded(text, _SJIS, f"Declared {label} but was Shift_JIS; decoded as cp932.")
        return Decoded(_decode_eucjp_ms(data)[0], "cp51932", f"Some {label} bytes were invalid.")
    try:
        return Decoded(data.decode(cs), cs)
    except UnicodeDecodeError:
        return Decoded(
            data.decode(cs, "replace"), cs, f"Some {label} bytes were invalid and were replaced."
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
        return Decoded(text, "utf-8", "A header could not be decoded cleanly.")


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
            kind = "raw 8-bit bytes" if not value.isascii() else "raw ISO-2022-JP"
            warnings.append(f"had {kind}; decoded as {got.charset}")
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
                warnings.append(
                    f"had an encoded word that needed repair ({got.warning.rstrip('.')})"
                )
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
            warnings.append("had an encoded word without its ?= terminator")
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
    if not parts:
        return ""
    return "; ".join(dict.fromkeys(parts))


def decode_rfc2231(
    charset: str | None, pct_value: str, *, hints: Hints | None = None
) -> Decoded:
    """Decode an RFC 2231 extended parameter value (already joined from its continuations)."""
    raw = urllib.parse.unquote_to_bytes(pct_value.encode("latin-1", "replace"))
    return decode_bytes(raw, charset or None, hints=hints)
