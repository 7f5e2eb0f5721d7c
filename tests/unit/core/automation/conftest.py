"""Small graphs and a tick driver for the automation evaluator's tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from arco_flow.core.automation import (
    AssetState,
    AutomationCondition,
    AutomationCursor,
    AutomationGraph,
    GraphState,
    MaterializationUpdate,
    TickResult,
    evaluate,
)
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import ManifestAsset
from arco_flow.core.partitions import PartitionsDefinition, PartitionsSubset

START = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)


def build(
    deps: Mapping[str, Sequence[str]],
    conditions: Mapping[str, AutomationCondition],
    partitions: Mapping[str, PartitionsDefinition] | None = None,
) -> AutomationGraph:
    assets = [
        ManifestAsset(key=AssetKey(name), node=name, deps=tuple(AssetKey(d) for d in parents))
        for name, parents in deps.items()
    ]
    parts = partitions or {}
    return AutomationGraph(
        AssetGraph.from_assets(assets),
        {AssetKey(name): condition for name, condition in conditions.items()},
        partitions_defs={AssetKey(name): parts.get(name) for name in deps},
    )


@dataclass
class World:
    """A store in miniature: materializations and runs, and a tick driver over it."""

    graph: AutomationGraph
    time: datetime = START
    materialized: dict[str, set[str] | bool] = field(default_factory=dict)
    in_progress: dict[str, set[str] | bool] = field(default_factory=dict)
    updates: dict[str, list[MaterializationUpdate]] = field(default_factory=dict)
    changed: set[AssetKey] = field(default_factory=set)
    cursor: AutomationCursor | None = None
    next_id: int = 1
    full: bool = False

    def definition(self, name: str) -> PartitionsDefinition | None:
        return self.graph.targets[self.graph.graph.position_of[AssetKey(name)]].partitions_def

    def materialize(self, name: str, *keys: str, run_asset_keys: Sequence[str] = ()) -> None:
        definition = self.definition(name)
        partitions: PartitionsSubset | bool = True
        if definition is None:
            self.materialized[name] = True
        else:
            done = self.materialized.setdefault(name, set())
            assert isinstance(done, set)
            done.update(keys)
            partitions = definition.subset_with_partition_keys(keys, self.time)
        self.updates.setdefault(name, []).append(
            MaterializationUpdate(
                event_id=self.next_id,
                timestamp=self.time.timestamp(),
                partitions=partitions,
                run_asset_keys=frozenset(AssetKey(k) for k in run_asset_keys),
            )
        )
        self.next_id += 1
        self.changed.add(AssetKey(name))

    def start(self, name: str, *keys: str) -> None:
        self.in_progress[name] = set(keys) if keys else True
        self.changed.add(AssetKey(name))

    def finish(self, name: str) -> None:
        self.in_progress.pop(name, None)
        self.changed.add(AssetKey(name))

    def _status(self, name: str, value: set[str] | bool) -> PartitionsSubset | bool:
        definition = self.definition(name)
        if definition is None or isinstance(value, bool):
            return bool(value)
        return definition.subset_with_partition_keys(sorted(value), self.time)

    def state(self) -> GraphState:
        names = set(self.materialized) | set(self.in_progress) | set(self.updates)
        assets = {
            AssetKey(name): AssetState(
                materialized=self._status(name, self.materialized.get(name, False)),
                run_in_progress=self._status(name, self.in_progress.get(name, False)),
                updates=tuple(self.updates.get(name, ())),
            )
            for name in names
        }
        return GraphState(assets=assets, changed=frozenset(self.changed))

    def tick(self, minutes: float = 1) -> TickResult:
        self.time += timedelta(minutes=minutes)
        result = evaluate(self.graph, self.state(), self.cursor, self.time, full=self.full)
        self.cursor = result.cursor
        self.changed = set()
        return result

    def requested(self, result: TickResult, name: str) -> list[str] | bool:
        value = result.requests.get(AssetKey(name), False)
        return value.get_partition_keys() if isinstance(value, PartitionsSubset) else value
