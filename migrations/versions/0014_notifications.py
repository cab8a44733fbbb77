"""notifications, notification_settings, thread_followers: telling people what concerns them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01

Per user: notifications (assigned to me, mentioned, a customer replied on my thread, my reply
failed, a followed thread changed, an escalation), each unique per (user, history event) or
(user, key) so an event notifies a person once; their in-app and mail choices; and the threads
they follow. Escalation needs no column: its hours live in ``mailboxes.settings`` and its
once-only record in ``alerts`` (stage "escalated").
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
_json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _created() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", _id, nullable=False),
        sa.Column("user_id", _id, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("thread_id", _id, nullable=True),
        sa.Column("event_id", _id, nullable=True),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("actor_id", _id, nullable=True),
        sa.Column("data", _json, nullable=False),
        sa.Column("in_app", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mail_state", sa.String(length=16), nullable=True),
        sa.Column("outbox_id", _id, nullable=True),
        _created(),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_notifications_thread_id_threads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_notifications_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_notifications_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_notifications_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_notifications_user_id_key")),
        sa.UniqueConstraint("user_id", "event_id", name=op.f("uq_notifications_user_id_event_id")),
    )
    op.create_index(op.f("ix_notifications_thread_id"), "notifications", ["thread_id"])
    op.create_index(
        "ix_notifications_user_unread", "notifications", ["user_id", "read_at", "id"]
    )
    op.create_index("ix_notifications_mail_state", "notifications", ["mail_state", "user_id"])

    op.create_table(
        "notification_settings",
        sa.Column("user_id", _id, nullable=False),
        sa.Column("kinds", _json, nullable=False),
        sa.Column("digest", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_settings")),
    )

    op.create_table(
        "thread_followers",
        sa.Column("thread_id", _id, nullable=False),
        sa.Column("user_id", _id, nullable=False),
        _created(),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_thread_followers_thread_id_threads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_thread_followers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thread_id", "user_id", name=op.f("pk_thread_followers")),
    )
    op.create_index(op.f("ix_thread_followers_user_id"), "thread_followers", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_thread_followers_user_id"), table_name="thread_followers")
    op.drop_table("thread_followers")
    op.drop_table("notification_settings")
    op.drop_index("ix_notifications_mail_state", table_name="notifications")
    op.drop_index("ix_notifications_user_unread", table_name="notifications")
    op.drop_index(op.f("ix_notifications_thread_id"), table_name="notifications")
    op.drop_table("notifications")
