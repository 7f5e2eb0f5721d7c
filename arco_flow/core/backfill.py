"""The backfill planner: which runs a backfill makes, and which runs each one waits for.

Pure: time and the dynamic partitions store come in as arguments. `plan_backfill` takes
the selected assets with the partitions to materialize and returns a `BackfillPlan`, a
list of chunks (runs) in a topological order, each with the chunk ids it depends on.

How chunks are formed:

- Assets are grouped into the same runs when they have equal partitions definitions
  (compared by data form), equal targets, equal max partitions per run, and every
  dependency between them uses the identity mapping (the default between equal
  definitions). Grouping never creates a cycle between runs: each asset gets a level, the
  level of its deepest selected parent, plus one unless that parent can share its runs,
  and only assets of the same level are grouped, so every dependency between groups goes
  to a higher level. Independent assets that qualify share runs too, as in Dagster.
- A group's target is cut into contiguous key ranges of at most N partitions; a chunk
  never spans a gap in the target. For multi-partitions, a range is further cut into
  rectangles, since that is how a key range between two multi keys is read.
- A chunk depends on every chunk of another group holding an upstream partition its own
  range maps to, through each selected direct parent's partition mapping. As in Dagster,
  only selected direct parents order runs: an unselected asset in between is read from
  storage, not waited for, and the assets behind it impose no order.

Chunk ids follow (level, first asset key of the group, partition order), so a plan is
the same for the same inputs in any process.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

from arco_flow.core.canonical_json import canonical_json, fingerprint
from arco_flow.core.errors import PartitionError, PlanError, did_you_mean
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import (
    DynamicPartitionsStore,
    IdentityPartitionMapping,
    KeySpace,
    MultiKeySpace,
    PartitionKeyRange,
    PartitionMapping,
    PartitionsDefinition,
    PartitionsSubset,
    TimeWindowPartitionMapping,
    infer_partition_mapping,
    partitions_def_to_data,
)
from arco_flow.core.plan import PlanPartition

__all__ = [
    "BackfillChunk",
    "BackfillPlan",
    "backfill_plan_from_data",
    "backfill_plan_to_data",
    "backfill_targets",
    "plan_backfill",
]

BACKFILL_PLAN_FORMAT_VERSION = 1

Ranges: TypeAlias = tuple[tuple[int, int], ...]
"""Sorted, disjoint ``(start, stop)`` index ranges, as `PartitionsSubset.ranges`."""
MappingOf = Callable[[AssetKey, AssetKey], PartitionMapping | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillChunk:
    """One run of a backfill: some assets over one contiguous range of partitions."""

    chunk_id: int
    """The chunk's position in the plan (0, 1, ...), an execution order."""
    asset_keys: tuple[AssetKey, ...]
    """The assets the run materializes, sorted."""
    partition: PlanPartition
    """The partition key, or the inclusive key range, the run covers."""
    partition_count: int
    """How many partitions `partition` holds (for each asset)."""
    deps: tuple[int, ...] = ()
    """Ids of the chunks that must succeed before this one starts, sorted."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillPlan:
    """The runs of a backfill, upstream first, and the plan's identity."""

    chunks: tuple[BackfillChunk, ...]
    """Every run, in chunk id order."""
    asset_keys: tuple[AssetKey, ...]
    """Every asset with a partition to materialize, sorted."""
    partition_count: int
    """Asset-partitions materialized in all: each chunk's count times its assets."""
    fingerprint: str = field(default="", compare=False)
    """SHA-256 of the plan's data form (without this field); filled in when left empty."""

    def __post_init__(self) -> None:
        if not self.fingerprint:
            body = _body(self)
            object.__setattr__(self, "fingerprint", fingerprint(body, plain=True))


# -- planning ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Group:
    """Assets that share runs, and the runs they share (internal to planning)."""

    level: int
    signature: tuple[str, Ranges, int | None]
    partitions_def: PartitionsDefinition
    space: KeySpace
    ranges: Ranges
    max_per_run: int | None
    keys: list[AssetKey] = field(default_factory=list)
    # Chunks as (index ranges, partition, count); then their ids, and a flat sorted index.
    pieces: list[tuple[Ranges, PlanPartition, int]] = field(default_factory=list)
    first_id: int = 0
    starts: list[int] = field(default_factory=list)
    stops: list[int] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)


def plan_backfill(
    graph: AssetGraph,
    targets: Mapping[AssetKey, PartitionsSubset],
    *,
    partitions_defs: Mapping[AssetKey, PartitionsDefinition],
    mapping_of: MappingOf,
    max_partitions_per_run: Mapping[AssetKey, int | None],
    default_max_partitions_per_run: int | None = None,
    current_time: datetime | None = None,
    dynamic_partitions_store: DynamicPartitionsStore | None = None,
) -> BackfillPlan:
    """Plans the runs of a backfill (see the module docstring for the rules).

    Args:
        graph: The asset graph.
        targets: The selected assets and, for each, the partitions to materialize (a
            subset of its definition). An empty subset contributes nothing.
        partitions_defs: Every partitioned asset's definition (at least the targets').
        mapping_of: ``(child, parent)`` -> the declared partition mapping, or None for
            Dagster's default between the two definitions.
        max_partitions_per_run: Per asset, the most partitions one run covers; None runs
            each contiguous range of the asset's target in one run.
        default_max_partitions_per_run: The same for assets missing from
            `max_partitions_per_run`.
        current_time: "Now": which partitions exist. Time-window definitions without an
            end need it.
        dynamic_partitions_store: Where dynamic partition keys are read from.

    Returns:
        The plan; chunk ids are a topological order of the chunk graph.

    Raises:
        PlanError: An asset is unknown, external or unpartitioned, a target belongs to
            another definition or holds partitions that do not exist, a max partitions
            per run is below 1, a mapping cannot join two definitions, or a multi-asset
            that cannot be subset would be split between runs. Every problem is listed.
    """
    if dynamic_partitions_store is not None:
        dynamic_partitions_store = _CachedStore(dynamic_partitions_store)
    problems: list[str] = []
    limits = _limits(targets, max_partitions_per_run, default_max_partitions_per_run, problems)
    resolved = _Resolver(current_time, dynamic_partitions_store)
    aligned = _aligned_targets(graph, targets, partitions_defs, resolved, problems)
    if problems:
        raise PlanError("cannot plan the backfill:\n  - " + "\n  - ".join(problems))

    groups, edges = _grouped(
        graph, aligned, partitions_defs, mapping_of, limits, resolved, problems
    )
    if problems:
        raise PlanError("cannot plan the backfill:\n  - " + "\n  - ".join(problems))
    chunks: list[BackfillChunk] = []
    for group in sorted(groups, key=lambda g: (g.level, min(g.keys))):
        group.keys.sort()
        _cut(group)
        group.first_id = len(chunks)
        chunks.extend(
            _chunks(
                group, edges.get(id(group), {}).values(), current_time, dynamic_partitions_store
            )
        )
        _index(group)
    return BackfillPlan(
        chunks=tuple(chunks),
        asset_keys=tuple(sorted(key for group in groups for key in group.keys)),
        partition_count=sum(c.partition_count * len(c.asset_keys) for c in chunks),
    )


_Edge = tuple[_Group, PartitionMapping, PartitionsDefinition]


def _grouped(
    graph: AssetGraph,
    aligned: Mapping[AssetKey, tuple[KeySpace, Ranges]],
    partitions_defs: Mapping[AssetKey, PartitionsDefinition],
    mapping_of: MappingOf,
    limits: Mapping[AssetKey, int | None],
    resolved: _Resolver,
    problems: list[str],
) -> tuple[list[_Group], dict[int, dict[Any, _Edge]]]:
    """The groups of assets that share runs, and each group's edges from other groups."""
    position_of = graph.position_of
    selected = {position_of[key]: key for key in aligned}
    group_of: dict[AssetKey, _Group] = {}
    groups: dict[tuple[int, tuple[str, Ranges, int | None]], _Group] = {}
    edges: dict[int, dict[Any, _Edge]] = {}
    for position in graph.topological_positions:
        key = selected.get(position)
        if key is None:
            continue
        definition = partitions_defs[key]
        space, ranges = aligned[key]
        signature = (resolved.signature(definition), ranges, limits[key])
        level = 0
        parents: list[_Edge] = []
        for parent_position in graph.parent_indices(position):
            parent = selected.get(parent_position)
            if parent is None:
                continue  # unselected: read from storage, not waited for
            parent_def = partitions_defs[parent]
            try:
                mapping = infer_partition_mapping(mapping_of(key, parent), definition, parent_def)
                mapping.validate_partition_mapping(parent_def, definition)
            except PartitionError as error:
                problems.append(f"{key.to_user_string()!r} <- {parent.to_user_string()!r}: {error}")
                continue
            parent_group = group_of[parent]
            shares = parent_group.signature == signature and _is_identity(mapping)
            level = max(level, parent_group.level if shares else parent_group.level + 1)
            parents.append((parent_group, mapping, parent_def))
        group = groups.get((level, signature))
        if group is None:
            group = _Group(level, signature, definition, space, ranges, limits[key])
            groups[(level, signature)] = group
        group.keys.append(key)
        group_of[key] = group
        own_edges = edges.setdefault(id(group), {})
        for edge in parents:
            if edge[0] is not group:
                own_edges.setdefault(_edge_key(*edge), edge)
    _check_multi_assets(graph, aligned, group_of, problems)
    return list(groups.values()), edges


def _chunks(
    group: _Group,
    edges: Iterable[_Edge],
    current_time: datetime | None,
    store: DynamicPartitionsStore | None,
) -> list[BackfillChunk]:
    """The group's chunks, each with the chunks of upstream groups it reads from."""
    keys = tuple(group.keys)
    sources = [(g, m, d, PartitionsSubset(g.space, g.space.all_ranges())) for g, m, d in edges]
    out: list[BackfillChunk] = []
    for offset, (ranges, partition, size) in enumerate(group.pieces):
        deps: set[int] = set()
        for parent_group, mapping, parent_def, everything in sources:
            needed = mapping.get_upstream_mapped_partitions_result_for_partitions(
                PartitionsSubset(group.space, ranges),
                group.partitions_def,
                parent_def,
                current_time=current_time,
                dynamic_partitions_store=store,
            ).partitions_subset
            _collect(parent_group, (everything & needed).ranges, deps)
        out.append(
            BackfillChunk(
                chunk_id=group.first_id + offset,
                asset_keys=keys,
                partition=partition,
                partition_count=size,
                deps=tuple(sorted(deps)),
            )
        )
    return out


def backfill_targets(
    asset_keys: Iterable[AssetKey],
    partitions_defs: Mapping[AssetKey, PartitionsDefinition],
    *,
    partition_keys: Sequence[str] | None = None,
    partition_key_range: PartitionKeyRange | None = None,
    current_time: datetime | None = None,
    dynamic_partitions_store: DynamicPartitionsStore | None = None,
) -> dict[AssetKey, PartitionsSubset]:
    """The `targets` of `plan_backfill` for assets that share one set of partitions.

    With neither `partition_keys` nor `partition_key_range`, every partition that exists;
    otherwise those keys, or that range (both ends included), of each asset's definition.
    For per-asset partitions, build each subset with the definition's own methods.

    Raises:
        PlanError: Both a key list and a range are given, or an asset is unpartitioned.
        PartitionError: A key or range end is not a partition of an asset's definition.
    """
    if partition_keys is not None and partition_key_range is not None:
        raise PlanError(
            "backfill targets take partition_keys or partition_key_range, not both; "
            "pass one of them (or neither, for every partition)"
        )
    out: dict[AssetKey, PartitionsSubset] = {}
    made: dict[PartitionsDefinition, PartitionsSubset] = {}
    unpartitioned: list[str] = []
    for key in asset_keys:
        definition = partitions_defs.get(key)
        if definition is None:
            unpartitioned.append(key.to_user_string())
            continue
        subset = made.get(definition)
        if subset is None:
            if partition_keys is not None:
                subset = definition.subset_with_partition_keys(
                    partition_keys, current_time, dynamic_partitions_store
                )
            elif partition_key_range is not None:
                subset = definition.subset_with_partition_key_range(
                    partition_key_range, current_time, dynamic_partitions_store
                )
            else:
                subset = definition.subset_with_all_partitions(
                    current_time, dynamic_partitions_store
                )
            made[definition] = subset
        out[key] = subset
    if unpartitioned:
        raise PlanError(_unpartitioned_message(sorted(unpartitioned)))
    return out


# -- codec ------------------------------------------------------------------------------


def backfill_plan_to_data(plan: BackfillPlan) -> dict[str, Any]:
    """The plan as plain JSON-able data; a chunk is ``[asset indices, partition, count, deps]``.

    Asset indices point into ``"asset_keys"``; the partition is a key, or ``[start, end]``.
    """
    return {**_body(plan), "fingerprint": plan.fingerprint}


def backfill_plan_from_data(data: Mapping[str, Any]) -> BackfillPlan:
    """Rebuilds a plan from `backfill_plan_to_data` output.

    Raises:
        PlanError: The data is not a backfill plan of this format version.
    """
    try:
        version = data["version"]
        if version != BACKFILL_PLAN_FORMAT_VERSION:
            raise PlanError(
                f"backfill plan data has format version {version!r}, this version of Arco "
                f"Flow reads {BACKFILL_PLAN_FORMAT_VERSION}; plan the backfill again"
            )
        keys = tuple(AssetKey.from_user_string(k) for k in data["asset_keys"])
        chunks = []
        for chunk_id, (indices, partition, size, deps) in enumerate(data["chunks"]):
            chunks.append(
                BackfillChunk(
                    chunk_id=chunk_id,
                    asset_keys=tuple(keys[i] for i in indices),
                    partition=(
                        PlanPartition(key=partition)
                        if isinstance(partition, str)
                        else PlanPartition(range_start=partition[0], range_end=partition[1])
                    ),
                    partition_count=size,
                    deps=tuple(deps),
                )
            )
        plan = BackfillPlan(
            chunks=tuple(chunks), asset_keys=keys, partition_count=data["partition_count"]
        )
    except PlanError:
        raise
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise PlanError(
            f"data is not a backfill plan ({type(error).__name__}: {error}); pass the output "
            "of backfill_plan_to_data"
        ) from error
    stored = data.get("fingerprint")
    if stored is not None and stored != plan.fingerprint:
        raise PlanError(
            f"backfill plan data has fingerprint {stored!r} but its content hashes to "
            f"{plan.fingerprint!r}: the data was changed; plan the backfill again"
        )
    return plan


def _body(plan: BackfillPlan) -> dict[str, Any]:
    position = {key: index for index, key in enumerate(plan.asset_keys)}
    chunks: list[list[Any]] = []
    last_keys: tuple[AssetKey, ...] | None = None
    indices: list[int] = []
    for chunk in plan.chunks:
        if chunk.asset_keys is not last_keys:  # a group's chunks share one tuple
            last_keys = chunk.asset_keys
            indices = [position[key] for key in chunk.asset_keys]
        partition = chunk.partition
        chunks.append(
            [
                indices,
                partition.key
                if partition.key is not None
                else [partition.range_start, partition.range_end],
                chunk.partition_count,
                list(chunk.deps),
            ]
        )
    return {
        "version": BACKFILL_PLAN_FORMAT_VERSION,
        "asset_keys": [key.to_user_string() for key in plan.asset_keys],
        "partition_count": plan.partition_count,
        "chunks": chunks,
    }


# -- helpers ----------------------------------------------------------------------------


class _Resolver:
    """Resolves each distinct definition once, and names it by its data form."""

    def __init__(self, current_time: datetime | None, store: DynamicPartitionsStore | None):
        self.current_time = current_time
        self._store = store
        self._spaces: dict[str, KeySpace] = {}
        self._signatures: dict[int, tuple[PartitionsDefinition, str]] = {}

    def signature(self, definition: PartitionsDefinition) -> str:
        held = self._signatures.get(id(definition))
        if held is None or held[0] is not definition:
            held = (definition, canonical_json(partitions_def_to_data(definition)))
            self._signatures[id(definition)] = held
        return held[1]

    def space(self, definition: PartitionsDefinition) -> KeySpace:
        signature = self.signature(definition)
        space = self._spaces.get(signature)
        if space is None:
            space = definition.resolve(self.current_time, self._store)
            self._spaces[signature] = space
        return space


def _limits(
    targets: Mapping[AssetKey, PartitionsSubset],
    given: Mapping[AssetKey, int | None],
    default: int | None,
    problems: list[str],
) -> dict[AssetKey, int | None]:
    def bad(value: object) -> bool:
        return value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        )

    if bad(default):
        problems.append(
            f"default_max_partitions_per_run is {default!r}; pass an integer of at least 1, "
            "or None to run each contiguous range of a target in one run"
        )
    limits: dict[AssetKey, int | None] = {}
    for key in targets:
        value = given.get(key, default)
        if key in given and bad(value):
            problems.append(
                f"max partitions per run of {key.to_user_string()!r} is {value!r}; pass an "
                "integer of at least 1, or None to run its whole target in one run"
            )
        limits[key] = value
    return limits


def _aligned_targets(
    graph: AssetGraph,
    targets: Mapping[AssetKey, PartitionsSubset],
    partitions_defs: Mapping[AssetKey, PartitionsDefinition],
    resolved: _Resolver,
    problems: list[str],
) -> dict[AssetKey, tuple[KeySpace, Ranges]]:
    """Each non-empty target as ranges of its definition's one resolved space."""
    aligned: dict[AssetKey, tuple[KeySpace, Ranges]] = {}
    unpartitioned: list[str] = []
    for key in sorted(targets):
        subset = targets[key]
        name = key.to_user_string()
        if not graph.has(key):
            guess = did_you_mean(name, (k.to_user_string() for k in graph.keys))
            problems.append(f"no asset has key {name!r}.{guess} Leave it out of the targets")
            continue
        if not graph.get(key).is_executable:
            problems.append(
                f"asset {name!r} is external (declared with AssetSpec) and cannot be "
                "materialized; leave it out of the targets"
            )
            continue
        definition = partitions_defs.get(key)
        if definition is None:
            unpartitioned.append(name)
            continue
        if not isinstance(subset, PartitionsSubset) or subset.partitions_def != definition:
            got = subset.partitions_def if isinstance(subset, PartitionsSubset) else subset
            problems.append(
                f"the target of {name!r} is a subset of {got!r}, but the asset is partitioned "
                f"by {definition!r}; build it with that definition's subset methods"
            )
            continue
        space = resolved.space(definition)
        full = PartitionsSubset(space, space.all_ranges())
        ranges = (full & subset).ranges
        if _count(ranges) != len(subset):
            outside = subset - full
            first = outside.space.key_at(outside.ranges[0][0])
            when = "now" if resolved.current_time is None else resolved.current_time.isoformat()
            problems.append(
                f"the target of {name!r} holds {len(outside)} partitions that do not exist as "
                f"of {when} (the first: {first!r}); pass a later current_time, or leave "
                "them out"
            )
            continue
        if ranges:
            aligned[key] = (space, ranges)
    if unpartitioned:
        problems.append(_unpartitioned_message(unpartitioned))
    return aligned


def _unpartitioned_message(names: list[str]) -> str:
    listed = ", ".join(repr(n) for n in names)
    return (
        f"asset{'s' if len(names) > 1 else ''} {listed} "
        f"{'have' if len(names) > 1 else 'has'} no partitions definition: a backfill "
        "materializes partitions; materialize unpartitioned assets with a plain run"
    )


def _is_identity(mapping: PartitionMapping) -> bool:
    """Whether the mapping pairs each partition with its own key (between equal definitions)."""
    if isinstance(mapping, IdentityPartitionMapping):
        return True
    return (
        isinstance(mapping, TimeWindowPartitionMapping)
        and mapping.start_offset == 0
        and mapping.end_offset == 0
    )


def _edge_key(group: _Group, mapping: PartitionMapping, parent_def: PartitionsDefinition) -> Any:
    # Edges that map the same way into the same group need one mapping call per chunk.
    try:
        hash(mapping)
    except TypeError:  # a mapping holding a dict: compare by identity instead
        return (id(group), id(mapping), parent_def)
    return (id(group), mapping, parent_def)


class _CachedStore:
    """A dynamic partitions store read once per definition name while a backfill is planned.

    Every mapping call resolves its definitions again; this keeps a store backed by a
    database from being queried once per chunk.
    """

    def __init__(self, store: DynamicPartitionsStore) -> None:
        self._store = store
        self._keys: dict[str, Sequence[str]] = {}

    def get_dynamic_partitions(self, partitions_def_name: str) -> Sequence[str]:
        keys = self._keys.get(partitions_def_name)
        if keys is None:
            keys = self._store.get_dynamic_partitions(partitions_def_name)
            self._keys[partitions_def_name] = keys
        return keys

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        return self._store.has_dynamic_partition(partitions_def_name, partition_key)


def _cut(group: _Group) -> None:
    """The group's chunks: contiguous ranges of at most `max_per_run` partitions."""
    size = group.max_per_run
    space = group.space
    pieces = group.pieces
    for start, stop in group.ranges:
        step = stop - start if size is None else size
        for low in range(start, stop, step):
            high = min(low + step, stop)
            if isinstance(space, MultiKeySpace):
                for key_range in space.key_ranges(((low, high),)):
                    ranges = space.ranges_for_key_range(key_range)
                    pieces.append(
                        (ranges, _partition(key_range.start, key_range.end), _count(ranges))
                    )
            else:
                pieces.append(
                    (
                        ((low, high),),
                        _partition(space.key_at(low), space.key_at(high - 1)),
                        high - low,
                    )
                )


def _count(ranges: Ranges) -> int:
    return sum(stop - start for start, stop in ranges)


def _partition(start: str, end: str) -> PlanPartition:
    return (
        PlanPartition(key=start)
        if start == end
        else PlanPartition(range_start=start, range_end=end)
    )


def _index(group: _Group) -> None:
    """A flat, sorted index of the group's chunk ranges, for binary search."""
    entries = sorted(
        (start, stop, group.first_id + offset)
        for offset, (ranges, _, _) in enumerate(group.pieces)
        for start, stop in ranges
    )
    group.starts = [e[0] for e in entries]
    group.stops = [e[1] for e in entries]
    group.owners = [e[2] for e in entries]


def _collect(group: _Group, needed: Ranges, into: set[int]) -> None:
    """Adds the ids of the group's chunks that hold any index of `needed`."""
    starts, stops, owners = group.starts, group.stops, group.owners
    for start, stop in needed:
        position = max(bisect_right(starts, start) - 1, 0)
        while position < len(starts) and starts[position] < stop:
            if stops[position] > start:
                into.add(owners[position])
            position += 1


def _check_multi_assets(
    graph: AssetGraph,
    aligned: Mapping[AssetKey, tuple[KeySpace, Ranges]],
    group_of: Mapping[AssetKey, _Group],
    problems: list[str],
) -> None:
    """A multi-asset that cannot be subset must be in the same runs, whole."""
    for node, keys in sorted(graph.keys_by_shared_node.items()):
        targeted = [key for key in keys if key in aligned]
        if not targeted or graph.get(keys[0]).can_subset:
            continue
        runs = {id(group_of[key]) for key in targeted}
        if len(targeted) != len(keys) or len(runs) > 1:
            names = ", ".join(key.to_user_string() for key in keys)
            problems.append(
                f"multi-asset {node!r} cannot run for part of its assets ({names}), but the "
                "backfill would split them between runs: give every one of them the same "
                "target and max partitions per run, or declare it with can_subset=True"
            )
