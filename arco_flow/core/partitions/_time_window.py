"""Time-window partitions: one partition per interval between two ticks of a cron schedule.

Pure. The definition turns its cron schedule and zone into a tick sequence (`_ticks`) and
numbers its partitions by tick ordinal from the first tick at or after `start`: partition
``i`` is the window ``[tick(first + i), tick(first + i + 1))`` and its key is the window's
start written with `fmt`. Which partitions exist depends on "now" (`TimeKeySpace`): as in
Dagster, the last, still-open window is excluded unless `end_offset` says otherwise.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import TYPE_CHECKING

from arco_flow.core.errors import DefinitionError, PartitionError
from arco_flow.core.partitions._cron import CronSchedule, parse_cron
from arco_flow.core.partitions._definition import PartitionsDefinition
from arco_flow.core.partitions._ranges import EMPTY, Ranges, ranges_from_indices
from arco_flow.core.partitions._subset import PartitionsSubset
from arco_flow.core.partitions._ticks import (
    DATE_FORMAT,
    HOURLY_FORMAT,
    Ticks,
    WallDateTicks,
    get_zone,
    ticks_for,
)
from arco_flow.core.partitions._values import DynamicPartitionsStore, PartitionKeyRange, TimeWindow

if TYPE_CHECKING:
    from arco_flow.core.partitions._time_space import TimeKeySpace

__all__ = ["ScheduleType", "schedule_cron", "TimeWindowPartitionsDefinition", "to_timestamp"]

_EPOCH = datetime(1970, 1, 1)


def to_timestamp(value: datetime | date, zone: tzinfo) -> float:
    """POSIX seconds of `value`: a naive value is wall time in `zone` (the first if repeated)."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        return value.timestamp()
    if zone is UTC:
        return (value - _EPOCH).total_seconds()
    return value.replace(tzinfo=zone).timestamp()


def parse_key_time(key: str, fmt: str, zone: tzinfo) -> float | None:
    """The instant a key written with `fmt` names, or None if it does not parse.

    As Dagster: a key that fails `fmt` is tried with a UTC offset appended (the second of
    a repeated hour is written that way).
    """
    if fmt == DATE_FORMAT and len(key) == 10:
        try:
            day = date.fromisoformat(key)  # also reads ISO week dates: checked below
        except ValueError:
            return None
        return to_timestamp(day, zone) if day.isoformat() == key else None
    try:
        parsed = datetime.strptime(key, fmt)
    except ValueError:
        try:
            parsed = datetime.strptime(key, fmt + "%z")
        except ValueError:
            return None
    return to_timestamp(parsed, zone)


class ScheduleType(enum.Enum):
    """The cadences `TimeWindowPartitionsDefinition(schedule_type=...)` knows (Dagster's)."""

    HOURLY = "HOURLY"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


def _offset(kind: str, name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DefinitionError(
            f"{kind}: {name} must be an integer from {low} to {high}, got {value!r}"
        )
    return value


def schedule_cron(
    kind: str,
    schedule_type: ScheduleType,
    minute_offset: int | None = None,
    hour_offset: int | None = None,
    day_offset: int | None = None,
) -> str:
    """The cron schedule of a cadence and its offsets (unset offsets: 0; monthly day: 1).

    Raises:
        DefinitionError: An offset is out of range for the cadence.
    """
    minute = _offset(kind, "minute_offset", minute_offset or 0, 0, 59)
    if schedule_type is ScheduleType.HOURLY:
        return f"{minute} * * * *"
    hour = _offset(kind, "hour_offset", hour_offset or 0, 0, 23)
    if schedule_type is ScheduleType.DAILY:
        return f"{minute} {hour} * * *"
    if schedule_type is ScheduleType.WEEKLY:
        day = _offset(kind, "day_offset", day_offset or 0, 0, 7)
        return f"{minute} {hour} * * {day}"
    # Monthly: day 0 means the first, as in Dagster.
    day = _offset(kind, "day_offset", 1 if day_offset is None else day_offset, 0, 31) or 1
    return f"{minute} {hour} {day} * *"


class TimeWindowPartitionsDefinition(PartitionsDefinition):
    """Partitions that are the windows between the ticks of a cron schedule (Dagster's).

    Args:
        start: The first partition starts at the first tick at or after this; a string is
            read with `fmt`, a naive datetime as wall time in `timezone`.
        fmt: The `strftime` format of partition keys, e.g. ``"%Y-%m-%d"``.
        end: If set, the partitions end at the last tick at or before this (exclusive).
        schedule_type: A cadence (`ScheduleType`) instead of `cron_schedule`, with
            `minute_offset`, `hour_offset` and `day_offset` (as Dagster's).
        cron_schedule: When windows start, e.g. ``"0 0 * * *"`` for daily.
        timezone: The IANA zone the schedule and the keys are in; ``"UTC"`` by default.
        end_offset: Partitions past (positive) or before (negative) the last complete
            window as of now; 0 means the still-open window is not a partition yet.
        exclusions: Cron strings or datetimes whose ticks start no partition.

    Raises:
        DefinitionError: An argument is invalid; the message names it and the fix.
    """

    __slots__ = (
        "_date_ticks",
        "_end_ordinal",
        "_end_ts",
        "_excluded_crons",
        "_excluded_instants",
        "_exclusion_cache",
        "_first",
        "_identity_value",
        "_space_cache",
        "_start_ts",
        "_ticks",
        "_zone",
        "cron_schedule",
        "end",
        "end_offset",
        "exclusions",
        "fmt",
        "start",
        "timezone",
    )
    start: datetime
    end: datetime | None
    timezone: str
    fmt: str
    cron_schedule: str
    end_offset: int
    exclusions: tuple[str | datetime, ...] | None
    _zone: tzinfo
    _ticks: Ticks
    _date_ticks: WallDateTicks | None
    _start_ts: float
    _end_ts: float | None
    _first: int
    _end_ordinal: int | None
    _excluded_crons: tuple[CronSchedule, ...]
    _excluded_instants: frozenset[float]
    _exclusion_cache: dict[tuple[int, int], tuple[int, ...]]
    _space_cache: dict[datetime | None, TimeKeySpace]
    _identity_value: tuple[Hashable, ...]

    def __init__(
        self,
        start: datetime | date | str,
        fmt: str,
        end: datetime | date | str | None = None,
        schedule_type: ScheduleType | None = None,
        timezone: str | None = None,
        end_offset: int = 0,
        minute_offset: int | None = None,
        hour_offset: int | None = None,
        day_offset: int | None = None,
        cron_schedule: str | None = None,
        exclusions: Sequence[str | datetime] | None = None,
    ) -> None:
        kind = type(self).__name__
        offsets = (minute_offset, hour_offset, day_offset)
        if cron_schedule is not None:
            if schedule_type is not None or any(o is not None for o in offsets):
                raise DefinitionError(
                    f"{kind}: give cron_schedule, or schedule_type with its offsets, not both"
                )
        elif schedule_type is None:
            raise DefinitionError(
                f"{kind}: say when windows start: cron_schedule='0 0 * * *', or "
                "schedule_type=ScheduleType.DAILY (with minute_offset/hour_offset/day_offset)"
            )
        elif not isinstance(schedule_type, ScheduleType):
            raise DefinitionError(
                f"{kind}: schedule_type must be a ScheduleType "
                f"({', '.join(t.name for t in ScheduleType)}), got {schedule_type!r}"
            )
        else:
            cron_schedule = schedule_cron(kind, schedule_type, *offsets)
        self._build(start, fmt, end, cron_schedule, timezone, end_offset, exclusions)

    def _build(
        self,
        start: datetime | date | str,
        fmt: str,
        end: datetime | date | str | None,
        cron_schedule: str,
        zone_name: str | None,
        end_offset: int,
        exclusions: Sequence[str | datetime] | None,
    ) -> None:
        kind = type(self).__name__
        if not isinstance(fmt, str) or not fmt:
            raise DefinitionError(f"{kind}: fmt must be a strftime format, got {fmt!r}")
        zone_name = zone_name or "UTC"
        try:
            zone = get_zone(zone_name)
        except ValueError as error:
            raise DefinitionError(f"{kind}: timezone {error}") from None
        if isinstance(end_offset, bool) or not isinstance(end_offset, int):
            raise DefinitionError(f"{kind}: end_offset must be an integer, got {end_offset!r}")
        self._set("fmt", fmt)
        self._set("timezone", zone_name)
        self._set("_zone", zone)
        self._set("end_offset", end_offset)
        start_ts = self._boundary(start, "start", kind)
        end_ts = None if end is None or end == "" else self._boundary(end, "end", kind)
        try:
            ticks = ticks_for(cron_schedule, zone, start_ts)
        except ValueError as error:
            raise DefinitionError(f"{kind}: invalid cron_schedule: {error}") from None
        self._set("cron_schedule", cron_schedule)
        self._set("_ticks", ticks)
        # Daily, weekly and monthly keys in the default format are the dates of the ticks.
        date_ticks = ticks if fmt == DATE_FORMAT and isinstance(ticks, WallDateTicks) else None
        self._set("_date_ticks", date_ticks)
        self._set("_start_ts", start_ts)
        self._set("_end_ts", end_ts)
        self._set("start", datetime.fromtimestamp(start_ts, zone))
        self._set("end", None if end_ts is None else datetime.fromtimestamp(end_ts, zone))
        self._set("_first", self._ordinal_at_or_after(start_ts))
        self._set("_end_ordinal", None if end_ts is None else ticks.ordinal_at_or_before(end_ts))
        self._set_exclusions(exclusions, kind)
        if self._format(self._first) == self._format(self._first + 1):
            raise DefinitionError(
                f"{kind}: fmt {fmt!r} writes the same key for two windows of cron schedule "
                f"{cron_schedule!r}; use a finer format, e.g. {HOURLY_FORMAT!r}"
            )

    def _boundary(self, value: object, name: str, kind: str) -> float:
        if isinstance(value, str):
            parsed = parse_key_time(value, self.fmt, self._zone)
            if parsed is None:
                raise DefinitionError(
                    f"{kind}: {name} {value!r} does not match fmt {self.fmt!r}; write it in "
                    f"that format (e.g. {datetime(2024, 1, 1).strftime(self.fmt)!r}) or pass "
                    "a datetime"
                )
            return parsed
        if isinstance(value, date):
            return to_timestamp(value, self._zone)
        raise DefinitionError(f"{kind}: {name} must be a datetime or a string, got {value!r}")

    def _set_exclusions(self, exclusions: Sequence[str | datetime] | None, kind: str) -> None:
        crons: list[CronSchedule] = []
        instants: set[float] = set()
        for exclusion in exclusions or ():
            if isinstance(exclusion, str):
                try:
                    crons.append(parse_cron(exclusion))
                except ValueError as error:
                    raise DefinitionError(f"{kind}: invalid exclusion: {error}") from None
            elif isinstance(exclusion, datetime):
                instants.add(to_timestamp(exclusion, self._zone))
            else:
                raise DefinitionError(
                    f"{kind}: an exclusion is a cron string or a datetime, got {exclusion!r}"
                )
        crons.sort(key=lambda cron: cron.text)
        normalized: list[str | datetime] = [cron.text for cron in crons]
        normalized += [datetime.fromtimestamp(t, self._zone) for t in sorted(instants)]
        self._set("exclusions", tuple(normalized) or None)
        self._set("_excluded_crons", tuple(crons))
        self._set("_excluded_instants", frozenset(instants))
        self._set("_exclusion_cache", {})
        self._set("_space_cache", {})

    def _identity(self) -> tuple[Hashable, ...]:
        try:  # computed once: thousands of assets share a definition, hashed per read
            identity: tuple[Hashable, ...] = self._identity_value
        except AttributeError:
            identity = self._compute_identity()
            self._set("_identity_value", identity)
        return identity

    def _compute_identity(self) -> tuple[Hashable, ...]:
        exclusions = tuple(
            e if isinstance(e, str) else e.timestamp() for e in (self.exclusions or ())
        )
        return (
            "time_window",
            self._start_ts,
            self._end_ts,
            self.timezone,
            self.fmt,
            self.cron_schedule,
            self.end_offset,
            exclusions,
        )

    def __repr__(self) -> str:
        parts = [f"start={self._format(self._first)!r}"]
        if self.end is not None:
            parts.append(f"end={self.end.strftime(self.fmt)!r}")
        parts.append(f"cron_schedule={self.cron_schedule!r}")
        if self.timezone != "UTC":
            parts.append(f"timezone={self.timezone!r}")
        if self.end_offset:
            parts.append(f"end_offset={self.end_offset}")
        if self.exclusions:
            parts.append(f"exclusions={len(self.exclusions)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def resolve(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> TimeKeySpace:
        """This definition as of `current_time` (naive: wall time in the definition's zone)."""
        # Planners resolve one definition at one time over and over: keep the last few.
        space = self._space_cache.get(current_time)
        if space is None:
            # The space module builds on this one; importing here keeps the cycle out of load.
            from arco_flow.core.partitions._time_space import TimeKeySpace

            space = TimeKeySpace(self, current_time)
            if len(self._space_cache) >= 32:
                self._space_cache.clear()
            self._space_cache[current_time] = space
        return space

        return TimeKeySpace(self, current_time)

    # -- schedule facts -------------------------------------------------------------------

    @property
    def minute_offset(self) -> int:
        """The minute past the hour at which windows start."""
        return parse_cron(self.cron_schedule).minutes[0]

    @property
    def hour_offset(self) -> int:
        """The hour at which windows start (0 for hourly schedules)."""
        hours = parse_cron(self.cron_schedule).hours
        return hours[0] if len(hours) == 1 else 0

    @property
    def day_offset(self) -> int:
        """The day windows start on: 0-6 (Sunday first) weekly, 1-31 monthly, else 0."""
        cron = parse_cron(self.cron_schedule)
        if cron.day_of_week_restricted and len(cron.days_of_week) == 1:
            return cron.days_of_week[0]
        if cron.day_of_month_restricted and len(cron.days_of_month) == 1:
            return cron.days_of_month[0]
        return 0

    # -- Dagster's time-window queries ----------------------------------------------------

    def time_window_for_partition_key(self, partition_key: str) -> TimeWindow:
        """The window of `partition_key` (which may lie outside the range).

        Raises:
            PartitionError: The key is malformed or names no window start.
        """
        return self._window(self._ordinal_of_key(partition_key))

    def start_time_for_partition_key(self, partition_key: str) -> datetime:
        """When the window of `partition_key` starts."""
        return self.time_window_for_partition_key(partition_key).start

    def end_time_for_partition_key(self, partition_key: str) -> datetime:
        """When the window of `partition_key` ends."""
        return self.time_window_for_partition_key(partition_key).end

    def get_partition_key_for_timestamp(self, timestamp: float, end_closed: bool = False) -> str:
        """The key of the window holding `timestamp` (POSIX seconds), in range or not.

        Args:
            timestamp: The instant.
            end_closed: Read windows as ``(start, end]``: an instant on a boundary belongs to
                the window that ends there.
        """
        ordinal = self._ticks.ordinal_at_or_before(timestamp)
        if end_closed and self._ticks.instant(ordinal) == timestamp:
            ordinal -= 1
        while self._is_excluded(ordinal):
            ordinal -= 1
        return self._format(ordinal)

    def get_partition_key_for_time(self, time: datetime, end_closed: bool = False) -> str:
        """`get_partition_key_for_timestamp` for a datetime (naive: wall time in the zone)."""
        return self.get_partition_key_for_timestamp(to_timestamp(time, self._zone), end_closed)

    def get_first_partition_window(self, current_time: datetime | None = None) -> TimeWindow | None:
        """The window of the first partition, or None if there is none yet."""
        key = self.get_first_partition_key(current_time)
        return None if key is None else self.time_window_for_partition_key(key)

    def get_last_partition_window(self, current_time: datetime | None = None) -> TimeWindow | None:
        """The window of the last partition, or None if there is none yet."""
        key = self.get_last_partition_key(current_time)
        return None if key is None else self.time_window_for_partition_key(key)

    def get_next_partition_key(
        self, partition_key: str, current_time: datetime | None = None
    ) -> str | None:
        """The key after `partition_key`, or None if it is the last partition."""
        ordinal = self._ordinal_of_key(partition_key) + 1
        while self._is_excluded(ordinal):
            ordinal += 1
        space = self.resolve(current_time)
        count = space.count
        return (
            None if count is not None and ordinal - self._first >= count else self._format(ordinal)
        )

    def get_partition_subset_in_time_window(
        self, time_window: TimeWindow, current_time: datetime | None = None
    ) -> PartitionsSubset:
        """The windows that start in `time_window` (existing or not, as in Dagster)."""
        space = self.resolve(current_time)
        start = space.index_at_or_after(time_window.start.timestamp())
        stop = space.index_at_or_after(time_window.end.timestamp())
        return PartitionsSubset(
            space, space.without_exclusions(((start, stop),) if start < stop else ())
        )

    def get_partition_keys_in_time_window(self, time_window: TimeWindow) -> list[str]:
        """The keys of the windows that start in `time_window`."""
        return self.get_partition_subset_in_time_window(time_window).get_partition_keys()

    def get_partition_key_range_for_time_window(self, time_window: TimeWindow) -> PartitionKeyRange:
        """The keys of the first and the last window that start in `time_window`."""
        keys = self.get_partition_subset_in_time_window(time_window).get_partition_key_ranges()
        if not keys:
            raise PartitionError(f"no partition of {self!r} starts in {time_window}")
        return PartitionKeyRange(keys[0].start, keys[-1].end)

    # -- ordinals, keys and windows -------------------------------------------------------

    def _ordinal_at_or_after(self, timestamp: float) -> int:
        ordinal = self._ticks.ordinal_at_or_before(timestamp)
        return ordinal if self._ticks.instant(ordinal) >= timestamp else ordinal + 1

    def _wall(self, ordinal: int) -> datetime:
        return datetime.fromtimestamp(self._ticks.instant(ordinal), self._zone)

    def _format(self, ordinal: int) -> str:
        ticks = self._date_ticks
        if ticks is not None:
            day = ticks.day_of(ordinal)
            if day.year >= 1000:
                return day.isoformat()
        return self._format_wall(ordinal)

    def _format_wall(self, ordinal: int) -> str:
        wall = self._wall(ordinal)
        if (
            self._ticks.every_hour
            and "%z" not in self.fmt
            and wall.fold
            and wall.replace(fold=0).utcoffset() != wall.utcoffset()
        ):
            # Dagster's key for the second of a repeated hour carries its UTC offset.
            return wall.strftime(self.fmt + "%z")
        return wall.strftime(self.fmt)

    def _format_range(self, start: int, stop: int) -> list[str]:
        keys = self._ticks.format_keys(start, stop, self.fmt, self._format_wall)
        return keys if keys is not None else [self._format_wall(o) for o in range(start, stop)]

    def _ordinal_of_key(self, key: str) -> int:
        """The tick ordinal whose window `key` names (in or out of the range).

        Raises:
            PartitionError: The key does not parse, names no window start, or an excluded one.
        """
        ticks = self._date_ticks
        if ticks is not None and isinstance(key, str) and len(key) == 10:
            # A default-format daily, weekly or monthly key is the date of its tick: find
            # the ordinal by calendar arithmetic, without time zones.
            try:
                day = date.fromisoformat(key)
            except ValueError:
                day = None
            if day is not None and day.isoformat() == key:
                ordinal = ticks.ordinal_of_day(day)
                if ticks.day_of(ordinal) == day and not self._is_excluded(ordinal):
                    return ordinal
        instant = parse_key_time(key, self.fmt, self._zone) if isinstance(key, str) else None
        if instant is None:
            raise PartitionError(
                f"{key!r} is not a partition key of {self!r}: keys are written with fmt "
                f"{self.fmt!r}, e.g. {self._format(self._first)!r}"
            )
        ordinal = self._ordinal_at_or_after(instant)
        if self._format(ordinal) != key:
            containing = self._ticks.ordinal_at_or_before(instant)
            raise PartitionError(
                f"{key!r} is not the start of a partition of {self!r}. "
                f"Did you mean {self._format(containing)!r}?"
            )
        if self._is_excluded(ordinal):
            raise PartitionError(f"partition key {key!r} is excluded from {self!r}")
        return ordinal

    def _window(self, ordinal: int) -> TimeWindow:
        return TimeWindow(self._wall(ordinal), self._wall(ordinal + 1))

    # -- exclusions -----------------------------------------------------------------------

    def _is_excluded(self, ordinal: int) -> bool:
        if self.exclusions is None:
            return False
        instant = self._ticks.instant(ordinal)
        if instant in self._excluded_instants:
            return True
        if not self._excluded_crons:
            return False
        wall = datetime.fromtimestamp(instant, self._zone)
        return any(
            cron.matches_date(wall.date())
            and wall.hour in cron.hours
            and wall.minute in cron.minutes
            for cron in self._excluded_crons
        )

    def _excluded_ranges(self, start: int, stop: int) -> Ranges:
        """The excluded tick ordinals in ``[start, stop)`` (iterates for cron exclusions)."""
        if self.exclusions is None or start >= stop:
            return EMPTY
        cached = self._exclusion_cache.get((start, stop))
        if cached is None:
            if self._excluded_crons:
                cached = tuple(o for o in range(start, stop) if self._is_excluded(o))
            else:
                ordinals = (self._ticks.ordinal_at_or_before(t) for t in self._excluded_instants)
                cached = tuple(
                    o
                    for o in ordinals
                    if start <= o < stop and self._ticks.instant(o) in self._excluded_instants
                )
            if len(self._exclusion_cache) > 64:
                self._exclusion_cache.clear()
            self._exclusion_cache[(start, stop)] = cached
        return ranges_from_indices(cached)
