"""Japanese byte decoding beyond the standard codecs: ISO-2022-JP with NEC/IBM extensions
(CP50220) and au pictographs, EUC-JP with NEC/IBM extensions (cp51932) and JIS X 0213, and
Shift_JIS (cp932) with carrier pictographs. Knows nothing of labels, detection or MIME.
"""

from __future__ import annotations

import re

from inbox.ingest import emoji
from inbox.ingest.charset_names import EUC

__all__ = ["decode_euc", "decode_eucjp_ms", "decode_jis", "euc_text", "kana_score", "sjis_decode"]


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


def _jis_2byte_to_sjis(
    seg: bytes, carrier: str | None = None, au_codes: dict[str, str] | None = None
) -> bytes:
    """JIS X 0208 pairs -> Shift_JIS bytes; au pictograph pairs -> au's Shift_JIS code, noted
    in `au_codes` (Shift_JIS hex -> JIS hex) so the warning can name the code as sent."""
    out = bytearray()
    i, n = 0, len(seg)
    while i < n:
        b = seg[i]
        if 0x21 <= b <= 0x7E and i + 1 < n and 0x21 <= seg[i + 1] <= 0x7E:
            au = emoji.au_jis_to_sjis(b, seg[i + 1], carrier) if b >= 0x75 else None
            if au is not None and au_codes is not None:
                au_codes[au.hex().upper()] = seg[i : i + 2].hex().upper()
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
    au_codes: dict[str, str] = {}
    text, clean = _decode_jis_slow(data, carrier, au_codes)
    text, mapped = emoji.map_sjis_pua(text, carrier)
    if notes is not None:
        for note in mapped:
            code = note.split(" ")[2] if note.startswith("au Shift_JIS ") else ""
            notes.append(
                f"au ISO-2022-JP {au_codes[code]}{note[len('au Shift_JIS ') + 4 :]}"
                if code in au_codes
                else note
            )
    return text, clean


def _decode_jis_slow(
    data: bytes, carrier: str | None, au_codes: dict[str, str]
) -> tuple[str, bool]:
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
                _jis_2byte_to_sjis(chunk, carrier, au_codes)
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


def decode_eucjp_ms(data: bytes) -> tuple[str, bool]:
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


def _try(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def kana_score(text: str) -> int:
    """Higher for text that looks like real Japanese (kana) and not half-width katakana noise."""
    score = 0
    for ch in text:
        o = ord(ch)
        if 0x3040 <= o <= 0x30FF or 0x4E00 <= o <= 0x9FFF or 0x3000 <= o <= 0x303F:
            score += 1
        elif 0xFF61 <= o <= 0xFF9F or 0xE000 <= o <= 0xF8FF or o == 0xFFFD:
            score -= 2
    return score


def decode_euc(data: bytes) -> tuple[str, str] | None:
    """Strict EUC-JP, then the NEC/IBM-extended variant mail systems really send (eucJP-ms,
    cp51932), then EUC-JIS-2004: (text, charset), or None when none of them decodes cleanly."""
    text = _try(data, "euc_jp")
    if text is not None:
        return text, EUC
    text, clean = decode_eucjp_ms(data)
    if clean:
        return text, "cp51932"
    text = _try(data, "euc_jis_2004")
    if text is not None:
        return text, "euc-jis-2004"
    return None


def euc_text(data: bytes) -> str | None:
    got = decode_euc(data)
    return got[0] if got is not None else None


def sjis_decode(
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
