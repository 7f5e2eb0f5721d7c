"""The tables of the SQL backends, as SQLAlchemy Core metadata.

Generic types only (strings, integers, doubles, text), so one schema serves SQLite and
Postgres; JSON is canonical JSON text. Every row carries `tenant_id` and `workspace_id`,
which lead every key and index. This describes the schema at the head migration: the
migrations in `migrations/versions` create it, and a test checks that the two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "SCHEMA_VERSION_TABLE",
    "asset_check_evaluations",
    "asset_quarantines",
    "asset_records",
    "automation_evaluation_checkpoints",
    "automation_evaluation_conditions",
    "automation_evaluations",
    "backfills",
    "dynamic_partitions",
    "events",
    "instigator_states",
    "instigator_ticks",
    "latest_asset_check_evaluations",
    "latest_materializations",
    "materializations",
    "metadata",
    "materialized_partitions_cache",
    "observations",
    "partition_failures",
    "run_assets",
    "run_tags",
    "runs",
    "tasks",
]

SCHEMA_VERSION_TABLE = "arco_schema_version"
"""Alembic's version table, named so that it can share a database with other applications."""

metadata = MetaData()

# SQLite makes an INTEGER PRIMARY KEY the rowid: no second index, and the fastest inserts.
_EventId = BigInteger().with_variant(Integer(), "sqlite")


def _scope() -> list[Column[str]]:
    return [
        Column("tenant_id", String, primary_key=True),
        Column("workspace_id", String, primary_key=True),
    ]


events = Table(
    "events",
    metadata,
    Column("event_id", _EventId, primary_key=True, autoincrement=False),
    Column("tenant_id", String, nullable=False),
    Column("workspace_id", String, nullable=False),
    Column("stream", String, nullable=False),
    Column("stream_sequence", Integer, nullable=False),
    Column("event_type", String, nullable=False),
    Column("idempotency_key", String, nullable=False),
    Column("actor", String, nullable=False),
    Column("timestamp", Double, nullable=False),
    Column("trace_context", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_events_idempotency", "tenant_id", "workspace_id", "idempotency_key", unique=True),
    Index(
        "ix_events_stream", "tenant_id", "workspace_id", "stream", "stream_sequence", unique=True
    ),
    Index("ix_events_scope", "tenant_id", "workspace_id", "event_id"),
)

runs = Table(
    "runs",
    metadata,
    *_scope(),
    Column("run_id", String, primary_key=True),
    Column("job_name", String, nullable=False),
    Column("plan_id", String, nullable=False),
    Column("status", String, nullable=False),
    Column("created_event_id", BigInteger, nullable=False),
    Column("created_time", Double, nullable=False),
    Column("updated_time", Double, nullable=False),
    Column("started_time", Double),
    Column("ended_time", Double),
    Column("tags", Text, nullable=False),
    Column("asset_keys", Text, nullable=False),
    Column("parent_run_id", String),
    Column("plan", Text, nullable=False),
    Column("run_config", Text, nullable=False),
    Column("code_location", Text, nullable=False),
    Column("executor", String, nullable=False),
    Column("max_concurrent", Integer),
    Column("coordinator", Text, nullable=False),
    Column("error", Text),
    Index("ix_runs_created", "tenant_id", "workspace_id", "created_event_id"),
    Index("ix_runs_status", "tenant_id", "workspace_id", "status", "created_event_id"),
)

run_tags = Table(
    "run_tags",
    metadata,
    *_scope(),
    Column("run_id", String, primary_key=True),
    Column("tag_key", String, primary_key=True),
    Column("tag_value", String, nullable=False),
    Index("ix_run_tags_tag", "tenant_id", "workspace_id", "tag_key", "tag_value"),
)

run_assets = Table(
    "run_assets",
    metadata,
    *_scope(),
    Column("run_id", String, primary_key=True),
    Column("asset_key", String, primary_key=True),
    Index("ix_run_assets_asset", "tenant_id", "workspace_id", "asset_key"),
)

tasks = Table(
    "tasks",
    metadata,
    *_scope(),
    Column("run_id", String, primary_key=True),
    Column("task_id", String, primary_key=True),
    Column("node", String),
    Column("stage", Integer),
    Column("status", String, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("started_time", Double),
    Column("ended_time", Double),
    Column("wall_s", Double, nullable=False),
    Column("cpu_s", Double, nullable=False),
    Column("peak_rss_mb", Double),
    Column("last_error", Text),
    Column("skip_reason", Text),
)

materializations = Table(
    "materializations",
    metadata,
    Column("event_id", BigInteger, ForeignKey("events.event_id"), primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("workspace_id", String, nullable=False),
    Column("asset_key", String, nullable=False),
    Column("partition_key", String, nullable=False),
    Column("run_id", String, nullable=False),
    Column("task_id", String, nullable=False),
    Column("timestamp", Double, nullable=False),
    Column("data_version", String),
    Column("code_version", String),
    Column("description", Text),
    Column("metadata", Text, nullable=False),
    Index("ix_materializations_asset", "tenant_id", "workspace_id", "asset_key", "event_id"),
    Index(
        "ix_materializations_partition",
        "tenant_id",
        "workspace_id",
        "asset_key",
        "partition_key",
        "event_id",
    ),
)

observations = Table(
    "observations",
    metadata,
    Column("event_id", BigInteger, ForeignKey("events.event_id"), primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("workspace_id", String, nullable=False),
    Column("asset_key", String, nullable=False),
    Column("partition_key", String, nullable=False),
    Column("run_id", String, nullable=False),
    Column("task_id", String, nullable=False),
    Column("timestamp", Double, nullable=False),
    Column("data_version", String),
    Column("metadata", Text, nullable=False),
    Index("ix_observations_asset", "tenant_id", "workspace_id", "asset_key", "event_id"),
)

latest_materializations = Table(
    "latest_materializations",
    metadata,
    *_scope(),
    Column("asset_key", String, primary_key=True),
    Column("partition_key", String, primary_key=True),
    Column("event_id", BigInteger, ForeignKey("events.event_id"), nullable=False),
    Index("ix_latest_materializations_event", "tenant_id", "workspace_id", "asset_key", "event_id"),
)

asset_records = Table(
    "asset_records",
    metadata,
    *_scope(),
    Column("asset_key", String, primary_key=True),
    Column("last_materialization_event_id", BigInteger),
    Column("last_run_id", String),
    Column("last_materialization_time", Double),
    Column("materialization_count", Integer, nullable=False),
    Column("last_observation_event_id", BigInteger),
    Column("last_observation_time", Double),
    Column("observation_count", Integer, nullable=False),
)

partition_failures = Table(
    "partition_failures",
    metadata,
    *_scope(),
    Column("asset_key", String, primary_key=True),
    Column("run_id", String, primary_key=True),
    Column("task_id", String, primary_key=True),
    Column("range_start", String, nullable=False),
    Column("range_end", String, nullable=False),
    Column("event_id", BigInteger, ForeignKey("events.event_id"), nullable=False),
    Index("ix_partition_failures_asset", "tenant_id", "workspace_id", "asset_key", "event_id"),
)
"""Final task failures over the partitions their run planned (see `partition_status`)."""

dynamic_partitions = Table(
    "dynamic_partitions",
    metadata,
    *_scope(),
    Column("partitions_def_name", String, primary_key=True),
    Column("partition_key", String, primary_key=True),
    Column("event_id", BigInteger, ForeignKey("events.event_id"), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Index(
        "ix_dynamic_partitions_order",
        "tenant_id",
        "workspace_id",
        "partitions_def_name",
        "event_id",
        "ordinal",
    ),
)
"""The keys of each dynamic partitions definition; (event_id, ordinal) is the order added."""

materialized_partitions_cache = Table(
    "materialized_partitions_cache",
    metadata,
    *_scope(),
    Column("asset_key", String, primary_key=True),
    Column("indexing_fingerprint", String, primary_key=True),
    Column("through_event_id", BigInteger, nullable=False),
    Column("ranges", Text, nullable=False),
)
"""A derived value, not a projection: each asset's materialized partitions as index ranges.

Brought up to date on read; a rebuild empties it and `verify` does not compare it.
"""

backfills = Table(
    "backfills",
    metadata,
    *_scope(),
    Column("backfill_id", String, primary_key=True),
    Column("status", String, nullable=False),
    Column("job_name", String, nullable=False),
    Column("created_event_id", BigInteger, nullable=False),
    Column("created_time", Double, nullable=False),
    Column("updated_time", Double, nullable=False),
    Column("asset_keys", Text, nullable=False),
    Column("request", Text, nullable=False),
    Column("chunk_count", Integer, nullable=False),
    Column("partition_count", BigInteger, nullable=False),
    Column("chunks_done", Integer, nullable=False),
    Column("chunks_failed", Integer, nullable=False),
    Column("partitions_done", BigInteger, nullable=False),
    Column("partitions_failed", BigInteger, nullable=False),
    Column("tags", Text, nullable=False),
    Index("ix_backfills_created", "tenant_id", "workspace_id", "created_event_id"),
)
"""Each backfill's summary (see `backfill_projection`); its stream holds the detail."""

asset_check_evaluations = Table(
    "asset_check_evaluations",
    metadata,
    Column("event_id", BigInteger, ForeignKey("events.event_id"), primary_key=True),
    Column("tenant_id", String, nullable=False),
    Column("workspace_id", String, nullable=False),
    Column("asset_key", String, nullable=False),
    Column("check_name", String, nullable=False),
    Column("partition_key", String, nullable=False),
    Column("run_id", String, nullable=False),
    Column("task_id", String, nullable=False),
    Column("timestamp", Double, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("severity", String, nullable=False),
    Column("blocking", Boolean, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("description", Text),
    Column("target_run_id", String),
    Column("target_event_id", BigInteger),
    Index(
        "ix_asset_check_evaluations_check",
        "tenant_id",
        "workspace_id",
        "asset_key",
        "check_name",
        "event_id",
    ),
    Index(
        "ix_asset_check_evaluations_partition",
        "tenant_id",
        "workspace_id",
        "asset_key",
        "check_name",
        "partition_key",
        "event_id",
    ),
    Index("ix_asset_check_evaluations_run", "tenant_id", "workspace_id", "run_id", "event_id"),
)
"""Every evaluation of every asset check, one row per `AssetCheckEvaluated`."""

latest_asset_check_evaluations = Table(
    "latest_asset_check_evaluations",
    metadata,
    *_scope(),
    Column("asset_key", String, primary_key=True),
    Column("check_name", String, primary_key=True),
    Column("partition_key", String, primary_key=True),
    Column("event_id", BigInteger, ForeignKey("events.event_id"), nullable=False),
)
"""The newest evaluation of each check's partition (``""``: unpartitioned)."""

asset_quarantines = Table(
    "asset_quarantines",
    metadata,
    *_scope(),
    Column("asset_key", String, primary_key=True),
    Column("partition_key", String, primary_key=True),
    Column("run_id", String, primary_key=True),
    Column("task_id", String, nullable=False),
    Column("event_id", BigInteger, ForeignKey("events.event_id"), nullable=False),
    Column("timestamp", Double, nullable=False),
    Column("check_names", Text, nullable=False),
    Column("status", String, nullable=False),
    Column("has_value", Boolean, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("data_version", String),
    Column("code_version", String),
    Column("resolved_event_id", BigInteger),
    Column("resolved_timestamp", Double),
    Index("ix_asset_quarantines_status", "tenant_id", "workspace_id", "status", "event_id"),
)
"""Each value a failed blocking check sent to quarantine, and where it stands."""

automation_evaluations = Table(
    "automation_evaluations",
    metadata,
    *_scope(),
    Column("asset_key", String, primary_key=True),
    Column("evaluation_id", BigInteger, primary_key=True),
    Column("timestamp", Double, nullable=False),
    Column("num_requested", BigInteger, nullable=False),
    Column("record", Text, nullable=False),
    Column("condition_fingerprint", String, nullable=False),
)
"""A derived value, not a projection: each asset's automation evaluation records.

Split out of the automation ticks on read (see `automation_projection`); a rebuild empties
it and `verify` does not compare it. The primary key serves the newest-first history query.
"""

automation_evaluation_conditions = Table(
    "automation_evaluation_conditions",
    metadata,
    *_scope(),
    Column("fingerprint", String, primary_key=True),
    Column("condition", Text, nullable=False),
)
"""The conditions of the evaluation rows, each once per workspace (thousands of assets
share a few, and one is larger than the rest of a row)."""

automation_evaluation_checkpoints = Table(
    "automation_evaluation_checkpoints",
    metadata,
    *_scope(),
    Column("low_sequence", BigInteger, nullable=False),
    Column("high_sequence", BigInteger, nullable=False),
)
"""The ticks of each workspace's automation stream whose evaluations are kept: every one
from `low_sequence` through `high_sequence` (see `automation_projection.FoldedRange`)."""

instigator_states = Table(
    "instigator_states",
    metadata,
    *_scope(),
    Column("instigator_name", String, primary_key=True),
    Column("user_status", String),
    Column("status_changed_time", Double),
    Column("cursor", Text),
    Column("last_scheduled_time", Double),
    Column("last_tick_time", Double),
    Column("last_completion_time", Double),
    Column("seen_sequence", BigInteger, nullable=False),
)
"""Each schedule's or sensor's state as its stream leaves it (the automation
instigator's cursor is never kept: NULL)."""

instigator_ticks = Table(
    "instigator_ticks",
    metadata,
    *_scope(),
    Column("instigator_name", String, primary_key=True),
    Column("tick_id", String, primary_key=True),
    Column("status", String, nullable=False),
    Column("timestamp", Double, nullable=False),
    Column("scheduled_time", Double),
    Column("end_timestamp", Double),
    Column("run_ids", Text, nullable=False),
    Column("skip_reason", String),
    Column("error", Text),
    Column("skipped_run_keys", Text, nullable=False),
    Column("run_requests", Text, nullable=False),
    Column("partition_requests", Text, nullable=False),
    Column("cursor_before", Text),
    Column("cursor_after", Text),
    Column("event_id", BigInteger, ForeignKey("events.event_id"), nullable=False),
    Column("started_sequence", BigInteger, nullable=False),
    Index(
        "ix_instigator_ticks_sequence",
        "tenant_id",
        "workspace_id",
        "instigator_name",
        "started_sequence",
    ),
    Index(
        "ix_instigator_ticks_status",
        "tenant_id",
        "workspace_id",
        "instigator_name",
        "status",
        "started_sequence",
    ),
)
"""Each tick of a schedule or sensor. Never a `TickStarted`'s cursors: `cursor_before` is
the one the evaluation started from (a sensor's small cursor), `cursor_after` only the one
the tick's end recorded, and the automation instigator's are NULL. The sequence index
serves the newest-first history, the status index the unfinished ticks a daemon resumes."""
