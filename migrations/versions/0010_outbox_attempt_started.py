"""outbox.attempt_started_at: when the network call of the current attempt began

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

A worker claims several items at once but sends them one by one. The moment each send
begins is committed on its own, so that after a crash an item whose send never began goes
back to the queue, and only one whose send had begun is marked "unknown".
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("attempt_started_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("attempt_started_at")
