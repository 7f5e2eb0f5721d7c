"""core.cron: fire times by tick arithmetic equal those of iterated wall times."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.cron import fast_ticks, fire_times, merge_fire_times, wall_fire_times
from arco_flow.core.partitions._cron import parse_cron
from arco_flow.core.partitions._ticks import get_zone

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Pacific/Chatham",
]
REGULAR = [
    "*/5 * * * *",
    "0 * * * *",
    "15,45 * * * *",
    "0 0 * * *",
    "30 2 * * *",
    "0 1 * * *",
    "45 23 * * 0",
    "0 3 * * 5",
    "0 2 1 * *",
    "30 1 15 * *",
]


def naive_wall_times(cron: str) -> Any:
    """A plain matcher over dates: the reference the arithmetic is checked against."""
    schedule = parse_cron(cron)

    def wall_times(after: datetime) -> Iterator[datetime]:
        day = after.date()
        while True:
            if schedule.matches_date(day):
                for hour in schedule.hours:
                    for minute in schedule.minutes:
                        wall = datetime(day.year, day.month, day.day, hour, minute)
                        if wall > after:
                            yield wall
            day += timedelta(days=1)

    return wall_times


def take(iterator: Iterator[float], n: int) -> list[float]:
    return list(itertools.islice(iterator, n))


@settings(max_examples=60, deadline=None)
@given(
    cron=st.sampled_from(REGULAR),
    zone_name=st.sampled_from(ZONES),
    start=st.integers(
        min_value=int(datetime(1990, 1, 1, tzinfo=UTC).timestamp()),
        max_value=int(datetime(2040, 1, 1, tzinfo=UTC).timestamp()),
    ),
)
def test_regular_cadences_equal_iterated_wall_times_in_every_zone(cron, zone_name, start):
    zone = get_zone(zone_name)
    every_hour = parse_cron(cron).every_hour
    expected = take(wall_fire_times(naive_wall_times(cron), zone, start, every_hour=every_hour), 40)
    assert take(fire_times(cron, zone, start), 40) == expected


@pytest.mark.parametrize(
    ("zone_name", "spring", "autumn"),
    [
        ("America/New_York", datetime(2026, 3, 8), datetime(2026, 11, 1)),
        ("Europe/Berlin", datetime(2026, 3, 29), datetime(2026, 10, 25)),
    ],
)
def test_hourly_schedule_follows_absolute_time_across_both_changes(zone_name, spring, autumn):
    zone = get_zone(zone_name)
    ticks = take(fire_times("30 * * * *", zone, spring.replace(tzinfo=zone).timestamp()), 5)
    assert [datetime.fromtimestamp(t, zone).hour for t in ticks] == [0, 1, 3, 4, 5]
    assert all(b - a == 3600 for a, b in itertools.pairwise(ticks))
    ticks = take(fire_times("30 * * * *", zone, autumn.replace(tzinfo=zone).timestamp()), 5)
    hours = [datetime.fromtimestamp(t, zone).hour for t in ticks]
    assert hours == ([0, 1, 1, 2, 3] if zone_name == "America/New_York" else [0, 1, 2, 2, 3])
    assert all(b - a == 3600 for a, b in itertools.pairwise(ticks))


def test_daily_schedule_in_a_missing_wall_time_fires_at_the_end_of_the_gap():
    zone = get_zone("America/New_York")
    start = datetime(2026, 3, 7, 12, tzinfo=zone).timestamp()
    times = [
        datetime.fromtimestamp(t, zone) for t in take(fire_times("30 2 * * *", zone, start), 3)
    ]
    assert [t.isoformat() for t in times] == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:30:00-04:00",
        "2026-03-10T02:30:00-04:00",
    ]


def test_daily_schedule_in_a_repeated_wall_time_fires_once_at_the_later_occurrence():
    zone = get_zone("America/New_York")
    start = datetime(2026, 10, 31, 12, tzinfo=zone).timestamp()
    times = [
        datetime.fromtimestamp(t, zone) for t in take(fire_times("30 1 * * *", zone, start), 2)
    ]
    assert [t.isoformat() for t in times] == [
        "2026-11-01T01:30:00-05:00",
        "2026-11-02T01:30:00-05:00",
    ]


def test_fire_times_include_the_start_when_it_is_a_tick():
    start = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert take(fire_times("*/5 * * * *", UTC, start), 2) == [start, start + 300]
    assert take(fire_times("*/5 * * * *", UTC, start + 1), 1) == [start + 300]


def test_irregular_schedule_without_a_library_iterates_with_our_own_matcher():
    zone = get_zone("Europe/Berlin")
    cron = "0 9 * * 1-5"
    assert fast_ticks(cron, zone, 0.0) is None
    start = datetime(2026, 1, 2, 10, tzinfo=zone).timestamp()  # a Friday, after 9:00
    times = [datetime.fromtimestamp(t, zone) for t in take(fire_times(cron, zone, start), 2)]
    assert [t.isoformat() for t in times] == [
        "2026-01-05T09:00:00+01:00",
        "2026-01-06T09:00:00+01:00",
    ]
    expected = take(wall_fire_times(naive_wall_times(cron), zone, start, every_hour=False), 30)
    assert take(fire_times(cron, zone, start), 30) == expected


def test_a_form_our_matcher_does_not_know_has_no_fast_path():
    assert fast_ticks("0 0 L * *", UTC, 0.0) is None


def test_merged_fire_times_are_ascending_without_duplicates():
    start = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    merged = take(
        merge_fire_times(
            [fire_times("0 * * * *", UTC, start), fire_times("*/30 * * * *", UTC, start)]
        ),
        4,
    )
    assert merged == [start, start + 1800, start + 3600, start + 5400]


def test_wall_fire_times_end_when_the_wall_times_end():
    def two(after: datetime) -> Iterator[datetime]:
        yield from (datetime(2026, 1, 1, 1), datetime(2026, 1, 1, 2))

    start = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert list(wall_fire_times(two, UTC, start, every_hour=False)) == [start + 3600, start + 7200]


def test_wall_times_in_a_gap_are_skipped_every_hour_and_merged_otherwise():
    zone = get_zone("America/New_York")
    start = datetime(2026, 3, 8, 0, 0, tzinfo=zone).timestamp()
    hourly = take(wall_fire_times(naive_wall_times("0 * * * *"), zone, start, every_hour=True), 4)
    assert [datetime.fromtimestamp(t, zone).hour for t in hourly] == [0, 1, 3, 4]
    # 02:00 and 02:30 both fall in the gap and move to 03:00, which fires once.
    twice = take(
        wall_fire_times(naive_wall_times("0,30 2 * * *"), zone, start, every_hour=False), 3
    )
    assert [datetime.fromtimestamp(t, zone).isoformat() for t in twice] == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:00:00-04:00",
        "2026-03-09T02:30:00-04:00",
    ]
