"""subject-match index also covers last_activity_at, so threading by customer and subject is one index probe

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

Without it SQLite answered "the customer's latest thread with this subject since ..." by
walking ix_threads_queue_activity over every thread in the window, once per message: an
import of 100,000 messages slowed from 701 to 174 messages/s.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_threads_match_subject", table_name="threads")
    op.create_index(
        "ix_threads_match_subject",
        "threads",
        ["mailbox_id", "contact_id", "normalized_subject", "last_activity_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_threads_match_subject", table_name="threads")
    op.create_index(
        "ix_threads_match_subject", "threads", ["mailbox_id", "contact_id", "normalized_subject"]
    )
