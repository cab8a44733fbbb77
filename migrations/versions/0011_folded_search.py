"""folded search: width, case, kana and spaces folded on the index and the query; sender names searched; saved searches

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

Search used to compare raw text: half-width 「ｻｲｽﾞ」, hiragana 「さいず」 and full-width
「ＳＳ－２０２６」 found nothing, nor did a customer's name. Both indexes now hold what
inbox/search_fold.py defines: subject, sender name, sender address and text, each folded
(NFKC, lower case, no white space, katakana for hiragana), joined by a separator.

SQLite: the trigram table messages_fts becomes contentless over that folded text, and the
bigram table's keys come from it; both fed by triggers calling the Python functions that
inbox.db registers on every connection. PostgreSQL: SQL functions inbox_fold() and
inbox_search_text() doing the same steps, and GIN indexes (trigram and bigram) on the
expression; the per-column trigram and bigram indexes they replace are dropped.
tests/test_schema.py skips these objects by name (SEARCH_OBJECTS there).

The table saved_searches keeps a user's named searches (words and filters), listed in the
queue's sidebar.
"""

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

HIRAGANA = "".join(chr(c) for c in range(0x3041, 0x3097))
KATAKANA = "".join(chr(c) for c in range(0x30A1, 0x30F7))
FOLDED = "inbox_search_text({p}subject, {p}from_name, {p}from_address, {p}text)"

SQLITE_UP = [
    "DROP TRIGGER IF EXISTS messages_fts_au",
    "DROP TRIGGER IF EXISTS messages_fts_ad",
    "DROP TRIGGER IF EXISTS messages_fts_ai",
    "DROP TABLE IF EXISTS messages_fts",
    "CREATE VIRTUAL TABLE messages_fts USING fts5(folded, content='', tokenize='trigram')",
    f"""CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, folded) VALUES (new.id, {FOLDED.format(p='new.')});
    END""",
    f"""CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, folded)
        VALUES ('delete', old.id, {FOLDED.format(p='old.')});
    END""",
    f"""CREATE TRIGGER messages_fts_au AFTER UPDATE OF subject, from_name, from_address, text
    ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, folded)
        VALUES ('delete', old.id, {FOLDED.format(p='old.')});
        INSERT INTO messages_fts(rowid, folded) VALUES (new.id, {FOLDED.format(p='new.')});
    END""",
    f"INSERT INTO messages_fts(rowid, folded) SELECT id, {FOLDED.format(p='')} FROM messages",
    "DROP TRIGGER IF EXISTS messages_bigrams_au",
    "DROP TRIGGER IF EXISTS messages_bigrams_ad",
    "DROP TRIGGER IF EXISTS messages_bigrams_ai",
    "INSERT INTO messages_bigrams(messages_bigrams) VALUES ('delete-all')",
    f"""CREATE TRIGGER messages_bigrams_ai AFTER INSERT ON messages BEGIN
        INSERT INTO messages_bigrams(rowid, keys)
        VALUES (new.id, inbox_bigrams({FOLDED.format(p='new.')}, '', ''));
    END""",
    f"""CREATE TRIGGER messages_bigrams_ad AFTER DELETE ON messages BEGIN
        INSERT INTO messages_bigrams(messages_bigrams, rowid, keys)
        VALUES ('delete', old.id, inbox_bigrams({FOLDED.format(p='old.')}, '', ''));
    END""",
    f"""CREATE TRIGGER messages_bigrams_au AFTER UPDATE OF subject, from_name, from_address, text
    ON messages BEGIN
        INSERT INTO messages_bigrams(messages_bigrams, rowid, keys)
        VALUES ('delete', old.id, inbox_bigrams({FOLDED.format(p='old.')}, '', ''));
        INSERT INTO messages_bigrams(rowid, keys)
        VALUES (new.id, inbox_bigrams({FOLDED.format(p='new.')}, '', ''));
    END""",
    f"""INSERT INTO messages_bigrams(rowid, keys)
    SELECT id, inbox_bigrams({FOLDED.format(p='')}, '', '') FROM messages""",
]

# Revert to 0002's external-content table and 0005's bigram triggers.
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS messages_fts_au",
    "DROP TRIGGER IF EXISTS messages_fts_ad",
    "DROP TRIGGER IF EXISTS messages_fts_ai",
    "DROP TABLE IF EXISTS messages_fts",
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
    "DROP TRIGGER IF EXISTS messages_bigrams_au",
    "DROP TRIGGER IF EXISTS messages_bigrams_ad",
    "DROP TRIGGER IF EXISTS messages_bigrams_ai",
    "INSERT INTO messages_bigrams(messages_bigrams) VALUES ('delete-all')",
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

PG_UP = [
    # ASCII-only text (octets = characters) needs no NFKC and has no kana: it skips the costly
    # steps, which gives the same result (NFKC leaves ASCII as it is).
    rf"""CREATE FUNCTION inbox_fold(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN octet_length(coalesce(t, '')) = length(coalesce(t, ''))
            THEN regexp_replace(lower(coalesce(t, '')), E'[ \\t\\n\\r\\f\\v\\x1c-\\x1f]+', '', 'g')
            ELSE translate(
                regexp_replace(lower(normalize(t, NFKC)),
                               E'[ \\t\\n\\r\\f\\v\\x1c-\\x1f\\u0085\\u1680\\u2028\\u2029]+', '', 'g'),
                '{HIRAGANA}', '{KATAKANA}')
        END
    $$""",
    # Each field is folded up to FOLD_LIMIT characters (inbox/search_fold.py says the same).
    r"""CREATE FUNCTION inbox_search_text(subject text, from_name text, from_address text, body text)
    RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT inbox_fold(left(subject, 1000000)) || E'\x1f' || inbox_fold(left(from_name, 1000000))
            || E'\x1f' || inbox_fold(left(from_address, 1000000)) || E'\x1f'
            || inbox_fold(left(body, 1000000))
    $$""",
    "CREATE INDEX ix_messages_search_trgm ON messages "
    f"USING gin ({FOLDED.format(p='')} gin_trgm_ops)",
    "CREATE INDEX ix_messages_search_bigrams ON messages "
    f"USING gin (inbox_bigrams({FOLDED.format(p='')}, '', ''))",
    "DROP INDEX IF EXISTS ix_messages_text_trgm",
    "DROP INDEX IF EXISTS ix_messages_subject_trgm",
    "DROP INDEX IF EXISTS ix_messages_from_address_trgm",
    "DROP INDEX IF EXISTS ix_messages_bigrams",
]

PG_DOWN = [
    "CREATE INDEX ix_messages_text_trgm ON messages USING gin (text gin_trgm_ops)",
    "CREATE INDEX ix_messages_subject_trgm ON messages USING gin (subject gin_trgm_ops)",
    "CREATE INDEX ix_messages_from_address_trgm ON messages USING gin (from_address gin_trgm_ops)",
    "CREATE INDEX ix_messages_bigrams ON messages USING gin (inbox_bigrams(subject, from_address, text))",
    "DROP INDEX IF EXISTS ix_messages_search_bigrams",
    "DROP INDEX IF EXISTS ix_messages_search_trgm",
    "DROP FUNCTION IF EXISTS inbox_search_text(text, text, text, text)",
    "DROP FUNCTION IF EXISTS inbox_fold(text)",
]


def _statements(sqlite: list[str], postgresql: list[str]) -> list[str]:
    name = op.get_bind().dialect.name
    return {"sqlite": sqlite, "postgresql": postgresql}.get(name, [])


def upgrade() -> None:
    for sql in _statements(SQLITE_UP, PG_UP):
        op.execute(sql)
    _id = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
    json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
    op.create_table(
        "saved_searches",
        sa.Column("id", _id, nullable=False),
        sa.Column("user_id", _id, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.Text(), server_default="", nullable=False),
        sa.Column("filters", json, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_saved_searches_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_saved_searches_user_id_name")),
    )
    op.create_index(op.f("ix_saved_searches_user_id"), "saved_searches", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_saved_searches_user_id", table_name="saved_searches")
    op.drop_table("saved_searches")
    for sql in _statements(SQLITE_DOWN, PG_DOWN):
        op.execute(sql)
