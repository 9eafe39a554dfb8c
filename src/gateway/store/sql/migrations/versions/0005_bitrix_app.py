"""The Bitrix24 local application of a tenant: its portal and encrypted tokens.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bitrix_apps",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False, server_default=""),
        sa.Column("client_endpoint", sa.String(512), nullable=False),
        sa.Column("access_token", sa.Text, nullable=False),
        sa.Column("refresh_token", sa.Text, nullable=False),
        sa.Column("application_token", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.BigInteger),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewal_error", sa.String(512)),
        sa.Column("line_id", sa.BigInteger),
        sa.Column("setup_done", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("bitrix_apps")
