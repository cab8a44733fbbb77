"""Japanese carrier pictographs (docomo, au/KDDI, SoftBank) -> Unicode emoji.

Feature phones sent pictographs as vendor codes: Shift_JIS user-defined area (F340-F9FC, and
FB41-FBDE for SoftBank), au's rows 0x75-0x7B of ISO-2022-JP, or private-use code points in
UTF-8. Decoded naively they become private-use characters or U+FFFD. This module maps them to
the Unicode emoji of the carriers' published tables (carrier_emoji_table.py, as jpmobile does)
and notes each raw code. Which carrier's table applies where codes overlap follows the
sender's domain or a carrier-specific charset label; without either, the most common reading.
Knows nothing of MIME or of charset detection.
"""

from __future__ import annotations

import re
from functools import cache

from inbox.ingest import carrier_emoji_table

__all__ = ["au_jis_to_sjis", "carrier_for", "map_sjis_pua", "map_unicode_pua", "softbank_fb"]

DOCOMO, AU, SOFTBANK = "docomo", "au", "softbank"

_DOMAINS = {
    DOCOMO: ("docomo.ne.jp",),
    AU: ("ezweb.ne.jp", "au.com", "ido.ne.jp"),
    SOFTBANK: ("softbank.ne.jp", "i.softbank.jp", "disney.ne.jp", "vodafone.ne.jp"),
}
_LABEL_WORDS = {DOCOMO: ("docomo", "imode"), AU: ("kddi", "ezweb"), SOFTBANK: ("softbank", "vodafone")}
_LABEL_WORD = re.compile("|".join(w for words in _LABEL_WORDS.values() for w in words))

# Shift_JIS code ranges -> carrier private-use code points (first SJIS, last SJIS, first PUA).
_SJIS_RANGES = {
    DOCOMO: ((0xF89F, 0xF8FC, 0xE63E), (0xF940, 0xF97E, 0xE69C), (0xF980, 0xF9FC, 0xE6DB)),
    AU: (
        (0xF640, 0xF67E, 0xE468), (0xF680, 0xF6FC, 0xE4A7), (0xF740, 0xF77E, 0xE524),
        (0xF780, 0xF7D1, 0xE563), (0xF7E5, 0xF7FC, 0xE5B5), (0xF340, 0xF352, 0xE5CD),
        (0xF353, 0xF37E, 0xEA80), (0xF380, 0xF3CE, 0xEAAC), (0xF7D2, 0xF7E4, 0xEAFB),
        (0xF3CF, 0xF3FC, 0xEB0E), (0xF440, 0xF47E, 0xEB3C), (0xF480, 0xF493, 0xEB7B),
    ),
    SOFTBANK: (
        (0xF941, 0xF97E, 0xE001), (0xF980, 0xF99B, 0xE03F), (0xF741, 0xF79B, 0xE101),
        (0xF7A1, 0xF7FA, 0xE201), (0xF9A1, 0xF9ED, 0xE301), (0xFB41, 0xFB8D, 0xE401),
        (0xFBA1, 0xFBDE, 0xE501),
    ),
}
_PUA = re.compile("[\ue000-\uf8ff]")


def carrier_for(address: str = "", labels: tuple[str, ...] = ()) -> str | None:
    """The carrier a message comes from: its sender's domain, else a carrier charset label."""
    if address:
        domain = address.rpartition("@")[2].strip().strip(">").lower()
        for carrier, domains in _DOMAINS.items():
            if any(domain == d or domain.endswith("." + d) for d in domains):
                return carrier
    for label in labels:
        m = _LABEL_WORD.search(label.lower())
        if m:
            return next(c for c, words in _LABEL_WORDS.items() if m.group(0) in words)
    return None


@cache
def _table(carrier: str) -> dict[int, str]:
    raw = getattr(carrier_emoji_table, "KDDI" if carrier == AU else carrier.upper())
    return {int(code, 16): text for code, _, text in (p.partition("=") for p in raw.split(" "))}


def _sjis_to_carrier_pua(sjis: int, carrier: str) -> int | None:
    for first, last, pua in _SJIS_RANGES[carrier]:
        if first <= sjis <= last:
            return pua + sjis - first
    return None


def _sjis_of_cp932_pua(ch: str) -> int:
    """cp932 maps Shift_JIS F040-F9FC linearly onto U+E000-E757; the inverse."""
    idx = ord(ch) - 0xE000
    lead, trail = divmod(idx, 188)
    return ((0xF0 + lead) << 8) | (trail + 0x40 + (1 if trail >= 0x3F else 0))


def _sjis_carriers(sjis: int, carrier: str | None) -> tuple[str, ...]:
    if carrier:
        return (carrier,)
    lead = sjis >> 8
    return (DOCOMO, SOFTBANK) if lead in (0xF8, 0xF9) else (AU, SOFTBANK)


def _lookup(sjis_or_pua: int, carriers: tuple[str, ...], *, sjis: bool) -> tuple[str, str] | None:
    for c in carriers:
        pua = _sjis_to_carrier_pua(sjis_or_pua, c) if sjis else sjis_or_pua
        if pua is not None and pua in _table(c):
            return _table(c)[pua], c
    return None


def map_sjis_pua(text: str, carrier: str | None) -> tuple[str, list[str]]:
    """Replace the private-use characters that cp932 made of carrier Shift_JIS codes."""
    if not _PUA.search(text):
        return text, []
    notes: list[str] = []

    def repl(m: re.Match[str]) -> str:
        ch = m.group(0)
        if ord(ch) > 0xE757:
            return ch
        sjis = _sjis_of_cp932_pua(ch)
        got = _lookup(sjis, _sjis_carriers(sjis, carrier), sjis=True)
        if got is None:
            return ch
        notes.append(f"{got[1]} Shift_JIS {sjis:04X} → {got[0]}")
        return got[0]

    return _PUA.sub(repl, text), notes


def map_unicode_pua(text: str, carrier: str | None) -> tuple[str, list[str]]:
    """Replace carrier private-use code points sent in UTF-8 (or decoded from SoftBank SJIS)."""
    if not _PUA.search(text):
        return text, []
    notes: list[str] = []

    def repl(m: re.Match[str]) -> str:
        cp = ord(m.group(0))
        if carrier:
            carriers: tuple[str, ...] = (carrier,)
        elif 0xE63E <= cp <= 0xE757:
            carriers = (DOCOMO,)
        else:
            carriers = (SOFTBANK, AU)
        got = _lookup(cp, carriers, sjis=False)
        if got is None:
            return m.group(0)
        notes.append(f"{got[1]} U+{cp:04X} → {got[0]}")
        return got[0]

    return _PUA.sub(repl, text), notes


def softbank_fb(code: int) -> tuple[str, str] | None:
    """SoftBank's Shift_JIS FB41-FBDE (IBM kanji to cp932): the emoji and a note, or None."""
    pua = _sjis_to_carrier_pua(code, SOFTBANK)
    if pua is None or pua not in _table(SOFTBANK):
        return None
    text = _table(SOFTBANK)[pua]
    return text, f"softbank Shift_JIS {code:04X} → {text}"


def au_jis_to_sjis(j1: int, j2: int, carrier: str | None) -> bytes | None:
    """au's ISO-2022-JP pictographs (rows 0x75-0x7B) as the au Shift_JIS code, or None.

    Rows 0x75-0x78 are unassigned in JIS X 0208 and its NEC/IBM extensions, so they are
    pictographs whoever sends them; rows 0x79-0x7B hold IBM kanji in CP50220 and are read
    as pictographs only from au."""
    if 0x75 <= j1 <= 0x78 or (carrier == AU and 0x79 <= j1 <= 0x7B):
        s1 = ((j1 - 0x21) >> 1) + 0x81 + 0x40
        s2 = j2 + 0x1F + (1 if j2 >= 0x60 else 0) if j1 & 1 else j2 + 0x7E
        code = (s1 << 8 | s2) + (0x0B00 if j1 <= 0x78 else 0x0600)
        return code.to_bytes(2, "big")
    return None
