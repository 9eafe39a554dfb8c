"""Ratings: a client's 1 to 5 for a visit, a low one's answer and the manager's to-do.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("visit_id", sa.Integer, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("todo_id", sa.BigInteger),
        sa.Column("todo_has_comment", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_ratings"),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name="fk_ratings_visit_id", ondelete="CASCADE"),
        sa.UniqueConstraint("visit_id", name="uq_ratings_visit"),
    )


def downgrade() -> None:
    op.drop_table("ratings")
