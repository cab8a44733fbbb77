"""Single sign-on: a user may be barred from the password form

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01

``users.password_login`` false means the user logs in through an OpenID Connect provider only.
Existing users keep password log-in.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite too): a batch copy of ``users`` would drop the table, and with it
    # (ON DELETE CASCADE) every mailbox membership.
    op.add_column(
        "users", sa.Column("password_login", sa.Boolean(), server_default=sa.true(), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("users", "password_login")
