"""Consent evidence; who a visit's client is across channels (phone), the discount and recovery of a
no-show offer, revenue and manager; agenda kinds long enough for upsell offers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.add_column(sa.Column("phone", sa.String(32)))
        batch.add_column(sa.Column("discount_percent", sa.Integer))
        batch.add_column(sa.Column("recovered_from", sa.Integer))
        batch.add_column(sa.Column("revenue", sa.Float))
        batch.add_column(sa.Column("manager_id", sa.BigInteger))
    op.create_index("ix_visits_phone", "visits", ["phone"])
    with op.batch_alter_table("reminders") as batch:
        batch.alter_column("kind", existing_type=sa.String(32), type_=sa.String(64), existing_nullable=False)
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("person", sa.String(255), nullable=False),
        sa.Column("conversation", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("answer", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_version", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
    )
    op.create_index("ix_consents_person", "consents", ["tenant", "person"])
    op.create_index("ix_consents_conversation", "consents", ["tenant", "conversation"])


def downgrade() -> None:
    op.drop_index("ix_consents_conversation", table_name="consents")
    op.drop_index("ix_consents_person", table_name="consents")
    op.drop_table("consents")
    op.execute("DELETE FROM reminders WHERE length(kind) > 32")
    with op.batch_alter_table("reminders") as batch:
        batch.alter_column("kind", existing_type=sa.String(64), type_=sa.String(32), existing_nullable=False)
    op.drop_index("ix_visits_phone", table_name="visits")
    with op.batch_alter_table("visits") as batch:
        batch.drop_column("manager_id")
        batch.drop_column("revenue")
        batch.drop_column("recovered_from")
        batch.drop_column("discount_percent")
        batch.drop_column("phone")
