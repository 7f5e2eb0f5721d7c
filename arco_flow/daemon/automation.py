"""Declarative automation against a store: Dagster's `evaluate_automation_conditions`.

The pure evaluator (`arco_flow.core.automation`) reads a `GraphState`; this module builds
one from an `ArcoInstance` (partition status, latest materializations, runs in progress)
and wraps the tick's outcome in Dagster's result shape. Each call evaluates every asset
(`changed=None`): the incremental path is the daemon's, which knows what changed.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arco_flow.core.automation import (
    AssetEvaluation,
    AssetState,
    AutomationCondition,
    AutomationCursor,
    AutomationGraph,
    GraphState,
    MaterializationUpdate,
    TickResult,
    condition_from_data,
    evaluate,
)
from arco_flow.core.errors import NotFoundError
from arco_flow.core.keys import AssetKey, CoercibleToAssetKey
from arco_flow.core.partitions import PartitionsDefinition, PartitionsSubset
from arco_flow.sdk.definitions import Definitions
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import ACTIVE_RUN_STATUSES, RunRecord, RunStatus

__all__ = [
    "AutomationResult",
    "asset_state",
    "build_automation_graph",
    "evaluate_automation_conditions",
]

_RECENT = 100
"""Materializations per asset read for one tick (the cursor drops those already seen)."""


@dataclass(frozen=True, slots=True)
class AutomationResult:
    """What one evaluation requested, why, and the cursor for the next one (Dagster's)."""

    tick: TickResult

    @property
    def cursor(self) -> AutomationCursor:
        """Pass it to the next call."""
        return self.tick.cursor

    @property
    def results(self) -> list[AssetEvaluation]:
        """The evaluation record of every asset evaluated, in key order."""
        return [self.tick.evaluations[key] for key in sorted(self.tick.evaluations)]

    @property
    def total_requested(self) -> int:
        """Asset-partitions requested in all."""
        return sum(self.tick.get_num_requested(key) for key in self.tick.requests)

    def get_num_requested(self, asset_key: CoercibleToAssetKey) -> int:
        """How many partitions (1 for an unpartitioned asset) of `asset_key` were requested."""
        return self.tick.get_num_requested(AssetKey.from_coercible(asset_key))

    def get_requested_partitions(self, asset_key: CoercibleToAssetKey) -> set[str | None]:
        """The requested partition keys of `asset_key` (``{None}`` when unpartitioned)."""
        requested = self.tick.requests.get(AssetKey.from_coercible(asset_key), False)
        if isinstance(requested, PartitionsSubset):
            return set(requested.get_partition_keys())
        return {None} if requested else set()


def evaluate_automation_conditions(
    defs: Definitions,
    instance: ArcoInstance,
    cursor: AutomationCursor | None = None,
    evaluation_time: datetime.datetime | None = None,
    *,
    conditions: Mapping[CoercibleToAssetKey, AutomationCondition] | None = None,
) -> AutomationResult:
    """Evaluates the automation conditions of `defs` against what `instance` holds.

    Args:
        defs: the definitions; each asset's condition comes from its manifest entry.
        instance: the store whose materializations and runs the conditions read.
        cursor: the previous call's `cursor` (None: the first evaluation).
        evaluation_time: "now"; the current time by default.
        conditions: conditions by asset, instead of (or on top of) the definitions' own.

    Returns:
        The requests, the records that explain them, and the next cursor.
    """
    now = evaluation_time or datetime.datetime.now(datetime.UTC)
    automation_graph, partitions_defs = build_automation_graph(defs, conditions)
    state = _graph_state(instance, partitions_defs, now)
    return AutomationResult(evaluate(automation_graph, state, cursor, now))


def build_automation_graph(
    defs: Definitions,
    conditions: Mapping[CoercibleToAssetKey, AutomationCondition] | None = None,
) -> tuple[AutomationGraph, dict[AssetKey, PartitionsDefinition | None]]:
    """The evaluator's graph of `defs` (conditions from the manifest, then `conditions`).

    Returns:
        The graph, and each asset's partitions definition.
    """
    graph = defs.resolve_asset_graph()
    by_asset: dict[AssetKey, AutomationCondition] = {
        asset.key: condition_from_data(asset.automation_condition)
        for asset in defs.manifest.assets
        if asset.automation_condition is not None
    }
    by_asset.update(
        {AssetKey.from_coercible(key): value for key, value in (conditions or {}).items()}
    )
    partitions_defs = {key: defs.partitions_def_of(key) for key in graph.keys}
    automation_graph = AutomationGraph(
        graph, by_asset, partitions_defs=partitions_defs, mapping_of=defs.partition_mapping_of
    )
    return automation_graph, partitions_defs


def _graph_state(
    instance: ArcoInstance,
    partitions_defs: Mapping[AssetKey, PartitionsDefinition | None],
    now: datetime.datetime,
) -> GraphState:
    active = instance.get_runs(statuses=list(ACTIVE_RUN_STATUSES))
    assets = {
        key: asset_state(instance, key, partitions_def, now, active)
        for key, partitions_def in partitions_defs.items()
    }
    return GraphState(assets=assets, changed=None, dynamic_partitions_store=instance)


def asset_state(
    instance: ArcoInstance,
    key: AssetKey,
    partitions_def: PartitionsDefinition | None,
    now: datetime.datetime,
    active: Sequence[RunRecord],
) -> AssetState:
    """What `instance` says of `key` now, as the evaluator reads it.

    Args:
        instance: The store.
        key: The asset.
        partitions_def: Its partitions definition (None: unpartitioned).
        now: The evaluation time (resolves time-window partitions).
        active: The runs in progress (queued, started, canceling).
    """
    history = instance.get_materialization_history(key, limit=_RECENT)
    runs: dict[str, RunRecord | None] = {}
    updates = []
    for record in history:
        if record.run_id not in runs:
            try:
                runs[record.run_id] = instance.get_run(record.run_id)
            except NotFoundError:  # a run written before its RunStarted, or pruned
                runs[record.run_id] = None
        run = runs[record.run_id]
        partitions: Any = True
        if partitions_def is not None and record.partition_key is not None:
            partitions = partitions_def.subset_with_partition_keys(
                [record.partition_key], now, instance
            )
        updates.append(
            MaterializationUpdate(
                event_id=record.event_id,
                timestamp=record.timestamp,
                partitions=partitions,
                run_asset_keys=frozenset(run.asset_keys) if run is not None else frozenset(),
            )
        )
    if partitions_def is None:
        in_progress = any(key in run.asset_keys for run in active)
        latest_runs = instance.get_runs(asset_key=key, limit=1)
        failed = bool(
            latest_runs
            and latest_runs[0].status is RunStatus.FAILURE
            and not any(u.event_id for u in updates if _in_run(u, history, latest_runs[0]))
        )
        return AssetState(
            materialized=bool(history),
            run_in_progress=in_progress,
            execution_failed=failed,
            updates=tuple(reversed(updates)),
        )
    status = instance.get_partition_status(key, partitions_def, current_time=now)
    return AssetState(
        materialized=status.materialized,
        run_in_progress=status.in_progress,
        execution_failed=status.failed,
        updates=tuple(reversed(updates)),
    )


def _in_run(update: MaterializationUpdate, history: list[Any], run: RunRecord) -> bool:
    return any(r.event_id == update.event_id and r.run_id == run.run_id for r in history)
