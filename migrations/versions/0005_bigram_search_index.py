"""bigram search index: two-character terms (配送, 返品) found through an index, not a scan

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

Trigram indexes (0002) cannot serve terms of two characters. This adds an index of every
two-character window of subject, sender address and text (see inbox/search_bigrams.py).
tests/test_schema.py skips these objects by name (SEARCH_OBJECTS there).
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# SQLite: a contentless FTS5 table holding, per message id, its keys separated by spaces. The
# "ascii" tokenizer keeps each key one token (non-ASCII characters are always token
# characters there). inbox_bigrams() is a Python function that inbox.db registers on every
# connection; the 'delete' command of a contentless table needs the values once inserted,
# which the same deterministic function gives back.
SQLITE_UP = [
    """CREATE VIRTUAL TABLE messages_bigrams USING fts5(
        keys, content='', detail='none', tokenize='ascii'
    )""",
    """CREATE TRIGGER messages_bigrams_ai AFTER INSERT ON messages BEGIN
        INSERT INTO messages_bigrams(rowid, keys)
        VALUES (new.id, inbox_bigrams(new.subject, new.from_address, new.text));
    END""",
    """CREATE TRIGGER messages_bigrams_ad AFTER DELETE ON messages BEGIN
        INSERT INTO messages_bigrams(messages_bigrams, rowid, keys)
        VALUES ('delete', old.id, inbox_bigrams(old.subject, old.from_address, old.text));
    END""",
    """CREATE TRIGGER messages_bigrams_au AFTER UPDATE OF subject, from_address, text ON messages
    BEGIN
        INSERT INTO messages_bigrams(messages_bigrams, rowid, keys)
        VALUES ('delete', old.id, inbox_bigrams(old.subject, old.from_address, old.text));
        INSERT INTO messages_bigrams(rowid, keys)
        VALUES (new.id, inbox_bigrams(new.subject, new.from_address, new.text));
    END""",
    """INSERT INTO messages_bigrams(rowid, keys)
    SELECT id, inbox_bigrams(subject, from_address, text) FROM messages""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS messages_bigrams_au",
    "DROP TRIGGER IF EXISTS messages_bigrams_ad",
    "DROP TRIGGER IF EXISTS messages_bigrams_ai",
    "DROP TABLE IF EXISTS messages_bigrams",
]

# PostgreSQL: an IMMUTABLE SQL function giving the distinct lower-cased two-character windows
# without ASCII white space (each column on its own), and a GIN index on it; search asks
# inbox_bigrams(subject, from_address, text) @> ARRAY[lower(term)].
PG_UP = [
    r"""CREATE FUNCTION inbox_bigrams(subject text, from_address text, body text)
    RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(array_agg(DISTINCT key), '{}')
        FROM unnest(ARRAY[lower(subject), lower(from_address), lower(body)]) AS part,
             LATERAL (
                 SELECT substr(part, i, 2) AS key
                 FROM generate_series(1, length(part) - 1) AS i
             ) AS windows
        WHERE key !~ '[ \t\n\r\f\v]'
    $$""",
    "CREATE INDEX ix_messages_bigrams ON messages "
    "USING gin (inbox_bigrams(subject, from_address, text))",
]
PG_DOWN = [
    "DROP INDEX IF EXISTS ix_messages_bigrams",
    "DROP FUNCTION IF EXISTS inbox_bigrams(text, text, text)",
]


def _statements(sqlite: list[str], postgresql: list[str]) -> list[str]:
    name = op.get_bind().dialect.name
    return {"sqlite": sqlite, "postgresql": postgresql}.get(name, [])


def upgrade() -> None:
    for sql in _statements(SQLITE_UP, PG_UP):
        op.execute(sql)


def downgrade() -> None:
    for sql in _statements(SQLITE_DOWN, PG_DOWN):
        op.execute(sql)
