"""Split a plain-text reply into new text and folded quoted history/signature; text only."""

from __future__ import annotations

import re

__all__ = ["split_quoted"]

_QUOTED = re.compile(r"^[ \t]*[>＞]")
_ORIGINAL = re.compile(
    r"^[ \t]*-{2,}[ \t]*(?:original message|元のメッセージ|オリジナルメッセージ|返信元メッセージ)"
    r"[ \t]*-{2,}[ \t]*$",
    re.IGNORECASE,
)
_ATTRIBUTION = re.compile(
    r"(?:\bwrote|\bwrites|さんは書きました|様は書きました|は書きました|さんからのメール|"
    r"schrieb|a écrit)[ \t]*[:：]?[ \t]*$",
    re.IGNORECASE,
)
_ON_START = re.compile(r"^[ \t]*(?:On|Le|Am|El)\b", re.IGNORECASE)
_DATE_HEADER = re.compile(
    r"^[ \t]*\d{4}[年/.-][ \t]*\d{1,2}[月/.-][ \t]*\d{1,2}日?.*(?:<[^<>@\s]+@[^<>\s]+>|\d{1,2}:\d{2})"
    r".*[:：][ \t]*$"
)
_HEADER_START = re.compile(r"^[ \t]*\**(?:from|差出人|送信者|送信元)\**[ \t]*[:：]", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^[ \t]*\**(?:sent|date|to|cc|subject|送信日時|日時|送信日|宛先|件名|cc)\**[ \t]*[:：]",
    re.IGNORECASE,
)
_OUTLOOK_RULE = re.compile(r"^[ \t]*_{10,}[ \t]*$")
_SIG_DASHES = re.compile(r"^-- ?$")
_SIG_RULE = re.compile(r"^[ \t]*(?:[━─―—=＝*＊■□◆◇☆★・~〜_-]){4,}[ \t]*$")
_SIG_HINT = re.compile(
    r"@|https?://|\b(?:tel|fax|phone|mobile)\b|電話|〒|株式会社|有限会社|\(株\)|㈱|co\.,? ?ltd|inc\.",
    re.IGNORECASE,
)
_SIG_MAX_LINES = 15


def split_quoted(text: str) -> tuple[str, str]:
    """Return (new_text, folded_rest), cutting at the first quoted-history or signature line.

    Conservative: a quote block followed by further unquoted text (inline replies) is not
    cut, and new_text is never empty when the message has any unquoted text.
    """
    if not text:
        return "", ""
    lines = text.split("\n")
    cut = _find_cut(lines)
    if cut is None:
        return text, ""
    new = "\n".join(lines[:cut]).rstrip()
    if not new.strip():
        return text, ""
    return new, "\n".join(lines[cut:]).strip("\n")


def _find_cut(lines: list[str]) -> int | None:
    n = len(lines)
    for i, line in enumerate(lines):
        if not line or line.isspace():
            continue
        if _QUOTED.match(line):
            if _only_history_after(lines, i):
                return i
            continue
        if _ORIGINAL.match(line):
            return i
        if _ATTRIBUTION.search(line) and _leads_into_history(lines, i):
            return _attribution_start(lines, i)
        if _DATE_HEADER.match(line) and _leads_into_history(lines, i):
            return i
        if _HEADER_START.match(line) and _header_block(lines, i):
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            return j if j >= 0 and _OUTLOOK_RULE.match(lines[j]) else i
        if _SIG_DASHES.match(line) and n - i <= _SIG_MAX_LINES * 2:
            return i
        if _SIG_RULE.match(line) and _signature_after(lines, i):
            return i
    return None


def _only_history_after(lines: list[str], i: int) -> bool:
    """True when nothing but quotes, blanks and a signature follows line i."""
    for j in range(i + 1, len(lines)):
        line = lines[j]
        if not line.strip() or _QUOTED.match(line):
            continue
        return bool(
            _SIG_DASHES.match(line)
            or _SIG_RULE.match(line)
            or _ORIGINAL.match(line)
            or _HEADER_START.match(line)
            or _ATTRIBUTION.search(line)
        )
    return True


def _leads_into_history(lines: list[str], i: int) -> bool:
    """An attribution line counts only if quoted text or a blank then quote follows it."""
    for j in range(i + 1, min(i + 4, len(lines))):
        if not lines[j].strip():
            continue
        return bool(_QUOTED.match(lines[j]))
    return i + 1 >= len(lines)


def _attribution_start(lines: list[str], i: int) -> int:
    """Gmail wraps "On <date> <name> <addr> wrote:" over two lines; find where it starts."""
    if _ON_START.match(lines[i]) or i == 0:
        return i
    prev = lines[i - 1]
    return i - 1 if prev.strip() and _ON_START.match(prev) else i


def _header_block(lines: list[str], i: int) -> bool:
    for j in range(i + 1, min(i + 5, len(lines))):
        if _HEADER_NEXT.match(lines[j]):
            return True
    return False


def _signature_after(lines: list[str], i: int) -> bool:
    rest = [x for x in lines[i + 1 :] if x.strip()]
    if not rest or len(rest) > _SIG_MAX_LINES:
        return False
    return any(_SIG_HINT.search(x) for x in rest)
