"""Thread merge and split (undoable) and reply drafts saved on the server

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01

threads.merged_into_id points a merged thread at the one it now lives in (its page redirects
there); thread_operations keeps what each merge or split moved so that it can be undone;
reply_drafts holds one autosaved draft per (thread, user).
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
_json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
_when = sa.DateTime(timezone=True)


def upgrade() -> None:
    # No foreign key: on SQLite adding one means copying threads, which everything points at.
    op.add_column("threads", sa.Column("merged_into_id", _id, nullable=True))
    op.create_table(
        "thread_operations",
        sa.Column("id", _id, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("thread_id", _id, nullable=False),
        sa.Column("actor_id", _id, nullable=True),
        sa.Column("data", _json, nullable=False),
        sa.Column("created_at", _when, nullable=False),
        sa.Column("undone_at", _when, nullable=True),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_thread_operations_thread_id_threads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_thread_operations_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thread_operations")),
    )
    op.create_index("ix_thread_operations_thread_id", "thread_operations", ["thread_id"])
    op.create_table(
        "reply_drafts",
        sa.Column("thread_id", _id, nullable=False),
        sa.Column("user_id", _id, nullable=False),
        sa.Column("to", sa.Text(), server_default="", nullable=False),
        sa.Column("cc", sa.Text(), server_default="", nullable=False),
        sa.Column("bcc", sa.Text(), server_default="", nullable=False),
        sa.Column("subject", sa.Text(), server_default="", nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("updated_at", _when, nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_reply_drafts_thread_id_threads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reply_drafts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thread_id", "user_id", name=op.f("pk_reply_drafts")),
    )
    op.create_index("ix_reply_drafts_user_id", "reply_drafts", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_reply_drafts_user_id", table_name="reply_drafts")
    op.drop_table("reply_drafts")
    op.drop_index("ix_thread_operations_thread_id", table_name="thread_operations")
    op.drop_table("thread_operations")
    if op.get_bind().dialect.name == "sqlite":  # SQLite 3.35+; a batch copy would drop threads
        op.execute("ALTER TABLE threads DROP COLUMN merged_into_id")
    else:
        op.drop_column("threads", "merged_into_id")
