"""Key spaces: a partitions definition resolved for one moment, with index <-> key arithmetic.

Pure. Subsets and mappings work on integer indices; a `KeySpace` is what gives those indices
their keys. It is the definition plus whatever the definition alone cannot say: the current
time (which partitions exist yet) and, for dynamic partitions, the key list read from the
store. Static and dynamic definitions index their key list; time-window ones index their
ticks from the first partition, so indices stay valid as time passes and may fall outside
the partitions that exist (a mapping's "required but nonexistent" partitions).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions._ranges import Ranges, iterate, ranges_from_indices
from arco_flow.core.partitions._values import PartitionKeyRange

if TYPE_CHECKING:
    from arco_flow.core.partitions._definition import PartitionsDefinition

__all__ = ["KeySpace", "ListKeySpace", "closest_key"]

# difflib is quadratic-ish per candidate; past this many keys the suggestion is skipped.
_SUGGESTION_LIMIT = 20_000
# Lookups answered by scanning the key list before a dictionary of it is built.
_SCANNED_LOOKUPS = 8


class KeySpace:
    """A partitions definition resolved for `current_time` (and a dynamic key list)."""

    __slots__ = ("current_time", "partitions_def")

    def __init__(self, partitions_def: PartitionsDefinition, current_time: datetime | None) -> None:
        self.partitions_def = partitions_def
        self.current_time = current_time

    def all_ranges(self) -> Ranges:
        """The indices of every partition that exists."""
        raise NotImplementedError

    def key_at(self, index: int) -> str:
        """The key of the partition at `index`."""
        raise NotImplementedError

    def keys_in(self, ranges: Ranges) -> list[str]:
        """The keys at the indices of `ranges`, in index order."""
        return [self.key_at(index) for index in iterate(ranges)]

    def index_of(self, key: str, *, existing: bool = True) -> int:
        """The index of `key`.

        Args:
            key: A partition key in its canonical string form.
            existing: Whether the partition must exist now; when False, a time-window key
                outside the definition's range still gets its (out-of-range) index.

        Raises:
            PartitionError: The key is malformed, unknown, or (when `existing`) outside the
                partitions that exist; the message names the definition and a close key.
        """
        raise NotImplementedError

    def ranges_of(self, keys: Iterable[str], *, existing: bool = True) -> Ranges:
        """The range set of the indices of `keys`."""
        return ranges_from_indices(self.index_of(key, existing=existing) for key in keys)

    def same_indexing(self, other: KeySpace) -> bool:
        """Whether an index means the same key here and in `other`."""
        raise NotImplementedError

    def rebase(self, other: KeySpace, ranges: Ranges) -> Ranges:
        """`ranges` of `other` (same definition, other indexing) as ranges of this space."""
        return self.ranges_of(other.keys_in(ranges), existing=False)

    def key_ranges(self, ranges: Ranges) -> list[PartitionKeyRange]:
        """`ranges` as key ranges, each as `ranges_for_key_range` reads it back."""
        return [
            PartitionKeyRange(self.key_at(start), self.key_at(stop - 1)) for start, stop in ranges
        ]

    def ranges_for_key_range(
        self, key_range: PartitionKeyRange, *, existing: bool = True
    ) -> Ranges:
        """The indices of the partitions in `key_range`, both ends included.

        Raises:
            PartitionError: An end is not a key, or the range ends before it starts.
        """
        start = self.index_of(key_range.start, existing=existing)
        end = self.index_of(key_range.end, existing=existing)
        if end < start:
            raise PartitionError(
                f"partition key range {key_range.start!r} to {key_range.end!r} of "
                f"{self.partitions_def!r} ends before it starts; swap its ends"
            )
        return ((start, end + 1),)


class ListKeySpace(KeySpace):
    """Indices into a list of keys: static partitions, or dynamic ones read from a store."""

    __slots__ = ("_fix", "_index", "_scans", "keys")

    def __init__(
        self,
        partitions_def: PartitionsDefinition,
        current_time: datetime | None,
        keys: Sequence[str],
        index: dict[str, int] | None = None,
        fix: str = "",
    ) -> None:
        super().__init__(partitions_def, current_time)
        self.keys = keys
        self._index = index
        self._fix = fix
        self._scans = 0

    def _key_index(self) -> dict[str, int]:
        # Built on demand only: counting or slicing a million dynamic keys needs none.
        if self._index is None:
            self._index = dict(zip(self.keys, range(len(self.keys)), strict=True))
        return self._index

    def _find(self, key: str) -> int | None:
        # A few lookups scan the list in C (milliseconds for a million keys); more build
        # the dictionary (a tenth of a second for a million keys) and reuse it.
        if self._index is None and self._scans < _SCANNED_LOOKUPS:
            self._scans += 1
            try:
                return self.keys.index(key)
            except ValueError:
                return None
        try:
            return self._key_index().get(key)
        except TypeError:
            return None

    def all_ranges(self) -> Ranges:
        return ((0, len(self.keys)),) if self.keys else ()

    def key_at(self, index: int) -> str:
        return self.keys[index]

    def keys_in(self, ranges: Ranges) -> list[str]:
        if len(ranges) == 1:
            start, stop = ranges[0]
            return list(self.keys[start:stop])
        out: list[str] = []
        for start, stop in ranges:
            out.extend(self.keys[start:stop])
        return out

    def index_of(self, key: str, *, existing: bool = True) -> int:
        index = self._find(key)
        if index is None:
            raise self.unknown_key_error(key)
        return index

    def ranges_of(self, keys: Iterable[str], *, existing: bool = True) -> Ranges:
        keys = keys if isinstance(keys, list | tuple) else list(keys)
        if self._index is None and len(keys) + self._scans <= _SCANNED_LOOKUPS:
            return ranges_from_indices([self.index_of(key) for key in keys])
        index = self._key_index()
        try:
            return ranges_from_indices([index[key] for key in keys])
        except KeyError as error:
            raise self.unknown_key_error(error.args[0]) from None
        except TypeError:
            raise PartitionError(
                f"partition keys of {self.partitions_def!r} are strings, got "
                f"{sorted({type(k).__name__ for k in keys if not isinstance(k, str)})}"
            ) from None

    def same_indexing(self, other: KeySpace) -> bool:
        if not isinstance(other, ListKeySpace) or other.partitions_def != self.partitions_def:
            return False
        if other.keys is self.keys:
            return True
        if len(other.keys) != len(self.keys):
            return False
        if type(other.keys) is type(self.keys):
            return other.keys == self.keys
        return list(other.keys) == list(self.keys)

    def unknown_key_error(self, key: object) -> PartitionError:
        """The error for a key that is not in the list, with the closest key if there is one."""
        hint = closest_key(str(key), self.keys)
        suggestion = f" Did you mean {hint!r}?" if hint is not None else ""
        return PartitionError(
            f"partition key {key!r} is not a partition of {self.partitions_def!r} "
            f"({len(self.keys)} keys).{suggestion}{self._fix}"
        )


def closest_key(key: str, keys: Sequence[str]) -> str | None:
    """The key of `keys` most like `key`, if one is close enough (difflib's ratio >= 0.6)."""
    candidates = keys if len(keys) <= _SUGGESTION_LIMIT else keys[:_SUGGESTION_LIMIT]
    matches = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None
