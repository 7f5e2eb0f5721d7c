"""`MemoryEventStore`: every storage protocol in plain Python objects.

For tests and ephemeral instances. No I/O, thread-safe, and held to the same conformance
suite as the SQL backends: same placement, same projector, same row codec for `verify`.
Events are encoded to canonical JSON on append (and the text discarded), so an event the
SQL stores would refuse is refused here too.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from itertools import islice
from typing import TYPE_CHECKING

from arco_flow.core.events import (
    DEFAULT_TENANT,
    DEFAULT_WORKSPACE,
    DynamicPartitionsDeleted,
    EventRecord,
    NewEvent,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import KeySpace
from arco_flow.storage.automation_projection import (
    AUTOMATION_STREAM,
    InMemoryAutomationEvaluations,
)
from arco_flow.storage.instigator_projection import InstigatorState, TickRecord
from arco_flow.storage.memory_projections import InMemoryProjections
from arco_flow.storage.partition_status import (
    ActiveRun,
    AssetPartitionStatus,
    MaterializedCache,
    PartitionFailure,
    asset_partition_status,
)
from arco_flow.storage.placement import place_events, streams_of
from arco_flow.storage.projector import AssetRowKey, planned_partition
from arco_flow.storage.protocols import Clock
from arco_flow.storage.query_rules import (
    asset_sort_key,
    check_sort_key,
    cursor_not_found,
    partitions_stream,
    run_matches,
    run_not_found,
    run_stream,
    task_sort_key,
)
from arco_flow.storage.records import (
    ACTIVE_RUN_STATUSES,
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
from arco_flow.storage.rows import TableRows, event_row
from arco_flow.storage.verification import diff_projections

if TYPE_CHECKING:
    from arco_flow.core.automation import EvaluationRecord

__all__ = ["MemoryEventStore"]

_KNOWN_RUNS_FOR_HINT = 100


class MemoryEventStore:
    """The event log and its projections in memory.

    Args:
        clock: Gives the time of each append, in seconds since the epoch.
    """

    def __init__(self, *, clock: Clock = time.time) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._log: list[EventRecord] = []
        self._by_scope: dict[tuple[str, str], list[EventRecord]] = {}
        self._by_key: dict[tuple[str, str, str], EventRecord] = {}
        self._streams: dict[tuple[str, str, str], list[EventRecord]] = {}
        self._projections = InMemoryProjections()
        self._caches: dict[tuple[str, str, str, str], MaterializedCache] = {}
        """Derived materialized caches by (tenant, workspace, asset, indexing fingerprint)."""
        self._automation = InMemoryAutomationEvaluations()
        """Derived on read, like the caches: each asset's automation evaluations."""

    # EventStore

    def append(
        self,
        events: Sequence[NewEvent],
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[EventRecord]:
        """See `EventStore.append`."""
        with self._lock:
            by_key = self._by_key
            stored = {
                item.idempotency_key: found
                for item in events
                if (found := by_key.get((tenant_id, workspace_id, item.idempotency_key)))
            }
            heads = {
                stream: len(self._streams.get((tenant_id, workspace_id, stream), ()))
                for stream in streams_of(events)
            }
            placement = place_events(
                events,
                stored=stored,
                last_event_id=self._log[-1].event_id if self._log else 0,
                stream_heads=heads,
                timestamp=self._clock(),
                tenant_id=tenant_id,
                workspace_id=workspace_id,
            )
            for record in placement.new:
                event_row(record)  # refuses what has no canonical JSON, before any change
            scoped = self._by_scope.setdefault((tenant_id, workspace_id), [])
            for record in placement.new:
                self._log.append(record)
                scoped.append(record)
                by_key[(tenant_id, workspace_id, record.idempotency_key)] = record
                self._streams.setdefault((tenant_id, workspace_id, record.stream), []).append(
                    record
                )
            self._projections.apply(placement.new)
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
        records = self._streams.get((tenant_id, workspace_id, stream), [])
        # Sequences run 1, 2, 3 ... so the record after `after_sequence` sits at that index.
        end = None if limit is None else max(after_sequence, 0) + limit
        return records[max(after_sequence, 0) : end]

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
        wanted = set(event_types)
        records = reversed(self._streams.get((tenant_id, workspace_id, stream), []))
        matching = (r.stream_sequence for r in records if r.event.EVENT_TYPE in wanted)
        return list(islice(matching, limit))

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
        records = self._by_scope.get((tenant_id, workspace_id), [])
        start = bisect.bisect_right(records, after_event_id, key=lambda record: record.event_id)
        if event_types is not None:
            wanted = set(event_types)
            matching = (r for r in records[start:] if r.event.EVENT_TYPE in wanted)
            return list(islice(matching, limit))
        end = None if limit is None else start + limit
        return records[start:end]

    def last_event_id(
        self, *, tenant_id: str = DEFAULT_TENANT, workspace_id: str = DEFAULT_WORKSPACE
    ) -> int:
        """See `EventStore.last_event_id`."""
        records = self._by_scope.get((tenant_id, workspace_id))
        return records[-1].event_id if records else 0

    def get_by_idempotency_key(
        self,
        key: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> EventRecord | None:
        """See `EventStore.get_by_idempotency_key`."""
        return self._by_key.get((tenant_id, workspace_id, key))

    # RunStorage

    def get_run(
        self,
        run_id: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> RunRecord:
        """See `RunStorage.get_run`."""
        run = self._projections.state.runs.get((tenant_id, workspace_id, run_id))
        if run is None:
            recent = self._projections.runs_by_scope.get((tenant_id, workspace_id), [])
            raise run_not_found(
                run_id,
                tenant_id=tenant_id,
                workspace_id=workspace_id,
                known_run_ids=[key[2] for key in recent[-_KNOWN_RUNS_FOR_HINT:]],
            )
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
        filters = filters or RunsFilter()
        projections = self._projections
        runs = projections.state.runs
        newest_first = reversed(projections.runs_by_scope.get((tenant_id, workspace_id), []))
        if cursor is not None:
            after = runs.get((tenant_id, workspace_id, cursor))
            if after is None:
                raise cursor_not_found(cursor, tenant_id=tenant_id, workspace_id=workspace_id)
            newest_first = (
                key for key in newest_first if runs[key].created_event_id < after.created_event_id
            )
        asset_run_ids = None
        if filters.asset_key is not None:
            asset_run_ids = projections.runs_by_asset.get(
                (tenant_id, workspace_id, filters.asset_key), set()
            )
        matching = (
            runs[key] for key in newest_first if run_matches(runs[key], filters, asset_run_ids)
        )
        return list(islice(matching, limit))

    def list_backfills(
        self,
        *,
        statuses: Collection[str] = (),
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[BackfillRecord]:
        """See `BackfillStorage.list_backfills`."""
        found = [
            backfill
            for (tenant, workspace, _), backfill in self._projections.state.backfills.items()
            if tenant == tenant_id
            and workspace == workspace_id
            and (not statuses or backfill.status in statuses)
        ]
        found.sort(key=lambda backfill: backfill.created_event_id, reverse=True)
        return found[:limit]

    def latest_runs_by_asset(
        self,
        asset_keys: Collection[AssetKey],
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> dict[AssetKey, RunRecord]:
        """See `RunStorage.latest_runs_by_asset`."""
        runs = self._projections.state.runs
        found: dict[AssetKey, RunRecord] = {}
        with self._lock:
            for key in asset_keys:
                run_ids = self._projections.runs_by_asset.get((tenant_id, workspace_id, key))
                records = [runs[(tenant_id, workspace_id, run_id)] for run_id in run_ids or ()]
                if records:
                    found[key] = max(records, key=lambda run: run.created_event_id)
        return found

    def list_tasks(
        self,
        run_id: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[TaskRecord]:
        """See `RunStorage.list_tasks`."""
        run_key = (tenant_id, workspace_id, run_id)
        self._check_run_known(run_id, tenant_id, workspace_id)
        tasks = self._projections.state.tasks
        found = [tasks[key] for key in self._projections.tasks_by_run.get(run_key, ())]
        return sorted(found, key=task_sort_key)

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
        self._check_run_known(run_id, tenant_id, workspace_id)
        records = self.read_stream(
            run_stream(run_id),
            after_sequence=after_sequence,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
        )
        if event_types is not None:
            types = set(event_types)
            records = [record for record in records if record.event.EVENT_TYPE in types]
        return records if limit is None else records[:limit]

    def _check_run_known(self, run_id: str, tenant_id: str, workspace_id: str) -> None:
        if (tenant_id, workspace_id, run_id) in self._projections.state.runs:
            return
        if (tenant_id, workspace_id, run_stream(run_id)) in self._streams:
            return
        self.get_run(run_id, tenant_id=tenant_id, workspace_id=workspace_id)

    # AssetStorage

    def latest_materialization(
        self,
        asset_key: AssetKey,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> MaterializationRecord | None:
        """See `AssetStorage.latest_materialization`."""
        history = self._projections.materializations.get((tenant_id, workspace_id, asset_key))
        return history[-1] if history else None

    def latest_materializations(
        self,
        asset_key: AssetKey,
        *,
        partition_keys: Collection[str] | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> dict[str | None, MaterializationRecord]:
        """See `AssetStorage.latest_materializations`."""
        latest = self._projections.state.latest
        if partition_keys is not None:
            found = (
                (key, latest.get((tenant_id, workspace_id, asset_key, key)))
                for key in partition_keys
            )
            return {key: record for key, record in found if record is not None}
        history = self._projections.materializations.get((tenant_id, workspace_id, asset_key), [])
        partitions = {record.partition_key for record in history}
        return {key: latest[(tenant_id, workspace_id, asset_key, key)] for key in partitions}

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
        history = self._projections.materializations.get((tenant_id, workspace_id, asset_key), [])
        matching = (
            record
            for record in reversed(history)
            if (partition_key is None or record.partition_key == partition_key)
            and (before_event_id is None or record.event_id < before_event_id)
        )
        return list(islice(matching, limit))

    def materializations_after(
        self,
        after_event_ids: Mapping[AssetKey, int],
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> dict[AssetKey, list[MaterializationRecord]]:
        """See `AssetStorage.materializations_after`."""
        found: dict[AssetKey, list[MaterializationRecord]] = {}
        with self._lock:
            for key, after in after_event_ids.items():
                history = self._projections.materializations.get((tenant_id, workspace_id, key))
                start = bisect.bisect_right(history or [], after, key=lambda r: r.event_id)
                if history and start < len(history):
                    found[key] = history[start:]
        return found

    def observation_history(
        self,
        asset_key: AssetKey,
        *,
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[ObservationRecord]:
        """See `AssetStorage.observation_history`."""
        history = self._projections.observations.get((tenant_id, workspace_id, asset_key), [])
        return list(islice(reversed(history), limit))

    def asset_records(
        self,
        asset_keys: Collection[AssetKey] | None = None,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[AssetRecord]:
        """See `AssetStorage.asset_records`."""
        assets = self._projections.state.assets
        if asset_keys is None:
            keys = [key for key in assets if key[0] == tenant_id and key[1] == workspace_id]
        else:
            keys = [(tenant_id, workspace_id, key) for key in set(asset_keys)]
        found = [self._asset_record(key) for key in keys if key in assets]
        return sorted(found, key=asset_sort_key)

    def _asset_record(self, key: AssetRowKey) -> AssetRecord:
        summary = self._projections.state.assets[key]
        materialized = self._projections.materializations.get(key)
        observed = self._projections.observations.get(key)
        return AssetRecord(
            asset_key=summary.asset_key,
            last_materialization=materialized[-1] if materialized else None,
            last_observation=observed[-1] if observed else None,
            materialization_count=summary.materialization_count,
            observation_count=summary.observation_count,
            tenant_id=summary.tenant_id,
            workspace_id=summary.workspace_id,
        )

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
        with self._lock:
            found = [
                evaluation
                for (tenant, workspace, key, name, _), evaluation in (
                    self._projections.state.latest_checks.items()
                )
                if tenant == tenant_id
                and workspace == workspace_id
                and (asset_key is None or key == asset_key)
                and (check_name is None or name == check_name)
            ]
        if not per_partition:
            newest: dict[tuple[AssetKey, str], AssetCheckEvaluationRecord] = {}
            for evaluation in found:
                check = (evaluation.asset_key, evaluation.check_name)
                kept = newest.get(check)
                if kept is None or kept.event_id < evaluation.event_id:
                    newest[check] = evaluation
            found = list(newest.values())
        return sorted(found, key=check_sort_key)

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
        check = (tenant_id, workspace_id, asset_key, check_name)
        history = self._projections.check_evaluations.get(check, [])
        matching = (
            record
            for record in reversed(history)
            if (partition_key is None or record.partition_key == partition_key)
            and (before_event_id is None or record.event_id < before_event_id)
        )
        return list(islice(matching, limit))

    def run_check_evaluations(
        self,
        run_id: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[AssetCheckEvaluationRecord]:
        """See `CheckStorage.run_check_evaluations`."""
        self._check_run_known(run_id, tenant_id, workspace_id)
        run_key = (tenant_id, workspace_id, run_id)
        return list(self._projections.check_evaluations_by_run.get(run_key, ()))

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
        with self._lock:
            found = [
                record
                for (tenant, workspace, key, _, _), record in (
                    self._projections.state.quarantines.items()
                )
                if tenant == tenant_id
                and workspace == workspace_id
                and (asset_key is None or key == asset_key)
                and (status is None or record.status is status)
            ]
        return sorted(found, key=lambda record: record.event_id)

    # PartitionStorage

    def get_dynamic_partitions(
        self,
        partitions_def_name: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[str]:
        """See `PartitionStorage.get_dynamic_partitions`."""
        name = (tenant_id, workspace_id, partitions_def_name)
        return list(self._projections.dynamic_partitions.get(name, ()))

    def has_dynamic_partition(
        self,
        partitions_def_name: str,
        partition_key: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> bool:
        """See `PartitionStorage.has_dynamic_partition`."""
        name = (tenant_id, workspace_id, partitions_def_name)
        return partition_key in self._projections.dynamic_partitions.get(name, ())

    def partition_status(
        self,
        asset_key: AssetKey,
        space: KeySpace,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> AssetPartitionStatus:
        """See `PartitionStorage.partition_status`."""
        with self._lock:
            source = _MemoryStatusSource(self, asset_key, tenant_id, workspace_id)
            return asset_partition_status(space, source)

    def partition_statuses(
        self,
        spaces: Mapping[AssetKey, KeySpace],
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> dict[AssetKey, AssetPartitionStatus]:
        """See `PartitionStorage.partition_statuses` (memory reads cost no round trip)."""
        return {
            key: self.partition_status(key, space, tenant_id=tenant_id, workspace_id=workspace_id)
            for key, space in spaces.items()
        }

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

        def read_stream() -> list[EventRecord]:
            return self._streams.get((tenant_id, workspace_id, AUTOMATION_STREAM), [])

        with self._lock:
            return self._automation.history(
                read_stream,
                asset_key,
                limit=limit,
                before_evaluation_id=before_evaluation_id,
                scope=(tenant_id, workspace_id),
            )

    # InstigatorStorage

    def instigator_state(
        self,
        name: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> InstigatorState:
        """See `InstigatorStorage.instigator_state`."""
        key = (tenant_id, workspace_id, name)
        with self._lock:
            projections = self._projections
            row = projections.state.instigators.get(key)
            state = InstigatorState(name=name) if row is None else replace(row, ticks={})
            ordered = projections.ticks_by_instigator.get(key, {})
            wanted = set(projections.unfinished_ticks.get(key, ()))
            wanted.update(islice(reversed(ordered), 1))
            ticks = [projections.state.ticks[(*key, tick_id)] for tick_id in wanted]
        for tick in sorted(ticks, key=lambda tick: tick.started_sequence):
            state.ticks[tick.tick_id] = tick
        return state

    def instigator_ticks(
        self,
        name: str,
        *,
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[TickRecord]:
        """See `InstigatorStorage.instigator_ticks`."""
        key = (tenant_id, workspace_id, name)
        with self._lock:
            ordered = self._projections.ticks_by_instigator.get(key, {})
            newest = islice(reversed(ordered), limit)
            return [self._projections.state.ticks[(*key, tick_id)] for tick_id in newest]

    # ProjectionMaintenance

    def rebuild_projections(self, *, batch_size: int = 2000) -> int:
        """See `ProjectionMaintenance.rebuild_projections`."""
        with self._lock:
            self._projections = _replay(self._log, batch_size)
            self._caches.clear()
            self._automation.clear()
            return len(self._log)

    def verify(self) -> list[str]:
        """See `ProjectionMaintenance.verify`."""
        with self._lock:
            rebuilt = _replay(self._log, 2000)
            return diff_projections(self._projections.rows(), rebuilt.rows())

    def projection_rows(self) -> TableRows:
        """See `ProjectionMaintenance.projection_rows`."""
        with self._lock:
            return self._projections.rows()

    def close(self) -> None:
        """Nothing to release; present for the `Storage` protocol."""


def _replay(log: Sequence[EventRecord], batch_size: int) -> InMemoryProjections:
    projections = InMemoryProjections()
    for start in range(0, len(log), batch_size):
        projections.apply(log[start : start + batch_size])
    return projections


class _MemoryStatusSource:
    """The rows of one asset's partition status, read from the memory projections."""

    def __init__(
        self, store: MemoryEventStore, asset_key: AssetKey, tenant_id: str, workspace_id: str
    ) -> None:
        self._store = store
        self._projections = store._projections
        self._asset_key = asset_key
        self._scope = (tenant_id, workspace_id)

    def index_versions(self, dependencies: Sequence[tuple[str, bool]]) -> list[int]:
        versions = []
        for name, any_change in dependencies:
            stream = self._store._streams.get((*self._scope, partitions_stream(name)), [])
            changes = (
                record.event_id
                for record in reversed(stream)
                if any_change or isinstance(record.event, DynamicPartitionsDeleted)
            )
            versions.append(next(changes, 0))
        return versions

    def cached(self, fingerprint: str) -> MaterializedCache | None:
        key = (*self._scope, self._asset_key.to_user_string(), fingerprint)
        return self._store._caches.get(key)

    def store_cache(self, cache: MaterializedCache) -> None:
        key = (*self._scope, self._asset_key.to_user_string(), cache.fingerprint)
        kept = self._store._caches.get(key)
        if kept is None or kept.through_event_id < cache.through_event_id:
            self._store._caches[key] = cache

    def latest_since(self, after_event_id: int) -> list[tuple[int, str]]:
        history = self._projections.materializations.get((*self._scope, self._asset_key), [])
        start = bisect.bisect_right(history, after_event_id, key=lambda record: record.event_id)
        return [(record.event_id, record.partition_key or "") for record in history[start:]]

    def failures(self) -> list[PartitionFailure]:
        keys = self._projections.failures_by_asset.get(
            (*self._scope, self._asset_key.to_user_string()), set()
        )
        return [self._projections.state.failures[key] for key in keys]

    def active_runs(self) -> list[ActiveRun]:
        runs = self._projections.state.runs
        run_ids = self._projections.runs_by_asset.get((*self._scope, self._asset_key), set())
        found = []
        for run_id in run_ids:
            run = runs.get((*self._scope, run_id))
            if run is None or run.status not in ACTIVE_RUN_STATUSES:
                continue
            partition = planned_partition(run.plan)
            if partition is not None:
                found.append(
                    ActiveRun(
                        created_event_id=run.created_event_id,
                        range_start=partition[0],
                        range_end=partition[1],
                    )
                )
        return found
