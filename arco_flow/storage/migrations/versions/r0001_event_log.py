"""The event log and the first projections.

Tables: events; runs, run_tags, run_assets, tasks; materializations, observations,
latest_materializations, asset_records.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_EventId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _scope() -> list[sa.Column[str]]:
    return [
        sa.Column("tenant_id", sa.String, primary_key=True),
        sa.Column("workspace_id", sa.String, primary_key=True),
    ]


def upgrade() -> None:
    """Creates the tables and their indexes."""
    op.create_table(
        "events",
        sa.Column("event_id", _EventId, primary_key=True, autoincrement=False),
        sa.Column("tenant_id", sa.String, nullable=False),
        sa.Column("workspace_id", sa.String, nullable=False),
        sa.Column("stream", sa.String, nullable=False),
        sa.Column("stream_sequence", sa.Integer, nullable=False),
        sa.Column("event_type", sa.String, nullable=False),
        sa.Column("idempotency_key", sa.String, nullable=False),
        sa.Column("actor", sa.String, nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("trace_context", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_events_idempotency",
        "events",
        ["tenant_id", "workspace_id", "idempotency_key"],
        unique=True,
    )
    op.create_index(
        "ix_events_stream",
        "events",
        ["tenant_id", "workspace_id", "stream", "stream_sequence"],
        unique=True,
    )
    op.create_index("ix_events_scope", "events", ["tenant_id", "workspace_id", "event_id"])

    op.create_table(
        "runs",
        *_scope(),
        sa.Column("run_id", sa.String, primary_key=True),
        sa.Column("job_name", sa.String, nullable=False),
        sa.Column("plan_id", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("created_event_id", sa.BigInteger, nullable=False),
        sa.Column("created_time", sa.Double, nullable=False),
        sa.Column("updated_time", sa.Double, nullable=False),
        sa.Column("started_time", sa.Double),
        sa.Column("ended_time", sa.Double),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("asset_keys", sa.Text, nullable=False),
        sa.Column("parent_run_id", sa.String),
        sa.Column("plan", sa.Text, nullable=False),
        sa.Column("run_config", sa.Text, nullable=False),
        sa.Column("code_location", sa.Text, nullable=False),
        sa.Column("executor", sa.String, nullable=False),
        sa.Column("max_concurrent", sa.Integer),
        sa.Column("coordinator", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_runs_created", "runs", ["tenant_id", "workspace_id", "created_event_id"])
    op.create_index(
        "ix_runs_status", "runs", ["tenant_id", "workspace_id", "status", "created_event_id"]
    )

    op.create_table(
        "run_tags",
        *_scope(),
        sa.Column("run_id", sa.String, primary_key=True),
        sa.Column("tag_key", sa.String, primary_key=True),
        sa.Column("tag_value", sa.String, nullable=False),
    )
    op.create_index(
        "ix_run_tags_tag", "run_tags", ["tenant_id", "workspace_id", "tag_key", "tag_value"]
    )

    op.create_table(
        "run_assets",
        *_scope(),
        sa.Column("run_id", sa.String, primary_key=True),
        sa.Column("asset_key", sa.String, primary_key=True),
    )
    op.create_index("ix_run_assets_asset", "run_assets", ["tenant_id", "workspace_id", "asset_key"])

    op.create_table(
        "tasks",
        *_scope(),
        sa.Column("run_id", sa.String, primary_key=True),
        sa.Column("task_id", sa.String, primary_key=True),
        sa.Column("node", sa.String),
        sa.Column("stage", sa.Integer),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("started_time", sa.Double),
        sa.Column("ended_time", sa.Double),
        sa.Column("wall_s", sa.Double, nullable=False),
        sa.Column("cpu_s", sa.Double, nullable=False),
        sa.Column("peak_rss_mb", sa.Double),
        sa.Column("last_error", sa.Text),
        sa.Column("skip_reason", sa.Text),
    )

    op.create_table(
        "materializations",
        sa.Column("event_id", sa.BigInteger, sa.ForeignKey("events.event_id"), primary_key=True),
        sa.Column("tenant_id", sa.String, nullable=False),
        sa.Column("workspace_id", sa.String, nullable=False),
        sa.Column("asset_key", sa.String, nullable=False),
        sa.Column("partition_key", sa.String, nullable=False),
        sa.Column("run_id", sa.String, nullable=False),
        sa.Column("task_id", sa.String, nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("data_version", sa.String),
        sa.Column("code_version", sa.String),
        sa.Column("description", sa.Text),
        sa.Column("metadata", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_materializations_asset",
        "materializations",
        ["tenant_id", "workspace_id", "asset_key", "event_id"],
    )
    op.create_index(
        "ix_materializations_partition",
        "materializations",
        ["tenant_id", "workspace_id", "asset_key", "partition_key", "event_id"],
    )

    op.create_table(
        "observations",
        sa.Column("event_id", sa.BigInteger, sa.ForeignKey("events.event_id"), primary_key=True),
        sa.Column("tenant_id", sa.String, nullable=False),
        sa.Column("workspace_id", sa.String, nullable=False),
        sa.Column("asset_key", sa.String, nullable=False),
        sa.Column("partition_key", sa.String, nullable=False),
        sa.Column("run_id", sa.String, nullable=False),
        sa.Column("task_id", sa.String, nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("data_version", sa.String),
        sa.Column("metadata", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_observations_asset",
        "observations",
        ["tenant_id", "workspace_id", "asset_key", "event_id"],
    )

    op.create_table(
        "latest_materializations",
        *_scope(),
        sa.Column("asset_key", sa.String, primary_key=True),
        sa.Column("partition_key", sa.String, primary_key=True),
        sa.Column("event_id", sa.BigInteger, sa.ForeignKey("events.event_id"), nullable=False),
    )

    op.create_table(
        "asset_records",
        *_scope(),
        sa.Column("asset_key", sa.String, primary_key=True),
        sa.Column("last_materialization_event_id", sa.BigInteger),
        sa.Column("last_run_id", sa.String),
        sa.Column("last_materialization_time", sa.Double),
        sa.Column("materialization_count", sa.Integer, nullable=False),
        sa.Column("last_observation_event_id", sa.BigInteger),
        sa.Column("last_observation_time", sa.Double),
        sa.Column("observation_count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    """Drops every table of this revision."""
    for table in (
        "asset_records",
        "latest_materializations",
        "observations",
        "materializations",
        "tasks",
        "run_assets",
        "run_tags",
        "runs",
        "events",
    ):
        op.drop_table(table)
