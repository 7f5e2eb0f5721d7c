"""Sets of integers as sorted tuples of half-open ranges: the arithmetic under every subset.

Pure. A range set is a tuple of ``(start, stop)`` pairs with ``start < stop``, sorted, with
no two pairs overlapping or touching: ``((0, 3), (5, 6))`` is {0, 1, 2, 5}. Every function
here returns a range set in that normal form and costs time proportional to the number of
ranges, never to the number of integers they hold.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from itertools import chain
from operator import itemgetter
from typing import TypeAlias

__all__ = [
    "EMPTY",
    "Ranges",
    "chunk_ranges",
    "clip_ranges",
    "count",
    "difference",
    "index_at_position",
    "intersection",
    "is_member",
    "iterate",
    "normalize",
    "ranges_from_indices",
    "shift_ranges",
    "slice_positions",
    "union",
]

Ranges: TypeAlias = tuple[tuple[int, int], ...]
EMPTY: Ranges = ()
_START = itemgetter(0)


def normalize(pairs: Iterable[tuple[int, int]]) -> Ranges:
    """Sorts `pairs`, drops empty ones and merges those that overlap or touch."""
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(pairs):
        if start >= stop:
            continue
        if merged and start <= merged[-1][1]:
            if stop > merged[-1][1]:
                merged[-1] = (merged[-1][0], stop)
        else:
            merged.append((start, stop))
    return tuple(merged)


def ranges_from_indices(indices: Iterable[int]) -> Ranges:
    """The range set of some integers, in any order and with repeats."""
    ordered = sorted(set(indices))
    if not ordered:
        return EMPTY
    out: list[tuple[int, int]] = []
    start = previous = ordered[0]
    for index in ordered[1:]:
        if index != previous + 1:
            out.append((start, previous + 1))
            start = index
        previous = index
    out.append((start, previous + 1))
    return tuple(out)


def count(ranges: Ranges) -> int:
    """How many integers `ranges` holds."""
    if len(ranges) < 2:
        return ranges[0][1] - ranges[0][0] if ranges else 0
    return sum(stop - start for start, stop in ranges)


def is_member(ranges: Ranges, index: int) -> bool:
    """Whether `index` is in `ranges` (binary search)."""
    position = bisect_right(ranges, index, key=_START) - 1
    return position >= 0 and index < ranges[position][1]


def iterate(ranges: Ranges) -> Iterator[int]:
    """The integers of `ranges` in increasing order, produced lazily."""
    return chain.from_iterable(range(start, stop) for start, stop in ranges)


def union(left: Ranges, right: Ranges) -> Ranges:
    """The integers in either set."""
    if not left:
        return right
    if not right:
        return left
    merged: list[tuple[int, int]] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if j >= len(right) or (i < len(left) and left[i][0] <= right[j][0]):
            start, stop = left[i]
            i += 1
        else:
            start, stop = right[j]
            j += 1
        if merged and start <= merged[-1][1]:
            if stop > merged[-1][1]:
                merged[-1] = (merged[-1][0], stop)
        else:
            merged.append((start, stop))
    return tuple(merged)


def intersection(left: Ranges, right: Ranges) -> Ranges:
    """The integers in both sets."""
    if len(left) == 1 and len(right) == 1:  # the common case of planning, made cheap
        (start, stop), (other_start, other_stop) = left[0], right[0]
        start = other_start if other_start > start else start
        stop = other_stop if other_stop < stop else stop
        return ((start, stop),) if start < stop else EMPTY
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        stop = min(left[i][1], right[j][1])
        if start < stop:
            out.append((start, stop))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def difference(left: Ranges, right: Ranges) -> Ranges:
    """The integers of `left` that are not in `right`."""
    if not left or not right:
        return left
    if (
        len(left) == 1
        and len(right) == 1
        and right[0][0] <= left[0][0]
        and left[0][1] <= right[0][1]
    ):
        return EMPTY
    out: list[tuple[int, int]] = []
    j = 0
    for start, stop in left:
        while j < len(right) and right[j][1] <= start:
            j += 1
        k = j
        while k < len(right) and right[k][0] < stop:
            if right[k][0] > start:
                out.append((start, right[k][0]))
            start = max(start, right[k][1])
            k += 1
        if start < stop:
            out.append((start, stop))
    return tuple(out)


def shift_ranges(ranges: Ranges, offset: int) -> Ranges:
    """Every integer moved by `offset`."""
    if offset == 0:
        return ranges
    return tuple((start + offset, stop + offset) for start, stop in ranges)


def clip_ranges(ranges: Ranges, low: int, high: int) -> Ranges:
    """The integers of `ranges` in ``[low, high)``."""
    return intersection(ranges, ((low, high),)) if low < high else EMPTY


def index_at_position(ranges: Ranges, position: int) -> int:
    """The `position`-th smallest integer of `ranges` (0-based); IndexError past the end."""
    if position >= 0:
        for start, stop in ranges:
            if position < stop - start:
                return start + position
            position -= stop - start
    raise IndexError("position out of range")


def slice_positions(ranges: Ranges, start: int, stop: int) -> Ranges:
    """The integers whose positions in `ranges` are in ``[start, stop)``, like a list slice."""
    out: list[tuple[int, int]] = []
    seen = 0
    for low, high in ranges:
        size = high - low
        first = max(start - seen, 0)
        last = min(stop - seen, size)
        if first < last:
            out.append((low + first, low + last))
        seen += size
        if seen >= stop:
            break
    return tuple(out)


def chunk_ranges(ranges: Ranges, size: int) -> list[Ranges]:
    """`ranges` cut, in order, into pieces of `size` integers (the last may be shorter)."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    if len(ranges) == 1:
        start, stop = ranges[0]
        return [((low, min(low + size, stop)),) for low in range(start, stop, size)]
    chunks: list[Ranges] = []
    current: list[tuple[int, int]] = []
    room = size
    for start, stop in ranges:
        while start < stop:
            take = min(room, stop - start)
            current.append((start, start + take))
            start += take
            room -= take
            if room == 0:
                chunks.append(tuple(current))
                current, room = [], size
    if current:
        chunks.append(tuple(current))
    return chunks
