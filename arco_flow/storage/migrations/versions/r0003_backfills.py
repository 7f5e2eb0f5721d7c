"""Backfills: one summary row per backfill, filled from the log.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Creates the backfills table and its index."""
    op.create_table(
        "backfills",
        sa.Column("tenant_id", sa.String, primary_key=True),
        sa.Column("workspace_id", sa.String, primary_key=True),
        sa.Column("backfill_id", sa.String, primary_key=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("job_name", sa.String, nullable=False),
        sa.Column("created_event_id", sa.BigInteger, nullable=False),
        sa.Column("created_time", sa.Double, nullable=False),
        sa.Column("updated_time", sa.Double, nullable=False),
        sa.Column("asset_keys", sa.Text, nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("chunk_count", sa.Integer, nullable=False),
        sa.Column("partition_count", sa.BigInteger, nullable=False),
        sa.Column("chunks_done", sa.Integer, nullable=False),
        sa.Column("chunks_failed", sa.Integer, nullable=False),
        sa.Column("partitions_done", sa.BigInteger, nullable=False),
        sa.Column("partitions_failed", sa.BigInteger, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_backfills_created", "backfills", ["tenant_id", "workspace_id", "created_event_id"]
    )


def downgrade() -> None:
    """Drops the backfills table."""
    op.drop_table("backfills")
