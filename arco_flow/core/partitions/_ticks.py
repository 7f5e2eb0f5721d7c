"""Tick sequences: the instants at which a cron schedule fires in a time zone, by ordinal.

Pure. A tick sequence numbers the instants of a schedule with integers ("ordinals"), so
that a time window is the pair of ticks ``(k, k + 1)`` and a run of windows is a range of
ordinals. Daily, weekly and monthly schedules count in local wall time (the ordinal of a
date or a month) and hourly ones in absolute time, so that index <-> instant is O(1) in any
IANA time zone; other schedules fall back to `CronTicks`, which iterates and caches.

Daylight-saving rules are Dagster's: a wall time that does not exist moves to the first
instant after the gap, and one that occurs twice means the later occurrence; schedules that
fire every hour follow absolute time instead (the missing hour is skipped, the repeated one
fires twice).
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_right
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from arco_flow.core.partitions._cron import CronSchedule, parse_cron

__all__ = [
    "CronTicks",
    "Ticks",
    "WallDateTicks",
    "date_keys",
    "get_zone",
    "resolve_wall",
    "ticks_for",
]

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_YEAR_1000 = date(1000, 1, 1).toordinal()  # strftime writes years before 1000 unpadded
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Universal", "Zulu", "Etc/Zulu"})
HOURLY_FORMAT = "%Y-%m-%d-%H:%M"
DATE_FORMAT = "%Y-%m-%d"


@lru_cache(maxsize=512)
def get_zone(name: str) -> tzinfo:
    """The tzinfo of an IANA zone name; UTC and its aliases share `timezone.utc`.

    Raises:
        ValueError: The name is not a known time zone.
    """
    if name in _UTC_NAMES:
        return UTC
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError) as error:  # KeyError: ZoneInfoNotFoundError
        raise ValueError(f"{name!r} is not an IANA time zone, e.g. 'Europe/Berlin'") from error


def resolve_wall(zone: tzinfo, day: date, hour: int, minute: int, every_hour: bool) -> list[float]:
    """The instants (POSIX seconds) of a wall time on `day` under the daylight-saving rules."""
    if zone is UTC:
        return [float((day.toordinal() - _EPOCH_ORDINAL) * 86400 + hour * 3600 + minute * 60)]
    naive = datetime(day.year, day.month, day.day, hour, minute)
    first = naive.replace(tzinfo=zone).timestamp()
    second = naive.replace(tzinfo=zone, fold=1).timestamp()
    if first == second:
        return [first]
    if first < second:  # the wall time occurs twice
        return [first, second] if every_hour else [second]
    return [] if every_hour else [_transition(zone, second, first)]


def _transition(zone: tzinfo, low: float, high: float) -> float:
    """The instant in ``(low, high]`` at which the UTC offset changes (a gap's end)."""
    target = datetime.fromtimestamp(high, zone).utcoffset()
    lo, hi = math.floor(low), math.ceil(high)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return float(hi)


class Ticks(Protocol):
    """The instants of a schedule, numbered by consecutive integers."""

    zone: tzinfo
    every_hour: bool

    def instant(self, ordinal: int) -> float:
        """The POSIX timestamp of tick `ordinal`."""
        ...

    def ordinal_at_or_before(self, timestamp: float) -> int:
        """The largest ordinal whose tick is at or before `timestamp`."""
        ...

    def format_keys(
        self, start: int, stop: int, fmt: str, format_one: Callable[[int], str]
    ) -> list[str] | None:
        """The keys of ticks ``start..stop-1`` for `fmt` by a fast path, or None if it has none.

        `format_one` writes the key of one tick, for the ticks the fast path cannot write.
        """
        ...


class WallDateTicks:
    """Ticks at a wall time on dates numbered by an ordinal (daily, weekly, monthly)."""

    every_hour = False

    def __init__(self, zone: tzinfo, hour: int, minute: int) -> None:
        self.zone, self.hour, self.minute = zone, hour, minute

    def day_of(self, ordinal: int) -> date:
        raise NotImplementedError

    def ordinal_of_day(self, day: date) -> int:
        """The ordinal of the last tick date on or before `day`."""
        raise NotImplementedError

    def instant(self, ordinal: int) -> float:
        return resolve_wall(self.zone, self.day_of(ordinal), self.hour, self.minute, False)[0]

    def ordinal_at_or_before(self, timestamp: float) -> int:
        ordinal = self.ordinal_of_day(datetime.fromtimestamp(timestamp, self.zone).date())
        return ordinal if self.instant(ordinal) <= timestamp else ordinal - 1

    def format_keys(
        self, start: int, stop: int, fmt: str, format_one: Callable[[int], str]
    ) -> list[str] | None:
        if fmt != DATE_FORMAT or start >= stop or self.day_of(start).year < 1000:
            return None
        return [self.day_of(ordinal).isoformat() for ordinal in range(start, stop)]


class DailyTicks(WallDateTicks):
    """Every day at ``hour:minute``; the ordinal is the date's proleptic ordinal."""

    def day_of(self, ordinal: int) -> date:
        return date.fromordinal(ordinal)

    def ordinal_of_day(self, day: date) -> int:
        return day.toordinal()

    def format_keys(
        self, start: int, stop: int, fmt: str, format_one: Callable[[int], str]
    ) -> list[str] | None:
        if fmt != DATE_FORMAT or start < _YEAR_1000:
            return None
        if stop - start < 16:
            return [date.fromordinal(ordinal).isoformat() for ordinal in range(start, stop)]
        return date_keys(start, stop)


class WeeklyTicks(WallDateTicks):
    """Every week on `day_of_week` (0 is Sunday) at ``hour:minute``."""

    def __init__(self, zone: tzinfo, hour: int, minute: int, day_of_week: int) -> None:
        super().__init__(zone, hour, minute)
        self.day_of_week = day_of_week

    def day_of(self, ordinal: int) -> date:
        # A date's proleptic ordinal modulo 7 is its cron day of week (0001-01-07 is a Sunday).
        return date.fromordinal(7 * ordinal + self.day_of_week)

    def ordinal_of_day(self, day: date) -> int:
        return (day.toordinal() - self.day_of_week) // 7


class MonthlyTicks(WallDateTicks):
    """Every month on `day_of_month` (at most 28) at ``hour:minute``.

    The ordinal is ``12 * year + month - 1``.
    """

    def __init__(self, zone: tzinfo, hour: int, minute: int, day_of_month: int) -> None:
        super().__init__(zone, hour, minute)
        self.day_of_month = day_of_month

    def day_of(self, ordinal: int) -> date:
        year, month = divmod(ordinal, 12)
        return date(year, month + 1, self.day_of_month)

    def ordinal_of_day(self, day: date) -> int:
        ordinal = day.year * 12 + day.month - 1
        return ordinal if day.day >= self.day_of_month else ordinal - 1


class HourlyTicks:
    """Every hour at each of `minutes` past the local hour, in absolute time.

    Only for zones whose UTC offset keeps one remainder modulo an hour over the period
    (`has_stable_phase`): then the ticks are evenly spaced in UTC and ordinal <-> instant is
    arithmetic. The ordinal is ``n * hour_number + i`` for the `i`-th minute of `n`.
    """

    every_hour = True

    def __init__(self, zone: tzinfo, minutes: tuple[int, ...], phase: int) -> None:
        self.zone, self.minutes, self.phase = zone, minutes, phase
        self._seconds = [60 * m for m in minutes]
        self._suffixes = [f"-{h:02d}:{m:02d}" for h in range(24) for m in minutes]

    def instant(self, ordinal: int) -> float:
        hour, index = divmod(ordinal, len(self.minutes))
        return float(hour * 3600 - self.phase + self._seconds[index])

    def ordinal_at_or_before(self, timestamp: float) -> int:
        shifted = timestamp + self.phase
        hour = math.floor(shifted / 3600)
        index = bisect_right(self._seconds, shifted - hour * 3600) - 1
        if index < 0:
            hour, index = hour - 1, len(self.minutes) - 1
        return hour * len(self.minutes) + index

    def format_keys(
        self, start: int, stop: int, fmt: str, format_one: Callable[[int], str]
    ) -> list[str] | None:
        if fmt != HOURLY_FORMAT or start >= stop:
            return None
        if isinstance(self.zone, timezone):
            return self._fixed_offset_keys(start, stop)
        keys: list[str] = []
        ordinal = start
        while ordinal < stop:
            wall = datetime.fromtimestamp(self.instant(ordinal), self.zone)
            midnight = resolve_wall(self.zone, wall.date() + timedelta(days=1), 0, 0, False)[0]
            day_stop = min(stop, self.ordinal_at_or_before(midnight - 1e-3) + 1)
            offset_after = datetime.fromtimestamp(midnight - 1, self.zone).utcoffset()
            if wall.year < 1000 or wall.utcoffset() != offset_after:
                # A daylight-saving day has 23 or 25 hours and may need a suffixed key.
                keys.extend(map(format_one, range(ordinal, day_stop)))
            else:
                first = wall.hour * len(self.minutes) + self.minutes.index(wall.minute)
                suffixes = self._suffixes[first : first + day_stop - ordinal]
                keys.extend(map(wall.date().isoformat().__add__, suffixes))
            ordinal = day_stop
        return keys

    def _fixed_offset_keys(self, start: int, stop: int) -> list[str] | None:
        # Every local day has 24 hours: the keys are day strings times the hour suffixes.
        offset = self.zone.utcoffset(None)
        assert offset is not None
        whole_hours = (int(offset.total_seconds()) - self.phase) // 3600
        per_day = len(self._suffixes)
        first = start + whole_hours * len(self.minutes)
        last = stop + whole_hours * len(self.minutes)
        first_day, last_day = first // per_day, (last - 1) // per_day
        if first_day + _EPOCH_ORDINAL < date(1000, 1, 1).toordinal():
            return None
        days = date_keys(first_day + _EPOCH_ORDINAL, last_day + 1 + _EPOCH_ORDINAL)
        keys: list[str] = []
        for number, day in enumerate(days, first_day):
            low = max(first - number * per_day, 0)
            high = min(last - number * per_day, per_day)
            keys.extend(
                map(
                    day.__add__,
                    self._suffixes[low:high] if low or high < per_day else self._suffixes,
                )
            )
        return keys


def _month_day_suffixes(leap: bool) -> list[str]:
    lengths = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return [f"-{m:02d}-{d:02d}" for m, n in enumerate(lengths, 1) for d in range(1, n + 1)]


# ``-MM-DD`` of every day of a common and of a leap year: a lookup table built at import.
_MONTH_DAYS = {False: _month_day_suffixes(False), True: _month_day_suffixes(True)}


def date_keys(start: int, stop: int) -> list[str]:
    """``YYYY-MM-DD`` for the proleptic date ordinals ``start..stop-1`` (years 1000-9999).

    Joins a year prefix to a table of ``-MM-DD`` suffixes: ten times faster than formatting
    each date, which is what makes listing 50 years of daily keys take a millisecond.
    """
    keys: list[str] = []
    ordinal = start
    while ordinal < stop:
        year = date.fromordinal(ordinal).year
        year_start = date(year, 1, 1).toordinal()
        leap = _is_leap(year)
        take = min(stop, year_start + (366 if leap else 365))
        suffixes = _MONTH_DAYS[leap][ordinal - year_start : take - year_start]
        keys.extend(map(f"{year:04d}".__add__, suffixes))
        ordinal = take
    return keys


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


class CronTicks:
    """Any cron schedule, by iteration from an anchor; ticks found are cached.

    Ordinal 0 is the first tick at or after `anchor`. Days are scanned one at a time in the
    zone's wall calendar; each day's instants are resolved under the daylight-saving rules
    and sorted, so ordinals stay in time order across a repeated hour.
    """

    def __init__(self, zone: tzinfo, cron: CronSchedule, anchor: float) -> None:
        self.zone, self.cron, self.every_hour = zone, cron, cron.every_hour
        self._anchor = anchor
        self._lock = threading.Lock()
        anchor_day = datetime.fromtimestamp(anchor, zone).date()
        self._forward: list[float] = []  # ordinals 0, 1, 2, ...
        self._backward: list[float] = []  # ordinals -1, -2, ...
        self._next_day = anchor_day - timedelta(days=1)
        self._previous_day = anchor_day + timedelta(days=1)

    def format_keys(
        self, start: int, stop: int, fmt: str, format_one: Callable[[int], str]
    ) -> list[str] | None:
        return None

    def instant(self, ordinal: int) -> float:
        with self._lock:
            if ordinal >= 0:
                while len(self._forward) <= ordinal:
                    self._forward.extend(self._scan_forward())
                return self._forward[ordinal]
            while len(self._backward) < -ordinal:
                self._backward.extend(self._scan_backward())
            return self._backward[-ordinal - 1]

    def ordinal_at_or_before(self, timestamp: float) -> int:
        if timestamp >= self.instant(0):
            with self._lock:
                while self._forward[-1] <= timestamp:
                    self._forward.extend(self._scan_forward())
                return bisect_right(self._forward, timestamp) - 1
        ordinal = -1
        while self.instant(ordinal) > timestamp:
            ordinal -= 1
        return ordinal

    def _instants_on(self, day: date) -> list[float]:
        if not self.cron.matches_date(day):
            return []
        found = {
            instant
            for hour in self.cron.hours
            for minute in self.cron.minutes
            for instant in resolve_wall(self.zone, day, hour, minute, self.every_hour)
        }
        return sorted(found)

    def _scan_forward(self) -> list[float]:
        last = self._forward[-1] if self._forward else None
        # Ends: every cron schedule that parses fires at least once in eight years.
        while True:
            day, self._next_day = self._next_day, self._next_day + timedelta(days=1)
            instants = self._instants_on(day)
            found = [t for t in instants if t > last] if last is not None else instants
            found = [t for t in found if t >= self._anchor]
            if found:
                return found

    def _scan_backward(self) -> list[float]:
        ceiling = self._backward[-1] if self._backward else self._anchor
        while True:
            day, self._previous_day = self._previous_day, self._previous_day - timedelta(days=1)
            found = [t for t in reversed(self._instants_on(day)) if t < ceiling]
            if found:
                return found


def ticks_for(cron_text: str, zone: tzinfo, anchor: float) -> Ticks:
    """The tick sequence of a cron schedule: O(1) for hourly, daily, weekly and monthly ones.

    Raises:
        ValueError: The cron schedule is malformed.
    """
    cron = parse_cron(cron_text)
    all_months = len(cron.months) == 12
    day_fields_free = not cron.day_of_month_restricted and not cron.day_of_week_restricted
    if all_months and day_fields_free and cron.every_hour:
        phase = _stable_phase(zone, datetime.fromtimestamp(anchor, UTC).year)
        if phase is not None:
            return HourlyTicks(zone, cron.minutes, phase)
    elif all_months and len(cron.minutes) == 1 and len(cron.hours) == 1:
        hour, minute = cron.hours[0], cron.minutes[0]
        if day_fields_free:
            return DailyTicks(zone, hour, minute)
        if not cron.day_of_month_restricted and len(cron.days_of_week) == 1:
            return WeeklyTicks(zone, hour, minute, cron.days_of_week[0])
        # Days past the 28th are missing from some months: those schedules iterate.
        if (
            not cron.day_of_week_restricted
            and len(cron.days_of_month) == 1
            and cron.days_of_month[0] <= 28
        ):
            return MonthlyTicks(zone, hour, minute, cron.days_of_month[0])
    return CronTicks(zone, cron, anchor)


def _stable_phase(zone: tzinfo, first_year: int) -> int | None:
    """The zone's UTC offset modulo one hour, if it is the same from `first_year` to 2100."""
    if isinstance(zone, timezone):
        offset = zone.utcoffset(None)
        return int(offset.total_seconds()) % 3600
    return _sampled_phase(zone, max(2, min(first_year, 2100)))


@lru_cache(maxsize=256)
def _sampled_phase(zone: tzinfo, first_year: int) -> int | None:
    # zoneinfo does not list its transitions, so sample the 1st and 15th of every month:
    # an offset that is not a whole number of hours away from the others (Lord Howe's
    # 30-minute summer time, local mean time before 1900) lasts months, not days.
    phases = set()
    for year in range(first_year - 1, 2101):
        for month in range(1, 13):
            for day in (1, 15):
                offset = zone.utcoffset(datetime(year, month, day))
                assert offset is not None  # a zone gives every wall time an offset
                phases.add(int(offset.total_seconds()) % 3600)
    return phases.pop() if len(phases) == 1 else None
