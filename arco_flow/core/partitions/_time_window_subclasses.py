"""Hourly, daily, weekly and monthly partitions: time windows with Dagster's constructors.

Pure. Each class only builds the cron schedule and the default key format from its
offsets; everything else is `TimeWindowPartitionsDefinition`. A daily definition equals the
`TimeWindowPartitionsDefinition` with the same fields, as in Dagster.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from arco_flow.core.partitions._ticks import DATE_FORMAT, HOURLY_FORMAT
from arco_flow.core.partitions._time_window import (
    ScheduleType,
    TimeWindowPartitionsDefinition,
    schedule_cron,
)

__all__ = [
    "DailyPartitionsDefinition",
    "HourlyPartitionsDefinition",
    "MonthlyPartitionsDefinition",
    "WeeklyPartitionsDefinition",
]

Boundary = datetime | date | str


class HourlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per hour, starting `minute_offset` minutes past it.

    Keys are ``"%Y-%m-%d-%H:%M"`` by default; in a zone with daylight-saving time the second
    of a repeated hour gets its UTC offset appended (``"2024-11-03-01:00-0500"``), as in
    Dagster. Arguments are those of `TimeWindowPartitionsDefinition`.
    """

    __slots__ = ()

    def __init__(
        self,
        start_date: Boundary,
        end_date: Boundary | None = None,
        minute_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[str | datetime] | None = None,
    ) -> None:
        cron = schedule_cron(type(self).__name__, ScheduleType.HOURLY, minute_offset)
        self._build(
            start_date, fmt or HOURLY_FORMAT, end_date, cron, timezone, end_offset, exclusions
        )


class DailyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per day, starting at ``hour_offset:minute_offset`` (``"%Y-%m-%d"`` keys)."""

    __slots__ = ()

    def __init__(
        self,
        start_date: Boundary,
        end_date: Boundary | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[str | datetime] | None = None,
    ) -> None:
        cron = schedule_cron(type(self).__name__, ScheduleType.DAILY, minute_offset, hour_offset)
        self._build(
            start_date, fmt or DATE_FORMAT, end_date, cron, timezone, end_offset, exclusions
        )


class WeeklyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per week, starting on `day_offset` (0 is Sunday) at the hour offsets."""

    __slots__ = ()

    def __init__(
        self,
        start_date: Boundary,
        end_date: Boundary | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[str | datetime] | None = None,
    ) -> None:
        cron = schedule_cron(
            type(self).__name__, ScheduleType.WEEKLY, minute_offset, hour_offset, day_offset
        )
        self._build(
            start_date, fmt or DATE_FORMAT, end_date, cron, timezone, end_offset, exclusions
        )


class MonthlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per month, starting on day `day_offset` (1-31; 0 means 1).

    As in Dagster, a day past 28 skips the months that lack it (day 31: seven months a
    year).
    """

    __slots__ = ()

    def __init__(
        self,
        start_date: Boundary,
        end_date: Boundary | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 1,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[str | datetime] | None = None,
    ) -> None:
        cron = schedule_cron(
            type(self).__name__, ScheduleType.MONTHLY, minute_offset, hour_offset, day_offset
        )
        self._build(
            start_date, fmt or DATE_FORMAT, end_date, cron, timezone, end_offset, exclusions
        )
