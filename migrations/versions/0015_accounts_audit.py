"""accounts and audit: the append-only audit log, reset/invite links, TOTP and recovery codes, own signature

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01

audit_log is append-only: a trigger on each database refuses UPDATE and DELETE (and TRUNCATE
on PostgreSQL), so not even a bug in the app can rewrite the trail. account_tokens holds the
SHA-256 of single-use links (password reset, first password of an invited user);
totp_credentials a user's encrypted TOTP secret; recovery_codes the SHA-256 of one-time codes.
users.signature is the user's own signature for the reply composer.
"""

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
_json = sa.JSON().with_variant(
    sqlalchemy.dialects.postgresql.JSONB(astext_type=sa.Text()), "postgresql"
)
_when = sa.DateTime(timezone=True)

REFUSE = "audit_log is append-only: entries cannot be changed or deleted"
PG_UP = [
    f"""CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '{REFUSE}'; END $$""",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse()",
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log",
    "DROP FUNCTION IF EXISTS audit_log_refuse()",
]
SQLITE_UP = [
    f"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSE}'); END",
    f"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSE}'); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_log_no_delete",
    "DROP TRIGGER IF EXISTS audit_log_no_update",
]


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("signature", sa.Text(), server_default="", nullable=False))
    op.create_table(
        "audit_log",
        sa.Column("id", _id, nullable=False),
        sa.Column("created_at", _when, nullable=False),
        sa.Column("actor_id", _id, nullable=True),
        sa.Column("actor_email", sa.String(length=254), server_default="", nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), server_default="", nullable=False),
        sa.Column("changes", _json, nullable=False),
        sa.Column("address", sa.String(length=64), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_created", "audit_log", ["created_at", "id"])
    op.create_index("ix_audit_log_actor_created", "audit_log", ["actor_id", "created_at"])
    op.create_index("ix_audit_log_action_created", "audit_log", ["action", "created_at"])
    op.create_table(
        "account_tokens",
        sa.Column("id", _id, nullable=False),
        sa.Column("user_id", _id, nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _when, server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", _when, nullable=False),
        sa.Column("used_at", _when, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"],
            name=op.f("fk_account_tokens_user_id_users"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
    )
    op.create_index(op.f("ix_account_tokens_user_id"), "account_tokens", ["user_id"])
    op.create_table(
        "totp_credentials",
        sa.Column("user_id", _id, nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("confirmed_at", _when, nullable=True),
        sa.Column("last_step", _id, server_default="0", nullable=False),
        sa.Column("created_at", _when, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"],
            name=op.f("fk_totp_credentials_user_id_users"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_totp_credentials")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", _id, nullable=False),
        sa.Column("user_id", _id, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", _when, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"])
    statements = PG_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = PG_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN
    for statement in statements:
        op.execute(statement)
    op.drop_index(op.f("ix_recovery_codes_user_id"), table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_table("totp_credentials")
    op.drop_index(op.f("ix_account_tokens_user_id"), table_name="account_tokens")
    op.drop_table("account_tokens")
    op.drop_index("ix_audit_log_action_created", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_created", table_name="audit_log")
    op.drop_index("ix_audit_log_created", table_name="audit_log")
    op.drop_table("audit_log")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("signature")
