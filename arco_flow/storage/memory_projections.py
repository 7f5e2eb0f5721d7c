"""Every projection row in memory, with the indexes queries need.

No I/O. The in-memory store keeps its projections here, and the SQL store replays the log
into one of these as the scratch copy that `verify` compares with its tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from arco_flow.core.events import EventRecord
from arco_flow.storage.check_projection import CheckRowKey
from arco_flow.storage.instigator_projection import InstigatorKey, TickKey
from arco_flow.storage.projector import (
    AssetRowKey,
    FailureKey,
    ProjectionState,
    RunKey,
    TaskKey,
    project,
)
from arco_flow.storage.records import (
    AssetCheckEvaluationRecord,
    MaterializationRecord,
    ObservationRecord,
)
from arco_flow.storage.rows import TableRows, projection_rows

__all__ = ["DynamicPartitionsKey", "InMemoryProjections", "Scope"]

Scope = tuple[str, str]
"""(tenant_id, workspace_id)."""
DynamicPartitionsKey = tuple[str, str, str]
"""(tenant_id, workspace_id, partitions_def_name)."""


class InMemoryProjections:
    """All projection rows, kept up to date by `apply`."""

    def __init__(self) -> None:
        self.state = ProjectionState()
        self.materializations: dict[AssetRowKey, list[MaterializationRecord]] = {}
        """Each asset's materializations, oldest first."""
        self.observations: dict[AssetRowKey, list[ObservationRecord]] = {}
        """Each asset's observations, oldest first."""
        self.runs_by_scope: dict[Scope, list[RunKey]] = {}
        """Each workspace's runs, oldest first."""
        self.runs_by_asset: dict[AssetRowKey, set[str]] = {}
        """Ids of the runs that planned or materialized each asset."""
        self.tasks_by_run: dict[RunKey, set[TaskKey]] = {}
        self.failures_by_asset: dict[tuple[str, str, str], set[FailureKey]] = {}
        """Each asset's failure rows, by (tenant, workspace, asset key user string)."""
        self.dynamic_partitions: dict[DynamicPartitionsKey, dict[str, tuple[int, int]]] = {}
        """Each dynamic definition's keys, in the order they were added, with their
        (event id, index in event) positions; a dict keeps insertion order."""
        self.check_evaluations: dict[CheckRowKey, list[AssetCheckEvaluationRecord]] = {}
        """Each check's evaluations, oldest first."""
        self.check_evaluations_by_run: dict[RunKey, list[AssetCheckEvaluationRecord]] = {}
        """Each run's check evaluations, oldest first."""
        self.ticks_by_instigator: dict[InstigatorKey, dict[str, None]] = {}
        """Each instigator's tick ids, oldest first (by their `TickStarted`)."""
        self.unfinished_ticks: dict[InstigatorKey, set[str]] = {}
        """Each instigator's ticks that have not ended."""

    def apply(self, records: Sequence[EventRecord]) -> None:
        """Projects new `records` (in event id order) and updates the indexes."""
        changes = project(self.state, records)
        for key in sorted(changes.new_runs, key=lambda key: self.state.runs[key].created_event_id):
            self.runs_by_scope.setdefault(key[:2], []).append(key)
        for task_key in changes.tasks:
            self.tasks_by_run.setdefault(task_key[:3], set()).add(task_key)
        for tenant, workspace, run_id, asset_key in changes.run_assets:
            self.runs_by_asset.setdefault((tenant, workspace, asset_key), set()).add(run_id)
        for materialization in changes.materializations:
            self.materializations.setdefault(
                (
                    materialization.tenant_id,
                    materialization.workspace_id,
                    materialization.asset_key,
                ),
                [],
            ).append(materialization)
        for failure_key in changes.failures:
            self.failures_by_asset.setdefault(failure_key[:3], set()).add(failure_key)
        for change in changes.dynamic_partitions:
            name = (change.tenant_id, change.workspace_id, change.partitions_def_name)
            positions = self.dynamic_partitions.setdefault(name, {})
            if change.added:
                for ordinal, partition_key in enumerate(change.partition_keys):
                    if partition_key not in positions:
                        positions[partition_key] = (change.event_id, ordinal)
            else:
                for partition_key in change.partition_keys:
                    positions.pop(partition_key, None)
        for observation in changes.observations:
            self.observations.setdefault(
                (observation.tenant_id, observation.workspace_id, observation.asset_key), []
            ).append(observation)
        for evaluation in changes.check_evaluations:
            scope = (evaluation.tenant_id, evaluation.workspace_id)
            check = (*scope, evaluation.asset_key, evaluation.check_name)
            self.check_evaluations.setdefault(check, []).append(evaluation)
            run = (*scope, evaluation.run_id)
            self.check_evaluations_by_run.setdefault(run, []).append(evaluation)
        self._index_ticks(changes.ticks)

    def _index_ticks(self, changed: set[TickKey]) -> None:
        ticks = self.state.ticks
        # A tick's row appears with its `TickStarted`, so sorting new rows by that sequence
        # keeps each instigator's ids in stream order.
        for tick_key in sorted(changed, key=lambda key: ticks[key].started_sequence):
            instigator, tick_id = tick_key[:3], tick_key[3]
            self.ticks_by_instigator.setdefault(instigator, {})[tick_id] = None
            unfinished = self.unfinished_ticks.setdefault(instigator, set())
            if ticks[tick_key].is_finished:
                unfinished.discard(tick_id)
            else:
                unfinished.add(tick_id)

    def rows(self) -> TableRows:
        """Every projection row, in the shape the SQL tables hold them."""
        return projection_rows(
            self.state,
            (item for history in self.materializations.values() for item in history),
            (item for history in self.observations.values() for item in history),
            self.dynamic_partitions,
            (item for history in self.check_evaluations.values() for item in history),
        )
