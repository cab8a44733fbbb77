"""assignee index also covers the mailbox, for "mine"/"unassigned" counts limited to a user's mailboxes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_threads_assignee_status", table_name="threads")
    op.create_index("ix_threads_assignee_status", "threads", ["assignee_id", "status", "mailbox_id"])


def downgrade() -> None:
    op.drop_index("ix_threads_assignee_status", table_name="threads")
    op.create_index("ix_threads_assignee_status", "threads", ["assignee_id", "status"])
