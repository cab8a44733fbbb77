"""An index of the outbox items not sent

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-01

``ix_outbox_unsent``: a partial index of the outbox items whose status is not ``sent``. The header
badge of every page counts the user's failed replies; with almost every item sent, SQLite's
statistics made it walk every thread of the user instead (4.7 s a page at 1,000,000 threads).
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_unsent", "outbox", ["status", "thread_id"],
                    sqlite_where=sa.text("status != 'sent'"), postgresql_where=sa.text("status != 'sent'"))


def downgrade() -> None:
    op.drop_index("ix_outbox_unsent", table_name="outbox")
