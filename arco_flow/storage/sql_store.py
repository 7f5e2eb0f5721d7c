"""`SqlEventStore`: the event log and its projections in a SQL database (SQLite today).

The only writer of the events table. An append is one write transaction: it places the
batch (`placement`), inserts the new events, and updates the projections (`projector`,
through `sql_projection`) before it commits, so the log and the projections never disagree
in what a reader sees. Opening a store upgrades its schema (`migrator`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import Connection, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from arco_flow.core.errors import StoreError
from arco_flow.core.events import DEFAULT_TENANT, DEFAULT_WORKSPACE, EventRecord, NewEvent
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import KeySpace
from arco_flow.storage import schema
from arco_flow.storage import sql_batch_reads as batch_reads
from arco_flow.storage import sql_check_queries as check_queries
from arco_flow.storage import sql_instigator_queries as instigator_queries
from arco_flow.storage import sql_queries as queries
from arco_flow.storage.instigator_projection import InstigatorState, TickRecord
from arco_flow.storage.memory_projections import InMemoryProjections
from arco_flow.storage.migrator import upgrade_schema
from arco_flow.storage.partition_status import (
    AssetPartitionStatus,
    asset_partition_status,
    dynamic_dependencies,
    indexing_fingerprint,
)
from arco_flow.storage.placement import place_events, streams_of
from arco_flow.storage.projector import project, required_rows
from arco_flow.storage.protocols import Clock
from arco_flow.storage.query_rules import cursor_not_found, run_not_found, run_stream
from arco_flow.storage.records import (
    AssetCheckEvaluationRecord,
    AssetRecord,
    BackfillRecord,
    MaterializationRecord,
    ObservationRecord,
    QuarantineRecord,
    QuarantineStatus,
    RunRecord,
    RunsFilter,
    TaskRecord,
)
from arco_flow.storage.rows import (
    TableRows,
    event_from_row,
    event_row,
    quarantine_from_row,
)
from arco_flow.storage.sql_automation_projection import SqlAutomationEvaluations
from arco_flow.storage.sql_bulk import BulkStatement
from arco_flow.storage.sql_engine import (
    DEFAULT_BUSY_TIMEOUT_S,
    create_store_engine,
    database_url,
    transaction,
)
from arco_flow.storage.sql_projection import SqlProjections
from arco_flow.storage.verification import diff_projections

if TYPE_CHECKING:
    from arco_flow.core.automation import EvaluationRecord

__all__ = ["SqlEventStore"]

_KNOWN_RUNS_FOR_HINT = 100
_VERIFY_BATCH = 2000


class SqlEventStore:
    """The event store in a SQL database; opening it brings its schema to the head.

    Args:
        target: A SQLAlchemy URL (``sqlite:///path/arco.db``) or the path of a SQLite file
            (created with its directory when missing). The embedded default is
            `sql_engine.default_database_path(ARCO_HOME)`, resolved by the caller.
        clock: Gives the time of each append, in seconds since the epoch.
        busy_timeout_s: How long a writer waits for another process's write lock.

    Raises:
        StoreError: The database cannot be opened, is not a store, or has a schema from a
            newer Arco Flow (then it is left unchanged).
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        *,
        clock: Clock = time.time,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    ) -> None:
        self.url = database_url(target)
        self._where = make_url(self.url).render_as_string(hide_password=True)
        self._clock = clock
        self._engine = create_store_engine(self.url, busy_timeout_s=busy_timeout_s)
        try:
            with transaction(self._engine, write=True) as connection:
                before = upgrade_schema(connection, where=self._where)
                if before:
                    # A store written before the head revision may lack projections that
                    # a later revision added (their tables start empty): replay the log.
                    self._projections = SqlProjections(self._engine.dialect)
                    self._rebuild(connection, 2000)
        except StoreError:
            self._engine.dispose()
            raise
        except DBAPIError as error:
            self._engine.dispose()
            raise StoreError(
                f"cannot open the store at {self._where}: {error.orig}. Check that the path "
                "is an Arco Flow store (or a new file) and that it is writable."
            ) from error
        self._projections = SqlProjections(self._engine.dialect)
        self._automation = SqlAutomationEvaluations(self._engine)
        self._insert_events = BulkStatement(schema.events.insert(), self._engine.dialect)

    def __enter__(self) -> SqlEventStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Closes every connection of the store."""
        self._engine.dispose()

    # EventStore

    def append(
        self,
        events: Sequence[NewEvent],
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[EventRecord]:
        """See `EventStore.append`."""
        if not events:
            return []
        try:
            with transaction(self._engine, write=True) as connection:
                keys = {item.idempotency_key for item in events}
                placement = place_events(
                    events,
                    stored=queries.events_by_keys(connection, tenant_id, workspace_id, keys),
                    last_event_id=queries.last_event_id(connection),
                    stream_heads=queries.stream_heads(
                        connection, tenant_id, workspace_id, streams_of(events)
                    ),
                    timestamp=self._clock(),
                    tenant_id=tenant_id,
                    workspace_id=workspace_id,
                )
                if placement.new:
                    rows = [event_row(record) for record in placement.new]
                    self._insert_events.execute(connection, rows)
                    self._project(connection, placement.new)
        except DBAPIError as error:
            raise StoreError(
                f"could not append {len(events)} event(s) to the store at {self._where}: "
                f"{error.orig}. Nothing was written; if the database is locked, another "
                "process held the write lock past the busy timeout."
            ) from error
        return placement.records

    def read_stream(
        self,
        stream: str,
        *,
        after_sequence: int = 0,
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[EventRecord]:
        """See `EventStore.read_stream`."""
        with transaction(self._engine, write=False) as connection:
            return queries.read_stream(
                connection,
                tenant_id,
                workspace_id,
                stream,
                after_sequence=after_sequence,
                limit=limit,
            )

    def latest_sequences(
        self,
        stream: str,
        *,
        event_types: Collection[str],
        limit: int,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[int]:
        """See `EventStore.latest_sequences`."""
        with transaction(self._engine, write=False) as connection:
            return queries.latest_sequences(
                connection, tenant_id, workspace_id, stream, event_types, limit
            )

    def read_all(
        self,
        *,
        after_event_id: int = 0,
        limit: int | None = None,
        event_types: Collection[str] | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[EventRecord]:
        """See `EventStore.read_all`."""
        with transaction(self._engine, write=False) as connection:
            return queries.read_all(
                connection,
                tenant_id,
                workspace_id,
                after_event_id=after_event_id,
                limit=limit,
                event_types=event_types,
            )

    def last_event_id(
        self, *, tenant_id: str = DEFAULT_TENANT, workspace_id: str = DEFAULT_WORKSPACE
    ) -> int:
        """See `EventStore.last_event_id`."""
        with transaction(self._engine, write=False) as connection:
            return queries.last_event_id(connection, tenant_id, workspace_id)

    def get_by_idempotency_key(
        self,
        key: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> EventRecord | None:
        """See `EventStore.get_by_idempotency_key`."""
        with transaction(self._engine, write=False) as connection:
            return queries.events_by_keys(connection, tenant_id, workspace_id, [key]).get(key)

    # RunStorage

    def get_run(
        self,
        run_id: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> RunRecord:
        """See `RunStorage.get_run`."""
        with transaction(self._engine, write=False) as connection:
            run = queries.get_run(connection, tenant_id, workspace_id, run_id)
            if run is None:
                self._raise_run_not_found(connection, run_id, tenant_id, workspace_id)
            return run

    def list_runs(
        self,
        filters: RunsFilter | None = None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[RunRecord]:
        """See `RunStorage.list_runs`."""
        with transaction(self._engine, write=False) as connection:
            before = None
            if cursor is not None:
                before = queries.run_created_event_id(connection, tenant_id, workspace_id, cursor)
                if before is None:
                    raise cursor_not_found(cursor, tenant_id=tenant_id, workspace_id=workspace_id)
            return queries.list_runs(
                connection,
                tenant_id,
                workspace_id,
                filters or RunsFilter(),
                before_event_id=before,
                limit=limit,
            )

    def latest_runs_by_asset(
        self,
        asset_keys: Collection[AssetKey],
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> dict[AssetKey, RunRecord]:
        """See `RunStorage.latest_runs_by_asset`."""
        with transaction(self._engine, write=False) as connection:
            return batch_reads.latest_runs_by_asset(connection, tenant_id, workspace_id, asset_keys)

    def list_tasks(
        self,
        run_id: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[TaskRecord]:
        """See `RunStorage.list_tasks`."""
        with transaction(self._engine, write=False) as connection:
            self._check_run_known(connection, run_id, tenant_id, workspace_id)
            return queries.list_tasks(connection, tenant_id, workspace_id, run_id)

    def run_events(
        self,
        run_id: str,
        *,
        event_types: Collection[str] | None = None,
        after_sequence: int = 0,
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[EventRecord]:
        """See `RunStorage.run_events`."""
        with transaction(self._engine, write=False) as connection:
            self._check_run_known(connection, run_id, tenant_id, workspace_id)
            return queries.read_stream(
                connection,
                tenant_id,
                workspace_id,
                run_stream(run_id),
                after_sequence=after_sequence,
                limit=limit,
                event_types=event_types,
            )

    def _check_run_known(
        self, connection: Connection, run_id: str, tenant_id: str, workspace_id: str
    ) -> None:
        if not queries.run_is_known(connection, tenant_id, workspace_id, run_id):
            self._raise_run_not_found(connection, run_id, tenant_id, workspace_id)

    def _raise_run_not_found(
        self, connection: Connection, run_id: str, tenant_id: str, workspace_id: str
    ) -> NoReturn:
        known = queries.recent_run_ids(connection, tenant_id, workspace_id, _KNOWN_RUNS_FOR_HINT)
        raise run_not_found(
            run_id, tenant_id=tenant_id, workspace_id=workspace_id, known_run_ids=known
        )

    # AssetStorage

    def latest_materialization(
        self,
        asset_key: AssetKey,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> MaterializationRecord | None:
        """See `AssetStorage.latest_materialization`."""
        with transaction(self._engine, write=False) as connection:
            return queries.latest_materialization(connection, tenant_id, workspace_id, asset_key)

    def latest_materializations(
        self,
        asset_key: AssetKey,
        *,
        partition_keys: Collection[str] | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> dict[str | None, MaterializationRecord]:
        """See `AssetStorage.latest_materializations`."""
        with transaction(self._engine, write=False) as connection:
            return queries.latest_materializations(
                connection, tenant_id, workspace_id, asset_key, partition_keys
            )

    def materialization_history(
        self,
        asset_key: AssetKey,
        *,
        partition_key: str | None = None,
        before_event_id: int | None = None,
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[MaterializationRecord]:
        """See `AssetStorage.materialization_history`."""
        with transaction(self._engine, write=False) as connection:
            return queries.materialization_history(
                connection,
                tenant_id,
                workspace_id,
                asset_key,
                partition_key=partition_key,
                before_event_id=before_event_id,
                limit=limit,
            )

    def materializations_after(
        self,
        after_event_ids: Mapping[AssetKey, int],
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> dict[AssetKey, list[MaterializationRecord]]:
        """See `AssetStorage.materializations_after`."""
        with transaction(self._engine, write=False) as connection:
            return batch_reads.materializations_after(
                connection, tenant_id, workspace_id, after_event_ids
            )

    def observation_history(
        self,
        asset_key: AssetKey,
        *,
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[ObservationRecord]:
        """See `AssetStorage.observation_history`."""
        with transaction(self._engine, write=False) as connection:
            return queries.observation_history(
                connection, tenant_id, workspace_id, asset_key, limit=limit
            )

    def asset_records(
        self,
        asset_keys: Collection[AssetKey] | None = None,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[AssetRecord]:
        """See `AssetStorage.asset_records`."""
        with transaction(self._engine, write=False) as connection:
            return queries.asset_records(connection, tenant_id, workspace_id, asset_keys)

    # CheckStorage

    def latest_check_evaluations(
        self,
        asset_key: AssetKey | None = None,
        *,
        check_name: str | None = None,
        per_partition: bool = False,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[AssetCheckEvaluationRecord]:
        """See `CheckStorage.latest_check_evaluations`."""
        with transaction(self._engine, write=False) as connection:
            return check_queries.latest_check_evaluations(
                connection,
                tenant_id,
                workspace_id,
                asset_key=asset_key,
                check_name=check_name,
                per_partition=per_partition,
            )

    def check_evaluation_history(
        self,
        asset_key: AssetKey,
        check_name: str,
        *,
        partition_key: str | None = None,
        before_event_id: int | None = None,
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[AssetCheckEvaluationRecord]:
        """See `CheckStorage.check_evaluation_history`."""
        with transaction(self._engine, write=False) as connection:
            return check_queries.check_evaluation_history(
                connection,
                tenant_id,
                workspace_id,
                asset_key,
                check_name,
                partition_key=partition_key,
                before_event_id=before_event_id,
                limit=limit,
            )

    def run_check_evaluations(
        self,
        run_id: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[AssetCheckEvaluationRecord]:
        """See `CheckStorage.run_check_evaluations`."""
        with transaction(self._engine, write=False) as connection:
            self._check_run_known(connection, run_id, tenant_id, workspace_id)
            return check_queries.run_check_evaluations(connection, tenant_id, workspace_id, run_id)

    # BackfillStorage

    def list_backfills(
        self,
        *,
        statuses: Collection[str] = (),
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[BackfillRecord]:
        """See `BackfillStorage.list_backfills`."""
        with transaction(self._engine, write=False) as connection:
            return queries.list_backfills(connection, tenant_id, workspace_id, statuses, limit)

    # QuarantineStorage

    def list_quarantines(
        self,
        asset_key: AssetKey | None = None,
        *,
        status: QuarantineStatus | None = QuarantineStatus.QUARANTINED,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[QuarantineRecord]:
        """See `QuarantineStorage.list_quarantines`."""
        table = schema.asset_quarantines
        query = select(table).where(
            table.c.tenant_id == tenant_id, table.c.workspace_id == workspace_id
        )
        if asset_key is not None:
            query = query.where(table.c.asset_key == asset_key.to_user_string())
        if status is not None:
            query = query.where(table.c.status == status.value)
        with transaction(self._engine, write=False) as connection:
            rows = connection.execute(query.order_by(table.c.event_id))
            return [quarantine_from_row(row._mapping) for row in rows]

    # InstigatorStorage

    def instigator_state(
        self,
        name: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> InstigatorState:
        """See `InstigatorStorage.instigator_state`."""
        with transaction(self._engine, write=False) as connection:
            return instigator_queries.instigator_state(connection, tenant_id, workspace_id, name)

    def instigator_ticks(
        self,
        name: str,
        *,
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[TickRecord]:
        """See `InstigatorStorage.instigator_ticks`."""
        with transaction(self._engine, write=False) as connection:
            return instigator_queries.instigator_ticks(
                connection, tenant_id, workspace_id, name, limit
            )

    # PartitionStorage

    def get_dynamic_partitions(
        self,
        partitions_def_name: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[str]:
        """See `PartitionStorage.get_dynamic_partitions`."""
        with transaction(self._engine, write=False) as connection:
            return queries.dynamic_partitions(
                connection, tenant_id, workspace_id, partitions_def_name
            )

    def has_dynamic_partition(
        self,
        partitions_def_name: str,
        partition_key: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> bool:
        """See `PartitionStorage.has_dynamic_partition`."""
        with transaction(self._engine, write=False) as connection:
            return queries.has_dynamic_partition(
                connection, tenant_id, workspace_id, partitions_def_name, partition_key
            )

    def partition_status(
        self,
        asset_key: AssetKey,
        space: KeySpace,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> AssetPartitionStatus:
        """See `PartitionStorage.partition_status`: a batch of one (`partition_statuses`)."""
        statuses = self.partition_statuses(
            {asset_key: space}, tenant_id=tenant_id, workspace_id=workspace_id
        )
        return statuses[asset_key]

    def partition_statuses(
        self,
        spaces: Mapping[AssetKey, KeySpace],
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> dict[AssetKey, AssetPartitionStatus]:
        """See `PartitionStorage.partition_statuses`: a few queries for the whole batch."""
        with transaction(self._engine, write=False) as connection:
            versions = _IndexVersions(connection, tenant_id, workspace_id)
            fingerprints = {
                key: indexing_fingerprint(
                    space.partitions_def, versions(dynamic_dependencies(space.partitions_def))
                )
                for key, space in spaces.items()
            }
            rows = batch_reads.BatchStatusRows(connection, tenant_id, workspace_id, fingerprints)
            statuses = {
                key: asset_partition_status(space, rows.source(key, versions))
                for key, space in spaces.items()
            }
        if rows.pending:
            try:
                with transaction(self._engine, write=True) as connection:
                    for key, cache in rows.pending.items():
                        self._projections.store_cache(
                            connection, tenant_id, workspace_id, key, cache
                        )
            except DBAPIError:
                pass  # a cache that could not be kept is computed again next time
        return statuses

    # AutomationStorage

    def automation_evaluation_history(
        self,
        asset_key: AssetKey,
        *,
        limit: int | None = None,
        before_evaluation_id: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[EvaluationRecord]:
        """See `AutomationStorage.automation_evaluation_history`."""
        return self._automation.history(
            asset_key,
            limit=limit,
            before_evaluation_id=before_evaluation_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
        )

    # ProjectionMaintenance

    def rebuild_projections(self, *, batch_size: int = 2000) -> int:
        """See `ProjectionMaintenance.rebuild_projections`."""
        with transaction(self._engine, write=True) as connection:
            return self._rebuild(connection, batch_size)

    def _rebuild(self, connection: Connection, batch_size: int) -> int:
        count = 0
        self._projections.clear(connection)
        # Derived on read, not replayed: the next query folds the automation ticks again.
        SqlAutomationEvaluations.clear(connection)
        for records in _log_batches(connection, batch_size):
            self._project(connection, records)
            count += len(records)
        return count

    def verify(self) -> list[str]:
        """See `ProjectionMaintenance.verify`; the scratch copy is built in memory."""
        # One read transaction: the log and the projections are one snapshot.
        with transaction(self._engine, write=False) as connection:
            live = self._projections.rows(connection)
            scratch = InMemoryProjections()
            for records in _log_batches(connection, _VERIFY_BATCH):
                scratch.apply(records)
        return diff_projections(live, scratch.rows())

    def projection_rows(self) -> TableRows:
        """See `ProjectionMaintenance.projection_rows`."""
        with transaction(self._engine, write=False) as connection:
            return self._projections.rows(connection)

    def _project(self, connection: Connection, records: Sequence[EventRecord]) -> None:
        state = self._projections.load(connection, required_rows(records))
        changes = project(state, records)
        self._projections.persist(connection, state, changes)


def _log_batches(connection: Connection, batch_size: int) -> Iterator[list[EventRecord]]:
    """The whole log, every tenant, in event id order, `batch_size` records at a time."""
    events = schema.events
    after = 0
    while True:
        query = (select(events).where(events.c.event_id > after).order_by(events.c.event_id)).limit(
            batch_size
        )
        records = [event_from_row(row._mapping) for row in connection.execute(query)]
        if not records:
            return
        yield records
        after = records[-1].event_id


class _IndexVersions:
    """`StatusSource.index_versions` over one transaction, each definition read once."""

    def __init__(self, connection: Connection, tenant_id: str, workspace_id: str) -> None:
        self._connection, self._scope = connection, (tenant_id, workspace_id)
        self._known: dict[tuple[str, bool], int] = {}

    def __call__(self, dependencies: Sequence[tuple[str, bool]]) -> list[int]:
        versions = []
        for name, any_change in dependencies:
            if (name, any_change) not in self._known:
                self._known[name, any_change] = queries.last_partitions_change(
                    self._connection, *self._scope, name, deletions_only=not any_change
                )
            versions.append(self._known[name, any_change])
        return versions
