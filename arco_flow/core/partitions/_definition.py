"""The base of every partitions definition: Dagster's query methods, written once.

Pure. A definition is an immutable value, equal to another with the same fields. Each kind
says how it resolves into a `KeySpace` for a moment (and a dynamic key store); every query
below (keys, counts, first and last key, membership, subsets) is answered from that space,
so none of them lists keys unless it returns keys.

"Now" is an argument: ``current_time=None`` means "no clock bound", so a time-window
definition counts up to its ``end`` and one without an end has no last partition (its
queries that need one raise `PartitionError` and ask for ``current_time``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from datetime import datetime
from typing import Any

from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions._ranges import count, is_member
from arco_flow.core.partitions._space import KeySpace
from arco_flow.core.partitions._subset import PartitionsSubset
from arco_flow.core.partitions._values import DynamicPartitionsStore, PartitionKeyRange

__all__ = ["PartitionsDefinition"]


class PartitionsDefinition:
    """A set of partitions an asset is split into (Dagster's `PartitionsDefinition`)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; build a new one instead")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _set(self, name: str, value: object) -> None:
        """Sets a field while the definition is being built."""
        object.__setattr__(self, name, value)

    def _identity(self) -> tuple[Hashable, ...]:
        """The normalized fields equality and hashing compare."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PartitionsDefinition):
            return NotImplemented
        return other is self or self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def resolve(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> KeySpace:
        """This definition as a `KeySpace` as of `current_time`.

        Args:
            current_time: "Now"; a naive value is read in the definition's time zone. None
                means no clock bound (see the module docstring).
            dynamic_partitions_store: Where dynamic partition keys are read from.

        Raises:
            PartitionError: A dynamic definition was given no store.
        """
        raise NotImplementedError

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        """Every partition key, in order, as of `current_time`."""
        space = self.resolve(current_time, dynamic_partitions_store)
        return space.keys_in(space.all_ranges())

    def get_num_partitions(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> int:
        """How many partitions exist as of `current_time`, without listing them."""
        return count(self.resolve(current_time, dynamic_partitions_store).all_ranges())

    def get_first_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> str | None:
        """The first partition key, or None if there is no partition yet."""
        space = self.resolve(current_time, dynamic_partitions_store)
        ranges = space.all_ranges()
        return space.key_at(ranges[0][0]) if ranges else None

    def get_last_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> str | None:
        """The last partition key, or None if there is no partition yet."""
        space = self.resolve(current_time, dynamic_partitions_store)
        ranges = space.all_ranges()
        return space.key_at(ranges[-1][1] - 1) if ranges else None

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> bool:
        """Whether `partition_key` is a partition that exists as of `current_time`."""
        space = self.resolve(current_time, dynamic_partitions_store)
        try:
            index = space.index_of(partition_key, existing=False)
        except PartitionError:
            return False
        return is_member(space.all_ranges(), index)

    def validate_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> None:
        """Checks that `partition_key` exists as of `current_time`.

        Raises:
            PartitionError: The key is malformed, unknown or outside the partitions that
                exist; the message names the definition and the closest valid key.
        """
        self.resolve(current_time, dynamic_partitions_store).index_of(partition_key)

    def get_partition_keys_in_range(
        self,
        partition_key_range: PartitionKeyRange,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        """The keys from `partition_key_range.start` to `.end`, both included.

        Raises:
            PartitionError: An end is not a partition, or the range ends before it starts.
        """
        space = self.resolve(current_time, dynamic_partitions_store)
        return space.keys_in(space.ranges_for_key_range(partition_key_range))

    def empty_subset(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        """A subset with no partition."""
        return PartitionsSubset(self.resolve(current_time, dynamic_partitions_store))

    def subset_with_all_partitions(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        """Every partition that exists as of `current_time`, without listing a key."""
        space = self.resolve(current_time, dynamic_partitions_store)
        return PartitionsSubset(space, space.all_ranges())

    def subset_with_partition_keys(
        self,
        partition_keys: Iterable[str],
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        """The subset of `partition_keys`.

        Raises:
            PartitionError: A key is malformed, unknown or outside the partitions that exist.
        """
        space = self.resolve(current_time, dynamic_partitions_store)
        return PartitionsSubset(space, space.ranges_of(partition_keys))

    def subset_with_partition_key_range(
        self,
        partition_key_range: PartitionKeyRange,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        """The partitions of `partition_key_range`, both ends included.

        Raises:
            PartitionError: An end is not a partition, or the range ends before it starts.
        """
        space = self.resolve(current_time, dynamic_partitions_store)
        return PartitionsSubset(space, space.ranges_for_key_range(partition_key_range))
