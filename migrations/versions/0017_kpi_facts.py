"""thread_facts and reply_facts: KPI facts kept as events happen, for the reports

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01

One row per thread (first customer message, first delivered reply, resolutions, reopenings,
times in business and wall seconds) and one per delivered reply (author, deadline met), so
that reports read a few indexed columns and never scan messages. Threads stored before this
revision get their facts from ``inbox report rebuild-facts``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "thread_facts",
        sa.Column("thread_id", _id, nullable=False),
        sa.Column("mailbox_id", _id, nullable=False),
        _ts("received_at"),
        sa.Column("received_day", sa.Date(), nullable=True),
        sa.Column("received_dow", sa.Integer(), nullable=True),
        sa.Column("received_hour", sa.Integer(), nullable=True),
        _ts("first_reply_at"),
        sa.Column("first_reply_by_id", _id, nullable=True),
        _ts("first_reply_due_at"),
        sa.Column("first_response_business_s", sa.Integer(), nullable=True),
        sa.Column("first_response_wall_s", sa.Integer(), nullable=True),
        sa.Column("replied_within_deadline", sa.Boolean(), nullable=True),
        sa.Column("replies_count", sa.Integer(), server_default="0", nullable=False),
        _ts("first_resolved_at"),
        sa.Column("replies_at_first_resolve", sa.Integer(), nullable=True),
        _ts("first_reopened_at"),
        sa.Column("first_reopen_after_s", sa.Integer(), nullable=True),
        _ts("resolved_at"),
        sa.Column("resolved_day", sa.Date(), nullable=True),
        sa.Column("resolution_business_s", sa.Integer(), nullable=True),
        sa.Column("resolution_wall_s", sa.Integer(), nullable=True),
        sa.Column("reopened_count", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["thread_id"], ["threads.id"],
                                name=op.f("fk_thread_facts_thread_id_threads"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mailbox_id"], ["mailboxes.id"],
                                name=op.f("fk_thread_facts_mailbox_id_mailboxes"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["first_reply_by_id"], ["users.id"],
                                name=op.f("fk_thread_facts_first_reply_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("thread_id", name=op.f("pk_thread_facts")),
    )
    for name, cols in (
        ("ix_thread_facts_received", ["received_at", "mailbox_id", "received_day", "received_dow",
                                      "received_hour"]),
        ("ix_thread_facts_first_reply", ["first_reply_at", "mailbox_id", "first_response_business_s"]),
        ("ix_thread_facts_resolved", ["resolved_at", "mailbox_id", "received_at",
                                      "resolution_business_s", "resolved_day"]),
        ("ix_thread_facts_first_resolved", ["first_resolved_at", "mailbox_id", "replies_at_first_resolve",
                                            "first_reopen_after_s", "first_reopened_at"]),
    ):
        op.create_index(name, "thread_facts", cols)
    op.create_table(
        "reply_facts",
        sa.Column("id", _id, nullable=False),
        sa.Column("outbox_id", _id, nullable=False),
        sa.Column("thread_id", _id, nullable=False),
        sa.Column("mailbox_id", _id, nullable=False),
        sa.Column("author_id", _id, nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        _ts("due_at"),
        sa.Column("within_deadline", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"],
                                name=op.f("fk_reply_facts_outbox_id_outbox"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["thread_id"], ["threads.id"],
                                name=op.f("fk_reply_facts_thread_id_threads"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mailbox_id"], ["mailboxes.id"],
                                name=op.f("fk_reply_facts_mailbox_id_mailboxes"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"],
                                name=op.f("fk_reply_facts_author_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_facts")),
        sa.UniqueConstraint("outbox_id", name=op.f("uq_reply_facts_outbox_id")),
    )
    op.create_index(op.f("ix_reply_facts_thread_id"), "reply_facts", ["thread_id"])
    op.create_index("ix_reply_facts_delivered", "reply_facts",
                    ["delivered_at", "mailbox_id", "author_id", "within_deadline"])


def downgrade() -> None:
    op.drop_table("reply_facts")
    op.drop_table("thread_facts")
