"""The read side of the SQL store: the log and every projection query, as SQL.

Each function takes a connection and returns records; none writes. Every query filters by
tenant and workspace first (they lead every index).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, func, select

from arco_flow.core.canonical_json import loads
from arco_flow.core.events import DynamicPartitionsDeleted, EventRecord
from arco_flow.core.keys import AssetKey
from arco_flow.storage import schema
from arco_flow.storage.partition_status import (
    ActiveRun,
    MaterializedCache,
    PartitionFailure,
    ranges_from_data,
)
from arco_flow.storage.projector import planned_partition
from arco_flow.storage.query_rules import (
    asset_sort_key,
    partitions_stream,
    run_stream,
    task_sort_key,
)
from arco_flow.storage.records import (
    ACTIVE_RUN_STATUSES,
    AssetRecord,
    BackfillRecord,
    MaterializationRecord,
    ObservationRecord,
    RunRecord,
    RunsFilter,
    TaskRecord,
)
from arco_flow.storage.rows import (
    backfill_from_row,
    event_from_row,
    materialization_from_row,
    observation_from_row,
    partition_from_column,
    run_from_row,
    task_from_row,
)
from arco_flow.storage.sql_projection import assets_from_rows, chunks

__all__ = [
    "active_runs",
    "asset_records",
    "list_backfills",
    "dynamic_partitions",
    "has_dynamic_partition",
    "in_scope",
    "last_partitions_change",
    "latest_since",
    "materialized_cache",
    "partition_failures",
    "events_by_keys",
    "get_run",
    "last_event_id",
    "latest_materialization",
    "latest_materializations",
    "list_runs",
    "list_tasks",
    "materialization_history",
    "observation_history",
    "read_all",
    "read_stream",
    "recent_run_ids",
    "run_created_event_id",
    "run_is_known",
    "stream_heads",
]

_events = schema.events


def in_scope(table: Any, tenant_id: str, workspace_id: str) -> Any:
    """The condition that a row of `table` belongs to the tenant's workspace."""
    return and_(table.c.tenant_id == tenant_id, table.c.workspace_id == workspace_id)


def _records(connection: Connection, query: Select[Any]) -> list[EventRecord]:
    return [event_from_row(row._mapping) for row in connection.execute(query)]


# Built once: every append runs these, and building a query costs more than SQLite takes to
# answer it. `values` is an expanding parameter (one placeholder per item).
_LAST_EVENT_ID = select(func.max(_events.c.event_id))
_IN_SCOPE = and_(
    _events.c.tenant_id == bindparam("tenant_id"),
    _events.c.workspace_id == bindparam("workspace_id"),
)
_LAST_SCOPED_EVENT_ID = select(func.max(_events.c.event_id)).where(_IN_SCOPE)
_STREAM_HEADS = (
    select(_events.c.stream, func.max(_events.c.stream_sequence))
    .where(_IN_SCOPE, _events.c.stream.in_(bindparam("values", expanding=True)))
    .group_by(_events.c.stream)
)
_EVENTS_BY_KEYS = select(_events).where(
    _IN_SCOPE, _events.c.idempotency_key.in_(bindparam("values", expanding=True))
)


def last_event_id(
    connection: Connection, tenant_id: str | None = None, workspace_id: str | None = None
) -> int:
    """The highest event id in the log (0 when empty): over all tenants, or of one workspace."""
    if tenant_id is None or workspace_id is None:
        value = connection.execute(_LAST_EVENT_ID).scalar()
    else:
        scope = {"tenant_id": tenant_id, "workspace_id": workspace_id}
        value = connection.execute(_LAST_SCOPED_EVENT_ID, scope).scalar()
    return int(value or 0)


def stream_heads(
    connection: Connection, tenant_id: str, workspace_id: str, streams: Collection[str]
) -> dict[str, int]:
    """The last sequence of each of `streams` that has events."""
    heads: dict[str, int] = {}
    for batch in chunks(streams):
        parameters = {"tenant_id": tenant_id, "workspace_id": workspace_id, "values": batch}
        rows = connection.execute(_STREAM_HEADS, parameters)
        heads.update((stream, int(head)) for stream, head in rows)
    return heads


def events_by_keys(
    connection: Connection, tenant_id: str, workspace_id: str, keys: Collection[str]
) -> dict[str, EventRecord]:
    """The stored records under any of `keys`, by key."""
    found: dict[str, EventRecord] = {}
    for batch in chunks(keys):
        parameters = {"tenant_id": tenant_id, "workspace_id": workspace_id, "values": batch}
        for row in connection.execute(_EVENTS_BY_KEYS, parameters):
            record = event_from_row(row._mapping)
            found[record.idempotency_key] = record
    return found


def latest_sequences(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    stream: str,
    event_types: Collection[str],
    limit: int,
) -> list[int]:
    """The sequences of the newest `limit` events of `stream` of `event_types`, newest first."""
    query = (
        select(_events.c.stream_sequence)
        .where(
            in_scope(_events, tenant_id, workspace_id),
            _events.c.stream == stream,
            _events.c.event_type.in_(sorted(set(event_types))),
        )
        .order_by(_events.c.stream_sequence.desc())
        .limit(limit)
    )
    return [int(sequence) for sequence in connection.execute(query).scalars()]


def read_stream(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    stream: str,
    *,
    after_sequence: int = 0,
    limit: int | None = None,
    event_types: Collection[str] | None = None,
) -> list[EventRecord]:
    """The events of `stream` after `after_sequence`, maybe only some types, in order."""
    query = select(_events).where(
        in_scope(_events, tenant_id, workspace_id),
        _events.c.stream == stream,
        _events.c.stream_sequence > after_sequence,
    )
    if event_types is not None:
        query = query.where(_events.c.event_type.in_(list(event_types)))
    return _records(connection, query.order_by(_events.c.stream_sequence).limit(limit))


def read_all(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    *,
    after_event_id: int = 0,
    limit: int | None = None,
    event_types: Collection[str] | None = None,
) -> list[EventRecord]:
    """The events of a workspace after `after_event_id` (of `event_types`), in log order."""
    query = select(_events).where(
        in_scope(_events, tenant_id, workspace_id), _events.c.event_id > after_event_id
    )
    if event_types is not None:
        query = query.where(_events.c.event_type.in_(sorted(set(event_types))))
    return _records(connection, query.order_by(_events.c.event_id).limit(limit))


def get_run(
    connection: Connection, tenant_id: str, workspace_id: str, run_id: str
) -> RunRecord | None:
    """The run `run_id`, or None."""
    runs = schema.runs
    query = select(runs).where(in_scope(runs, tenant_id, workspace_id), runs.c.run_id == run_id)
    row = connection.execute(query).first()
    return run_from_row(row._mapping) if row else None


def recent_run_ids(
    connection: Connection, tenant_id: str, workspace_id: str, count: int
) -> list[str]:
    """The ids of the newest `count` runs."""
    runs = schema.runs
    query = (
        select(runs.c.run_id)
        .where(in_scope(runs, tenant_id, workspace_id))
        .order_by(runs.c.created_event_id.desc())
        .limit(count)
    )
    return list(connection.execute(query).scalars())


def run_created_event_id(
    connection: Connection, tenant_id: str, workspace_id: str, run_id: str
) -> int | None:
    """The event id that created run `run_id` (its place in the newest-first order)."""
    runs = schema.runs
    query = select(runs.c.created_event_id).where(
        in_scope(runs, tenant_id, workspace_id), runs.c.run_id == run_id
    )
    value = connection.execute(query).scalar()
    return None if value is None else int(value)


def run_is_known(connection: Connection, tenant_id: str, workspace_id: str, run_id: str) -> bool:
    """Whether the run has a record or at least one event."""
    if run_created_event_id(connection, tenant_id, workspace_id, run_id) is not None:
        return True
    query = select(_events.c.event_id).where(
        in_scope(_events, tenant_id, workspace_id), _events.c.stream == run_stream(run_id)
    )
    return connection.execute(query.limit(1)).first() is not None


def list_runs(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    filters: RunsFilter,
    *,
    before_event_id: int | None = None,
    limit: int | None = None,
) -> list[RunRecord]:
    """Runs meeting `filters`, newest first, created before `before_event_id` if given."""
    runs = schema.runs
    query = select(runs).where(in_scope(runs, tenant_id, workspace_id))
    if before_event_id is not None:
        query = query.where(runs.c.created_event_id < before_event_id)
    if filters.run_ids:
        query = query.where(runs.c.run_id.in_(list(filters.run_ids)))
    if filters.statuses:
        query = query.where(runs.c.status.in_([status.value for status in filters.statuses]))
    if filters.job_name is not None:
        query = query.where(runs.c.job_name == filters.job_name)
    if filters.parent_run_id is not None:
        query = query.where(runs.c.parent_run_id == filters.parent_run_id)
    tags = schema.run_tags
    for key, value in filters.tags.items():
        tagged = select(tags.c.run_id).where(
            in_scope(tags, tenant_id, workspace_id),
            tags.c.tag_key == key,
            tags.c.tag_value == value,
        )
        query = query.where(runs.c.run_id.in_(tagged))
    if filters.asset_key is not None:
        run_assets = schema.run_assets
        with_asset = select(run_assets.c.run_id).where(
            in_scope(run_assets, tenant_id, workspace_id),
            run_assets.c.asset_key == filters.asset_key.to_user_string(),
        )
        query = query.where(runs.c.run_id.in_(with_asset))
    query = query.order_by(runs.c.created_event_id.desc()).limit(limit)
    return [run_from_row(row._mapping) for row in connection.execute(query)]


def list_tasks(
    connection: Connection, tenant_id: str, workspace_id: str, run_id: str
) -> list[TaskRecord]:
    """The tasks of a run, in `task_sort_key` order."""
    tasks = schema.tasks
    query = select(tasks).where(in_scope(tasks, tenant_id, workspace_id), tasks.c.run_id == run_id)
    found = [task_from_row(row._mapping) for row in connection.execute(query)]
    return sorted(found, key=task_sort_key)


def latest_materialization(
    connection: Connection, tenant_id: str, workspace_id: str, asset_key: AssetKey
) -> MaterializationRecord | None:
    """The newest materialization of `asset_key`, over all partitions."""
    records = asset_records(connection, tenant_id, workspace_id, [asset_key])
    return records[0].last_materialization if records else None


def latest_materializations(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    asset_key: AssetKey,
    partition_keys: Collection[str] | None,
) -> dict[str | None, MaterializationRecord]:
    """The newest materialization of each partition of `asset_key`."""
    latest, history = schema.latest_materializations, schema.materializations
    query = (
        select(history)
        .join(latest, latest.c.event_id == history.c.event_id)
        .where(
            in_scope(latest, tenant_id, workspace_id),
            latest.c.asset_key == asset_key.to_user_string(),
        )
    )
    found: dict[str | None, MaterializationRecord] = {}
    batches = [None] if partition_keys is None else list(chunks(partition_keys))
    for batch in batches:
        page = query if batch is None else query.where(latest.c.partition_key.in_(batch))
        for row in connection.execute(page):
            found[partition_from_column(row.partition_key)] = materialization_from_row(row._mapping)
    return found


def materialization_history(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    asset_key: AssetKey,
    *,
    partition_key: str | None,
    before_event_id: int | None,
    limit: int | None,
) -> list[MaterializationRecord]:
    """Materializations of `asset_key`, newest first."""
    history = schema.materializations
    query = select(history).where(
        in_scope(history, tenant_id, workspace_id),
        history.c.asset_key == asset_key.to_user_string(),
    )
    if partition_key is not None:
        query = query.where(history.c.partition_key == partition_key)
    if before_event_id is not None:
        query = query.where(history.c.event_id < before_event_id)
    query = query.order_by(history.c.event_id.desc()).limit(limit)
    return [materialization_from_row(row._mapping) for row in connection.execute(query)]


def observation_history(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    asset_key: AssetKey,
    *,
    limit: int | None,
) -> list[ObservationRecord]:
    """Observations of `asset_key`, newest first."""
    history = schema.observations
    query = (
        select(history)
        .where(
            in_scope(history, tenant_id, workspace_id),
            history.c.asset_key == asset_key.to_user_string(),
        )
        .order_by(history.c.event_id.desc())
        .limit(limit)
    )
    return [observation_from_row(row._mapping) for row in connection.execute(query)]


def asset_records(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    asset_keys: Collection[AssetKey] | None,
) -> list[AssetRecord]:
    """Records of `asset_keys` (every asset when None), sorted by key."""
    table = schema.asset_records
    query = select(table).where(in_scope(table, tenant_id, workspace_id))
    if asset_keys is None:
        rows = [row._mapping for row in connection.execute(query)]
    else:
        texts = sorted({key.to_user_string() for key in asset_keys})
        rows = [
            row._mapping
            for batch in chunks(texts)
            for row in connection.execute(query.where(table.c.asset_key.in_(batch)))
        ]
    return sorted(assets_from_rows(connection, rows), key=asset_sort_key)


_DYNAMIC_KEYS = (
    select(schema.dynamic_partitions.c.partition_key)
    .where(
        schema.dynamic_partitions.c.tenant_id == bindparam("tenant_id"),
        schema.dynamic_partitions.c.workspace_id == bindparam("workspace_id"),
        schema.dynamic_partitions.c.partitions_def_name == bindparam("name"),
    )
    .order_by(schema.dynamic_partitions.c.event_id, schema.dynamic_partitions.c.ordinal)
)


def dynamic_partitions(
    connection: Connection, tenant_id: str, workspace_id: str, partitions_def_name: str
) -> list[str]:
    """The keys of a dynamic definition, in the order they were added.

    Read through the driver's cursor: SQLAlchemy's result rows cost more than SQLite's
    scan when a definition has a million keys.
    """
    compiled = _DYNAMIC_KEYS.compile(dialect=connection.dialect)
    parameters = {"tenant_id": tenant_id, "workspace_id": workspace_id, "name": partitions_def_name}
    arguments: Any = parameters
    if compiled.positional and compiled.positiontup:
        arguments = tuple(parameters[name] for name in compiled.positiontup)
    cursor = connection.connection.cursor()
    try:
        cursor.execute(compiled.string, arguments)
        return [key for (key,) in cursor.fetchall()]
    finally:
        cursor.close()


def has_dynamic_partition(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    partitions_def_name: str,
    partition_key: str,
) -> bool:
    """Whether a dynamic definition has `partition_key`."""
    table = schema.dynamic_partitions
    query = select(table.c.event_id).where(
        in_scope(table, tenant_id, workspace_id),
        table.c.partitions_def_name == partitions_def_name,
        table.c.partition_key == partition_key,
    )
    return connection.execute(query).first() is not None


def last_partitions_change(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    partitions_def_name: str,
    *,
    deletions_only: bool,
) -> int:
    """The event id of the last change (or deletion) of a dynamic definition's keys, or 0."""
    query = select(func.max(_events.c.event_id)).where(
        in_scope(_events, tenant_id, workspace_id),
        _events.c.stream == partitions_stream(partitions_def_name),
    )
    if deletions_only:
        query = query.where(_events.c.event_type == DynamicPartitionsDeleted.EVENT_TYPE)
    return int(connection.execute(query).scalar() or 0)


def materialized_cache(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    asset_key: AssetKey,
    fingerprint: str,
) -> MaterializedCache | None:
    """The asset's materialized cache under `fingerprint`, if kept."""
    table = schema.materialized_partitions_cache
    query = select(table.c.through_event_id, table.c.ranges).where(
        in_scope(table, tenant_id, workspace_id),
        table.c.asset_key == asset_key.to_user_string(),
        table.c.indexing_fingerprint == fingerprint,
    )
    row = connection.execute(query).first()
    if row is None:
        return None
    return MaterializedCache(
        fingerprint=fingerprint,
        through_event_id=int(row.through_event_id),
        ranges=ranges_from_data(loads(row.ranges)),
    )


def latest_since(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    asset_key: AssetKey,
    after_event_id: int,
) -> list[tuple[int, str]]:
    """(event_id, partition_key) of each partition whose latest materialization is newer."""
    latest = schema.latest_materializations
    query = select(latest.c.event_id, latest.c.partition_key).where(
        in_scope(latest, tenant_id, workspace_id),
        latest.c.asset_key == asset_key.to_user_string(),
        latest.c.event_id > after_event_id,
    )
    return [(int(event_id), key) for event_id, key in connection.execute(query)]


def partition_failures(
    connection: Connection, tenant_id: str, workspace_id: str, asset_key: AssetKey
) -> list[PartitionFailure]:
    """The asset's final task failures over partitions."""
    table = schema.partition_failures
    query = select(table).where(
        in_scope(table, tenant_id, workspace_id),
        table.c.asset_key == asset_key.to_user_string(),
    )
    return [PartitionFailure(**row._asdict()) for row in connection.execute(query)]


def active_runs(
    connection: Connection, tenant_id: str, workspace_id: str, asset_key: AssetKey
) -> list[ActiveRun]:
    """The QUEUED, STARTED and CANCELING runs that plan the asset for partitions."""
    runs, run_assets = schema.runs, schema.run_assets
    with_asset = select(run_assets.c.run_id).where(
        in_scope(run_assets, tenant_id, workspace_id),
        run_assets.c.asset_key == asset_key.to_user_string(),
    )
    query = select(runs.c.created_event_id, runs.c.plan).where(
        in_scope(runs, tenant_id, workspace_id),
        runs.c.status.in_(sorted(status.value for status in ACTIVE_RUN_STATUSES)),
        runs.c.run_id.in_(with_asset),
    )
    found = []
    for created_event_id, plan in connection.execute(query):
        partition = planned_partition(loads(plan))
        if partition is not None:
            found.append(
                ActiveRun(
                    created_event_id=int(created_event_id),
                    range_start=partition[0],
                    range_end=partition[1],
                )
            )
    return found


def list_backfills(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    statuses: Collection[str],
    limit: int | None,
) -> list[BackfillRecord]:
    """Backfills newest first, only those in `statuses` when given."""
    table = schema.backfills
    query = select(table).where(
        table.c.tenant_id == tenant_id, table.c.workspace_id == workspace_id
    )
    if statuses:
        query = query.where(table.c.status.in_(sorted(statuses)))
    query = query.order_by(table.c.created_event_id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [backfill_from_row(row._mapping) for row in connection.execute(query)]
