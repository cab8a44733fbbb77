"""voice of the customer (term counts per mailbox and day, message-term links, analysed
messages, the job's cursor) and customer satisfaction answers

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
_ts = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "term_counts",
        sa.Column("mailbox_id", _id, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        _fk("term_counts", "mailbox_id", "mailboxes"),
        sa.PrimaryKeyConstraint("mailbox_id", "day", "term", name=op.f("pk_term_counts")),
    )
    op.create_table(
        "message_terms",
        sa.Column("message_id", _id, nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("thread_id", _id, nullable=False),
        sa.Column("mailbox_id", _id, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        _fk("message_terms", "message_id", "messages"),
        _fk("message_terms", "thread_id", "threads"),
        _fk("message_terms", "mailbox_id", "mailboxes"),
        sa.PrimaryKeyConstraint("message_id", "term", name=op.f("pk_message_terms")),
    )
    op.create_index("ix_message_terms_term", "message_terms", ["term", "mailbox_id", "day"])
    op.create_table(
        "terms_analysed",
        sa.Column("message_id", _id, nullable=False),
        sa.Column("analysed_at", _ts, nullable=False),
        _fk("terms_analysed", "message_id", "messages"),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_terms_analysed")),
    )
    op.create_table(
        "analysis_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_id", _id, server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analysis_cursors")),
    )
    op.create_table(
        "csat_answers",
        sa.Column("thread_id", _id, nullable=False),
        sa.Column("mailbox_id", _id, nullable=False),
        sa.Column("agent_id", _id, nullable=True),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("language", sa.String(length=8), server_default="ja", nullable=False),
        sa.Column("answered_at", _ts, nullable=False),
        sa.Column("changed_at", _ts, nullable=False),
        _fk("csat_answers", "thread_id", "threads"),
        _fk("csat_answers", "mailbox_id", "mailboxes"),
        _fk("csat_answers", "agent_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("thread_id", name=op.f("pk_csat_answers")),
    )
    op.create_index(
        "ix_csat_answers_mailbox_answered", "csat_answers", ["mailbox_id", "answered_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_csat_answers_mailbox_answered", table_name="csat_answers")
    op.drop_table("csat_answers")
    op.drop_table("analysis_cursors")
    op.drop_table("terms_analysed")
    op.drop_index("ix_message_terms_term", table_name="message_terms")
    op.drop_table("message_terms")
    op.drop_table("term_counts")
