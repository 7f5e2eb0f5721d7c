"""The asset graph as the automation evaluator sees it, prepared once per code location.

Pure. `AutomationGraph` decodes each asset's partitions definition (equal definitions
share one value), infers the partition mapping of every edge, and indexes which assets
must be evaluated again when another one changes (`watchers`): an asset's condition reads
its own state and, through nested ``any_deps_match``/``all_deps_match``, the state of its
ancestors up to the nesting depth. Building it is the expensive part; a tick only reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from arco_flow.core.automation._condition import (
    AllDepsCondition,
    AnyDepsCondition,
    AutomationCondition,
    CronTickPassedCondition,
)
from arco_flow.core.errors import DefinitionError, PartitionError
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import (
    IdentityPartitionMapping,
    PartitionMapping,
    PartitionsDefinition,
    TimeWindowPartitionMapping,
    infer_partition_mapping,
    partitions_def_from_data,
)

__all__ = ["AutomationGraph", "MappingOf", "Target"]

MappingOf = Callable[[AssetKey, AssetKey], PartitionMapping | None]
"""``(child, parent)`` -> the partition mapping the child declared for the parent, or None."""


@dataclass(frozen=True, slots=True, eq=False)
class Target:
    """One asset of the graph, as the evaluator reads it."""

    key: AssetKey
    position: int
    partitions_def: PartitionsDefinition | None
    is_executable: bool
    parents: tuple[int, ...]
    """Parent positions, in key order (Dagster evaluates deps sorted by key)."""
    mappings: Mapping[int, PartitionMapping]
    """Parent position -> the mapping from that parent to this asset (partitioned pairs)."""


class AutomationGraph:
    """An asset graph with the automation condition of each asset, ready to evaluate.

    Args:
        graph: The asset graph.
        conditions_by_asset: The condition of each automated asset.
        partitions_defs: Each partitioned asset's definition; by default decoded from the
            manifest data of the graph's assets.
        mapping_of: The declared partition mapping of an edge; by default none (inferred).

    Raises:
        DefinitionError: A condition names an asset the graph does not hold, or an edge's
            partition mapping cannot join its two definitions.
    """

    def __init__(
        self,
        graph: AssetGraph,
        conditions_by_asset: Mapping[AssetKey, AutomationCondition],
        *,
        partitions_defs: Mapping[AssetKey, PartitionsDefinition | None] | None = None,
        mapping_of: MappingOf | None = None,
    ) -> None:
        unknown = sorted(k.to_user_string() for k in conditions_by_asset if k not in graph)
        if unknown:
            raise DefinitionError(
                f"automation conditions name assets the graph does not hold: {', '.join(unknown)}; "
                "add them to Definitions(assets=[...]) or drop their conditions"
            )
        self.graph = graph
        self.conditions_by_asset = dict(conditions_by_asset)
        defs = _definitions(graph, partitions_defs)
        self.targets = _targets(graph, defs, mapping_of)
        position_of = graph.position_of
        self.condition_at: dict[int, AutomationCondition] = {
            position_of[key]: condition for key, condition in self.conditions_by_asset.items()
        }
        self.order: tuple[int, ...] = tuple(
            p for p in graph.topological_positions if p in self.condition_at
        )
        self.watchers = self._watchers()
        self.crons: dict[tuple[str, str], list[int]] = {}
        for position, condition in self.condition_at.items():
            for cron in sorted(_crons(condition)):
                self.crons.setdefault(cron, []).append(position)
        self.positions_by_definition: dict[PartitionsDefinition, list[int]] = {}
        for target in self.targets:
            if target.partitions_def is not None:
                self.positions_by_definition.setdefault(target.partitions_def, []).append(
                    target.position
                )

    def _watchers(self) -> dict[int, frozenset[int]]:
        """Position -> the automated positions whose evaluation reads its state."""
        found: dict[int, set[int]] = {}
        for position, condition in self.condition_at.items():
            frontier = {position}
            seen = {position}
            for _ in range(_depth(condition)):
                frontier = {p for f in frontier for p in self.targets[f].parents} - seen
                seen |= frontier
            for watched in seen:
                found.setdefault(watched, set()).add(position)
        return {p: frozenset(ws) for p, ws in found.items()}


def _definitions(
    graph: AssetGraph, given: Mapping[AssetKey, PartitionsDefinition | None] | None
) -> list[PartitionsDefinition | None]:
    shared: dict[PartitionsDefinition, PartitionsDefinition] = {}
    out: list[PartitionsDefinition | None] = []
    for asset in graph.assets:
        if given is not None:
            definition = given.get(asset.key)
        else:
            definition = (
                partitions_def_from_data(dict(asset.partitions)) if asset.partitions else None
            )
        out.append(None if definition is None else shared.setdefault(definition, definition))
    return out


def _targets(
    graph: AssetGraph, defs: list[PartitionsDefinition | None], mapping_of: MappingOf | None
) -> tuple[Target, ...]:
    keys = graph.keys
    problems: list[str] = []
    targets = []
    for position, asset in enumerate(graph.assets):
        parents = tuple(sorted(graph.parent_indices(position), key=lambda p: keys[p].path))
        mappings: dict[int, PartitionMapping] = {}
        own = defs[position]
        for parent in parents:
            upstream = defs[parent]
            if own is None or upstream is None:
                continue
            declared = mapping_of(asset.key, keys[parent]) if mapping_of else None
            try:
                mapping = infer_partition_mapping(declared, own, upstream)
                mapping.validate_partition_mapping(upstream, own)
            except PartitionError as error:
                problems.append(
                    f"{asset.key.to_user_string()!r} <- {keys[parent].to_user_string()!r}: {error}"
                )
                continue
            mappings[parent] = mapping
        targets.append(
            Target(
                key=asset.key,
                position=position,
                partitions_def=own,
                is_executable=asset.is_executable,
                parents=parents,
                mappings=mappings,
            )
        )
    if problems:
        raise DefinitionError("\n".join(problems))
    return tuple(targets)


def executable_in_same_run(child: Target, parent: Target) -> bool:
    """Whether a request of `parent` can run with `child` (so counts as its update)."""
    if not parent.is_executable or child.partitions_def != parent.partitions_def:
        return False
    if child.partitions_def is None:
        return True
    mapping = child.mappings.get(parent.position)
    return isinstance(mapping, IdentityPartitionMapping | TimeWindowPartitionMapping)


def _depth(condition: AutomationCondition) -> int:
    """How many dependency levels up the condition reads."""
    below = max((_depth(child) for child in condition.children), default=0)
    return below + 1 if isinstance(condition, AnyDepsCondition | AllDepsCondition) else below


def _crons(condition: AutomationCondition) -> set[tuple[str, str]]:
    found = {cron for child in condition.children for cron in _crons(child)}
    if isinstance(condition, CronTickPassedCondition):
        found.add((condition.cron_schedule, condition.cron_timezone))
    return found
