"""The key space of a multi-partitions definition: the product of two key spaces.

Pure. Index ``outer * size + inner`` is the partition made of the outer dimension's
partition `outer` and the inner one's `inner`, where `size` is the inner dimension's count.
A range of such indices is at most three rectangles (a partial row, full rows, a partial
row), which is how key ranges, mappings per dimension and rebasing see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions._ranges import EMPTY, Ranges, normalize
from arco_flow.core.partitions._space import KeySpace
from arco_flow.core.partitions._values import PartitionKeyRange

if TYPE_CHECKING:
    from arco_flow.core.partitions._multi import MultiPartitionsDefinition

__all__ = ["MULTIPARTITION_KEY_DELIMITER", "MultiKeySpace", "Rectangle", "malformed_key_error"]

MULTIPARTITION_KEY_DELIMITER = "|"
Rectangle = tuple[tuple[int, int], tuple[int, int]]
"""``((outer_start, outer_stop), (inner_start, inner_stop))``."""


def malformed_key_error(definition: MultiPartitionsDefinition, key: object) -> PartitionError:
    """The error for a string that is not one key per dimension joined by ``|``."""
    names = definition.partition_dimension_names
    example = "|".join(f"<{name}>" for name in names)
    return PartitionError(
        f"{key!r} is not a partition key of {definition!r}: a multi-partition key has one key "
        f"for each of the dimensions {names!r}, joined by '|' in that order, e.g. {example!r}"
    )


class MultiKeySpace(KeySpace):
    """A multi-partitions definition resolved: two key spaces and the product indexing."""

    __slots__ = ("dimensions", "outer", "size")

    def __init__(
        self,
        partitions_def: MultiPartitionsDefinition,
        current_time: datetime | None,
        dimensions: Sequence[KeySpace],
        outer: int,
    ) -> None:
        super().__init__(partitions_def, current_time)
        self.dimensions = tuple(dimensions)
        """The dimensions' key spaces, in dimension-name order."""
        self.outer = outer
        """Which dimension (0 or 1, name order) is outermost in the indexing."""
        inner_all = self.inner_space.all_ranges()
        self.size = inner_all[-1][1] if inner_all else 0
        """The inner dimension's index count: a row's length."""

    @property
    def outer_space(self) -> KeySpace:
        """The dimension whose index varies slowest."""
        return self.dimensions[self.outer]

    @property
    def inner_space(self) -> KeySpace:
        """The dimension whose index varies fastest."""
        return self.dimensions[1 - self.outer]

    def _join(self, outer_key: str, inner_key: str) -> str:
        if self.outer == 0:
            return outer_key + MULTIPARTITION_KEY_DELIMITER + inner_key
        return inner_key + MULTIPARTITION_KEY_DELIMITER + outer_key

    def product(self, outer: Ranges, inner: Ranges) -> Ranges:
        """The indices of every pair of an `outer` and an `inner` index."""
        size = self.size
        if not outer or not inner:
            return EMPTY
        if inner == ((0, size),):
            return normalize((start * size, stop * size) for start, stop in outer)
        return normalize(
            (row * size + low, row * size + high)
            for start, stop in outer
            for row in range(start, stop)
            for low, high in inner
        )

    def rectangles(self, ranges: Ranges) -> list[Rectangle]:
        """`ranges` as rectangles of (outer range, inner range)."""
        size = self.size
        out: list[Rectangle] = []
        for start, stop in ranges:
            first_row, first_col = divmod(start, size)
            last_row, end_col = divmod(stop, size)
            if first_row == last_row:
                out.append(((first_row, first_row + 1), (first_col, end_col)))
                continue
            if first_col:
                out.append(((first_row, first_row + 1), (first_col, size)))
                first_row += 1
            if first_row < last_row:
                out.append(((first_row, last_row), (0, size)))
            if end_col:
                out.append(((last_row, last_row + 1), (0, end_col)))
        return out

    def all_ranges(self) -> Ranges:
        return self.product(self.outer_space.all_ranges(), self.inner_space.all_ranges())

    def key_at(self, index: int) -> str:
        outer, inner = divmod(index, self.size)
        return self._join(self.outer_space.key_at(outer), self.inner_space.key_at(inner))

    def keys_in(self, ranges: Ranges) -> list[str]:
        keys: list[str] = []
        for (o_start, o_stop), (i_start, i_stop) in self.rectangles(ranges):
            inner_keys = self.inner_space.keys_in(((i_start, i_stop),))
            for outer_key in self.outer_space.keys_in(((o_start, o_stop),)):
                keys.extend(self._join(outer_key, inner_key) for inner_key in inner_keys)
        return keys

    def split_key(self, key: str) -> tuple[str, str]:
        """A key's parts in dimension-name order.

        Raises:
            PartitionError: The key is not two parts joined by ``|``.
        """
        parts = key.split(MULTIPARTITION_KEY_DELIMITER) if isinstance(key, str) else ()
        if len(parts) != 2:
            raise malformed_key_error(self.partitions_def, key)  # type: ignore[arg-type]  # always a multi definition
        return parts[0], parts[1]

    def index_of(self, key: str, *, existing: bool = True) -> int:
        parts = self.split_key(key)
        indices = []
        for name, space, part in zip(self._names(), self.dimensions, parts, strict=True):
            try:
                indices.append(space.index_of(part, existing=existing))
            except PartitionError as error:
                raise PartitionError(
                    f"{key!r} is not a partition key of {self.partitions_def!r}: in dimension "
                    f"{name!r}, {error}"
                ) from None
        outer, inner = indices[self.outer], indices[1 - self.outer]
        if not 0 <= inner < self.size:
            raise PartitionError(
                f"{key!r} is not a partition key of {self.partitions_def!r}: its "
                f"{self._names()[1 - self.outer]!r} key does not exist yet"
            )
        return outer * self.size + inner

    def _names(self) -> list[str]:
        return self.partitions_def.partition_dimension_names  # type: ignore[attr-defined, no-any-return]  # a multi definition

    def same_indexing(self, other: KeySpace) -> bool:
        return (
            isinstance(other, MultiKeySpace)
            and other.partitions_def == self.partitions_def
            and other.size == self.size
            and all(
                a.same_indexing(b) for a, b in zip(self.dimensions, other.dimensions, strict=True)
            )
        )

    def rebase(self, other: KeySpace, ranges: Ranges) -> Ranges:
        assert isinstance(other, MultiKeySpace)
        outer_same = self.outer_space.same_indexing(other.outer_space)
        inner_same = self.inner_space.same_indexing(other.inner_space)
        pieces: list[tuple[int, int]] = []
        for outer, inner in other.rectangles(ranges):
            outer_ranges = (
                (outer,) if outer_same else self.outer_space.rebase(other.outer_space, (outer,))
            )
            inner_ranges = (
                (inner,) if inner_same else self.inner_space.rebase(other.inner_space, (inner,))
            )
            pieces.extend(self.product(outer_ranges, inner_ranges))
        return normalize(pieces)

    def key_ranges(self, ranges: Ranges) -> list[PartitionKeyRange]:
        return [
            PartitionKeyRange(
                self.key_at(o0 * self.size + i0), self.key_at((o1 - 1) * self.size + i1 - 1)
            )
            for (o0, o1), (i0, i1) in self.rectangles(ranges)
        ]

    def ranges_for_key_range(
        self, key_range: PartitionKeyRange, *, existing: bool = True
    ) -> Ranges:
        # As Dagster: the rectangle between the two keys' values in each dimension.
        starts, ends = self.split_key(key_range.start), self.split_key(key_range.end)
        per_dimension = [
            space.ranges_for_key_range(PartitionKeyRange(start, end), existing=existing)
            for space, start, end in zip(self.dimensions, starts, ends, strict=True)
        ]
        return self.product(per_dimension[self.outer], per_dimension[1 - self.outer])
