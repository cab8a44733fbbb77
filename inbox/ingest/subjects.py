"""Subject comparison keys and ticket tokens; knows nothing of MIME or storage."""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["find_ticket_token", "normalize_subject"]

# Applied after NFKC, so full-width "Ｒｅ：" has already become "Re:".
_PREFIX = re.compile(
    r"""^\s*(?:
        (?:re|fw|fwd|aw|wg|sv|vs|antw|antwort|tr|rif|odp|返信|転送|回复|转发|答复)
            \s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*:
      | \[[^\[\]\#:]*[:\s]\d+\]          # mailing-list counters: [ml-name:01234], [ml 0123]
    )\s*""",
    re.IGNORECASE | re.VERBOSE,
)
_SPACE = re.compile(r"\s+")


def normalize_subject(s: str | None) -> str:
    """Return a comparison key: NFKC, reply/forward prefixes and list counters removed,
    whitespace collapsed, case-folded. "[#123]"-style ticket tags are kept.

    Not for display: use the decoded subject for that.
    """
    if not s:
        return ""
    key = unicodedata.normalize("NFKC", s)
    key = _SPACE.sub(" ", key).strip()
    while True:
        m = _PREFIX.match(key)
        if not m or m.end() == 0:
            break
        key = key[m.end() :]
    return key.strip().casefold()


@functools.lru_cache(maxsize=32)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def find_ticket_token(subject: str | None, pattern: str = r"\[#(\d+)\]") -> str | None:
    """Return the first captured group of `pattern` in the subject (or in its NFKC form,
    so "［＃１２３］" matches too), else None. Raises re.error for an invalid pattern."""
    if not subject:
        return None
    rx = _compile(pattern)
    for candidate in (subject, unicodedata.normalize("NFKC", subject)):
        m = rx.search(candidate)
        if m:
            return m.group(1) if rx.groups else m.group(0)
    return None
