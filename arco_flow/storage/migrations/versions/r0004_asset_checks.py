"""Asset checks: every evaluation, and the latest of each check's partition.

Tables: asset_check_evaluations, latest_asset_check_evaluations. They are filled from the
log when the store opens after the upgrade (the store replays its log whenever it was
upgraded), so a store upgraded from 0003 gets the evaluations it had already recorded.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Creates the check tables and their indexes."""
    op.create_table(
        "asset_check_evaluations",
        sa.Column("event_id", sa.BigInteger, sa.ForeignKey("events.event_id"), primary_key=True),
        sa.Column("tenant_id", sa.String, nullable=False),
        sa.Column("workspace_id", sa.String, nullable=False),
        sa.Column("asset_key", sa.String, nullable=False),
        sa.Column("check_name", sa.String, nullable=False),
        sa.Column("partition_key", sa.String, nullable=False),
        sa.Column("run_id", sa.String, nullable=False),
        sa.Column("task_id", sa.String, nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("severity", sa.String, nullable=False),
        sa.Column("blocking", sa.Boolean, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("target_run_id", sa.String),
        sa.Column("target_event_id", sa.BigInteger),
    )
    op.create_index(
        "ix_asset_check_evaluations_check",
        "asset_check_evaluations",
        ["tenant_id", "workspace_id", "asset_key", "check_name", "event_id"],
    )
    op.create_index(
        "ix_asset_check_evaluations_partition",
        "asset_check_evaluations",
        ["tenant_id", "workspace_id", "asset_key", "check_name", "partition_key", "event_id"],
    )
    op.create_index(
        "ix_asset_check_evaluations_run",
        "asset_check_evaluations",
        ["tenant_id", "workspace_id", "run_id", "event_id"],
    )
    op.create_table(
        "latest_asset_check_evaluations",
        sa.Column("tenant_id", sa.String, primary_key=True),
        sa.Column("workspace_id", sa.String, primary_key=True),
        sa.Column("asset_key", sa.String, primary_key=True),
        sa.Column("check_name", sa.String, primary_key=True),
        sa.Column("partition_key", sa.String, primary_key=True),
        sa.Column("event_id", sa.BigInteger, sa.ForeignKey("events.event_id"), nullable=False),
    )


def downgrade() -> None:
    """Drops the check tables."""
    op.drop_table("latest_asset_check_evaluations")
    op.drop_table("asset_check_evaluations")
