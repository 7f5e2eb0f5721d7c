"""Quarantines: each value a failed blocking check sent to quarantine, and its status.

Table: asset_quarantines. It is filled from the log when the store opens after the
upgrade (the store replays its log whenever it was upgraded).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Creates the quarantines table and its index."""
    op.create_table(
        "asset_quarantines",
        sa.Column("tenant_id", sa.String, primary_key=True),
        sa.Column("workspace_id", sa.String, primary_key=True),
        sa.Column("asset_key", sa.String, primary_key=True),
        sa.Column("partition_key", sa.String, primary_key=True),
        sa.Column("run_id", sa.String, primary_key=True),
        sa.Column("task_id", sa.String, nullable=False),
        sa.Column("event_id", sa.BigInteger, sa.ForeignKey("events.event_id"), nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("check_names", sa.Text, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("has_value", sa.Boolean, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("data_version", sa.String),
        sa.Column("code_version", sa.String),
        sa.Column("resolved_event_id", sa.BigInteger),
        sa.Column("resolved_timestamp", sa.Double),
    )
    op.create_index(
        "ix_asset_quarantines_status",
        "asset_quarantines",
        ["tenant_id", "workspace_id", "status", "event_id"],
    )


def downgrade() -> None:
    """Drops the quarantines table."""
    op.drop_table("asset_quarantines")
