"""The key space of a time-window definition: which windows exist as of "now".

Pure. Index ``i`` is the window that starts at tick ``first + i``; it exists when it lies
between the definition's start and its last window, which is the last complete window as of
now (the still-open one is not a partition yet), moved by `end_offset`, and never past
`end`. With no "now" (``current_time=None``) the last window is the one before `end`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions._ranges import (
    EMPTY,
    Ranges,
    difference,
    ranges_from_indices,
    shift_ranges,
)
from arco_flow.core.partitions._space import KeySpace
from arco_flow.core.partitions._subset import PartitionsSubset
from arco_flow.core.partitions._ticks import CronTicks, DailyTicks
from arco_flow.core.partitions._time_window import TimeWindowPartitionsDefinition, to_timestamp
from arco_flow.core.partitions._values import PartitionKeyRange, TimeWindow

__all__ = ["TimeKeySpace"]

_YEAR_1000 = date(1000, 1, 1).toordinal()  # strftime writes earlier years unpadded
# Only this shape is read by `date.fromisoformat` as the date its text says (3.11 reads
# other ISO forms too); keys are joined by newlines so one match checks them all.
_ISO_DATES = re.compile(r"(?:\d{4}-\d{2}-\d{2}\n)*\d{4}-\d{2}-\d{2}")


class TimeKeySpace(KeySpace):
    """A time-window definition as of `current_time`."""

    __slots__ = (
        "_all",
        "_daily_dates",
        "_defn",
        "_empty",
        "_first",
        "_stop",
        "absolute_ordinals",
        "count",
        "now_timestamp",
    )

    def __init__(
        self, partitions_def: TimeWindowPartitionsDefinition, current_time: datetime | None
    ) -> None:
        super().__init__(partitions_def, current_time)
        self._defn = partitions_def
        self._first = partitions_def._first
        self.now_timestamp = (
            None if current_time is None else to_timestamp(current_time, partitions_def._zone)
        )
        self._stop = _stop_ordinal(partitions_def, self.now_timestamp)
        self._all: Ranges | None = None
        self._empty: PartitionsSubset | None = None
        self.count = None if self._stop is None else max(0, self._stop - self._first)
        """How many windows run from the start to the last window, excluded ones included;
        None if the definition has no last window (no end and no current time)."""
        self.absolute_ordinals = not isinstance(partitions_def._ticks, CronTicks)
        # Daily keys in the default format are the tick ordinals' dates: a fast path.
        self._daily_dates = isinstance(partitions_def._date_ticks, DailyTicks)
        """Whether tick ordinals are the same in every definition with the same schedule:
        true for hourly, daily, weekly and monthly ticks (counted from a fixed epoch), false
        for iterated cron schedules (counted from the definition's start)."""

    @property
    def first_ordinal(self) -> int:
        """The tick ordinal of index 0."""
        return self._first

    def empty_subset(self) -> PartitionsSubset:
        """The empty subset of this space (one shared value)."""
        if self._empty is None:
            self._empty = PartitionsSubset(self)
        return self._empty

    def all_ranges(self) -> Ranges:
        if self._all is None:
            self._all = self._existing()
        return self._all

    def _existing(self) -> Ranges:
        count = self.count
        if count is None:
            raise PartitionError(
                f"{self._defn!r} has no end, so which of its partitions exist depends on the "
                "time: pass current_time="
            )
        if count == 0:
            return EMPTY
        excluded = self._defn._excluded_ranges(self._first, self._first + count)
        return difference(((0, count),), shift_ranges(excluded, -self._first))

    def key_at(self, index: int) -> str:
        return self._defn._format(self._first + index)

    def keys_in(self, ranges: Ranges) -> list[str]:
        if len(ranges) == 1:
            start, stop = self._first + ranges[0][0], self._first + ranges[0][1]
            if self._daily_dates and stop - start < 16 and start >= _YEAR_1000:
                return [date.fromordinal(ordinal).isoformat() for ordinal in range(start, stop)]
            return self._defn._format_range(start, stop)
        keys: list[str] = []
        for start, stop in ranges:
            keys += self._defn._format_range(self._first + start, self._first + stop)
        return keys

    def index_of(self, key: str, *, existing: bool = True) -> int:
        index = self._defn._ordinal_of_key(key) - self._first
        count = self.count
        if existing and (index < 0 or (count is not None and index >= count)):
            raise self._outside_error(key, index)
        return index

    def ranges_of(self, keys: Iterable[str], *, existing: bool = True) -> Ranges:
        """The range set of the indices of `keys`; daily keys in bulk, at C speed."""
        listed = keys if isinstance(keys, list | tuple) else list(keys)
        if (
            self._daily_dates
            and self._defn.exclusions is None
            and len(listed) > 16
            and all(type(key) is str for key in listed)
            and _ISO_DATES.fullmatch("\n".join(listed))
        ):
            # Default-format daily keys are their tick's date: its ordinal is the tick's.
            first = self._first
            try:
                indices = [ordinal - first for ordinal in map(_day_ordinal, listed)]
            except ValueError:  # a date that does not exist, e.g. 2024-02-30
                return super().ranges_of(listed, existing=existing)
            count = self.count
            if not existing or (min(indices) >= 0 and (count is None or max(indices) < count)):
                return ranges_from_indices(indices)
        return super().ranges_of(listed, existing=existing)

    def _outside_error(self, key: str, index: int) -> PartitionError:
        as_of = "" if self.current_time is None else f" as of {self.current_time.isoformat()}"
        if self.count is None:
            where = f"its partitions start at {self.key_at(0)!r}"
            nearest = self.key_at(0)
        elif self.count == 0:
            return PartitionError(
                f"partition key {key!r} is not a partition of {self._defn!r}: it has no "
                f"partitions yet{as_of} (the first, {self.key_at(0)!r}, exists once its window "
                "has closed)"
            )
        else:
            ranges = self.all_ranges()
            first, last = self.key_at(ranges[0][0]), self.key_at(ranges[-1][1] - 1)
            where = f"its partitions run from {first!r} to {last!r}{as_of}"
            nearest = first if index < 0 else last
        return PartitionError(
            f"partition key {key!r} is outside the time range of {self._defn!r}: {where}. "
            f"Did you mean {nearest!r}?"
        )

    def same_indexing(self, other: KeySpace) -> bool:
        return isinstance(other, TimeKeySpace) and other.partitions_def == self.partitions_def

    def ranges_for_key_range(
        self, key_range: PartitionKeyRange, *, existing: bool = True
    ) -> Ranges:
        ranges = super().ranges_for_key_range(key_range, existing=existing)
        excluded = self._defn._excluded_ranges(
            self._first + ranges[0][0], self._first + ranges[0][1]
        )
        return difference(ranges, shift_ranges(excluded, -self._first))

    # -- time arithmetic for mappings and contexts -----------------------------------------

    def start_timestamp(self, index: int) -> float:
        """When window `index` starts (POSIX seconds)."""
        return self._defn._ticks.instant(self._first + index)

    def index_containing(self, timestamp: float) -> int:
        """The index of the window that contains `timestamp` (its start at or before it)."""
        return self._defn._ticks.ordinal_at_or_before(timestamp) - self._first

    def index_at_or_after(self, timestamp: float) -> int:
        """The index of the first window that starts at or after `timestamp`."""
        return self._defn._ordinal_at_or_after(timestamp) - self._first

    def without_exclusions(self, ranges: Ranges) -> Ranges:
        """`ranges` minus the excluded windows."""
        if self._defn.exclusions is None or not ranges:
            return ranges
        low, high = self._first + ranges[0][0], self._first + ranges[-1][1]
        excluded = shift_ranges(self._defn._excluded_ranges(low, high), -self._first)
        return difference(ranges, excluded)

    def time_window(self, index: int) -> TimeWindow:
        """The time window of partition `index`."""
        return self._defn._window(self._first + index)

    def time_windows(self, ranges: Ranges) -> list[TimeWindow]:
        """One time window per range: from the start of its first to the end of its last."""
        return [
            TimeWindow(self.time_window(start).start, self.time_window(stop - 1).end)
            for start, stop in ranges
        ]


def _day_ordinal(key: str) -> int:
    return date.fromisoformat(key).toordinal()


def _stop_ordinal(defn: TimeWindowPartitionsDefinition, now: float | None) -> int | None:
    """One past the tick ordinal of the last window, or None if there is no last window."""
    end = defn._end_ordinal
    if now is None:
        return end
    ticks, offset = defn._ticks, defn.end_offset
    last_tick = ticks.ordinal_at_or_before(now)  # windows before it are complete
    if offset == 0 or defn.exclusions is None:
        stop = last_tick + offset
    elif offset > 0:
        # As Dagster, an offset counts windows that are partitions: excluded ones are skipped.
        ordinal, found = last_tick, 0
        while True:
            if not defn._is_excluded(ordinal):
                found += 1
                if found == offset:
                    break
            ordinal += 1
        stop = ordinal + 1
    else:
        ordinal, found = last_tick - 1, 0
        while True:
            if not defn._is_excluded(ordinal):
                if found == -offset:
                    break
                found += 1
            ordinal -= 1
        stop = ordinal + 1
    return stop if end is None else min(stop, end)
