"""Satisfaction follow-up mails and faster reports

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01

``csat_followups``: one row per (thread, resolution) for which the survey follow-up mail was
queued or skipped, so each resolution gets at most one.

``ix_thread_facts_unresolved``: a partial index of the threads not resolved now, so that the
reports count the backlog at the start of a period without reading every thread ever received.
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


_id = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "csat_followups",
        sa.Column("thread_id", _id, nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mailbox_id", _id, nullable=False),
        sa.Column("outbox_id", _id, nullable=True),
        sa.Column("skipped", sa.String(length=40), nullable=True),
        sa.Column("language", sa.String(length=8), server_default="ja", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name=op.f("fk_csat_followups_thread_id_threads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_csat_followups_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_csat_followups_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("thread_id", "resolved_at", name=op.f("pk_csat_followups")),
    )


    op.create_index("ix_thread_facts_unresolved", "thread_facts", ["received_at", "mailbox_id"],
                    sqlite_where=sa.text("resolved_at IS NULL"), postgresql_where=sa.text("resolved_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_thread_facts_unresolved", table_name="thread_facts")
    op.drop_table("csat_followups")
