"""robust ingest: a linear, bounded two-character index function, and mailbox outage bookkeeping

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

PostgreSQL's inbox_bigrams() of 0005 took substr(part, i, 2) for every i, and substr walks
a UTF-8 string from its start: quadratic (32,000 characters took 11.8 s; a 1 MB subject
never finished). The new definition splits each field into characters once and pairs each
with the next (unnest of the array and of the same array from its second element): linear.
Both backends now index only the first 65,536 characters of each field (INDEX_PREFIX in
inbox/search_bigrams.py); search re-checks candidates against the whole text.
The index is rebuilt so that its entries match the new function on both backends.

The table mailbox_outages holds, per mailbox whose polls keep failing, since when and how
often: the outage is shown in words on the admin page and mailed to the admins once
(inbox/services/mailbox_health.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PG_LINEAR = r"""CREATE OR REPLACE FUNCTION inbox_bigrams(subject text, from_address text, body text)
    RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(array_agg(DISTINCT key), '{}')
        FROM unnest(ARRAY[lower(left(subject, 65536)), lower(left(from_address, 65536)),
                          lower(left(body, 65536))]) AS part,
             LATERAL (SELECT string_to_array(part, NULL) AS chars) AS split,
             LATERAL (SELECT a || b AS key FROM unnest(chars, chars[2:]) AS w(a, b)) AS windows
        WHERE key IS NOT NULL AND key !~ '[ \t\n\r\f\v]'
    $$"""

PG_QUADRATIC = r"""CREATE OR REPLACE FUNCTION inbox_bigrams(subject text, from_address text, body text)
    RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(array_agg(DISTINCT key), '{}')
        FROM unnest(ARRAY[lower(subject), lower(from_address), lower(body)]) AS part,
             LATERAL (
                 SELECT substr(part, i, 2) AS key
                 FROM generate_series(1, length(part) - 1) AS i
             ) AS windows
        WHERE key !~ '[ \t\n\r\f\v]'
    $$"""

# SQLite: the keys come from Python (inbox.search_bigrams.bigram_keys, registered on every
# connection); rows indexed before the prefix bound are indexed again so that the 'delete'
# command of the contentless table is always given the keys that were inserted.
SQLITE_REBUILD = [
    "INSERT INTO messages_bigrams(messages_bigrams) VALUES ('delete-all')",
    """INSERT INTO messages_bigrams(rowid, keys)
    SELECT id, inbox_bigrams(subject, from_address, text) FROM messages""",
]


def upgrade() -> None:
    op.create_table(
        "mailbox_outages",
        sa.Column("mailbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failed_polls", sa.Integer(), server_default="0", nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mailbox_id"], ["mailboxes.id"],
            name="fk_mailbox_outages_mailbox_id_mailboxes", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mailbox_id", name="pk_mailbox_outages"),
    )
    name = op.get_bind().dialect.name
    if name == "postgresql":
        op.execute(PG_LINEAR)
        op.execute("REINDEX INDEX ix_messages_bigrams")
    elif name == "sqlite":
        for sql in SQLITE_REBUILD:
            op.execute(sql)


def downgrade() -> None:
    name = op.get_bind().dialect.name
    if name == "postgresql":
        op.execute(PG_QUADRATIC)
        op.execute("REINDEX INDEX ix_messages_bigrams")
    op.drop_table("mailbox_outages")
