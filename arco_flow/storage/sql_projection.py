"""Loading and persisting projection rows in SQL, around the pure projector.

For each batch the store loads the rows `required_rows` names, lets `project` change them,
and writes back what `ProjectionChanges` names, with one multi-row statement per table. The
only writer of the projection tables; it runs inside the append's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Dialect,
    Insert,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from arco_flow.core.canonical_json import canonical_json
from arco_flow.core.errors import StoreError
from arco_flow.core.keys import AssetKey
from arco_flow.storage import schema
from arco_flow.storage.instigator_projection import InstigatorKey, TickKey
from arco_flow.storage.partition_status import MaterializedCache, ranges_to_data
from arco_flow.storage.projector import (
    AssetRowKey,
    BackfillKey,
    DynamicPartitionsChange,
    ProjectionChanges,
    ProjectionState,
    RequiredRows,
    RunKey,
    TaskKey,
)
from arco_flow.storage.quarantine_projection import QuarantineChange, QuarantineResolution
from arco_flow.storage.records import AssetRecord, MaterializationRecord, ObservationRecord
from arco_flow.storage.rows import (
    PROJECTION_TABLES,
    TableRows,
    asset_from_row,
    asset_row,
    asset_summary_from_row,
    backfill_from_row,
    backfill_row,
    check_evaluation_row,
    failure_row,
    instigator_state_from_row,
    instigator_state_row,
    keyed_rows,
    latest_check_row,
    latest_row,
    materialization_from_row,
    materialization_row,
    observation_from_row,
    observation_row,
    quarantine_resolution_values,
    quarantine_row,
    run_asset_row,
    run_from_row,
    run_row,
    run_tag_rows,
    task_from_row,
    task_row,
    tick_from_row,
    tick_row,
)
from arco_flow.storage.sql_bulk import BulkStatement

__all__ = ["CHUNK_SIZE", "SqlProjections", "assets_from_rows", "chunks"]

_T = TypeVar("_T")

CHUNK_SIZE = 500
"""Items per IN list: well under SQLite's limit of bound parameters per statement (32,766)."""

# The run columns the projector changes after `RunStarted`; a rule that changes another one
# must add it here (a rebuild would show the difference: see `verify`).
_DYNAMIC_COLUMNS = (
    "tenant_id",
    "workspace_id",
    "partitions_def_name",
    "partition_key",
    "event_id",
    "ordinal",
)
_RUN_MUTABLE = (
    "status",
    "updated_time",
    "started_time",
    "ended_time",
    "coordinator",
    "error",
    # a queued run gets its plan when it starts (`RunQueued`, then `RunStarted`)
    "plan_id",
    "asset_keys",
    "plan",
    "executor",
    "max_concurrent",
)


def chunks(items: Iterable[_T], size: int = CHUNK_SIZE) -> Iterator[list[_T]]:
    """`items` in lists of at most `size`."""
    batch: list[_T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class SqlProjections:
    """The projection tables of one database kind.

    Args:
        dialect: The dialect of the database (SQLite or Postgres, whose
            ``INSERT ... ON CONFLICT`` the upserts use).
    """

    def __init__(self, dialect: Dialect) -> None:
        if dialect.name == "sqlite":
            insert: Any = sqlite.insert
        elif dialect.name == "postgresql":
            insert = postgresql.insert
        else:
            raise StoreError(f"the event store does not support {dialect.name!r} databases")

        def bulk(statement: Any) -> BulkStatement:
            return BulkStatement(statement, dialect)

        self._insert_runs = bulk(schema.runs.insert())
        self._insert_run_tags = bulk(schema.run_tags.insert())
        self._insert_materializations = bulk(schema.materializations.insert())
        self._insert_observations = bulk(schema.observations.insert())
        self._upsert_tasks = bulk(_upsert(insert, schema.tasks))
        self._upsert_latest = bulk(_upsert(insert, schema.latest_materializations))
        self._upsert_assets = bulk(_upsert(insert, schema.asset_records))
        self._upsert_failures = bulk(_upsert(insert, schema.partition_failures))
        self._upsert_backfills = bulk(_upsert(insert, schema.backfills))
        self._insert_check_evaluations = bulk(schema.asset_check_evaluations.insert())
        self._upsert_latest_checks = bulk(_upsert(insert, schema.latest_asset_check_evaluations))
        self._upsert_quarantine = _upsert(insert, schema.asset_quarantines)
        self._upsert_instigators = bulk(_upsert(insert, schema.instigator_states))
        self._upsert_ticks = bulk(_upsert(insert, schema.instigator_ticks))
        cache = schema.materialized_partitions_cache
        keep_newer = insert(cache)
        self._upsert_cache = bulk(
            keep_newer.on_conflict_do_update(
                index_elements=_primary_key(cache),
                set_={
                    "through_event_id": keep_newer.excluded.through_event_id,
                    "ranges": keep_newer.excluded.ranges,
                },
                where=cache.c.through_event_id < keep_newer.excluded.through_event_id,
            )
        )
        self._insert_dynamic_partitions = bulk(
            insert(schema.dynamic_partitions).on_conflict_do_nothing(
                index_elements=_primary_key(schema.dynamic_partitions)
            )
        )
        dynamic = schema.dynamic_partitions
        self._delete_dynamic_partitions = bulk(
            delete(dynamic)
            .where(dynamic.c.tenant_id == bindparam("tenant_id"))
            .where(dynamic.c.workspace_id == bindparam("workspace_id"))
            .where(dynamic.c.partitions_def_name == bindparam("partitions_def_name"))
            .where(dynamic.c.partition_key == bindparam("partition_key"))
        )
        self._insert_run_assets = bulk(
            insert(schema.run_assets).on_conflict_do_nothing(
                index_elements=_primary_key(schema.run_assets)
            )
        )
        runs = schema.runs
        self._update_runs = bulk(
            update(runs)
            .where(runs.c.tenant_id == bindparam("k_tenant_id"))
            .where(runs.c.workspace_id == bindparam("k_workspace_id"))
            .where(runs.c.run_id == bindparam("k_run_id"))
            .values({name: bindparam(f"v_{name}") for name in _RUN_MUTABLE})
        )

    def load(self, connection: Connection, required: RequiredRows) -> ProjectionState:
        """The rows projecting a batch reads, from the tables."""
        state = ProjectionState()
        _load_runs(connection, state, required.runs)
        _load_tasks(connection, state, required.task_runs, required.tasks)
        _load_assets(connection, state, required.assets)
        _load_backfills(connection, state, required.backfills)
        _load_instigators(connection, state, required.instigators, required.ticks)
        return state

    def persist(
        self, connection: Connection, state: ProjectionState, changes: ProjectionChanges
    ) -> None:
        """Writes what `changes` names, from `state`."""
        if changes.new_runs:
            new_runs = [state.runs[key] for key in changes.new_runs]
            self._insert_runs.execute(connection, [run_row(run) for run in new_runs])
            tags = [row for run in new_runs for row in run_tag_rows(run)]
            self._insert_run_tags.execute(connection, tags)
        if changes.updated_runs:
            rows = [_run_update(state, key) for key in changes.updated_runs]
            self._update_runs.execute(connection, rows)
        if changes.run_assets:
            rows = [run_asset_row(key) for key in changes.run_assets]
            self._insert_run_assets.execute(connection, rows)
        if changes.tasks:
            rows = [task_row(state.tasks[key]) for key in changes.tasks]
            self._upsert_tasks.execute(connection, rows)
        if changes.materializations:
            rows = [materialization_row(item) for item in changes.materializations]
            self._insert_materializations.execute(connection, rows)
        if changes.observations:
            rows = [observation_row(item) for item in changes.observations]
            self._insert_observations.execute(connection, rows)
        if changes.latest:
            rows = [latest_row(key, state.latest[key]) for key in changes.latest]
            self._upsert_latest.execute(connection, rows)
        if changes.assets:
            rows = [asset_row(state.assets[key]) for key in changes.assets]
            self._upsert_assets.execute(connection, rows)
        if changes.failures:
            rows = [failure_row(state.failures[key]) for key in changes.failures]
            self._upsert_failures.execute(connection, rows)
        if changes.backfills:
            rows = [backfill_row(state.backfills[key]) for key in changes.backfills]
            self._upsert_backfills.execute(connection, rows)
        if changes.check_evaluations:
            rows = [check_evaluation_row(item) for item in changes.check_evaluations]
            self._insert_check_evaluations.execute(connection, rows)
        if changes.latest_checks:
            latest = state.latest_checks
            rows = [latest_check_row(key, latest[key]) for key in changes.latest_checks]
            self._upsert_latest_checks.execute(connection, rows)
        if changes.instigators:
            instigators = state.instigators
            rows = [instigator_state_row(key, instigators[key]) for key in changes.instigators]
            self._upsert_instigators.execute(connection, rows)
        if changes.ticks:
            rows = [tick_row(key, state.ticks[key]) for key in changes.ticks]
            self._upsert_ticks.execute(connection, rows)
        for change in changes.dynamic_partitions:
            self._persist_dynamic_partitions(connection, change)
        for quarantine in changes.quarantines:
            self._persist_quarantine(connection, quarantine)

    def _persist_quarantine(self, connection: Connection, change: QuarantineChange) -> None:
        table = schema.asset_quarantines
        if not isinstance(change, QuarantineResolution):
            connection.execute(self._upsert_quarantine, [quarantine_row(change)])
            return
        key, values = quarantine_resolution_values(change)
        matches = [table.c[name] == value for name, value in key.items()]
        connection.execute(update(table).where(*matches).values(**values))

    def _persist_dynamic_partitions(
        self, connection: Connection, change: DynamicPartitionsChange
    ) -> None:
        if change.added:
            # Inserting where missing keeps a key's first position, also within one event.
            tenant, workspace, name = (
                change.tenant_id,
                change.workspace_id,
                change.partitions_def_name,
            )
            event_id = change.event_id
            self._insert_dynamic_partitions.execute_values(
                connection,
                _DYNAMIC_COLUMNS,
                [
                    (tenant, workspace, name, key, event_id, ordinal)
                    for ordinal, key in enumerate(change.partition_keys)
                ],
            )
        else:
            scope = {
                "tenant_id": change.tenant_id,
                "workspace_id": change.workspace_id,
                "partitions_def_name": change.partitions_def_name,
            }
            deleted = [{**scope, "partition_key": key} for key in change.partition_keys]
            self._delete_dynamic_partitions.execute(connection, deleted)

    def store_cache(
        self,
        connection: Connection,
        tenant_id: str,
        workspace_id: str,
        asset_key: AssetKey,
        cache: MaterializedCache,
    ) -> None:
        """Keeps an asset's materialized cache unless a newer one is kept already."""
        row = {
            "tenant_id": tenant_id,
            "workspace_id": workspace_id,
            "asset_key": asset_key.to_user_string(),
            "indexing_fingerprint": cache.fingerprint,
            "through_event_id": cache.through_event_id,
            "ranges": canonical_json(ranges_to_data(cache.ranges)),
        }
        self._upsert_cache.execute(connection, [row])

    def clear(self, connection: Connection) -> None:
        """Deletes every projection row and every derived value (not the log)."""
        connection.execute(delete(schema.materialized_partitions_cache))
        for name in reversed(PROJECTION_TABLES):
            connection.execute(delete(schema.metadata.tables[name]))

    def rows(self, connection: Connection) -> TableRows:
        """Every projection row, by table and primary key."""
        tables: TableRows = {}
        for name in PROJECTION_TABLES:
            result = connection.execute(select(schema.metadata.tables[name]))
            tables[name] = keyed_rows(name, (row._asdict() for row in result))
        return tables


def _primary_key(table: Table) -> list[str]:
    return [column.name for column in table.primary_key]


def _upsert(insert: Any, table: Table) -> Insert:
    statement = insert(table)
    keys = _primary_key(table)
    changed = {c.name: statement.excluded[c.name] for c in table.c if c.name not in keys}
    upsert: Insert = statement.on_conflict_do_update(index_elements=keys, set_=changed)
    return upsert


def _run_update(state: ProjectionState, key: RunKey) -> dict[str, Any]:
    row = run_row(state.runs[key])
    values = {f"v_{name}": row[name] for name in _RUN_MUTABLE}
    values.update(k_tenant_id=key[0], k_workspace_id=key[1], k_run_id=key[2])
    return values


def _by_scope(keys: Iterable[tuple[Any, ...]]) -> dict[tuple[str, str], list[Any]]:
    """Keys grouped by (tenant, workspace), each reduced to the rest of the key."""
    grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for key in keys:
        rest = key[2:]
        grouped[(key[0], key[1])].append(rest[0] if len(rest) == 1 else rest)
    return grouped


def _scoped(table: Table) -> Any:
    return and_(
        table.c.tenant_id == bindparam("tenant_id"),
        table.c.workspace_id == bindparam("workspace_id"),
    )


# Built once: an append runs them for every batch, and building a query costs more than
# SQLite takes to answer it. `values` is an expanding parameter (one placeholder per item).
_LOAD_RUNS = select(schema.runs).where(
    _scoped(schema.runs), schema.runs.c.run_id.in_(bindparam("values", expanding=True))
)
_LOAD_TASKS_OF_RUNS = select(schema.tasks).where(
    _scoped(schema.tasks), schema.tasks.c.run_id.in_(bindparam("values", expanding=True))
)
_LOAD_TASKS = select(schema.tasks).where(
    _scoped(schema.tasks),
    tuple_(schema.tasks.c.run_id, schema.tasks.c.task_id).in_(bindparam("values", expanding=True)),
)
_LOAD_ASSETS = select(schema.asset_records).where(
    _scoped(schema.asset_records),
    schema.asset_records.c.asset_key.in_(bindparam("values", expanding=True)),
)

_LOAD_BACKFILLS = select(schema.backfills).where(
    _scoped(schema.backfills),
    schema.backfills.c.backfill_id.in_(bindparam("values", expanding=True)),
)

_LOAD_INSTIGATORS = select(schema.instigator_states).where(
    _scoped(schema.instigator_states),
    schema.instigator_states.c.instigator_name.in_(bindparam("values", expanding=True)),
)
_LOAD_TICKS = select(schema.instigator_ticks).where(
    _scoped(schema.instigator_ticks),
    tuple_(schema.instigator_ticks.c.instigator_name, schema.instigator_ticks.c.tick_id).in_(
        bindparam("values", expanding=True)
    ),
)


def _load(
    connection: Connection, query: Select[Any], keys: Iterable[tuple[Any, ...]]
) -> Iterator[Any]:
    """The rows `query` finds for `keys`, a scope and a batch of values at a time."""
    for (tenant, workspace), values in _by_scope(keys).items():
        for batch in chunks(values):
            parameters = {"tenant_id": tenant, "workspace_id": workspace, "values": batch}
            for row in connection.execute(query, parameters):
                yield row._mapping


def _load_runs(connection: Connection, state: ProjectionState, keys: Collection[RunKey]) -> None:
    for row in _load(connection, _LOAD_RUNS, keys):
        run = run_from_row(row)
        state.runs[(run.tenant_id, run.workspace_id, run.run_id)] = run


def _load_tasks(
    connection: Connection,
    state: ProjectionState,
    whole_runs: Collection[RunKey],
    keys: Collection[TaskKey],
) -> None:
    rest = [key for key in keys if key[:3] not in whole_runs]
    rows = chain(
        _load(connection, _LOAD_TASKS_OF_RUNS, whole_runs), _load(connection, _LOAD_TASKS, rest)
    )
    for row in rows:
        task = task_from_row(row)
        state.tasks[(task.tenant_id, task.workspace_id, task.run_id, task.task_id)] = task


def _load_assets(
    connection: Connection, state: ProjectionState, keys: Collection[AssetRowKey]
) -> None:
    texts = [(tenant, workspace, key.to_user_string()) for tenant, workspace, key in keys]
    for row in _load(connection, _LOAD_ASSETS, texts):
        summary = asset_summary_from_row(row)
        state.assets[(summary.tenant_id, summary.workspace_id, summary.asset_key)] = summary


def _load_backfills(
    connection: Connection, state: ProjectionState, keys: Collection[BackfillKey]
) -> None:
    for row in _load(connection, _LOAD_BACKFILLS, keys):
        backfill = backfill_from_row(row)
        state.backfills[(backfill.tenant_id, backfill.workspace_id, backfill.backfill_id)] = (
            backfill
        )


def _load_instigators(
    connection: Connection,
    state: ProjectionState,
    keys: Collection[InstigatorKey],
    tick_keys: Collection[TickKey],
) -> None:
    for row in _load(connection, _LOAD_INSTIGATORS, keys):
        key = (row["tenant_id"], row["workspace_id"], row["instigator_name"])
        state.instigators[key] = instigator_state_from_row(row)
    for row in _load(connection, _LOAD_TICKS, tick_keys):
        tick_key = (row["tenant_id"], row["workspace_id"], row["instigator_name"], row["tick_id"])
        state.ticks[tick_key] = tick_from_row(row)


def assets_from_rows(connection: Connection, rows: Sequence[Any]) -> list[AssetRecord]:
    """Asset records from asset_records rows, with the events their ids point at."""
    materialized = _materializations_by_id(
        connection, [row["last_materialization_event_id"] for row in rows]
    )
    observed = _observations_by_id(connection, [row["last_observation_event_id"] for row in rows])
    return [
        asset_from_row(
            row,
            materialized.get(row["last_materialization_event_id"]),
            observed.get(row["last_observation_event_id"]),
        )
        for row in rows
    ]


def _materializations_by_id(
    connection: Connection, event_ids: Iterable[int | None]
) -> dict[int, MaterializationRecord]:
    table = schema.materializations
    found: dict[int, MaterializationRecord] = {}
    for batch in chunks({event_id for event_id in event_ids if event_id is not None}):
        for row in connection.execute(select(table).where(table.c.event_id.in_(batch))):
            found[row.event_id] = materialization_from_row(row._mapping)
    return found


def _observations_by_id(
    connection: Connection, event_ids: Iterable[int | None]
) -> dict[int, ObservationRecord]:
    table = schema.observations
    found: dict[int, ObservationRecord] = {}
    for batch in chunks({event_id for event_id in event_ids if event_id is not None}):
        for row in connection.execute(select(table).where(table.c.event_id.in_(batch))):
            found[row.event_id] = observation_from_row(row._mapping)
    return found
