"""approval before send (承認): held replies, approvers, and who or what requires approval

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01

A reply that needs approval is kept as an ``approval_requests`` row (not in the outbox) until
an approver approves it; it is then queued like any reply. Approval is required per mailbox
(``mailboxes.approval_required``, or for the categories listed in
``mailboxes.approval_category_ids``), per user (``users.approval_required``) or per thread
(``threads.approval_required``, set by a sorting rule). ``mailbox_approvers`` names approvers;
a mailbox without any is approved by its leads.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
_json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _flag(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False)


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite too): a batch copy of ``threads`` would trip over the rows
    # that reference it.
    op.add_column("users", _flag("approval_required"))
    op.add_column("threads", _flag("approval_required"))
    op.add_column("mailboxes", _flag("approval_required"))
    op.add_column("mailboxes", _flag("approval_lead_skip"))
    op.add_column(
        "mailboxes",
        sa.Column("approval_category_ids", _json, server_default=sa.text("'[]'"), nullable=False),
    )
    op.create_table(
        "mailbox_approvers",
        sa.Column("mailbox_id", _id, nullable=False),
        sa.Column("user_id", _id, nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"], ["mailboxes.id"],
            name=op.f("fk_mailbox_approvers_mailbox_id_mailboxes"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"],
            name=op.f("fk_mailbox_approvers_user_id_users"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mailbox_id", "user_id", name=op.f("pk_mailbox_approvers")),
    )
    op.create_index(op.f("ix_mailbox_approvers_user_id"), "mailbox_approvers", ["user_id"])
    op.create_table(
        "approval_requests",
        sa.Column("id", _id, nullable=False),
        sa.Column("thread_id", _id, nullable=False),
        sa.Column("mailbox_id", _id, nullable=False),
        sa.Column("author_id", _id, nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "approved", "returned", "revised", "withdrawn", name="approvalstatus",
                    native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("reply_key", sa.String(length=64), nullable=False),
        sa.Column("draft", _json, nullable=False),
        sa.Column("written_text", sa.Text(), server_default="", nullable=False),
        sa.Column("diff", sa.Text(), server_default="", nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", _id, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_row_id", _id, nullable=True),
        sa.ForeignKeyConstraint(["thread_id"], ["threads.id"],
                                name=op.f("fk_approval_requests_thread_id_threads")),
        sa.ForeignKeyConstraint(["mailbox_id"], ["mailboxes.id"],
                                name=op.f("fk_approval_requests_mailbox_id_mailboxes")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"],
                                name=op.f("fk_approval_requests_author_id_users")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_approval_requests_decided_by_id_users")),
        sa.ForeignKeyConstraint(["message_row_id"], ["messages.id"],
                                name=op.f("fk_approval_requests_message_row_id_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
        sa.UniqueConstraint("thread_id", "reply_key",
                            name=op.f("uq_approval_requests_thread_id_reply_key")),
    )
    op.create_index("ix_approval_requests_mailbox_status", "approval_requests",
                    ["mailbox_id", "status"])
    op.create_index("ix_approval_requests_author_status", "approval_requests",
                    ["author_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_approval_requests_author_status", table_name="approval_requests")
    op.drop_index("ix_approval_requests_mailbox_status", table_name="approval_requests")
    op.drop_table("approval_requests")
    op.drop_index(op.f("ix_mailbox_approvers_user_id"), table_name="mailbox_approvers")
    op.drop_table("mailbox_approvers")
    for table, column in [("mailboxes", "approval_category_ids"), ("mailboxes", "approval_lead_skip"),
                          ("mailboxes", "approval_required"), ("threads", "approval_required"),
                          ("users", "approval_required")]:
        op.drop_column(table, column)
