"""search indexes: SQLite FTS5 trigram table with triggers, PostgreSQL pg_trgm GIN indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

The models cannot express these objects; tests/test_schema.py skips them by name
(SEARCH_OBJECTS there must list every name created here).
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite: an external-content FTS5 table over messages(subject, from_address, text), kept in
# sync by triggers. The trigram tokenizer indexes every 3-character substring, so substring
# search works for Japanese (no word breaks needed); case-insensitive for ASCII.
SQLITE_UP = [
    """CREATE VIRTUAL TABLE messages_fts USING fts5(
        subject, from_address, text,
        content='messages', content_rowid='id', tokenize='trigram'
    )""",
    """CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, subject, from_address, text)
        VALUES (new.id, new.subject, new.from_address, new.text);
    END""",
    """CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, subject, from_address, text)
        VALUES ('delete', old.id, old.subject, old.from_address, old.text);
    END""",
    """CREATE TRIGGER messages_fts_au AFTER UPDATE OF subject, from_address, text ON messages
    BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, subject, from_address, text)
        VALUES ('delete', old.id, old.subject, old.from_address, old.text);
        INSERT INTO messages_fts(rowid, subject, from_address, text)
        VALUES (new.id, new.subject, new.from_address, new.text);
    END""",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS messages_fts_au",
    "DROP TRIGGER IF EXISTS messages_fts_ad",
    "DROP TRIGGER IF EXISTS messages_fts_ai",
    "DROP TABLE IF EXISTS messages_fts",
]

# PostgreSQL: pg_trgm GIN indexes serve LIKE/ILIKE '%...%'. Japanese characters count as
# word characters only under a UTF-8 LC_CTYPE other than "C" (C.UTF-8, ja_JP.UTF-8, ...).
PG_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_messages_text_trgm ON messages USING gin (text gin_trgm_ops)",
    "CREATE INDEX ix_messages_subject_trgm ON messages USING gin (subject gin_trgm_ops)",
    "CREATE INDEX ix_messages_from_address_trgm ON messages "
    "USING gin (from_address gin_trgm_ops)",
]
PG_DOWN = [
    "DROP INDEX IF EXISTS ix_messages_from_address_trgm",
    "DROP INDEX IF EXISTS ix_messages_subject_trgm",
    "DROP INDEX IF EXISTS ix_messages_text_trgm",
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
