"""Partitions: dynamic partition keys, final failures by partition, the materialized cache.

Tables: dynamic_partitions, partition_failures, materialized_partitions_cache; an index
on latest_materializations by event id. The new projections are filled from the log, so
a store upgraded from 0001 gets the failures of its earlier runs too.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _scope() -> list[sa.Column[str]]:
    return [
        sa.Column("tenant_id", sa.String, primary_key=True),
        sa.Column("workspace_id", sa.String, primary_key=True),
    ]


def upgrade() -> None:
    """Creates the tables and indexes, then projects the failures already in the log."""
    op.create_index(
        "ix_latest_materializations_event",
        "latest_materializations",
        ["tenant_id", "workspace_id", "asset_key", "event_id"],
    )
    op.create_table(
        "partition_failures",
        *_scope(),
        sa.Column("asset_key", sa.String, primary_key=True),
        sa.Column("run_id", sa.String, primary_key=True),
        sa.Column("task_id", sa.String, primary_key=True),
        sa.Column("range_start", sa.String, nullable=False),
        sa.Column("range_end", sa.String, nullable=False),
        sa.Column("event_id", sa.BigInteger, sa.ForeignKey("events.event_id"), nullable=False),
    )
    op.create_index(
        "ix_partition_failures_asset",
        "partition_failures",
        ["tenant_id", "workspace_id", "asset_key", "event_id"],
    )
    op.create_table(
        "dynamic_partitions",
        *_scope(),
        sa.Column("partitions_def_name", sa.String, primary_key=True),
        sa.Column("partition_key", sa.String, primary_key=True),
        sa.Column("event_id", sa.BigInteger, sa.ForeignKey("events.event_id"), nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
    )
    op.create_index(
        "ix_dynamic_partitions_order",
        "dynamic_partitions",
        ["tenant_id", "workspace_id", "partitions_def_name", "event_id", "ordinal"],
    )
    op.create_table(
        "materialized_partitions_cache",
        *_scope(),
        sa.Column("asset_key", sa.String, primary_key=True),
        sa.Column("indexing_fingerprint", sa.String, primary_key=True),
        sa.Column("through_event_id", sa.BigInteger, nullable=False),
        sa.Column("ranges", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Drops what this revision created."""
    op.drop_table("materialized_partitions_cache")
    op.drop_table("dynamic_partitions")
    op.drop_table("partition_failures")
    op.drop_index("ix_latest_materializations_event", table_name="latest_materializations")
