"""Two-character search keys (bigrams), so that two-character words such as 「配送」 are found through an index.

Trigram indexes (migration 0002) cannot serve terms shorter than three characters, yet
two-character words are everyday Japanese (配送, 返品, 交換, 佐藤). Migration 0005 adds a
second index of every two-character window of a message's subject, sender address and text:
on SQLite a contentless FTS5 table ``messages_bigrams`` fed by triggers that call
``inbox_bigrams()`` (this module, registered on every connection by ``inbox.db``); on
PostgreSQL a GIN index on the SQL function ``inbox_bigrams()`` defined by that migration.
Both are candidate filters: search re-checks every hit with LIKE, so a key that is too
generous costs time, never correctness.

Only the first ``INDEX_PREFIX`` characters (65,536) of each field are indexed, on both
backends (PostgreSQL: migration 0007), so that the cost per message is bounded and linear:
a two-character word is found through this index when it appears within that prefix of
the subject, sender address or text. Longer words use the trigram indexes, which cover
the whole text.
"""

from __future__ import annotations

from typing import Any

INDEX_PREFIX = 65536  # characters of each field that are indexed; migration 0007 says the same


def indexable(char: str) -> bool:
    """A character that may be part of a key: ASCII letters and digits, any other non-space.

    The SQLite side stores keys through FTS5's ``ascii`` tokenizer, which keeps every
    non-ASCII character and ASCII letters and digits inside a token, so a key made of
    indexable characters is always exactly one token there.
    """
    if char.isascii():
        return char.isalnum()
    return not char.isspace()


def has_key(term: str) -> bool:
    """Whether a two-character term can be looked up in the bigram index."""
    return len(term) == 2 and all(indexable(c) for c in term)


def bigram_keys(*parts: str | None) -> str:
    """The distinct two-character keys of ``parts``, separated by spaces (the FTS5 column).

    A key never spans two parts: each part is read on its own, up to INDEX_PREFIX characters.
    """
    keys: dict[str, None] = {}
    for part in parts:
        if not part:
            continue
        part = part[:INDEX_PREFIX]
        for i in range(len(part) - 1):
            pair = part[i : i + 2]
            if indexable(pair[0]) and indexable(pair[1]):
                keys[pair] = None
    return " ".join(keys)


def register_sqlite_functions(dbapi_conn: Any) -> None:
    """Make ``inbox_bigrams(subject, from_address, text)`` callable from SQL (the triggers use it)."""
    dbapi_conn.create_function("inbox_bigrams", 3, bigram_keys, deterministic=True)
