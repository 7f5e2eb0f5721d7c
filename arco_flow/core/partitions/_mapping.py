"""Partition mappings: which upstream partitions a downstream partition needs, and back.

Pure. Every mapping answers both directions on subsets, as Dagster's do:
`get_upstream_mapped_partitions_result_for_partitions` gives the upstream partitions a
downstream subset needs (and those it needs that do not exist), and
`get_downstream_partitions_for_partitions` the downstream partitions an upstream subset
feeds. `validate_partition_mapping` rejects a pair of definitions a mapping cannot join;
it runs again, cheaply, at the start of every mapping call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions._definition import PartitionsDefinition
from arco_flow.core.partitions._multi import MultiPartitionsDefinition
from arco_flow.core.partitions._ranges import difference, intersection, shift_ranges
from arco_flow.core.partitions._space import KeySpace
from arco_flow.core.partitions._static import (
    DynamicPartitionsDefinition,
    StaticPartitionsDefinition,
)
from arco_flow.core.partitions._subset import PartitionsSubset
from arco_flow.core.partitions._time_space import TimeKeySpace
from arco_flow.core.partitions._time_window import TimeWindowPartitionsDefinition
from arco_flow.core.partitions._values import DynamicPartitionsStore

__all__ = [
    "AllPartitionMapping",
    "IdentityPartitionMapping",
    "LastPartitionMapping",
    "PartitionMapping",
    "UpstreamPartitionsResult",
    "check_subset",
    "incompatible_error",
    "keys_subset",
    "kind_of",
    "same_windows",
    "split_existing",
    "time_shift",
]


@dataclass(frozen=True, slots=True)
class UpstreamPartitionsResult:
    """The upstream partitions a downstream subset needs."""

    partitions_subset: PartitionsSubset
    """The needed partitions that exist."""
    required_but_nonexistent_subset: PartitionsSubset
    """Needed partitions that do not exist (before the upstream start, after its last
    window, or keys it does not have)."""

    @property
    def required_but_nonexistent_partition_keys(self) -> list[str]:
        """The keys of `required_but_nonexistent_subset`."""
        return self.required_but_nonexistent_subset.get_partition_keys()


class PartitionMapping(ABC):
    """How the partitions of an asset depend on those of an upstream asset (Dagster's)."""

    __slots__ = ()

    @abstractmethod
    def validate_partition_mapping(
        self,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> None:
        """Checks that the mapping can join the two definitions.

        Raises:
            PartitionError: It cannot; the message names both definitions and the fix.
        """

    @abstractmethod
    def get_upstream_mapped_partitions_result_for_partitions(
        self,
        downstream_partitions_subset: PartitionsSubset | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> UpstreamPartitionsResult:
        """The upstream partitions that the downstream subset needs.

        Args:
            downstream_partitions_subset: The downstream partitions (None: unpartitioned).
            downstream_partitions_def: The downstream definition (None: unpartitioned).
            upstream_partitions_def: The upstream definition.
            current_time: "Now", for which upstream partitions exist.
            dynamic_partitions_store: Where dynamic keys are read from.
        """

    @abstractmethod
    def get_downstream_partitions_for_partitions(
        self,
        upstream_partitions_subset: PartitionsSubset,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        """The downstream partitions (that exist) which use the upstream subset."""

    @property
    def description(self) -> str:
        """What the mapping does, in a sentence."""
        return (self.__doc__ or "").strip().splitlines()[0]


def kind_of(definition: PartitionsDefinition | None) -> str:
    """The kind of a definition for compatibility checks: time_window, static, dynamic, multi."""
    if isinstance(definition, TimeWindowPartitionsDefinition):
        return "time_window"
    if isinstance(definition, StaticPartitionsDefinition):
        return "static"
    if isinstance(definition, DynamicPartitionsDefinition):
        return "dynamic"
    if isinstance(definition, MultiPartitionsDefinition):
        return "multi"
    return "unpartitioned"


def incompatible_error(
    mapping: PartitionMapping,
    upstream: PartitionsDefinition | None,
    downstream: PartitionsDefinition | None,
    reason: str,
) -> PartitionError:
    """The error for a mapping between definitions it cannot join, naming both."""
    return PartitionError(
        f"{mapping!r} cannot map upstream {upstream!r} to downstream {downstream!r}: {reason}"
    )


def check_subset(
    mapping: PartitionMapping,
    subset: PartitionsSubset | None,
    definition: PartitionsDefinition | None,
    role: str,
) -> None:
    """Checks that `subset` belongs to `definition`, the mapping's `role` side.

    Raises:
        PartitionError: It belongs to another definition.
    """
    if subset is None or definition is None or subset.space.partitions_def is definition:
        return
    if subset.partitions_def != definition:
        raise PartitionError(
            f"{mapping!r} was given a subset of {subset.partitions_def!r} as the {role} "
            f"partitions, but the {role} definition is {definition!r}; pass a subset of it"
        )


def keys_subset(keys: Iterable[str]) -> PartitionsSubset:
    """A subset holding `keys` exactly, for keys no definition at hand can index."""
    unique = sorted(set(keys))
    return StaticPartitionsDefinition(unique).subset_with_all_partitions()


def split_existing(space: KeySpace, keys: list[str]) -> tuple[PartitionsSubset, PartitionsSubset]:
    """`keys` split into the subset of `space` that exists and the subset of those that do not.

    Keys outside a time range stay in `space` (their indices are out of range); keys the
    space cannot index at all form a subset of their own.
    """
    existing, elsewhere = [], []
    for key in keys:
        try:
            existing.append(space.index_of(key))
        except PartitionError:
            elsewhere.append(key)
    found = PartitionsSubset.from_ranges(space, ((i, i + 1) for i in existing))
    if not elsewhere:
        return found, PartitionsSubset(space)
    try:
        missing = space.ranges_of(elsewhere, existing=False)
    except PartitionError:
        return found, keys_subset(elsewhere)
    return found, PartitionsSubset(space, missing)


def _empty_result(space: KeySpace) -> UpstreamPartitionsResult:
    return UpstreamPartitionsResult(PartitionsSubset(space), PartitionsSubset(space))


def same_windows(a: PartitionsDefinition, b: PartitionsDefinition, *, same_keys: bool) -> bool:
    """Whether two time-window definitions have the same windows (start and end aside).

    Args:
        a: One definition.
        b: The other.
        same_keys: Also require the same key format.
    """
    if a is b:
        return isinstance(a, TimeWindowPartitionsDefinition)
    return (
        isinstance(a, TimeWindowPartitionsDefinition)
        and isinstance(b, TimeWindowPartitionsDefinition)
        and a.cron_schedule == b.cron_schedule
        and a.timezone == b.timezone
        and a.exclusions == b.exclusions
        and (not same_keys or a.fmt == b.fmt)
    )


def time_shift(source: TimeKeySpace, target: TimeKeySpace) -> int:
    """How far indices move from `source` to `target`, two spaces with the same windows."""
    if source.absolute_ordinals and target.absolute_ordinals:
        return source.first_ordinal - target.first_ordinal
    return target.index_containing(source.start_timestamp(0))


@dataclass(frozen=True, slots=True)
class IdentityPartitionMapping(PartitionMapping):
    """Maps each downstream partition to the upstream partition with the same key."""

    def validate_partition_mapping(
        self,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> None:
        up, down = kind_of(upstream_partitions_def), kind_of(downstream_partitions_def)
        if up != down or up == "unpartitioned":
            raise incompatible_error(
                self,
                upstream_partitions_def,
                downstream_partitions_def,
                "it pairs partitions with equal keys, so both must be partitioned the same "
                f"way (got {up} and {down}); use TimeWindowPartitionMapping, "
                "StaticPartitionMapping, MultiToSingleDimensionPartitionMapping or "
                "AllPartitionMapping",
            )

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
        up = upstream_partitions_def.resolve(current_time, dynamic_partitions_store)
        down = downstream_partitions_subset
        if down.is_empty:
            return _empty_result(up)
        if same_windows(upstream_partitions_def, down.partitions_def, same_keys=True):
            assert isinstance(up, TimeKeySpace)
            assert isinstance(down.space, TimeKeySpace)
            mapped = shift_ranges(down.ranges, time_shift(down.space, up))
            if upstream_partitions_def == down.partitions_def:
                return UpstreamPartitionsResult(PartitionsSubset(up, mapped), PartitionsSubset(up))
            existing = up.all_ranges()
            return UpstreamPartitionsResult(
                PartitionsSubset(up, intersection(mapped, existing)),
                PartitionsSubset(up, difference(mapped, existing)),
            )
        if upstream_partitions_def == down.partitions_def:
            return UpstreamPartitionsResult(PartitionsSubset(up, down.ranges), PartitionsSubset(up))
        found, missing = split_existing(up, down.get_partition_keys())
        return UpstreamPartitionsResult(found, missing)

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
        down = downstream_partitions_def.resolve(current_time, dynamic_partitions_store)
        up = upstream_partitions_subset
        if up.is_empty:
            return PartitionsSubset(down)
        if same_windows(upstream_partitions_def, downstream_partitions_def, same_keys=True):
            assert isinstance(down, TimeKeySpace)
            assert isinstance(up.space, TimeKeySpace)
            mapped = shift_ranges(up.ranges, time_shift(up.space, down))
            return PartitionsSubset(down, intersection(mapped, down.all_ranges()))
        if upstream_partitions_def == downstream_partitions_def:
            return PartitionsSubset(down, intersection(up.ranges, down.all_ranges()))
        found, _ = split_existing(down, up.get_partition_keys())
        return found


@dataclass(frozen=True, slots=True)
class AllPartitionMapping(PartitionMapping):
    """Maps every downstream partition to every upstream partition."""

    def validate_partition_mapping(
        self,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> None:
        """Any two definitions can be joined."""

    def get_upstream_mapped_partitions_result_for_partitions(
        self,
        downstream_partitions_subset: PartitionsSubset | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> UpstreamPartitionsResult:
        up = upstream_partitions_def.resolve(current_time, dynamic_partitions_store)
        if downstream_partitions_subset is not None and downstream_partitions_subset.is_empty:
            return _empty_result(up)
        return UpstreamPartitionsResult(PartitionsSubset(up, up.all_ranges()), PartitionsSubset(up))

    def get_downstream_partitions_for_partitions(
        self,
        upstream_partitions_subset: PartitionsSubset,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        down = downstream_partitions_def.resolve(current_time, dynamic_partitions_store)
        if upstream_partitions_subset.is_empty:
            return PartitionsSubset(down)
        return PartitionsSubset(down, down.all_ranges())


@dataclass(frozen=True, slots=True)
class LastPartitionMapping(PartitionMapping):
    """Maps every downstream partition to the last upstream partition."""

    def validate_partition_mapping(
        self,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> None:
        """Any two definitions can be joined."""

    def get_upstream_mapped_partitions_result_for_partitions(
        self,
        downstream_partitions_subset: PartitionsSubset | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> UpstreamPartitionsResult:
        up = upstream_partitions_def.resolve(current_time, dynamic_partitions_store)
        existing = up.all_ranges()
        if not existing or (
            downstream_partitions_subset is not None and downstream_partitions_subset.is_empty
        ):
            return _empty_result(up)
        last = existing[-1][1] - 1
        return UpstreamPartitionsResult(
            PartitionsSubset(up, ((last, last + 1),)), PartitionsSubset(up)
        )

    def get_downstream_partitions_for_partitions(
        self,
        upstream_partitions_subset: PartitionsSubset,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        down = downstream_partitions_def.resolve(current_time, dynamic_partitions_store)
        up = upstream_partitions_def.resolve(current_time, dynamic_partitions_store)
        existing = up.all_ranges()
        if not existing:
            return PartitionsSubset(down)
        last = up.key_at(existing[-1][1] - 1)
        if last not in upstream_partitions_subset:
            return PartitionsSubset(down)
        return PartitionsSubset(down, down.all_ranges())
