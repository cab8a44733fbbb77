"""Customer profiles: identities linked into one customer, profile fields, order numbers per thread

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01

customer_links maps a contact (mail address, mall identity) to the primary contact whose
profile it shares; customer_profiles holds company, phone and notes; thread_order_numbers holds
the order numbers each thread mentions, indexed by number for the order-number search.
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.dialects.sqlite.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "customer_links",
        sa.Column(
            "contact_id",
            _id,
            sa.ForeignKey(
                "contacts.id",
                name=op.f("fk_customer_links_contact_id_contacts"),
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column(
            "primary_id",
            _id,
            sa.ForeignKey(
                "contacts.id",
                name=op.f("fk_customer_links_primary_id_contacts"),
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column(
            "linked_by_id",
            _id,
            sa.ForeignKey(
                "users.id", name=op.f("fk_customer_links_linked_by_id_users"), ondelete="SET NULL"
            ),
            nullable=True,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_customer_links")),
    )
    op.create_index("ix_customer_links_primary_id", "customer_links", ["primary_id"])
    op.create_table(
        "customer_profiles",
        sa.Column(
            "contact_id",
            _id,
            sa.ForeignKey(
                "contacts.id",
                name=op.f("fk_customer_profiles_contact_id_contacts"),
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("company", sa.String(255), server_default="", nullable=False),
        sa.Column("phone", sa.String(64), server_default="", nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_customer_profiles")),
    )
    op.create_table(
        "thread_order_numbers",
        sa.Column(
            "thread_id",
            _id,
            sa.ForeignKey(
                "threads.id",
                name=op.f("fk_thread_order_numbers_thread_id_threads"),
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), server_default="mail", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("thread_id", "number", name=op.f("pk_thread_order_numbers")),
    )
    op.create_index("ix_thread_order_numbers_number", "thread_order_numbers", ["number"])


def downgrade() -> None:
    op.drop_index("ix_thread_order_numbers_number", table_name="thread_order_numbers")
    op.drop_table("thread_order_numbers")
    op.drop_table("customer_profiles")
    op.drop_index("ix_customer_links_primary_id", table_name="customer_links")
    op.drop_table("customer_links")
