"""Automation evaluations: each asset's evaluation records, split out of the automation ticks.

Tables: automation_evaluations, automation_evaluation_conditions (the rows' conditions,
each once), automation_evaluation_checkpoints (the range of ticks folded). They start
empty and are filled by the queries of evaluations, which fold the automation ticks
already in the log as they need them (`automation_projection`): the upgrade itself
decodes no tick.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def _scope() -> list[sa.Column[str]]:
    return [
        sa.Column("tenant_id", sa.String, primary_key=True),
        sa.Column("workspace_id", sa.String, primary_key=True),
    ]


def upgrade() -> None:
    """Creates the evaluations table and its checkpoints."""
    op.create_table(
        "automation_evaluations",
        *_scope(),
        sa.Column("asset_key", sa.String, primary_key=True),
        sa.Column("evaluation_id", sa.BigInteger, primary_key=True),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("num_requested", sa.BigInteger, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("condition_fingerprint", sa.String, nullable=False),
    )
    op.create_table(
        "automation_evaluation_conditions",
        *_scope(),
        sa.Column("fingerprint", sa.String, primary_key=True),
        sa.Column("condition", sa.Text, nullable=False),
    )
    op.create_table(
        "automation_evaluation_checkpoints",
        *_scope(),
        sa.Column("low_sequence", sa.BigInteger, nullable=False),
        sa.Column("high_sequence", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drops what this revision created."""
    op.drop_table("automation_evaluation_checkpoints")
    op.drop_table("automation_evaluation_conditions")
    op.drop_table("automation_evaluations")
