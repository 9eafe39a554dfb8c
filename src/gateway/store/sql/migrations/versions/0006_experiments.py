"""Experiments: who is in which variant, and which variants were delivered about which visit.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiment_assignments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("experiment", sa.String(48), nullable=False),
        sa.Column("person", sa.String(255), nullable=False),
        sa.Column("variant", sa.String(8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_experiment_assignments"),
        sa.UniqueConstraint("tenant", "experiment", "person", name="uq_experiment_assignments_person"),
    )
    op.create_table(
        "experiment_exposures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("experiment", sa.String(48), nullable=False),
        sa.Column("variant", sa.String(8), nullable=False),
        sa.Column("visit_id", sa.Integer, nullable=False),
        sa.Column("person", sa.String(255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_experiment_exposures"),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name="fk_experiment_exposures_visit_id", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("tenant", "experiment", "visit_id", name="uq_experiment_exposures_visit"),
    )
    op.create_index("ix_experiment_exposures_experiment", "experiment_exposures", ["tenant", "experiment"])


def downgrade() -> None:
    op.drop_index("ix_experiment_exposures_experiment", table_name="experiment_exposures")
    op.drop_table("experiment_exposures")
    op.drop_table("experiment_assignments")
