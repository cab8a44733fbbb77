"""Job runs: when a piece of scheduled work last ran, how long it took and what it did

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01

One row per job name (the alert scan, the retention run), overwritten at each run, so that
/metrics in any web process can show the scan duration measured in a scheduler process.
An index on messages (mailbox, direction, parse_failed, id) lets /metrics count each mailbox's
ingested and flagged mail and find its newest customer message without reading the table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(120), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("result", _json, nullable=False),
    )


    op.create_index("ix_messages_mailbox_direction", "messages", ["mailbox_id", "direction", "parse_failed", "id"])


def downgrade() -> None:
    op.drop_index("ix_messages_mailbox_direction", table_name="messages")
    op.drop_table("job_runs")
