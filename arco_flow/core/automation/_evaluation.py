"""One automation tick: which partitions of which assets to request, and why.

Pure: state, the previous cursor and the evaluation time come in; requests, evaluation
records and the next cursor go out. Every node is evaluated over all partitions of its
target (Dagster narrows the candidates of ``&`` children, which gives the same requests
because every operand is a function of the state and the stateful operators evaluate over
all partitions in Dagster too). Sets are index ranges of the target's `KeySpace`, so a
daily asset of decades costs what its few ranges cost.

Incremental: an asset is evaluated again only if its result could differ from the
previous tick's: it is new or its condition changed; it was *volatile* (something that
holds for one tick only was true: an update, a request, a passed cron tick, the initial
evaluation, a newly-true operand); an asset its condition reads changed (`GraphState.
changed`), was requested on this or the previous tick, or gained partitions; or one of its
cron schedules ticked. Everything else keeps its previous result, so an idle tick only
walks the automated assets once.

Where both the trigger and the reset of a `since` hold on one tick, the trigger wins on the
partitions whose trigger timestamp (a cron tick, a materialization, the previous
evaluation) is later than every reset timestamp there, as in Dagster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from arco_flow.core.automation._condition import (
    AllDepsCondition,
    AndAutomationCondition,
    AnyDepsCondition,
    AutomationCondition,
    BackfillInProgressCondition,
    CronTickPassedCondition,
    ExecutedWithRootTargetCondition,
    ExecutionFailedCondition,
    InitialEvaluationCondition,
    InLatestTimeWindowCondition,
    MissingCondition,
    NewlyRequestedCondition,
    NewlyTrueCondition,
    NewlyUpdatedCondition,
    NotAutomationCondition,
    OrAutomationCondition,
    RunInProgressCondition,
    SinceCondition,
    WillBeRequestedCondition,
)
from arco_flow.core.automation._graph import AutomationGraph, Target, executable_in_same_run
from arco_flow.core.automation._state import GraphState, Status
from arco_flow.core.freshness import latest_cron_tick
from arco_flow.core.gc_pause import gc_paused
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import (
    KeySpace,
    MultiKeySpace,
    PartitionsDefinition,
    PartitionsSubset,
    TimeKeySpace,
)
from arco_flow.core.partitions._ranges import (
    EMPTY,
    Ranges,
    difference,
    intersection,
    union,
)

__all__ = [
    "AssetCursor",
    "AssetEvaluation",
    "AutomationCursor",
    "ConditionResult",
    "TickResult",
    "evaluate",
]

_UNIT: Ranges = ((0, 1),)
"""The one "partition" of an unpartitioned asset."""
Timing = dict[float, Ranges]
"""Timestamp -> the partitions a node holds for because of something that happened then."""


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """One node of a condition evaluated for one asset: where it held (Dagster's result)."""

    condition: AutomationCondition
    key: AssetKey
    """The asset it was evaluated for (a dependency, under ``any_deps_match``)."""
    true_subset: Status
    child_results: tuple[ConditionResult, ...] = ()

    @property
    def label(self) -> str:
        """The condition as shown: its label, or its structure."""
        return str(self.condition)

    @property
    def num_true(self) -> int:
        """How many partitions it held for (1 or 0 for an unpartitioned asset)."""
        subset = self.true_subset
        return len(subset) if isinstance(subset, PartitionsSubset) else int(subset)


@dataclass(frozen=True, slots=True)
class AssetEvaluation:
    """Why an asset was (or was not) requested on a tick."""

    key: AssetKey
    requested: Status
    result: ConditionResult
    """The root node's result; its children explain it."""

    @property
    def num_requested(self) -> int:
        """How many partitions were requested."""
        return self.result.num_true if self.requested is not False else 0


@dataclass(frozen=True, slots=True)
class AssetCursor:
    """What one asset's next evaluation needs from its last one."""

    condition: AutomationCondition
    partitions_def: PartitionsDefinition | None
    node_states: Mapping[str, Status]
    """State of the stateful nodes (`since`, `newly_true`) by their path in the tree."""
    evaluation: AssetEvaluation


@dataclass(frozen=True, slots=True)
class AutomationCursor:
    """The evaluator's memory between ticks (Dagster's cursor)."""

    evaluation_id: int = 0
    evaluation_timestamp: float | None = None
    assets: Mapping[AssetKey, AssetCursor] = field(default_factory=dict)
    latest_event_ids: Mapping[AssetKey, int] = field(default_factory=dict)
    """The largest materialization event id seen per asset."""
    requested: Mapping[AssetKey, Status] = field(default_factory=dict)
    """What the last tick requested (non-empty only)."""
    volatile: frozenset[AssetKey] = frozenset()
    """Assets whose last result held something for one tick only."""


@dataclass(frozen=True, slots=True)
class TickResult:
    """The outcome of one tick."""

    requests: dict[AssetKey, Status]
    """What to request, per asset (non-empty only)."""
    evaluations: dict[AssetKey, AssetEvaluation]
    """The assets evaluated on this tick; the others kept their result (in the cursor)."""
    cursor: AutomationCursor

    def get_num_requested(self, asset_key: AssetKey) -> int:
        """How many partitions of `asset_key` were requested (Dagster's name)."""
        requested = self.requests.get(asset_key, False)
        return len(requested) if isinstance(requested, PartitionsSubset) else int(requested)


@gc_paused  # a tick allocates ~10 objects per node evaluated, none in a cycle
def evaluate(
    graph: AutomationGraph,
    state: GraphState,
    previous_cursor: AutomationCursor | None,
    evaluation_time: datetime,
    *,
    full: bool = False,
) -> TickResult:
    """Evaluates every automation condition that could have a new result at `evaluation_time`.

    Args:
        graph: The prepared graph and conditions.
        state: Every asset's state now, and which assets changed since the previous tick.
        previous_cursor: The cursor the previous tick returned (None: the first tick).
        evaluation_time: "Now" (aware, or naive UTC).
        full: Evaluate every asset, as if all had changed (results are the same).

    Returns:
        The requests, the evaluation records of the assets evaluated, and the next cursor.
    """
    tick = _Tick(graph, state, previous_cursor or AutomationCursor(), evaluation_time)
    dirty = set(graph.order) if full or state.changed is None else tick.dirty_positions()
    requests: dict[AssetKey, Status] = {}
    evaluations: dict[AssetKey, AssetEvaluation] = {}
    cursors = dict(tick.previous.assets)
    volatile: set[AssetKey] = set()
    watchers = graph.watchers
    for position in graph.order:
        if position not in dirty:
            continue
        target = graph.targets[position]
        entry, is_volatile = tick.evaluate_asset(target, graph.condition_at[position])
        cursors[target.key] = entry
        evaluations[target.key] = entry.evaluation
        if is_volatile:
            volatile.add(target.key)
        ranges = tick.requested_now.get(position)
        if ranges:
            requests[target.key] = entry.evaluation.requested
            dirty |= watchers.get(position, frozenset())
    cursor = AutomationCursor(
        evaluation_id=tick.previous.evaluation_id + 1,
        evaluation_timestamp=tick.now,
        assets=cursors,
        latest_event_ids=tick.latest_event_ids(),
        requested=requests,
        volatile=frozenset(volatile),
    )
    return TickResult(requests=requests, evaluations=evaluations, cursor=cursor)


class _Tick:
    """The state of one evaluation: spaces, requests so far, and the node being filled in."""

    def __init__(
        self,
        graph: AutomationGraph,
        state: GraphState,
        previous: AutomationCursor,
        evaluation_time: datetime,
    ) -> None:
        if evaluation_time.tzinfo is None:
            evaluation_time = evaluation_time.replace(tzinfo=UTC)
        self.graph, self.state, self.previous = graph, state, previous
        self.time = evaluation_time
        self.now = evaluation_time.timestamp()
        self.previous_time = previous.evaluation_timestamp
        self.spaces: dict[int, KeySpace] = {}
        self.requested_now: dict[int, Ranges] = {}
        self.cron_passed: dict[tuple[str, str], float | None] = {}
        # Per asset being evaluated:
        self.root: Target | None = None
        self.initial = False
        self.volatile = False
        self.old_states: Mapping[str, Status] = {}
        self.new_states: dict[str, Status] = {}

    # -- which assets to evaluate -----------------------------------------------------------

    def dirty_positions(self) -> set[int]:
        graph, previous = self.graph, self.previous
        position_of = graph.graph.position_of
        watchers = graph.watchers
        dirty: set[int] = set()
        touched = set(self.state.changed or ())
        touched.update(previous.requested)
        for key in touched:
            position = position_of.get(key)
            if position is not None:
                dirty |= watchers.get(position, frozenset())
        dirty.update(position_of[key] for key in previous.volatile if key in position_of)
        for cron, positions in graph.crons.items():
            if self.cron_tick(cron) is not None:
                dirty.update(positions)
        if self.previous_time is not None:
            before = datetime.fromtimestamp(self.previous_time, UTC)
            for definition, positions in graph.positions_by_definition.items():
                store = self.state.dynamic_partitions_store
                if (
                    self.space_of(positions[0]).all_ranges()
                    != definition.resolve(before, store).all_ranges()
                ):
                    for position in positions:
                        dirty |= watchers.get(position, frozenset())
        entries = previous.assets
        keys = graph.graph.keys
        for position in graph.order:
            entry = entries.get(keys[position])
            if entry is None or entry.condition is not graph.condition_at[position]:
                dirty.add(position)
        return dirty

    def cron_tick(self, cron: tuple[str, str]) -> float | None:
        """The latest tick of `cron` if it passed since the previous evaluation, else None."""
        if cron not in self.cron_passed:
            passed = None
            if self.previous_time is not None:
                latest = latest_cron_tick(cron[0], cron[1], self.now)
                if latest >= self.previous_time:
                    passed = latest
            self.cron_passed[cron] = passed
        return self.cron_passed[cron]

    def latest_event_ids(self) -> dict[AssetKey, int]:
        ids = dict(self.previous.latest_event_ids)
        changed = self.state.changed
        keys = self.state.assets.keys() if changed is None else changed
        for key in keys:
            latest = self.state.get(key).latest_event_id
            if latest is not None and latest > ids.get(key, -1):
                ids[key] = latest
        return ids

    # -- spaces and statuses --------------------------------------------------------------

    def space_of(self, position: int) -> KeySpace:
        space = self.spaces.get(position)
        if space is None:
            definition = self.graph.targets[position].partitions_def
            assert definition is not None  # only partitioned targets have spaces
            space = definition.resolve(self.time, self.state.dynamic_partitions_store)
            self.spaces[position] = space
        return space

    def full(self, target: Target) -> Ranges:
        if target.partitions_def is None:
            return _UNIT
        return self.space_of(target.position).all_ranges()

    def ranges(self, target: Target, status: Status) -> Ranges:
        """`status` as ranges of the target's current space."""
        if isinstance(status, bool):
            return self.full(target) if status else EMPTY
        if target.partitions_def is None:
            return _UNIT if not status.is_empty else EMPTY
        space = self.space_of(target.position)
        if status.space is space or space.same_indexing(status.space):
            return intersection(status.ranges, space.all_ranges())
        return (PartitionsSubset(space, space.all_ranges()) & status).ranges

    def status(self, target: Target, ranges: Ranges) -> Status:
        if target.partitions_def is None:
            return bool(ranges)
        return PartitionsSubset(self.space_of(target.position), ranges)

    def map_down(self, parent: Target, child: Target, ranges: Ranges) -> Ranges:
        """The child partitions that read any of `ranges` of the parent."""
        if not ranges:
            return EMPTY
        if parent.partitions_def is None or child.partitions_def is None:
            return self.full(child)
        mapping = child.mappings[parent.position]
        mapped = mapping.get_downstream_partitions_for_partitions(
            PartitionsSubset(self.space_of(parent.position), ranges),
            parent.partitions_def,
            child.partitions_def,
            self.time,
            self.state.dynamic_partitions_store,
        )
        return self.ranges(child, mapped)

    # -- one asset ---------------------------------------------------------------------------

    def evaluate_asset(
        self, target: Target, condition: AutomationCondition
    ) -> tuple[AssetCursor, bool]:
        entry = self.previous.assets.get(target.key)
        self.root = target
        self.initial = (
            entry is None
            or entry.condition != condition
            or entry.partitions_def != target.partitions_def
        )
        self.old_states = {} if self.initial or entry is None else entry.node_states
        self.new_states = {}
        self.volatile = self.initial
        true, _, result = self.node(condition, target, "0")
        requested = true if target.is_executable else EMPTY
        if requested:
            self.requested_now[target.position] = requested
            self.volatile = True
        evaluation = AssetEvaluation(
            key=target.key, requested=self.status(target, requested), result=result
        )
        cursor = AssetCursor(
            condition=condition,
            partitions_def=target.partitions_def,
            node_states=self.new_states,
            evaluation=evaluation,
        )
        return cursor, self.volatile

    def node(
        self, condition: AutomationCondition, target: Target, path: str
    ) -> tuple[Ranges, Timing, ConditionResult]:
        """Where `condition` holds for `target`, its timing, and its record."""
        true, timing, children = self._compute(condition, target, path)
        record = ConditionResult(condition, target.key, self.status(target, true), children)
        return true, timing, record

    def _compute(
        self, condition: AutomationCondition, target: Target, path: str
    ) -> tuple[Ranges, Timing, tuple[ConditionResult, ...]]:
        if isinstance(condition, AndAutomationCondition | OrAutomationCondition):
            return self._boolean(condition, target, path)
        if isinstance(condition, NotAutomationCondition):
            true, _, child = self.node(condition.operand, target, path + ".0")
            return difference(self.full(target), true), {}, (child,)
        if isinstance(condition, SinceCondition):
            return self._since(condition, target, path)
        if isinstance(condition, NewlyTrueCondition):
            true, _, child = self.node(condition.operand, target, path + ".0")
            before = self.old_states.get(path)
            previous = EMPTY if before is None else self.ranges(target, before)
            self.new_states[path] = self.status(target, true)
            newly = difference(true, previous)
            self.volatile = self.volatile or bool(newly)
            return newly, {}, (child,)
        if isinstance(condition, AnyDepsCondition | AllDepsCondition):
            return self._deps(condition, target, path)
        true, timing = self._operand(condition, target)
        if true and isinstance(condition, _TRANSIENT):
            self.volatile = True
        return true, timing, ()

    def _boolean(
        self,
        condition: AndAutomationCondition | OrAutomationCondition,
        target: Target,
        path: str,
    ) -> tuple[Ranges, Timing, tuple[ConditionResult, ...]]:
        is_and = isinstance(condition, AndAutomationCondition)
        true = self.full(target) if is_and else EMPTY
        timing: Timing = {}
        children = []
        for index, operand in enumerate(condition.operands):
            child_true, child_timing, child = self.node(operand, target, f"{path}.{index}")
            children.append(child)
            true = intersection(true, child_true) if is_and else union(true, child_true)
            for stamp, ranges in child_timing.items():
                timing[stamp] = union(timing.get(stamp, EMPTY), ranges)
        if is_and:
            timing = _restrict(timing, true)
        return true, timing, tuple(children)

    def _since(
        self, condition: SinceCondition, target: Target, path: str
    ) -> tuple[Ranges, Timing, tuple[ConditionResult, ...]]:
        trigger, trigger_timing, trigger_record = self.node(
            condition.trigger_condition, target, path + ".0"
        )
        reset, reset_timing, reset_record = self.node(
            condition.reset_condition, target, path + ".1"
        )
        before = self.old_states.get(path)
        true = EMPTY if before is None else self.ranges(target, before)
        true = difference(union(true, trigger), reset)
        both = intersection(trigger, reset)
        if both and trigger_timing:
            untimed_reset = reset
            for ranges in reset_timing.values():
                untimed_reset = difference(untimed_reset, ranges)
            for stamp, ranges in trigger_timing.items():
                lost = untimed_reset
                for reset_stamp, reset_ranges in reset_timing.items():
                    if reset_stamp >= stamp:
                        lost = union(lost, reset_ranges)
                true = union(true, difference(intersection(ranges, both), lost))
        self.new_states[path] = self.status(target, true)
        return true, _restrict(trigger_timing, true), (trigger_record, reset_record)

    def _deps(
        self, condition: AnyDepsCondition | AllDepsCondition, target: Target, path: str
    ) -> tuple[Ranges, Timing, tuple[ConditionResult, ...]]:
        is_all = isinstance(condition, AllDepsCondition)
        true = self.full(target) if is_all else EMPTY
        timing: Timing = {}
        children = []
        targets = self.graph.targets
        for parent_position in target.parents:
            parent = targets[parent_position]
            parent_true, parent_timing, child = self.node(
                condition.operand, parent, f"{path}/{parent.key.to_user_string()}"
            )
            children.append(child)
            mapped = self.map_down(parent, target, parent_true)
            true = intersection(true, mapped) if is_all else union(true, mapped)
            for stamp, ranges in parent_timing.items():
                timing[stamp] = union(
                    timing.get(stamp, EMPTY), self.map_down(parent, target, ranges)
                )
        return true, _restrict(timing, true), tuple(children)

    def _operand(self, condition: AutomationCondition, target: Target) -> tuple[Ranges, Timing]:
        asset = self.state.get(target.key)
        if isinstance(condition, MissingCondition):
            return difference(self.full(target), self.ranges(target, asset.materialized)), {}
        if isinstance(condition, RunInProgressCondition):
            return self.ranges(target, asset.run_in_progress), {}
        if isinstance(condition, BackfillInProgressCondition):
            return self.ranges(target, asset.backfill_in_progress), {}
        if isinstance(condition, ExecutionFailedCondition):
            return self.ranges(target, asset.execution_failed), {}
        if isinstance(condition, InitialEvaluationCondition):
            return (self.full(target) if self.initial else EMPTY), {}
        if isinstance(condition, WillBeRequestedCondition):
            root = self.root
            assert root is not None  # set by evaluate_asset
            if target is root or not executable_in_same_run(root, target):
                return EMPTY, {}
            return self.requested_now.get(target.position, EMPTY), {}
        if isinstance(condition, NewlyUpdatedCondition | ExecutedWithRootTargetCondition):
            return self._updated(target, isinstance(condition, ExecutedWithRootTargetCondition))
        if isinstance(condition, NewlyRequestedCondition):
            requested = self.previous.requested.get(target.key)
            if requested is None or self.previous_time is None:
                return EMPTY, {}
            ranges = self.ranges(target, requested)
            return ranges, ({self.previous_time: ranges} if ranges else {})
        if isinstance(condition, CronTickPassedCondition):
            tick = self.cron_tick((condition.cron_schedule, condition.cron_timezone))
            if tick is None:
                return EMPTY, {}
            full = self.full(target)
            return full, {tick: full}
        assert isinstance(condition, InLatestTimeWindowCondition), condition
        return self._latest_window(target, condition.lookback_seconds), {}

    def _updated(self, target: Target, with_root: bool) -> tuple[Ranges, Timing]:
        if self.previous_time is None:
            return EMPTY, {}
        seen = self.previous.latest_event_ids.get(target.key, -1)
        root = self.root
        assert root is not None  # set by evaluate_asset
        true: Ranges = EMPTY
        timing: Timing = {}
        for update in self.state.get(target.key).updates:
            if update.event_id <= seen:
                continue
            if with_root and root.key not in update.run_asset_keys:
                continue
            ranges = self.ranges(target, update.partitions)
            true = union(true, ranges)
            timing[update.timestamp] = union(timing.get(update.timestamp, EMPTY), ranges)
        return true, ({} if with_root else timing)

    def _latest_window(self, target: Target, lookback: float | None) -> Ranges:
        full = self.full(target)
        if target.partitions_def is None or not full:
            return full
        space = self.space_of(target.position)
        if isinstance(space, TimeKeySpace):
            return _latest(space, full, lookback)
        if isinstance(space, MultiKeySpace):
            outer, inner = space.outer_space, space.inner_space
            if isinstance(outer, TimeKeySpace):
                latest = _latest(outer, outer.all_ranges(), lookback)
                return intersection(space.product(latest, inner.all_ranges()), full)
            if isinstance(inner, TimeKeySpace):
                latest = _latest(inner, inner.all_ranges(), lookback)
                return intersection(space.product(outer.all_ranges(), latest), full)
        return full


_TRANSIENT = (
    NewlyUpdatedCondition,
    NewlyRequestedCondition,
    ExecutedWithRootTargetCondition,
    CronTickPassedCondition,
    InitialEvaluationCondition,
    WillBeRequestedCondition,
)
"""Operands that hold for one tick only: an asset where one held is evaluated again."""


def _latest(space: TimeKeySpace, full: Ranges, lookback: float | None) -> Ranges:
    if not full:
        return EMPTY
    last = full[-1][1] - 1
    if lookback is None:
        return ((last, last + 1),)
    end = space.start_timestamp(last + 1)
    first = max(space.index_containing(end - lookback), 0)
    return intersection(((first, last + 1),), full)


def _restrict(timing: Timing, true: Ranges) -> Timing:
    if not timing:
        return timing
    restricted = {stamp: intersection(ranges, true) for stamp, ranges in timing.items()}
    return {stamp: ranges for stamp, ranges in restricted.items() if ranges}
