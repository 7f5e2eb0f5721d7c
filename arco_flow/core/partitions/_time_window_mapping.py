"""`TimeWindowPartitionMapping`: downstream windows to the upstream windows they overlap.

Pure. Each range of downstream partitions becomes one time interval (moved by the offsets,
counted in downstream windows) and then one range of upstream partitions: the windows that
overlap the interval. Mapping every day from 1970 to 2100 is one range, not 47,000 lookups;
between two definitions with the same windows it is a shift of indices.

As in Dagster, offsets never reach past the upstream partitions that exist: the first
downstream partition of a ``start_offset=-1`` mapping needs only its own day, not a day
before the upstream start. Unlike Dagster, windows outside the upstream range are reported
as required but nonexistent even when an offset is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions._definition import PartitionsDefinition
from arco_flow.core.partitions._mapping import (
    PartitionMapping,
    UpstreamPartitionsResult,
    check_subset,
    incompatible_error,
    same_windows,
    time_shift,
)
from arco_flow.core.partitions._ranges import Ranges, difference, intersection, normalize
from arco_flow.core.partitions._subset import PartitionsSubset
from arco_flow.core.partitions._time_space import TimeKeySpace
from arco_flow.core.partitions._time_window import TimeWindowPartitionsDefinition
from arco_flow.core.partitions._values import DynamicPartitionsStore

__all__ = ["TimeWindowPartitionMapping"]


@dataclass(frozen=True, slots=True)
class TimeWindowPartitionMapping(PartitionMapping):
    """Maps a downstream partition to every upstream partition whose window overlaps it.

    Args:
        start_offset: Moves the start of the needed interval by this many downstream
            windows (``-1``: the day before as well).
        end_offset: Moves its end by this many downstream windows.
        allow_nonexistent_upstream_partitions: Do not report needed upstream windows that do
            not exist.
    """

    start_offset: int = 0
    end_offset: int = 0
    allow_nonexistent_upstream_partitions: bool = False

    def __post_init__(self) -> None:
        for name in ("start_offset", "end_offset"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise PartitionError(
                    f"TimeWindowPartitionMapping: {name} must be an integer, got {value!r}"
                )
        if self.start_offset > self.end_offset:
            # Each partition would need the empty interval [d + start, d + 1 + end): Dagster
            # maps single partitions to nothing but ranges to something; refuse it instead.
            raise PartitionError(
                f"TimeWindowPartitionMapping(start_offset={self.start_offset}, end_offset="
                f"{self.end_offset}) maps every partition to no window: start_offset must not "
                "be greater than end_offset"
            )

    def validate_partition_mapping(
        self,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> None:
        if not isinstance(
            upstream_partitions_def, TimeWindowPartitionsDefinition
        ) or not isinstance(downstream_partitions_def, TimeWindowPartitionsDefinition):
            raise incompatible_error(
                self,
                upstream_partitions_def,
                downstream_partitions_def,
                "both must be time-window partitions definitions; use "
                "MultiToSingleDimensionPartitionMapping for a time dimension of a "
                "multi-partitions definition, or AllPartitionMapping",
            )
        if upstream_partitions_def.timezone != downstream_partitions_def.timezone:
            raise incompatible_error(
                self,
                upstream_partitions_def,
                downstream_partitions_def,
                f"their time zones differ ({upstream_partitions_def.timezone!r} and "
                f"{downstream_partitions_def.timezone!r}); give both the same timezone",
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
        # Both are time-window definitions (validated above), so both spaces are time spaces.
        down = cast(TimeKeySpace, downstream_partitions_subset.space)
        up = cast(TimeKeySpace, upstream_partitions_def.resolve(current_time))
        existing = up.all_ranges()
        bound = up.count or 0  # all_ranges() has raised if there is no last window
        ranges = downstream_partitions_subset.ranges
        if downstream_partitions_subset.partitions_def is upstream_partitions_def:
            mapped = self._shifted_up(ranges, 0, bound)
        elif same_windows(upstream_partitions_def, down.partitions_def, same_keys=False):
            mapped = self._shifted_up(ranges, time_shift(down, up), bound)
        else:
            mapped = self._overlapping_up(ranges, down, up, bound)
        # Planning maps one partition at a time as often as whole ranges: skip the set
        # arithmetic when the mapped windows all exist.
        if not mapped or (mapped[0][0] >= 0 and mapped[-1][1] <= bound):
            if len(existing) == 1 and existing[0] == (0, bound):
                return UpstreamPartitionsResult(PartitionsSubset(up, mapped), up.empty_subset())
            found = PartitionsSubset(up, intersection(mapped, existing))
            return UpstreamPartitionsResult(found, up.empty_subset())
        found = PartitionsSubset(up, intersection(mapped, existing))
        if self.allow_nonexistent_upstream_partitions:
            return UpstreamPartitionsResult(found, up.empty_subset())
        missing = up.without_exclusions(difference(mapped, ((0, bound),)))
        return UpstreamPartitionsResult(found, PartitionsSubset(up, missing))

    def _shifted_up(self, ranges: Ranges, shift: int, bound: int) -> Ranges:
        start_offset, end_offset = self.start_offset, self.end_offset
        if len(ranges) == 1:
            start, stop = ranges[0][0] + shift, ranges[0][1] + shift
            low = start + start_offset
            high = stop + end_offset
            if low < start:
                low = max(low, min(start, 0))
            if high > stop:
                high = min(high, max(stop, bound))
            return ((low, high),) if low < high else ()
        pieces = [
            (
                _clamp_low(start + shift, start + shift + start_offset),
                _clamp_high(stop + shift, stop + shift + end_offset, bound),
            )
            for start, stop in ranges
        ]
        return tuple(pieces) if len(pieces) == 1 else normalize(pieces)

    def _overlapping_up(
        self, ranges: Ranges, down: TimeKeySpace, up: TimeKeySpace, bound: int
    ) -> Ranges:
        pieces = []
        for start, stop in ranges:
            low = up.index_containing(down.start_timestamp(start))
            high = up.index_at_or_after(down.start_timestamp(stop))
            moved_low = up.index_containing(down.start_timestamp(start + self.start_offset))
            moved_high = up.index_at_or_after(down.start_timestamp(stop + self.end_offset))
            pieces.append((_clamp_low(low, moved_low), _clamp_high(high, moved_high, bound)))
        return normalize(pieces)

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
        up = cast(TimeKeySpace, upstream_partitions_subset.space)
        down = cast(TimeKeySpace, downstream_partitions_def.resolve(current_time))
        # Downstream d needs upstream [d + start_offset, d + 1 + end_offset), so upstream u
        # feeds downstream (u - 1 - end_offset, u - start_offset].
        pieces = []
        if same_windows(
            upstream_partitions_subset.partitions_def, downstream_partitions_def, same_keys=False
        ):
            shift = time_shift(up, down)
            for start, stop in upstream_partitions_subset.ranges:
                pieces.append((start + shift - self.end_offset, stop + shift - self.start_offset))
        else:
            for start, stop in upstream_partitions_subset.ranges:
                low = down.index_containing(up.start_timestamp(start))
                high = down.index_at_or_after(up.start_timestamp(stop))
                pieces.append((low - self.end_offset, high - self.start_offset))
        return PartitionsSubset(down, intersection(normalize(pieces), down.all_ranges()))


def _clamp_low(low: int, moved: int) -> int:
    # An offset may not reach before the first upstream partition (index 0); the range
    # without the offset may, and is then reported as nonexistent.
    return moved if moved >= low else max(moved, min(low, 0))


def _clamp_high(high: int, moved: int, bound: int) -> int:
    return moved if moved <= high else min(moved, max(high, bound))
