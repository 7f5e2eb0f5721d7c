"""`PartitionScope`: the partitions one task covers, as its contexts describe them.

A scope is one partition key, or an inclusive key range with its `PartitionsSubset`
(index ranges). Asset and IO manager contexts answer their partition members from it;
keys are listed only when a member returns a list. The partitions package is loaded only
by partitioned runs, so `import arco_flow` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arco_flow.core.errors import DefinitionError

if TYPE_CHECKING:
    from arco_flow.core.partitions import (
        DynamicPartitionsStore,
        PartitionKeyRange,
        PartitionsSubset,
        TimeWindow,
    )

__all__ = ["PartitionScope", "subset_key_range", "subset_time_window"]


@dataclass(frozen=True, slots=True)
class PartitionScope:
    """One partition key, or a range of keys with the subset they make."""

    partitions_def: Any = None
    """The definition the keys belong to; None when only a key is known."""
    key: str | None = None
    """The one key, for a task of one partition."""
    key_range: PartitionKeyRange | None = None
    """The inclusive range, for a task of a range of partitions."""
    subset: PartitionsSubset | None = None
    """The partitions of `key_range`; built from the definition when not given."""

    @staticmethod
    def for_range(
        partitions_def: Any,
        key_range: PartitionKeyRange,
        current_time: Any = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionScope:
        """The scope of `key_range` of `partitions_def`, a one-key range as that key.

        Args:
            partitions_def: The definition the range belongs to.
            key_range: The inclusive range.
            current_time: "Now", which decides which time partitions exist.
            dynamic_partitions_store: Where dynamic keys are read (the run's snapshot).

        Raises:
            PartitionError: an end is not a partition, or the range ends before it starts.
        """
        if key_range.start == key_range.end:
            return PartitionScope(partitions_def, key=key_range.start)
        subset = partitions_def.subset_with_partition_key_range(
            key_range, current_time, dynamic_partitions_store
        )
        return PartitionScope(partitions_def, key_range=key_range, subset=subset)

    @property
    def is_range(self) -> bool:
        """Whether the scope is a range of several keys."""
        return self.key is None

    def keys(self) -> list[str]:
        """Every key of the scope, in the definition's order (listed now)."""
        if self.key is not None:
            return [self.key]
        assert self.subset is not None  # built by for_range or the worker
        return self.subset.get_partition_keys()

    def count(self) -> int:
        """How many partitions the scope covers, without listing them."""
        return 1 if self.subset is None else len(self.subset)

    def partition_key_range(self) -> PartitionKeyRange:
        """The scope as a key range (a one-key range for one key)."""
        if self.key_range is not None:
            return self.key_range
        from arco_flow.core.partitions import PartitionKeyRange

        assert self.key is not None
        return PartitionKeyRange(self.key, self.key)

    def time_window(self, owner: str) -> TimeWindow:
        """The time window from the start of the first partition to the end of the last.

        Raises:
            DefinitionError: the definition is not a time-window one.
        """
        window_of = getattr(self.partitions_def, "time_window_for_partition_key", None)
        if window_of is None:
            raise DefinitionError(
                f"{owner} is not partitioned by time, so its partitions have no time window; "
                "use the partition keys instead"
            )
        if self.subset is not None:
            return subset_time_window(self.subset)
        key_range = self.partition_key_range()
        if key_range.start == key_range.end:
            return window_of(key_range.start)  # type: ignore[no-any-return]  # TimeWindow
        from arco_flow.core.partitions import TimeWindow

        return TimeWindow(window_of(key_range.start).start, window_of(key_range.end).end)


def subset_key_range(subset: PartitionsSubset) -> PartitionKeyRange:
    """The key range from the first to the last key of a non-empty subset."""
    from arco_flow.core.partitions import PartitionKeyRange

    ranges, space = subset.ranges, subset.space
    return PartitionKeyRange(space.key_at(ranges[0][0]), space.key_at(ranges[-1][1] - 1))


def subset_time_window(subset: PartitionsSubset) -> TimeWindow:
    """The window from the start of a subset's first partition to the end of its last.

    Raises:
        DefinitionError: the subset's definition is not a time-window one.
    """
    from arco_flow.core.partitions import TimeKeySpace, TimeWindow

    space = subset.space
    if not isinstance(space, TimeKeySpace):
        raise DefinitionError(
            f"{subset.partitions_def!r} is not partitioned by time, so its partitions have "
            "no time window; use the partition keys instead"
        )
    ranges = subset.ranges
    return TimeWindow(
        space.time_window(ranges[0][0]).start, space.time_window(ranges[-1][1] - 1).end
    )
