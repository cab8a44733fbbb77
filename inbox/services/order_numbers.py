"""Order numbers in text: what a customer's mail or a mall inquiry says their order is.

Pure text work, no database: ``find(text)`` returns the order numbers found, in order of first
appearance, normalised (NFKC, dashes unified, upper case) so that ``１２３－４５６`` and
``123-456`` are one number. Two kinds are recognised:

- a number after a label: 注文番号, ご注文番号, 受注番号, 注文No, 注文ID, オーダー番号/ID,
  "order number", "order no.", "order ID", "order #" (any case, full or half width, with
  ``：`` ``:`` ``#`` ``は`` ``is`` or brackets between); the number is ASCII letters, digits
  and single hyphens, 4-64 characters, at least 3 of them digits;
- a Rakuten order number anywhere (shop 6 digits, date 8 digits, 10 digits:
  ``123456-20261105-0000012345``), which is distinctive enough without a label.

What is not recognised on purpose: a bare number without a label (a phone number, a postcode,
an amount), and text in a label's place that has no digits ("注文番号：未定").
"""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 64
MAX_TEXT = 200_000  # longer text is read only this far (a quoted mail thread, a pasted log)

_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63"})
_LABEL = (
    r"(?:ご?注文(?:番号|No\.?|ID)|受注番号|オーダー(?:番号|ID|No\.?)"
    r"|order[ \t]*(?:number|no\b\.?|id\b)|order(?=[ \t]*#))"
)
_LABELLED = re.compile(
    _LABEL
    + r"(?:[ \t]|[-:#=】」』\])]|\bis\b|は)*(?<![A-Za-z0-9])([A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*)",
    re.IGNORECASE,
)
_RAKUTEN = re.compile(r"(?<![0-9A-Za-z-])([0-9]{6}-20[0-9]{6}-[0-9]{10})(?![0-9A-Za-z-])")


def normalise(number: str) -> str:
    """An order number as stored and searched: NFKC, dashes unified, trimmed, upper case."""
    text = unicodedata.normalize("NFKC", number or "").translate(_DASHES)
    return text.strip().strip("#").strip().upper()[:MAX_LENGTH]


def _plausible(token: str) -> bool:
    return 4 <= len(token) <= MAX_LENGTH and sum(c.isdigit() for c in token) >= 3


def find(text: str) -> list[str]:
    """Order numbers in ``text``, first appearance first, each once (normalised)."""
    prepared = unicodedata.normalize("NFKC", (text or "")[:MAX_TEXT]).translate(_DASHES)
    found: list[tuple[int, str]] = []
    for match in _LABELLED.finditer(prepared):
        token = match.group(1)
        if _plausible(token):
            found.append((match.start(1), token.upper()))
    for match in _RAKUTEN.finditer(prepared):
        found.append((match.start(1), match.group(1)))
    seen: dict[str, None] = {}
    for _pos, number in sorted(found):
        seen.setdefault(number, None)
    return list(seen)
