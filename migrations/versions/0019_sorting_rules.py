"""sorting rules, inquiry categories, blocked senders; thread category and named deadline rule, contact VIP mark

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30

Sorting rules (振り分けルール) run on incoming mail at ingest; categories (問い合わせ種別) are a
managed two-level list per mailbox or global, kept apart from free tags. A contact can be
marked VIP, which rules can match.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
_json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("id", _id, nullable=False),
        sa.Column("mailbox_id", _id, nullable=True),
        sa.Column("parent_id", _id, nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"], ["mailboxes.id"], name=op.f("fk_categories_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["categories.id"], name=op.f("fk_categories_parent_id_categories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
    )
    op.create_index(op.f("ix_categories_mailbox_id"), "categories", ["mailbox_id"])
    op.create_table(
        "sorting_rules",
        sa.Column("id", _id, nullable=False),
        sa.Column("mailbox_id", _id, nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("match_all", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("conditions", _json, nullable=False),
        sa.Column("actions", _json, nullable=False),
        sa.Column("state", _json, nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"], ["mailboxes.id"], name=op.f("fk_sorting_rules_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sorting_rules")),
    )
    op.create_index("ix_sorting_rules_scope", "sorting_rules", ["mailbox_id", "position"])
    op.create_table(
        "blocked_senders",
        sa.Column("id", _id, nullable=False),
        sa.Column("mailbox_id", _id, nullable=True),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"], ["mailboxes.id"], name=op.f("fk_blocked_senders_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocked_senders")),
        sa.UniqueConstraint("mailbox_id", "address", name=op.f("uq_blocked_senders_mailbox_id_address")),
    )
    op.create_index(op.f("ix_blocked_senders_address"), "blocked_senders", ["address"])
    # Plain ADD COLUMN (no table rebuild: on SQLite that would have to drop a table that
    # messages and events refer to); the foreign key goes inline with the column.
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # Plain ADD COLUMN with the foreign key inline (rebuilding threads would mean dropping a
        # table that messages and events refer to). A downgrade on SQLite leaves the column in
        # place, emptied (see downgrade), and it is taken up again here.
        if "category_id" not in {c["name"] for c in sa.inspect(bind).get_columns("threads")}:
            op.execute(
                "ALTER TABLE threads ADD COLUMN category_id INTEGER CONSTRAINT "
                "fk_threads_category_id_categories REFERENCES categories (id)"
            )
    else:
        op.add_column("threads", sa.Column("category_id", _id, nullable=True))
        op.create_foreign_key(
            op.f("fk_threads_category_id_categories"), "threads", "categories",
            ["category_id"], ["id"],
        )
    op.add_column("threads", sa.Column("deadline_rule", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_threads_category_id"), "threads", ["category_id"])
    op.add_column(
        "contacts", sa.Column("vip", sa.Boolean(), server_default=sa.false(), nullable=False)
    )


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_column("contacts", "vip")
    op.drop_index(op.f("ix_threads_category_id"), table_name="threads")
    op.drop_column("threads", "deadline_rule")
    if bind.dialect.name == "sqlite":
        # SQLite cannot drop a column that carries a foreign key without rebuilding threads,
        # which other tables refer to: the column stays, emptied, unused by older code.
        op.execute("UPDATE threads SET category_id = NULL")
    else:
        op.drop_constraint(op.f("fk_threads_category_id_categories"), "threads", type_="foreignkey")
        op.drop_column("threads", "category_id")
    op.drop_index(op.f("ix_blocked_senders_address"), table_name="blocked_senders")
    op.drop_table("blocked_senders")
    op.drop_index("ix_sorting_rules_scope", table_name="sorting_rules")
    op.drop_table("sorting_rules")
    op.drop_index(op.f("ix_categories_mailbox_id"), table_name="categories")
    op.drop_table("categories")
