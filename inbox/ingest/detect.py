"""Evidence for undeclared 8-bit text: which charset a run of bytes most plausibly is.

The evidence is the bytes themselves (does the charset decode them, and does the result look
like text of that script), the charsets the same message declares elsewhere, its
Content-Language, and a detector (charset-normalizer) run once over the 8-bit bytes of the
whole message. A result holding private-use characters, C1 controls or U+FFFD is a failed
guess. Hints.for_message gathers that evidence from the raw message with a few byte scans;
the MIME structure and the decoding of declared text belong to parse.py and charsets.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from inbox.ingest import emoji
from inbox.ingest.charset_names import normalize_charset

__all__ = ["Hints", "best_guess", "is_clean", "japanese_evidence", "plausibility"]

# Charsets commonly used for each language in mail (first = most common).
LANGUAGE_CHARSETS: dict[str, tuple[str, ...]] = {
    "ja": ("cp932", "euc-jp"),
    "ru": ("koi8-r", "cp1251"),
    "uk": ("koi8-u", "cp1251"),
    "be": ("cp1251",),
    "bg": ("cp1251",),
    "sr": ("cp1251",),
    "mk": ("cp1251",),
    "zh": ("gb18030", "cp950"),
    "zh-cn": ("gb18030",),
    "zh-sg": ("gb18030",),
    "zh-tw": ("cp950", "big5hkscs"),
    "zh-hk": ("big5hkscs", "cp950"),
    "ko": ("cp949",),
    "el": ("cp1253", "iso8859-7"),
    "tr": ("cp1254", "iso8859-9"),
    "he": ("cp1255", "iso8859-8"),
    "ar": ("cp1256", "iso8859-6"),
    "th": ("cp874",),
    "vi": ("cp1258",),
    **{lang: ("cp1250", "iso8859-2") for lang in ("pl", "cs", "sk", "hu", "sl", "hr", "ro")},
    **{
        lang: ("cp1252",)
        for lang in ("en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "no", "nb", "fi", "is")
    },
}
# Tried for every undeclared run when nothing better is known (after the hints).
COMMON_CHARSETS = ("cp1252", "koi8-r", "cp1251", "gb18030", "cp950", "cp949", "cp1250")
# Names the detector reports, widened to the superset mail software really writes.
_SUPERSETS = {
    "latin_1": "cp1252",
    "iso8859_1": "cp1252",
    "ascii": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "cp950",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "shift_jis_2004": "cp932",
    "shift_jisx0213": "cp932",
    "euc_jis_2004": "euc-jp",
    "euc_jisx0213": "euc-jp",
    "koi8_r": "koi8-r",
    "koi8_u": "koi8-u",
}
_FAMILY = {"cp1252": "latin", "cp1250": "latin", "iso8859-2": "latin", "iso8859-15": "latin"}
_JAPANESE = ("cp932", "euc-jp", "iso-2022-jp", "cp51932")
_SAMPLE_CAP = 64 * 1024
_SCAN_CAP = 1024 * 1024
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff]")


@dataclass
class Hints:
    """What the rest of one message says about its charsets; built once per message."""

    declared: tuple[str, ...] = ()  # normalized names of the charsets the message declares
    language: str | None = None  # Content-Language, lower case ("ja", "zh-tw")
    sample: bytes = b""  # the lines of the raw message that hold 8-bit bytes
    carrier: str | None = None  # Japanese mobile carrier of the sender (emoji tables)
    _detected: list[str | None] = field(default_factory=list, repr=False)

    def candidates(self) -> list[str]:
        out = list(self.declared)
        lang = (self.language or "").split(",")[0].strip()
        out += LANGUAGE_CHARSETS.get(lang, ()) or LANGUAGE_CHARSETS.get(lang.split("-")[0], ())
        return [c for c in dict.fromkeys(out) if c not in ("us-ascii", "utf-8")]

    def detected(self) -> str | None:
        """The detector's charset for the whole message's 8-bit bytes (computed once)."""
        if not self._detected:
            self._detected.append(_run_detector(self.sample) if len(self.sample) >= 24 else None)
        return self._detected[0]

    @classmethod
    def for_message(cls, raw: bytes) -> Hints:
        """What a whole raw message says about its charsets: the labels it declares (charset
        parameters, encoded words), its Content-Language, its 8-bit lines and the sender's
        mobile carrier. Never raises."""
        return _for_message(raw)

    @classmethod
    def from_message(
        cls, raw: bytes, declared: Iterable[str], language: str | None, carrier: str | None = None
    ) -> Hints:
        head = raw[:_SCAN_CAP]
        sample = b"" if head.isascii() else b"\n".join(
            line for line in head.splitlines() if not line.isascii()
        )
        declared = tuple(dict.fromkeys(declared))
        if language is None and _reads_japanese(raw, declared, sample):
            language = "ja"
        return cls(declared, language, sample[:_SAMPLE_CAP], carrier)


def _reads_japanese(raw: bytes, declared: tuple[str, ...], sample: bytes) -> bool:
    """The message is Japanese by its own evidence: a Japanese charset declared, ISO-2022-JP
    escapes, or kana in its UTF-8 lines."""
    if any(cs in _JAPANESE for cs in declared) or b"\x1b$B" in raw[:_SCAN_CAP]:
        return True
    return japanese_evidence(sample.decode("utf-8", "ignore"))


def _run_detector(sample: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
    except Exception:  # noqa: BLE001 - detection is best-effort
        return None
    if best is None or not best.encoding:
        return None
    return _SUPERSETS.get(best.encoding, best.encoding.replace("_", "-"))


def is_clean(text: str) -> bool:
    """No private-use characters, C0/C1 controls or replacement characters."""
    return _BAD.search(text) is None


def japanese_evidence(text: str) -> bool:
    """Kana or Japanese brackets: text that reads as Japanese, not merely as CJK ideographs."""
    return any(0x3041 <= ord(c) <= 0x30FF or c in "「」『』【】〜" for c in text)


_GOOD_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "HEBREW", "ARABIC", "THAI", "HANGUL", "CJK",
                 "HIRAGANA", "KATAKANA", "IDEOGRAPHIC", "FULLWIDTH")


def _script(ch: str) -> str:
    if ch.isascii():
        return "LATIN"
    name = unicodedata.name(ch, "")
    return "CJK" if name.startswith(_CJK_SCRIPTS) else name.split(" ", 1)[0]


_CJK_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC", "FULLWIDTH", "HALFWIDTH")


def plausibility(text: str) -> float:
    """Per non-ASCII character: +1 for a letter of a real script, -1 for odd symbols, for
    mixed case inside a word (koi8-r read as cp1251), for two scripts inside one word
    (Cyrillic read as Latin-1) or for half-width katakana (bytes read as cp932). From -1 to 1."""
    score = 0.0
    n = ascii_letters = latin_letters = 0
    prev = ""
    for ch in text:
        if ch.isascii():
            ascii_letters += ch.isalpha()
            prev = ch
            continue
        n += 1
        if 0xFF61 <= ord(ch) <= 0xFF9F:
            score -= 1
        elif ch.isalpha():
            name = unicodedata.name(ch, "")
            if name.startswith(_GOOD_SCRIPTS):
                score += 1
                latin_letters += name.startswith("LATIN")
                if prev.isalpha():
                    if ch.isupper() and prev.islower() and not prev.isascii():
                        score -= 2
                    elif "CJK" not in (_script(ch), _script(prev)) and _script(ch) != _script(prev):
                        score -= 2
            else:
                score -= 0.5
        elif unicodedata.category(ch) in ("Pd", "Pi", "Pf", "Po", "Ps", "Pe", "Zs", "Sc"):
            score += 0.2
        else:
            score -= 1
        prev = ch
    if latin_letters > ascii_letters:  # accented letters outnumber plain ones: not Western text
        score -= latin_letters
    return max(-1.0, score / n) if n else 0.0


def best_guess(
    data: bytes, hints: Hints | None, decoders: dict[str, Callable[[bytes], str | None]]
) -> tuple[str, str] | None:
    """The most plausible (text, charset) for undeclared 8-bit `data`, or None.

    Candidates are the message's declared charsets and its language's charsets (which win
    when they decode cleanly and read as text), then Japanese when the text shows kana, then
    the common charsets scored by plausibility, with the detector's choice as a tie-breaker.
    `decoders` overrides how a charset is decoded (Japanese needs more than a codec).
    """

    def decode(cs: str) -> str | None:
        fn = decoders.get(cs)
        try:
            text = fn(data) if fn else data.decode(cs)
        except (UnicodeDecodeError, LookupError):
            return None
        return text if text is not None and is_clean(text) else None

    hinted = hints.candidates() if hints else []
    for cs in hinted:
        text = decode(cs)
        if text is not None and plausibility(text) > 0.5:
            return text, cs
    japanese = [(t, cs) for cs in ("cp932", "euc-jp") if (t := decode(cs)) is not None]
    japanese = [(t, cs) for t, cs in japanese if japanese_evidence(t)]
    if japanese:
        return max(japanese, key=lambda tc: plausibility(tc[0]))
    detected = hints.detected() if hints else None
    scored: list[tuple[float, int, str, str]] = []
    order = [*hinted, *([detected] if detected else []), *COMMON_CHARSETS, "cp932", "euc-jp"]
    for rank, cs in enumerate(dict.fromkeys(order)):
        text = decode(cs)
        if text is None:
            continue
        score = plausibility(text)
        if detected and (cs == detected or _FAMILY.get(cs, cs) == _FAMILY.get(detected, "")):
            score += 0.3
        if cs in hinted:
            score += 0.3
        scored.append((score, -rank, text, cs))
    if not scored:
        return None
    score, _, text, cs = max(scored)
    return (text, cs) if score > 0 else None


# Scanned in a lower-cased copy of the message; each pattern opens with a literal so the
# search is fast over long base64 bodies.
_CHARSET_PARAM = re.compile(rb"""charset\*?\s*=\s*["']?([a-z0-9_.:+-]{2,40})""")
_WORD_LABEL = re.compile(rb"=\?([a-z0-9_.:+-]{2,40})(?:\*[^?]*)?\?[bq]\?")
_LANGUAGE = re.compile(rb"[ \t]*([a-z]{2,3}(?:-[a-z]{2})?)")
_SENDER = re.compile(rb"[^\n]*?([a-z0-9._+-]+@[a-z0-9.-]+)")


def _after(low: bytes, name: bytes, pattern: re.Pattern[bytes]) -> bytes | None:
    """The first group of `pattern` matched right after the first header line `name`."""
    at = low.find(name)
    m = pattern.match(low, at + len(name)) if at >= 0 else None
    return m.group(1) if m else None


def _for_message(raw: bytes) -> Hints:
    try:
        if raw.isascii() and b"\x1b$B" not in raw and b"=?" not in raw:
            return Hints()
        low = b"\n" + raw[:_SCAN_CAP].lower()
        labels = [m.group(1).decode("ascii") for m in _CHARSET_PARAM.finditer(low)]
        labels += [m.group(1).decode("ascii") for m in _WORD_LABEL.finditer(low)]
        declared = [cs for label in labels if (cs := normalize_charset(label))]
        lang = _after(low, b"\ncontent-language:", _LANGUAGE)
        language = lang.decode("ascii") if lang else None
        address = (_after(low, b"\nfrom:", _SENDER) or b"").decode("latin-1")
        carrier = emoji.carrier_for(address, tuple(labels))
        return Hints.from_message(raw, declared, language, carrier)
    except Exception:  # noqa: BLE001 - hints are optional
        return Hints()
