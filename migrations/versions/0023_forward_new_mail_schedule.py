"""Scheduled sends: the time an outbox item may not leave before

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01

``outbox.scheduled_at`` is set for a reply scheduled for later (its ``next_attempt_at`` starts
there too); the thread shows it as scheduled until it leaves. Forwards (message kind
"forward") and cancelled sends (outbox status "cancelled") are new values of existing
non-native enum columns and need no schema change.
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("scheduled_at")
