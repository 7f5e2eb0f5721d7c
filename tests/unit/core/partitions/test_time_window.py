"""Time-window definitions. Expected key lists were produced by Dagster 1.13.28."""

from datetime import UTC, datetime, timedelta

import pytest

from arco_flow.core.errors import DefinitionError, PartitionError
from arco_flow.core.partitions import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    PartitionKeyRange,
    TimeWindow,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)


def at(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("definition", "now", "expected"),
    [
        (
            HourlyPartitionsDefinition(start_date="2024-11-03-00:00", timezone="America/New_York"),
            at(2024, 11, 3, 12),
            [
                "2024-11-03-00:00",
                "2024-11-03-01:00",
                "2024-11-03-01:00-0500",
                "2024-11-03-02:00",
                "2024-11-03-03:00",
                "2024-11-03-04:00",
                "2024-11-03-05:00",
                "2024-11-03-06:00",
            ],
        ),
        (
            HourlyPartitionsDefinition(start_date="2024-03-10-00:00", timezone="America/New_York"),
            at(2024, 3, 10, 12),
            [
                "2024-03-10-00:00",
                "2024-03-10-01:00",
                "2024-03-10-03:00",
                "2024-03-10-04:00",
                "2024-03-10-05:00",
                "2024-03-10-06:00",
                "2024-03-10-07:00",
            ],
        ),
        (
            HourlyPartitionsDefinition(start_date="2024-04-07-00:00", timezone="Australia/Sydney"),
            at(2024, 4, 6, 20),
            [
                "2024-04-07-00:00",
                "2024-04-07-01:00",
                "2024-04-07-02:00",
                "2024-04-07-02:00+1000",
                "2024-04-07-03:00",
                "2024-04-07-04:00",
                "2024-04-07-05:00",
            ],
        ),
        (
            HourlyPartitionsDefinition(start_date="2024-10-06-00:00", timezone="Australia/Sydney"),
            at(2024, 10, 5, 20),
            [
                "2024-10-06-00:00",
                "2024-10-06-01:00",
                "2024-10-06-03:00",
                "2024-10-06-04:00",
                "2024-10-06-05:00",
                "2024-10-06-06:00",
            ],
        ),
        (
            HourlyPartitionsDefinition(
                start_date="2024-01-01-00:00", timezone="Asia/Kolkata", minute_offset=15
            ),
            at(2024, 1, 1, 3),
            [f"2024-01-01-{h:02d}:15" for h in range(8)],
        ),
        (
            DailyPartitionsDefinition(
                start_date="2024-03-29", timezone="Europe/Berlin", hour_offset=2, minute_offset=30
            ),
            at(2024, 4, 3),
            ["2024-03-29", "2024-03-30", "2024-03-31", "2024-04-01"],
        ),
        (
            DailyPartitionsDefinition(start_date="2024-01-01", timezone="Asia/Kolkata"),
            at(2024, 1, 4, 20),
            ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
        ),
        (
            WeeklyPartitionsDefinition(
                start_date="2024-10-01",
                timezone="America/New_York",
                day_offset=1,
                hour_offset=1,
                minute_offset=30,
            ),
            at(2024, 12, 1),
            [
                "2024-10-07",
                "2024-10-14",
                "2024-10-21",
                "2024-10-28",
                "2024-11-04",
                "2024-11-11",
                "2024-11-18",
            ],
        ),
        (
            WeeklyPartitionsDefinition(start_date="2022-03-12"),
            at(2022, 4, 12),
            ["2022-03-13", "2022-03-20", "2022-03-27", "2022-04-03"],
        ),
        (
            MonthlyPartitionsDefinition(
                start_date="2023-11-15", timezone="America/New_York", day_offset=3, hour_offset=2
            ),
            at(2024, 6, 1),
            ["2023-12-03", "2024-01-03", "2024-02-03", "2024-03-03", "2024-04-03"],
        ),
        (
            MonthlyPartitionsDefinition(start_date="2024-01-01", day_offset=31),
            at(2024, 8, 1),
            ["2024-01-31", "2024-03-31", "2024-05-31"],
        ),
        (
            TimeWindowPartitionsDefinition(
                start="2024-01-01-00:00", fmt="%Y-%m-%d-%H:%M", cron_schedule="*/15 * * * *"
            ),
            at(2024, 1, 1, 2),
            [f"2024-01-01-{h:02d}:{m:02d}" for h in (0, 1) for m in (0, 15, 30, 45)],
        ),
        (
            TimeWindowPartitionsDefinition(
                start="2024-11-03-00:30",
                fmt="%Y-%m-%d-%H:%M",
                cron_schedule="*/30 * * * *",
                timezone="America/New_York",
            ),
            at(2024, 11, 3, 8),
            [
                "2024-11-03-00:30",
                "2024-11-03-01:00",
                "2024-11-03-01:30",
                "2024-11-03-01:00-0500",
                "2024-11-03-01:30-0500",
                "2024-11-03-02:00",
                "2024-11-03-02:30",
            ],
        ),
        (
            TimeWindowPartitionsDefinition(
                start="2024-03-07",
                fmt="%Y-%m-%d",
                cron_schedule="0 9 * * 1-5",
                timezone="America/New_York",
            ),
            at(2024, 3, 20),
            [
                "2024-03-07",
                "2024-03-08",
                "2024-03-11",
                "2024-03-12",
                "2024-03-13",
                "2024-03-14",
                "2024-03-15",
                "2024-03-18",
            ],
        ),
        (
            TimeWindowPartitionsDefinition(
                start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 1,15 * *"
            ),
            at(2024, 4, 1),
            ["2024-01-01", "2024-01-15", "2024-02-01", "2024-02-15", "2024-03-01", "2024-03-15"],
        ),
    ],
)
def test_keys_match_dagster(definition, now, expected):
    assert definition.get_partition_keys(current_time=now) == expected
    assert definition.get_num_partitions(current_time=now) == len(expected)
    assert definition.get_first_partition_key(now) == expected[0]
    assert definition.get_last_partition_key(now) == expected[-1]


def test_daily_keys_over_decades_and_their_ends():
    daily = DailyPartitionsDefinition(start_date="2000-01-01")
    keys = daily.get_partition_keys(current_time=at(2026, 11, 27))
    assert (len(keys), keys[0], keys[-1]) == (9827, "2000-01-01", "2026-11-26")
    assert keys[59:61] == ["2000-02-29", "2000-03-01"]


def test_hourly_keys_of_five_years():
    hourly = HourlyPartitionsDefinition(start_date="2021-01-01-00:00")
    keys = hourly.get_partition_keys(current_time=at(2026, 1, 1))
    assert (len(keys), keys[0], keys[-1]) == (43824, "2021-01-01-00:00", "2025-12-31-23:00")


@pytest.mark.parametrize(
    ("end_offset", "count", "last"),
    [(-2, 2, "2024-01-02"), (-1, 3, "2024-01-03"), (0, 4, "2024-01-04"), (2, 6, "2024-01-06")],
)
def test_the_open_window_is_not_a_partition_unless_end_offset_says_so(end_offset, count, last):
    daily = DailyPartitionsDefinition(start_date="2024-01-01", end_offset=end_offset)
    keys = daily.get_partition_keys(current_time=at(2024, 1, 5, 12))
    assert (len(keys), keys[-1]) == (count, last)


@pytest.mark.parametrize(
    ("end_offset", "before_end", "after_end"), [(-1, 3, 5), (0, 4, 5), (1, 5, 5), (3, 5, 5)]
)
def test_end_date_bounds_the_partitions(end_offset, before_end, after_end):
    daily = DailyPartitionsDefinition(
        start_date="2024-01-01", end_date="2024-01-06", end_offset=end_offset
    )
    assert daily.get_num_partitions(current_time=at(2024, 1, 5, 12)) == before_end
    assert daily.get_num_partitions(current_time=at(2024, 1, 9, 12)) == after_end


def test_without_current_time_an_ended_definition_counts_to_its_end():
    daily = DailyPartitionsDefinition(start_date="1970-01-01", end_date="2100-01-01")
    assert daily.get_num_partitions() == 47482
    assert daily.get_last_partition_key() == "2099-12-31"


def test_without_current_time_an_open_definition_asks_for_it():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    with pytest.raises(PartitionError, match="pass current_time="):
        daily.get_partition_keys()


def test_exclusions_match_dagster():
    daily = DailyPartitionsDefinition(
        start_date="2024-01-01", exclusions=["0 0 * * 6,0", datetime(2024, 1, 3)]
    )
    assert daily.get_partition_keys(current_time=at(2024, 1, 16)) == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-04",
        "2024-01-05",
        "2024-01-08",
        "2024-01-09",
        "2024-01-10",
        "2024-01-11",
        "2024-01-12",
        "2024-01-15",
    ]
    assert not daily.has_partition_key("2024-01-06", current_time=at(2024, 1, 16))


@pytest.mark.parametrize(
    ("end_offset", "last"),
    [(1, "2024-01-15"), (2, "2024-01-16"), (-1, "2024-01-11"), (-2, "2024-01-10")],
)
def test_end_offset_counts_only_windows_that_are_not_excluded(end_offset, last):
    weekdays = DailyPartitionsDefinition(
        start_date="2024-01-01", exclusions=["0 0 * * 6,0"], end_offset=end_offset
    )
    assert weekdays.get_last_partition_key(current_time=at(2024, 1, 13, 1)) == last
    monday = weekdays.get_last_partition_key(current_time=at(2024, 1, 15, 1))
    assert (
        monday == {1: "2024-01-15", 2: "2024-01-16", -1: "2024-01-11", -2: "2024-01-10"}[end_offset]
    )


def test_daylight_saving_gap_moves_a_daily_tick_to_the_end_of_the_gap():
    daily = DailyPartitionsDefinition(
        start_date="2024-03-08-00:00",
        hour_offset=2,
        minute_offset=30,
        timezone="America/New_York",
        fmt="%Y-%m-%d-%H:%M",
    )
    keys = daily.get_partition_keys(current_time=at(2024, 3, 13))
    assert keys == ["2024-03-08-02:30", "2024-03-09-02:30", "2024-03-10-03:00", "2024-03-11-02:30"]
    starts = [daily.time_window_for_partition_key(k).start.isoformat() for k in keys]
    assert starts[2] == "2024-03-10T03:00:00-04:00"


def test_repeated_wall_time_means_its_later_occurrence():
    daily = DailyPartitionsDefinition(
        start_date="2024-11-03-00:00",
        hour_offset=1,
        minute_offset=30,
        timezone="America/New_York",
        fmt="%Y-%m-%d-%H:%M",
    )
    window = daily.time_window_for_partition_key("2024-11-03-01:30")
    assert window.start.isoformat() == "2024-11-03T01:30:00-05:00"


def test_time_window_and_key_for_a_time():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    window = daily.time_window_for_partition_key("2024-01-03")
    assert window == TimeWindow(at(2024, 1, 3), at(2024, 1, 4))
    assert daily.get_partition_key_for_timestamp(at(2024, 1, 3, 5).timestamp()) == "2024-01-03"
    boundary = at(2024, 1, 3).timestamp()
    assert daily.get_partition_key_for_timestamp(boundary, end_closed=True) == "2024-01-02"
    assert daily.get_partition_key_for_time(datetime(2024, 1, 3, 23, 59)) == "2024-01-03"
    assert daily.get_next_partition_key("2024-01-03", current_time=at(2024, 1, 5)) == "2024-01-04"
    assert daily.get_next_partition_key("2024-01-04", current_time=at(2024, 1, 5)) is None


def test_keys_in_a_range_and_in_a_time_window():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    now = at(2024, 2, 1)
    key_range = PartitionKeyRange("2024-01-30", "2024-01-31")
    assert daily.get_partition_keys_in_range(key_range, current_time=now) == [
        "2024-01-30",
        "2024-01-31",
    ]
    window = TimeWindow(at(2024, 1, 2, 12), at(2024, 1, 5))
    assert daily.get_partition_keys_in_time_window(window) == ["2024-01-03", "2024-01-04"]
    assert daily.get_partition_key_range_for_time_window(window) == PartitionKeyRange(
        "2024-01-03", "2024-01-04"
    )


def test_offsets_are_read_from_the_schedule():
    weekly = WeeklyPartitionsDefinition(
        start_date="2024-01-01", day_offset=3, hour_offset=4, minute_offset=5
    )
    assert (weekly.minute_offset, weekly.hour_offset, weekly.day_offset) == (5, 4, 3)
    assert weekly.cron_schedule == "5 4 * * 3"
    assert MonthlyPartitionsDefinition(start_date="2024-01-01", day_offset=0).day_offset == 1


def test_a_daily_definition_equals_the_time_window_definition_it_stands_for():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    generic = TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 * * *"
    )
    assert daily == generic
    assert hash(daily) == hash(generic)
    assert daily != DailyPartitionsDefinition(start_date="2024-01-02")


def test_a_naive_start_is_wall_time_and_an_aware_one_an_instant():
    berlin = DailyPartitionsDefinition(start_date=datetime(2024, 1, 1), timezone="Europe/Berlin")
    assert berlin.start.isoformat() == "2024-01-01T00:00:00+01:00"
    # Dagster would read 05:00+03:00 as 05:00 in the definition's zone; it is 02:00 UTC.
    aware = DailyPartitionsDefinition(start_date=datetime.fromisoformat("2024-01-01T05:00+03:00"))
    assert aware.start == at(2024, 1, 1, 2)
    assert aware.get_first_partition_key(at(2024, 1, 5)) == "2024-01-02"


def test_definitions_are_immutable():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    with pytest.raises(AttributeError, match="immutable"):
        daily.fmt = "%Y"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DailyPartitionsDefinition(start_date="2024-13-01"), "does not match fmt"),
        (lambda: HourlyPartitionsDefinition(start_date="2024-01-01"), "does not match fmt"),
        (
            lambda: DailyPartitionsDefinition(start_date="2024-01-01", timezone="Mars/Base"),
            "not an IANA time zone",
        ),
        (lambda: DailyPartitionsDefinition(start_date="2024-01-01", hour_offset=24), "0 to 23"),
        (
            lambda: TimeWindowPartitionsDefinition(
                start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 31 2 *"
            ),
            "can never fire",
        ),
        (
            lambda: TimeWindowPartitionsDefinition(
                start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 * * * *"
            ),
            "writes the same key for two windows",
        ),
        (
            lambda: DailyPartitionsDefinition(start_date="2024-01-01", exclusions=["0 0 * *"]),
            "invalid exclusion",
        ),
    ],
)
def test_invalid_definitions_say_what_to_fix(build, message):
    with pytest.raises(DefinitionError, match=message):
        build()


def test_a_key_that_parses_but_starts_no_window_suggests_the_window_holding_it():
    hourly = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
    with pytest.raises(PartitionError, match=r"not the start of a partition.*'2024-01-02-05:00'"):
        hourly.validate_partition_key("2024-01-02-05:30", current_time=at(2024, 2, 1))


def test_a_malformed_time_key_shows_the_format_and_an_example():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    with pytest.raises(PartitionError, match=r"fmt '%Y-%m-%d', e.g. '2024-01-01'"):
        daily.validate_partition_key("01/05/2024", current_time=at(2024, 2, 1))


def test_a_key_outside_the_range_names_the_range_and_the_nearest_key():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    now = at(2024, 1, 10)
    with pytest.raises(PartitionError) as caught:
        daily.validate_partition_key("2024-01-10", current_time=now)
    message = str(caught.value)
    assert "outside the time range of DailyPartitionsDefinition(start='2024-01-01'" in message
    assert "run from '2024-01-01' to '2024-01-09' as of 2024-01-10T00:00:00+00:00" in message
    assert message.endswith("Did you mean '2024-01-09'?")
    with pytest.raises(PartitionError, match="Did you mean '2024-01-01'"):
        daily.validate_partition_key("2023-12-31", current_time=now)
    with pytest.raises(PartitionError, match="partitions start at '2024-01-01'"):
        daily.validate_partition_key("2023-12-31")
    with pytest.raises(PartitionError, match="no partitions yet"):
        daily.validate_partition_key("2024-01-01", current_time=at(2023, 6, 1))
    with pytest.raises(PartitionError, match="is excluded"):
        DailyPartitionsDefinition(
            start_date="2024-01-01", exclusions=["0 0 * * 6"]
        ).validate_partition_key("2024-01-06", current_time=now)


def test_windows_and_neighbours_skip_excluded_days():
    weekdays = DailyPartitionsDefinition(
        start_date="2024-01-01", exclusions=["0 0 * * 6,0", datetime(2024, 1, 3)]
    )
    now = at(2024, 1, 20)
    saturday_noon = at(2024, 1, 6, 12).timestamp()
    assert weekdays.get_partition_key_for_timestamp(saturday_noon) == "2024-01-05"
    assert weekdays.get_next_partition_key("2024-01-05", current_time=now) == "2024-01-08"
    assert weekdays.get_first_partition_window(now) == TimeWindow(at(2024, 1, 1), at(2024, 1, 2))
    assert weekdays.get_last_partition_window(now) == TimeWindow(at(2024, 1, 19), at(2024, 1, 20))
    assert weekdays.start_time_for_partition_key("2024-01-08") == at(2024, 1, 8)
    assert weekdays.end_time_for_partition_key("2024-01-08") == at(2024, 1, 9)
    week = TimeWindow(at(2024, 1, 1), at(2024, 1, 8))
    assert weekdays.get_partition_keys_in_time_window(week) == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-04",
        "2024-01-05",
    ]
    space = weekdays.resolve(now)
    assert space.time_windows(space.all_ranges()[:1]) == [
        TimeWindow(at(2024, 1, 1), at(2024, 1, 3))
    ]
    key_range = PartitionKeyRange("2024-01-04", "2024-01-08")
    assert weekdays.get_partition_keys_in_range(key_range, current_time=now) == [
        "2024-01-04",
        "2024-01-05",
        "2024-01-08",
    ]
    only_dates = DailyPartitionsDefinition(
        start_date="2024-01-01", exclusions=[datetime(2024, 1, 2)]
    )
    for _ in range(2):  # the second time from the cache
        assert only_dates.get_partition_keys(current_time=at(2024, 1, 4)) == [
            "2024-01-01",
            "2024-01-03",
        ]
    assert only_dates.has_partition_key("2024-01-03", current_time=at(2024, 1, 4))
    # 70 moments, 70 cached exclusion lookups: the cache is emptied past 64.
    counts = [
        only_dates.get_num_partitions(current_time=at(2024, 1, 2) + timedelta(days=d))
        for d in range(70)
    ]
    assert counts[-1] == 69  # 1 January to 10 March, less one day
    assert weekdays.get_first_partition_window(at(2023, 1, 1)) is None
    assert weekdays.get_last_partition_window(at(2023, 1, 1)) is None
    with pytest.raises(PartitionError, match="no partition of"):
        weekdays.get_partition_key_range_for_time_window(TimeWindow(at(2024, 1, 6), at(2024, 1, 8)))


def test_each_current_time_gets_its_own_view_of_the_definition():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    counts = [daily.get_num_partitions(current_time=at(2024, 1, 1, d)) for d in range(24)]
    counts += [daily.get_num_partitions(current_time=at(2024, 1, 2 + d)) for d in range(20)]
    assert counts == [0] * 24 + list(range(1, 21))
    assert daily.resolve(at(2024, 1, 5)) is daily.resolve(at(2024, 1, 5))


def test_years_before_1000_are_written_by_strftime():
    ancient = DailyPartitionsDefinition(start_date="0999-12-30", end_date="1000-01-02")
    assert ancient.get_num_partitions() == 3
    assert ancient.get_partition_keys()[-1] == "1000-01-01"
    old_hours = HourlyPartitionsDefinition(
        start_date="0999-12-31-22:00", end_date="1000-01-01-01:00"
    )
    assert old_hours.get_partition_keys()[0] == "999-12-31-22:00"


def test_an_hourly_schedule_in_a_zone_with_half_hour_summer_time_iterates():
    lord_howe = HourlyPartitionsDefinition(
        start_date="2024-04-06-23:00", timezone="Australia/Lord_Howe"
    )
    keys = lord_howe.get_partition_keys(current_time=at(2024, 4, 6, 16))
    assert keys[:3] == ["2024-04-06-23:00", "2024-04-07-00:00", "2024-04-07-01:00"]
    starts = [lord_howe.time_window_for_partition_key(k).start.timestamp() for k in keys]
    assert starts == sorted(starts)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fmt": ""}, "fmt must be a strftime format"),
        ({"end_offset": 1.5}, "end_offset must be an integer"),
        ({"start": 20240101}, "start must be a datetime or a string"),
        ({"exclusions": [3]}, "an exclusion is a cron string or a datetime"),
    ],
)
def test_invalid_time_window_arguments(kwargs, message):
    arguments = {"start": "2024-01-01", "fmt": "%Y-%m-%d", "cron_schedule": "0 0 * * *", **kwargs}
    with pytest.raises(DefinitionError, match=message):
        TimeWindowPartitionsDefinition(**arguments)


def test_day_offset_is_zero_for_daily_schedules():
    assert DailyPartitionsDefinition(start_date="2024-01-01").day_offset == 0


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("2024-13-01", "keys are written with fmt"),
        ("2024-W02-1", "keys are written with fmt"),
        ("2024-01-09", r"not the start of a partition.*Did you mean '2024-01-07'"),
    ],
)
def test_date_keys_that_name_no_weekly_window(key, message):
    weekly = WeeklyPartitionsDefinition(start_date="2024-01-01")
    with pytest.raises(PartitionError, match=message):
        weekly.validate_partition_key(key, current_time=at(2024, 3, 1))
    assert weekly.has_partition_key("2024-01-14", current_time=at(2024, 3, 1))


@pytest.mark.parametrize(
    ("schedule_type", "offsets", "cron"),
    [
        ("DAILY", {"hour_offset": 3}, "0 3 * * *"),
        ("WEEKLY", {"day_offset": 2, "minute_offset": 5}, "5 0 * * 2"),
        ("MONTHLY", {"day_offset": 3}, "0 0 3 * *"),
        ("MONTHLY", {}, "0 0 1 * *"),
        ("HOURLY", {"minute_offset": 15}, "15 * * * *"),
    ],
)
def test_a_schedule_type_with_offsets_builds_dagsters_cron(schedule_type, offsets, cron):
    from arco_flow.core.partitions import ScheduleType

    hourly = schedule_type == "HOURLY"
    fmt, start = ("%Y-%m-%d-%H:%M", "2024-01-01-00:00") if hourly else ("%Y-%m-%d", "2024-01-01")
    built = TimeWindowPartitionsDefinition(
        start=start, fmt=fmt, schedule_type=ScheduleType[schedule_type], **offsets
    )
    assert built.cron_schedule == cron
    assert built == TimeWindowPartitionsDefinition(start=start, fmt=fmt, cron_schedule=cron)


def test_cron_and_schedule_type_are_one_or_the_other():
    from arco_flow.core.partitions import ScheduleType

    with pytest.raises(DefinitionError, match="not both"):
        TimeWindowPartitionsDefinition(
            start="2024-01-01",
            fmt="%Y-%m-%d",
            schedule_type=ScheduleType.DAILY,
            cron_schedule="0 0 * * *",
        )
    with pytest.raises(DefinitionError, match="say when windows start"):
        TimeWindowPartitionsDefinition(start="2024-01-01", fmt="%Y-%m-%d")
    with pytest.raises(DefinitionError, match="hour_offset must be an integer from 0 to 23"):
        TimeWindowPartitionsDefinition(
            start="2024-01-01", fmt="%Y-%m-%d", schedule_type=ScheduleType.DAILY, hour_offset=24
        )
