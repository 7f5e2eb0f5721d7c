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

from arco_flow.core.automation import (
    AssetEvaluation,
    AssetState,
    AutomationCondition,
    AutomationCursor,
    AutomationGraph,
    GraphState,
    MaterializationUpdate,
    Status,
    TickResult,
    condition_from_data,
    evaluate,
)
from arco_flow.core.canonical_json import canonical_json
from arco_flow.core.keys import AssetKey, CoercibleToAssetKey
from arco_flow.core.manifest_view import AssetDefinitionsView
from arco_flow.core.partitions import KeySpace, PartitionsDefinition, PartitionsSubset
from arco_flow.sdk.definitions import Definitions
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.partition_status import ranges_of_keys
from arco_flow.storage.records import ACTIVE_RUN_STATUSES, MaterializationRecord, RunStatus

__all__ = [
    "AutomationResult",
    "asset_states",
    "build_automation_graph",
    "evaluate_automation_conditions",
]

_RUN_BATCH = 500
"""Runs read per query for the assets their materializations name."""


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
    state = _graph_state(instance, partitions_defs, now, cursor)
    return AutomationResult(evaluate(automation_graph, state, cursor, now))


def build_automation_graph(
    defs: AssetDefinitionsView,
    conditions: Mapping[CoercibleToAssetKey, AutomationCondition] | None = None,
) -> tuple[AutomationGraph, dict[AssetKey, PartitionsDefinition | None]]:
    """The evaluator's graph of `defs` (conditions from the manifest, then `conditions`).

    `defs` is the user's `Definitions`, or the `ManifestDefinitions` of a manifest a code
    server sent: the daemon builds its graph without importing user code.

    Returns:
        The graph, and each asset's partitions definition.
    """
    graph = defs.resolve_asset_graph()
    # One value per distinct condition: thousands of assets usually share a few, and
    # the cursor codec writes each shared value once.
    interned: dict[str, AutomationCondition] = {}
    by_asset: dict[AssetKey, AutomationCondition] = {}
    for asset in defs.manifest.assets:
        if asset.automation_condition is not None:
            text = canonical_json(asset.automation_condition)
            if text not in interned:
                interned[text] = condition_from_data(asset.automation_condition)
            by_asset[asset.key] = interned[text]
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
    cursor: AutomationCursor | None,
) -> GraphState:
    seen = cursor.latest_event_ids if cursor is not None else None
    assets = asset_states(instance, partitions_defs, now, seen=seen)
    return GraphState(assets=assets, changed=None, dynamic_partitions_store=instance)


def asset_states(
    instance: ArcoInstance,
    partitions_defs: Mapping[AssetKey, PartitionsDefinition | None],
    now: datetime.datetime,
    *,
    seen: Mapping[AssetKey, int] | None,
) -> dict[AssetKey, AssetState]:
    """What `instance` says of each asset now, as the evaluator reads it: a few batched reads.

    Args:
        instance: The store.
        partitions_defs: The assets to read, each with its partitions definition (None:
            unpartitioned).
        now: The evaluation time (resolves time-window partitions).
        seen: The cursor's latest materialization event id per asset: only the
            materializations after it are read (all of an asset missing from it). None
            before the first evaluation, which ignores updates: then only each asset's
            latest materialization is read, where the cursor starts from.
    """
    keys = list(partitions_defs)
    records = {record.asset_key: record for record in instance.get_asset_records(keys)}
    history: dict[AssetKey, list[MaterializationRecord]]
    if seen is None:
        history = {
            key: [record.last_materialization]
            for key, record in records.items()
            if record.last_materialization is not None
        }
    else:
        history = instance.get_materializations_after({key: seen.get(key, 0) for key in keys})
    run_keys = _run_asset_keys(instance, {r.run_id for rows in history.values() for r in rows})
    partitioned = {key: d for key, d in partitions_defs.items() if d is not None}
    statuses = instance.get_partition_statuses(partitioned, current_time=now)
    unpartitioned = [key for key, d in partitions_defs.items() if d is None]
    latest_runs = instance.get_latest_runs_by_asset(unpartitioned) if unpartitioned else {}
    in_progress: set[AssetKey] = set()
    if unpartitioned:
        for run in instance.get_runs(statuses=list(ACTIVE_RUN_STATUSES)):
            in_progress.update(run.asset_keys)
    found: dict[AssetKey, AssetState] = {}
    for key in partitions_defs:
        space = statuses[key].materialized.space if key in statuses else None
        updates = _updates(history.get(key, ()), space, run_keys)
        if key in statuses:
            status = statuses[key]
            found[key] = AssetState(
                materialized=status.materialized,
                run_in_progress=status.in_progress,
                execution_failed=status.failed,
                updates=updates,
            )
            continue
        latest = records[key].last_materialization if key in records else None
        latest_run = latest_runs.get(key)
        failed = (
            latest_run is not None
            and latest_run.status is RunStatus.FAILURE
            and (latest is None or latest.run_id != latest_run.run_id)
        )
        found[key] = AssetState(
            materialized=latest is not None,
            run_in_progress=key in in_progress,
            execution_failed=failed,
            updates=updates,
        )
    return found


def _run_asset_keys(instance: ArcoInstance, run_ids: set[str]) -> dict[str, frozenset[AssetKey]]:
    """The assets each run targets, one frozenset per run shared by all its updates."""
    found: dict[str, frozenset[AssetKey]] = dict.fromkeys(run_ids, frozenset())
    ordered = sorted(run_ids)
    for start in range(0, len(ordered), _RUN_BATCH):
        for run in instance.get_runs(run_ids=ordered[start : start + _RUN_BATCH]):
            found[run.run_id] = frozenset(run.asset_keys)
    return found


def _updates(
    records: Sequence[MaterializationRecord],
    space: KeySpace | None,
    run_keys: Mapping[str, frozenset[AssetKey]],
) -> tuple[MaterializationUpdate, ...]:
    """One update per (run, timestamp) of `records` (oldest first).

    The evaluator makes the same of them as of one update per record: it unions an
    asset's updates by timestamp, and all are after the cursor.
    """
    groups: dict[tuple[str, float, bool], list[MaterializationRecord]] = {}
    for record in records:
        whole = space is None or record.partition_key is None
        groups.setdefault((record.run_id, record.timestamp, whole), []).append(record)
    updates = []
    for (run_id, timestamp, whole), group in groups.items():
        partitions: Status = True
        if not whole and space is not None:
            keys = [record.partition_key or "" for record in group]
            partitions = PartitionsSubset(space, ranges_of_keys(space, keys))
        updates.append(
            MaterializationUpdate(
                event_id=max(record.event_id for record in group),
                timestamp=timestamp,
                partitions=partitions,
                run_asset_keys=run_keys.get(run_id, frozenset()),
            )
        )
    updates.sort(key=lambda update: update.event_id)
    return tuple(updates)
