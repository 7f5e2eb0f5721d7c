"""Fire times of cron schedules in a time zone: the instants at or after a start, in order.

Pure, standard library only. Schedules with a regular cadence (hourly, daily, weekly,
monthly) go through the O(1) tick arithmetic of `partitions._ticks`; any other schedule is
iterated from the wall-clock times a cron library hands in (`WallTimes`), or, without one,
from our own matcher (`CronTicks`). Either way each wall time becomes instants under
Dagster's daylight-saving rules (`resolve_wall`): a wall time that does not exist moves to
the first instant after the gap and one that occurs twice means the later occurrence,
except for schedules that fire every hour, which follow absolute time (the missing hour is
skipped, the repeated one fires twice).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, tzinfo

from arco_flow.core.partitions._ticks import CronTicks, Ticks, resolve_wall, ticks_for

__all__ = ["WallTimes", "fast_ticks", "fire_times", "merge_fire_times", "wall_fire_times"]

WallTimes = Callable[[datetime], Iterator[datetime]]
"""Given a naive wall-clock time, the naive wall times after it that match a cron schedule."""

# A repeated hour is at most this long, so the first instant of a later wall time is never
# earlier than that of an earlier wall time by more than this.
_LOOKBACK = timedelta(hours=3)


def fast_ticks(cron: str, zone: tzinfo, start: float) -> Ticks | None:
    """The O(1) tick sequence of `cron`, or None if it has no regular cadence."""
    try:
        ticks = ticks_for(cron, zone, start)
    except ValueError:
        return None  # a form our matcher does not know (``L``, ``#``): the library iterates
    return None if isinstance(ticks, CronTicks) else ticks


def fire_times(
    cron: str,
    zone: tzinfo,
    start: float,
    *,
    wall_times: WallTimes | None = None,
    every_hour: bool | None = None,
) -> Iterator[float]:
    """The POSIX instants at or after `start` at which `cron` fires in `zone`, ascending.

    Args:
        cron: A five-field cron expression or macro (validated by the caller).
        zone: The time zone the schedule's wall times are in.
        start: The first instant that may be returned.
        wall_times: The matching naive wall times after a given one, for schedules without a
            regular cadence; without it our own matcher iterates.
        every_hour: Whether the schedule fires in every hour of a day (it then follows
            absolute time across daylight-saving changes); needed with `wall_times`.
    """
    ticks = fast_ticks(cron, zone, start)
    if ticks is not None:
        return _from_ticks(ticks, start)
    if wall_times is None:
        return _from_ticks(ticks_for(cron, zone, start), start)
    return wall_fire_times(wall_times, zone, start, every_hour=bool(every_hour))


def _from_ticks(ticks: Ticks, start: float) -> Iterator[float]:
    ordinal = ticks.ordinal_at_or_before(start)
    if ticks.instant(ordinal) < start:
        ordinal += 1
    instant = ticks.instant
    while True:
        yield instant(ordinal)
        ordinal += 1


def wall_fire_times(
    wall_times: WallTimes, zone: tzinfo, start: float, *, every_hour: bool
) -> Iterator[float]:
    """The instants at or after `start` of the wall times `wall_times` yields, ascending.

    Wall times are resolved one by one; a wall time in a repeated hour may give an instant
    later than that of the next wall time, so instants wait in a heap until no later wall
    time can come before them.
    """
    local_start = datetime.fromtimestamp(start, zone).replace(tzinfo=None, fold=0)
    pending: list[float] = []
    last: float | None = None
    for wall in wall_times(local_start - _LOOKBACK):
        instants = resolve_wall(zone, wall.date(), wall.hour, wall.minute, every_hour)
        for instant in instants:
            heapq.heappush(pending, instant)
        if not instants:
            continue
        floor = instants[0]
        while pending and pending[0] <= floor:
            instant = heapq.heappop(pending)
            if instant >= start and instant != last:
                last = instant
                yield instant
    while pending:  # the library's iteration ended (a bounded schedule)
        instant = heapq.heappop(pending)
        if instant >= start and instant != last:
            last = instant
            yield instant


def merge_fire_times(iterators: Iterable[Iterator[float]]) -> Iterator[float]:
    """The union of several ascending fire-time sequences (a list of crons), ascending."""
    last: float | None = None
    for instant in heapq.merge(*iterators):
        if instant != last:
            last = instant
            yield instant
