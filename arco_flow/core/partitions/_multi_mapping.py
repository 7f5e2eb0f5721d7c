"""Mappings that involve multi-partitions, and Dagster's default mapping between definitions.

Pure. A multi-partition subset is mapped one dimension at a time: it is cut into rectangles
(a range of one dimension times a range of the other), each dimension's range is mapped by
that dimension's mapping, and the images are multiplied back. A dimension without a
mapping depends on all partitions of the other side's dimensions, as in Dagster.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions._definition import PartitionsDefinition
from arco_flow.core.partitions._mapping import (
    AllPartitionMapping,
    IdentityPartitionMapping,
    PartitionMapping,
    UpstreamPartitionsResult,
    check_subset,
    incompatible_error,
    keys_subset,
)
from arco_flow.core.partitions._multi import MultiPartitionsDefinition
from arco_flow.core.partitions._multi_space import MultiKeySpace
from arco_flow.core.partitions._ranges import Ranges, normalize, union
from arco_flow.core.partitions._space import KeySpace
from arco_flow.core.partitions._subset import PartitionsSubset
from arco_flow.core.partitions._time_window import TimeWindowPartitionsDefinition
from arco_flow.core.partitions._time_window_mapping import TimeWindowPartitionMapping
from arco_flow.core.partitions._values import DynamicPartitionsStore

__all__ = [
    "DimensionPartitionMapping",
    "MultiPartitionMapping",
    "MultiToSingleDimensionPartitionMapping",
    "infer_partition_mapping",
]

# (upstream dimension or None, downstream dimension or None, mapping between them)
_Dependency = tuple[str | None, str | None, PartitionMapping]


@dataclass(frozen=True, slots=True)
class DimensionPartitionMapping:
    """For `MultiPartitionMapping`: the downstream dimension an upstream one maps to, and how."""

    dimension_name: str
    partition_mapping: PartitionMapping


class _DimensionwiseMapping(PartitionMapping):
    """Maps subsets dimension by dimension along `dependencies`."""

    __slots__ = ()

    @abstractmethod
    def dependencies(
        self, upstream: PartitionsDefinition, downstream: PartitionsDefinition | None
    ) -> list[_Dependency]:
        """(upstream dimension, downstream dimension, mapping) for each mapped pair.

        Raises:
            PartitionError: The definitions cannot be joined.
        """

    def get_upstream_mapped_partitions_result_for_partitions(
        self,
        downstream_partitions_subset: PartitionsSubset | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> UpstreamPartitionsResult:
        self.validate_partition_mapping(upstream_partitions_def, downstream_partitions_def)
        check_subset(self, downstream_partitions_subset, downstream_partitions_def, "downstream")
        assert downstream_partitions_subset is not None
        deps = [
            (d, u, m)
            for u, d, m in self.dependencies(upstream_partitions_def, downstream_partitions_def)
        ]
        return _map(
            downstream_partitions_subset,
            upstream_partitions_def,
            deps,
            True,
            current_time,
            dynamic_partitions_store,
        )

    def get_downstream_partitions_for_partitions(
        self,
        upstream_partitions_subset: PartitionsSubset,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        self.validate_partition_mapping(upstream_partitions_def, downstream_partitions_def)
        check_subset(self, upstream_partitions_subset, upstream_partitions_def, "upstream")
        deps = self.dependencies(upstream_partitions_def, downstream_partitions_def)
        result = _map(
            upstream_partitions_subset,
            downstream_partitions_def,
            deps,
            False,
            current_time,
            dynamic_partitions_store,
        )
        return result.partitions_subset


def _dimension_space(space: KeySpace, name: str | None) -> tuple[KeySpace, int | None]:
    """The key space of dimension `name` of a multi space (or the space itself) and its position."""
    if name is None:
        return space, None
    assert isinstance(space, MultiKeySpace)
    position = space.partitions_def.partition_dimension_names.index(name)  # type: ignore[attr-defined]  # a multi definition
    return space.dimensions[position], position


def _map(
    source: PartitionsSubset,
    target_def: PartitionsDefinition,
    dependencies: list[_Dependency],
    to_upstream: bool,
    current_time: datetime | None,
    store: DynamicPartitionsStore | None,
) -> UpstreamPartitionsResult:
    """Maps `source` onto `target_def` along `(source dim, target dim, mapping)` dependencies."""
    target = target_def.resolve(current_time, store)
    if source.is_empty:
        return UpstreamPartitionsResult(PartitionsSubset(target), PartitionsSubset(target))
    pieces: list[Ranges] = []
    lost_here = PartitionsSubset(target)  # nonexistent partitions the target can index
    lost_keys: list[str] = []  # nonexistent multi keys, which it cannot
    for by_name in _cut(source.space, source.ranges):
        images: dict[int | None, Ranges] = {}
        missing: dict[int | None, PartitionsSubset] = {}
        for source_name, target_name, mapping in dependencies:
            source_space, _ = _dimension_space(source.space, source_name)
            target_space, position = _dimension_space(target, target_name)
            part = PartitionsSubset(source_space, by_name[source_name])
            if to_upstream:
                result = mapping.get_upstream_mapped_partitions_result_for_partitions(
                    part,
                    source_space.partitions_def,
                    target_space.partitions_def,
                    current_time,
                    store,
                )
                mapped = result.partitions_subset
                if not result.required_but_nonexistent_subset.is_empty:
                    missing[position] = result.required_but_nonexistent_subset
            else:
                mapped = mapping.get_downstream_partitions_for_partitions(
                    part,
                    source_space.partitions_def,
                    target_space.partitions_def,
                    current_time,
                    store,
                )
            same = mapped.space is target_space or target_space.same_indexing(mapped.space)
            images[position] = (
                mapped.ranges if same else target_space.rebase(mapped.space, mapped.ranges)
            )
        if not isinstance(target, MultiKeySpace):
            pieces.append(images[None])
            if None in missing:
                lost_here = lost_here | missing[None]
            continue
        per_dim = [images.get(i, target.dimensions[i].all_ranges()) for i in (0, 1)]
        pieces.append(target.product(per_dim[target.outer], per_dim[1 - target.outer]))
        for position, lost in missing.items():
            assert position is not None
            others = target.dimensions[1 - position].keys_in(per_dim[1 - position])
            for key in lost.get_partition_keys():
                lost_keys += [f"{key}|{o}" if position == 0 else f"{o}|{key}" for o in others]
    ranges: Ranges = ()
    for piece in pieces:
        ranges = union(ranges, piece)
    found = PartitionsSubset(target, ranges)
    return UpstreamPartitionsResult(found, keys_subset(lost_keys) if lost_keys else lost_here)


def _cut(space: KeySpace, ranges: Ranges) -> list[dict[str | None, Ranges]]:
    """`ranges` as rectangles: each dimension's ranges by dimension name (None: not multi)."""
    if not isinstance(space, MultiKeySpace):
        return [{None: ranges}]
    names = space.partitions_def.partition_dimension_names  # type: ignore[attr-defined]  # a multi definition
    outer_name, inner_name = names[space.outer], names[1 - space.outer]
    # Rows with the same inner range are merged, so "these days x these regions" stays one.
    by_inner: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for outer, inner in space.rectangles(ranges):
        by_inner.setdefault(inner, []).append(outer)
    return [
        {outer_name: normalize(outers), inner_name: (inner,)} for inner, outers in by_inner.items()
    ]


class MultiToSingleDimensionPartitionMapping(_DimensionwiseMapping):
    """Maps a single-dimension definition to one dimension of a multi-partitions definition.

    A key X of the single definition depends on (or feeds) every multi key with X in the
    matching dimension. The dimension is `partition_dimension_name`, or else the one equal
    to the single definition, or else the one time dimension when the single definition is
    time-windowed (then mapped with `TimeWindowPartitionMapping`). Either side may be the
    multi-partitioned one.
    """

    __slots__ = ("partition_dimension_name",)
    partition_dimension_name: str | None

    def __init__(self, partition_dimension_name: str | None = None) -> None:
        object.__setattr__(self, "partition_dimension_name", partition_dimension_name)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("MultiToSingleDimensionPartitionMapping is immutable")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, MultiToSingleDimensionPartitionMapping)
            and other.partition_dimension_name == self.partition_dimension_name
        )

    def __hash__(self) -> int:
        return hash(("multi_to_single", self.partition_dimension_name))

    def __repr__(self) -> str:
        name = self.partition_dimension_name
        return f"MultiToSingleDimensionPartitionMapping(partition_dimension_name={name!r})"

    def validate_partition_mapping(
        self,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> None:
        self.dependencies(upstream_partitions_def, downstream_partitions_def)

    def dependencies(
        self, upstream: PartitionsDefinition, downstream: PartitionsDefinition | None
    ) -> list[_Dependency]:
        found = infer_dimension(upstream, downstream, self.partition_dimension_name)
        if isinstance(found, str):
            raise incompatible_error(self, upstream, downstream, found)
        name, mapping = found
        return (
            [(name, None, mapping)]
            if isinstance(upstream, MultiPartitionsDefinition)
            else [(None, name, mapping)]
        )


def infer_dimension(
    upstream: PartitionsDefinition | None,
    downstream: PartitionsDefinition | None,
    dimension_name: str | None = None,
) -> tuple[str, PartitionMapping] | str:
    """The multi dimension a single-dimension definition maps to and how, or why there is none."""
    multis = [d for d in (upstream, downstream) if isinstance(d, MultiPartitionsDefinition)]
    singles = [
        d
        for d in (upstream, downstream)
        if d is not None and not isinstance(d, MultiPartitionsDefinition)
    ]
    if len(multis) != 1 or len(singles) != 1:
        return "exactly one of the two must be multi-partitioned and the other partitioned"
    multi, single = multis[0], singles[0]
    dims = multi.partitions_defs
    if dimension_name is not None:
        dims = [d for d in dims if d.name == dimension_name]
        if not dims:
            names = multi.partition_dimension_names
            return f"it has no dimension {dimension_name!r} (its dimensions: {names!r})"
    equal = [d for d in dims if d.partitions_def == single]
    if len(equal) == 1:
        return equal[0].name, IdentityPartitionMapping()
    if len(equal) > 1:
        return "several dimensions equal the single definition: give partition_dimension_name"
    times = [d for d in dims if isinstance(d.partitions_def, TimeWindowPartitionsDefinition)]
    if len(times) == 1 and isinstance(single, TimeWindowPartitionsDefinition):
        return times[0].name, TimeWindowPartitionMapping()
    return (
        "the single definition must equal one dimension, or be time-windowed with exactly one "
        "time-window dimension to map to"
    )


class MultiPartitionMapping(_DimensionwiseMapping):
    """Maps two multi-partitions definitions dimension by dimension.

    Args:
        downstream_mappings_by_upstream_dimension: For each upstream dimension, the
            downstream dimension it maps to and the mapping to use. Dimensions left out
            depend on all partitions of the other side's dimensions.
    """

    __slots__ = ("_mappings",)
    _mappings: tuple[tuple[str, DimensionPartitionMapping], ...]

    def __init__(
        self, downstream_mappings_by_upstream_dimension: Mapping[str, DimensionPartitionMapping]
    ) -> None:
        table = downstream_mappings_by_upstream_dimension
        if not isinstance(table, Mapping) or not all(
            isinstance(k, str) and isinstance(v, DimensionPartitionMapping)
            for k, v in table.items()
        ):
            raise PartitionError(
                "MultiPartitionMapping takes {upstream dimension: DimensionPartitionMapping(...)}, "
                f"got {table!r}"
            )
        object.__setattr__(self, "_mappings", tuple(sorted(table.items(), key=lambda kv: kv[0])))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("MultiPartitionMapping is immutable")

    @property
    def downstream_mappings_by_upstream_dimension(self) -> dict[str, DimensionPartitionMapping]:
        """The dimension mappings, by upstream dimension name."""
        return dict(self._mappings)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MultiPartitionMapping) and other._mappings == self._mappings

    def __hash__(self) -> int:
        return hash(("multi", self._mappings))

    def __repr__(self) -> str:
        inner = ", ".join(
            f"{k!r}: {v.dimension_name!r} by {v.partition_mapping!r}" for k, v in self._mappings
        )
        return f"MultiPartitionMapping({{{inner}}})"

    def validate_partition_mapping(
        self,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> None:
        self.dependencies(upstream_partitions_def, downstream_partitions_def)

    def dependencies(
        self, upstream: PartitionsDefinition, downstream: PartitionsDefinition | None
    ) -> list[_Dependency]:
        if not isinstance(upstream, MultiPartitionsDefinition) or not isinstance(
            downstream, MultiPartitionsDefinition
        ):
            raise incompatible_error(self, upstream, downstream, "both must be multi-partitioned")
        problems: list[str] = []
        deps: list[_Dependency] = []
        targets = [m.dimension_name for _, m in self._mappings]
        for up_name, dim_mapping in self._mappings:
            down_name = dim_mapping.dimension_name
            if up_name not in upstream.partition_dimension_names:
                problems.append(f"the upstream has no dimension {up_name!r}")
            elif down_name not in downstream.partition_dimension_names:
                problems.append(f"the downstream has no dimension {down_name!r}")
            elif targets.count(down_name) > 1:
                problems.append(f"downstream dimension {down_name!r} is mapped twice")
            else:
                up_def = upstream.get_partitions_def_for_dimension(up_name)
                down_def = downstream.get_partitions_def_for_dimension(down_name)
                try:
                    dim_mapping.partition_mapping.validate_partition_mapping(up_def, down_def)
                except PartitionError as error:
                    problems.append(f"dimension {up_name!r} -> {down_name!r}: {error}")
                deps.append((up_name, down_name, dim_mapping.partition_mapping))
        if problems:
            raise incompatible_error(self, upstream, downstream, "; ".join(problems))
        return deps


def infer_partition_mapping(
    partition_mapping: PartitionMapping | None,
    downstream_partitions_def: PartitionsDefinition | None,
    upstream_partitions_def: PartitionsDefinition | None,
) -> PartitionMapping:
    """The mapping to use between two definitions when none is given (Dagster's defaults).

    The given mapping if any; all partitions when either side is unpartitioned; a
    `MultiToSingleDimensionPartitionMapping` when one side is a dimension of the other; a
    `TimeWindowPartitionMapping` between two time-window definitions; otherwise identity.
    """
    if partition_mapping is not None:
        return partition_mapping
    if upstream_partitions_def is None or downstream_partitions_def is None:
        return AllPartitionMapping()
    if not isinstance(infer_dimension(upstream_partitions_def, downstream_partitions_def), str):
        return MultiToSingleDimensionPartitionMapping()
    if isinstance(upstream_partitions_def, TimeWindowPartitionsDefinition) and isinstance(
        downstream_partitions_def, TimeWindowPartitionsDefinition
    ):
        return TimeWindowPartitionMapping()
    return IdentityPartitionMapping()
