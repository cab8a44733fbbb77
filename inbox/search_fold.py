"""Folding for search, the same on the index and the query: what makes 「ｻｲｽﾞ」, 「さいず」 and
「サイズ」 one word, and 「佐々木花子」 find 「佐々木 花子」.

``fold`` applies, in order: Unicode NFKC (full-width Latin and digits, half-width kana, circled
and compatibility characters become their plain forms), lower case, removal of every white
space, and hiragana to katakana. ``search_text`` folds what a message is searched by — its
subject, sender name, sender address and text, each up to ``FOLD_LIMIT`` characters — into
one string, the fields kept apart by ``FIELD_SEPARATOR`` (a control character no query can
contain, so no match spans two fields).

SQLite's index is fed by these functions (registered on every connection by ``inbox.db`` as
``inbox_search_text`` and ``inbox_fold``); PostgreSQL's by SQL functions of the same names
(migration 0011) that do the same steps, and a query is folded by the same function its index
was built with. Changing a step here means a migration that rebuilds the index.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

FIELD_SEPARATOR = "\x1f"
FOLD_LIMIT = 1_000_000  # characters of each field that are searched; migration 0011 says the same
HIRAGANA = "".join(chr(c) for c in range(0x3041, 0x3097))  # ぁ … ゖ
KATAKANA = "".join(chr(c) for c in range(0x30A1, 0x30F7))  # ァ … ヶ
_KANA = str.maketrans(HIRAGANA, KATAKANA)
# White space after NFKC (which already made U+3000 and the other wide spaces plain), and the
# separator controls: the same set as the PostgreSQL function.
SPACES = " \t\n\r\f\v\x1c\x1d\x1e\x1f\x85\u1680\u2028\u2029"
_SPACE = re.compile(f"[{re.escape(SPACES)}]+")


def fold(text: str | None) -> str:
    """``text`` as search compares it: NFKC, lower case, no white space, katakana for hiragana."""
    if not text:
        return ""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text).lower()).translate(_KANA)


def search_text(
    subject: str | None, from_name: str | None, from_address: str | None, text: str | None
) -> str:
    """What a message is found by, folded: its four fields joined by ``FIELD_SEPARATOR``."""
    return FIELD_SEPARATOR.join(
        fold(part[:FOLD_LIMIT] if part else part) for part in (subject, from_name, from_address, text)
    )


def register_sqlite_functions(dbapi_conn: Any) -> None:
    """Make ``inbox_search_text(...)`` and ``inbox_fold(text)`` callable from SQLite's SQL."""
    dbapi_conn.create_function("inbox_search_text", 4, search_text, deterministic=True)
    dbapi_conn.create_function("inbox_fold", 1, fold, deterministic=True)
