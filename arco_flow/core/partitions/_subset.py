"""Partition subsets: sorted ranges of indices over a resolved definition.

Pure. A `PartitionsSubset` never holds key strings: it is a `KeySpace` and a range set, so
counting, membership, union, intersection, difference, slicing and chunking cost time and
memory in proportion to the number of ranges. Keys are written only when asked for
(`get_partition_keys`, iteration).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions._ranges import (
    EMPTY,
    Ranges,
    chunk_ranges,
    count,
    difference,
    intersection,
    is_member,
    normalize,
    slice_positions,
    union,
)
from arco_flow.core.partitions._space import KeySpace
from arco_flow.core.partitions._values import PartitionKeyRange

if TYPE_CHECKING:
    from arco_flow.core.partitions._definition import PartitionsDefinition

__all__ = ["PartitionsSubset"]

# Keys are written this many at a time when a subset is iterated.
_ITERATION_BATCH = 4096


@dataclass(frozen=True, slots=True, eq=False)
class PartitionsSubset:
    """Some partitions of one definition, as sorted half-open ranges of indices.

    Build one from a definition (`empty_subset`, `subset_with_all_partitions`,
    `subset_with_partition_keys`, `subset_with_partition_key_range`) or from a `KeySpace`.
    ``|``, ``&`` and ``-`` combine subsets of equal definitions; ``len``, ``in`` and
    iteration work as on a set of keys, in index order.
    """

    space: KeySpace
    """The resolved definition the indices refer to."""
    ranges: Ranges = EMPTY
    """Sorted, disjoint, non-touching ``(start, stop)`` index ranges."""

    @classmethod
    def from_ranges(cls, space: KeySpace, ranges: Iterable[tuple[int, int]]) -> PartitionsSubset:
        """A subset of `space` from index ranges in any order, overlapping or not."""
        return cls(space, normalize(ranges))

    @property
    def partitions_def(self) -> PartitionsDefinition:
        """The definition the subset belongs to."""
        return self.space.partitions_def

    @property
    def is_empty(self) -> bool:
        """Whether the subset holds no partition."""
        return not self.ranges

    def __len__(self) -> int:
        return count(self.ranges)

    def __contains__(self, partition_key: object) -> bool:
        if not isinstance(partition_key, str):
            return False
        try:
            index = self.space.index_of(partition_key, existing=False)
        except PartitionError:
            return False
        return is_member(self.ranges, index)

    def __iter__(self) -> Iterator[str]:
        for start, stop in self.ranges:
            for low in range(start, stop, _ITERATION_BATCH):
                yield from self.space.keys_in(((low, min(stop, low + _ITERATION_BATCH)),))

    def __or__(self, other: PartitionsSubset) -> PartitionsSubset:
        if not self.ranges and other.partitions_def == self.partitions_def:
            return other  # keeps `other`'s key list: an empty dynamic subset may have none
        return PartitionsSubset(self.space, union(self.ranges, self._aligned(other)))

    def __and__(self, other: PartitionsSubset) -> PartitionsSubset:
        return PartitionsSubset(self.space, intersection(self.ranges, self._aligned(other)))

    def __sub__(self, other: PartitionsSubset) -> PartitionsSubset:
        return PartitionsSubset(self.space, difference(self.ranges, self._aligned(other)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PartitionsSubset):
            return NotImplemented
        if other.partitions_def != self.partitions_def:
            return False
        return self._aligned(other) == self.ranges

    def __hash__(self) -> int:
        # Not the ranges: equal subsets of a dynamic definition may index different key lists.
        return hash((self.partitions_def, len(self)))

    def __repr__(self) -> str:
        shown = ", ".join(f"{a}..{b - 1}" for a, b in self.ranges[:3])
        more = f", +{len(self.ranges) - 3} ranges" if len(self.ranges) > 3 else ""
        return f"PartitionsSubset({self.partitions_def!r}, {len(self)} partitions: {shown}{more})"

    def _aligned(self, other: PartitionsSubset) -> Ranges:
        """`other`'s ranges in this subset's indexing."""
        if other.space is self.space:
            return other.ranges
        if other.partitions_def != self.partitions_def:
            raise PartitionError(
                f"cannot combine a subset of {other.partitions_def!r} with one of "
                f"{self.partitions_def!r}: map one onto the other with a partition mapping first"
            )
        if not other.ranges or self.space.same_indexing(other.space):
            return other.ranges
        return self.space.rebase(other.space, other.ranges)

    def get_partition_keys(self) -> list[str]:
        """Every key of the subset, in index order (written now, on request)."""
        return self.space.keys_in(self.ranges)

    def get_partition_key_ranges(
        self, partitions_def: PartitionsDefinition | None = None
    ) -> list[PartitionKeyRange]:
        """The subset as key ranges (for multi-partitions, rectangles as Dagster reads them).

        Args:
            partitions_def: Accepted for Dagster's signature; must be the subset's own.
        """
        if partitions_def is not None and partitions_def != self.partitions_def:
            raise PartitionError(
                f"a subset of {self.partitions_def!r} has no key ranges in {partitions_def!r}"
            )
        return self.space.key_ranges(self.ranges)

    def with_partition_keys(self, partition_keys: Iterable[str]) -> PartitionsSubset:
        """This subset plus `partition_keys` (which must exist).

        Raises:
            PartitionError: A key is malformed, unknown or outside the partitions that exist.
        """
        return PartitionsSubset(
            self.space, union(self.ranges, self.space.ranges_of(partition_keys))
        )

    def with_partition_key_range(
        self,
        partition_key_range: PartitionKeyRange,
        partitions_def: PartitionsDefinition | None = None,
    ) -> PartitionsSubset:
        """This subset plus the partitions of `partition_key_range`, both ends included.

        Args:
            partition_key_range: The keys to add.
            partitions_def: Accepted for Dagster's signature; must be the subset's own.
        """
        if partitions_def is not None and partitions_def != self.partitions_def:
            raise PartitionError(
                f"a subset of {self.partitions_def!r} cannot take a key range of {partitions_def!r}"
            )
        added = self.space.ranges_for_key_range(partition_key_range)
        return PartitionsSubset(self.space, union(self.ranges, added))

    def slice(self, start: int, stop: int) -> PartitionsSubset:
        """The partitions at positions ``start..stop-1`` of the subset, like a list slice."""
        return PartitionsSubset(self.space, slice_positions(self.ranges, start, stop))

    def chunks(self, size: int) -> list[PartitionsSubset]:
        """The subset cut, in order, into consecutive subsets of `size` partitions."""
        return [PartitionsSubset(self.space, piece) for piece in chunk_ranges(self.ranges, size)]
