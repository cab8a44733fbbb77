"""auto_acks: one auto-acknowledgement (自動返信) per thread, and the per-sender loop guard

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30

A mailbox may answer each new thread once with a template. Each acknowledgement queued is a
row here: the unique thread_id makes it once per thread, and (mailbox_id, address,
created_at) lets the loop guard find the last one sent to an address. The new thread status
"automatic" (自動メール) needs no schema change: statuses are stored as text.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "auto_acks",
        sa.Column("id", _id, nullable=False),
        sa.Column("mailbox_id", _id, nullable=False),
        sa.Column("thread_id", _id, nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("outbox_id", _id, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"], ["mailboxes.id"], name=op.f("fk_auto_acks_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_auto_acks_thread_id_threads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_auto_acks_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_acks")),
        sa.UniqueConstraint("thread_id", name=op.f("uq_auto_acks_thread_id")),
    )
    op.create_index(
        "ix_auto_acks_mailbox_address", "auto_acks", ["mailbox_id", "address", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_auto_acks_mailbox_address", table_name="auto_acks")
    op.drop_table("auto_acks")
