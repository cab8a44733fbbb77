"""Mall sync: a request slot per mall account shared by all schedulers; when each open thread was re-checked

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01

``mall_rate_slots`` holds, per mall account, the earliest time (UNIX seconds) the next API
request may leave, so the one-request-per-second limit holds across scheduler processes.
``mall_rechecks`` holds when each open mall thread was last re-fetched, so the recheck takes the
least recently checked threads first instead of always the same oldest 200.
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mall_rate_slots",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_mall_rate_slots")),
    )
    op.create_table(
        "mall_rechecks",
        sa.Column("thread_id", _id, nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name=op.f("fk_mall_rechecks_thread_id_threads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thread_id", name=op.f("pk_mall_rechecks")),
    )
    op.create_index(op.f("ix_mall_rechecks_checked_at"), "mall_rechecks", ["checked_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_mall_rechecks_checked_at"), table_name="mall_rechecks")
    op.drop_table("mall_rechecks")
    op.drop_table("mall_rate_slots")
