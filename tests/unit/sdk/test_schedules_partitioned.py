"""build_schedule_from_partitioned_job: the partition and run key of each tick, DST-correct."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from arco_flow.core.errors import DefinitionError
from arco_flow.core.partitions import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)
from arco_flow.sdk.decorators import asset
from arco_flow.sdk.jobs import define_asset_job
from arco_flow.sdk.partitioned_schedules import build_schedule_from_partitioned_job
from arco_flow.sdk.schedules import build_schedule_context


def ticks(definition: Any, start: datetime, n: int) -> list[Any]:
    """(scheduled time, partition keys, run keys) for the first n ticks at or after start."""
    out = []
    for time in itertools.islice(definition.fire_times(start), n):
        result = definition.evaluate_tick(build_schedule_context(scheduled_execution_time=time))
        out.append(
            (
                time.isoformat(),
                [r.partition_key for r in result.run_requests],
                [r.run_key for r in result.run_requests],
            )
        )
    return out


def test_daily_schedule_requests_the_last_complete_day():
    job = define_asset_job(
        "daily", partitions_def=DailyPartitionsDefinition(start_date="2026-01-01")
    )
    schedule = build_schedule_from_partitioned_job(job)
    assert schedule.name == "daily_schedule"
    assert schedule.cron_schedule == "0 0 * * *"
    assert ticks(schedule, datetime(2026, 1, 2, tzinfo=UTC), 2) == [
        ("2026-01-02T00:00:00+00:00", ["2026-01-01"], ["2026-01-01"]),
        ("2026-01-03T00:00:00+00:00", ["2026-01-02"], ["2026-01-02"]),
    ]


def test_first_tick_before_any_partition_skips():
    job = define_asset_job(
        "daily", partitions_def=DailyPartitionsDefinition(start_date="2026-01-01")
    )
    result = build_schedule_from_partitioned_job(job).evaluate_tick(
        build_schedule_context(scheduled_execution_time=datetime(2026, 1, 1, tzinfo=UTC))
    )
    assert result.run_requests == []
    assert "no partition yet" in (result.skip_message or "")


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        (
            "America/New_York",
            datetime(2026, 3, 8, 5, tzinfo=UTC),  # 00:00 local, the day clocks spring forward
            [
                ("2026-03-08T00:00:00-05:00", "2026-03-07"),
                ("2026-03-09T00:00:00-04:00", "2026-03-08"),
                ("2026-03-10T00:00:00-04:00", "2026-03-09"),
            ],
        ),
        (
            "Europe/Berlin",
            datetime(2026, 10, 24, 22, tzinfo=UTC),  # 00:00 local, the day clocks fall back
            [
                ("2026-10-25T00:00:00+02:00", "2026-10-24"),
                ("2026-10-26T00:00:00+01:00", "2026-10-25"),
                ("2026-10-27T00:00:00+01:00", "2026-10-26"),
            ],
        ),
    ],
)
def test_daily_schedule_across_a_dst_change_targets_each_day_once(zone, start, expected):
    partitions = DailyPartitionsDefinition(start_date="2026-01-01", timezone=zone)
    schedule = build_schedule_from_partitioned_job(define_asset_job("d", partitions_def=partitions))
    got = [(time, keys[0]) for time, keys, _ in ticks(schedule, start, 3)]
    assert got == expected


def test_hourly_schedule_across_fall_back_targets_every_hour_including_the_repeated_one():
    partitions = HourlyPartitionsDefinition(
        start_date="2026-01-01-00:00", timezone="America/New_York"
    )
    schedule = build_schedule_from_partitioned_job(define_asset_job("h", partitions_def=partitions))
    got = ticks(schedule, datetime(2026, 11, 1, 5, tzinfo=UTC), 4)  # 01:00 EDT
    assert [(time, keys[0]) for time, keys, _ in got] == [
        ("2026-11-01T01:00:00-04:00", "2026-11-01-00:00"),
        ("2026-11-01T01:00:00-05:00", "2026-11-01-01:00"),
        ("2026-11-01T02:00:00-05:00", "2026-11-01-01:00-0500"),
        ("2026-11-01T03:00:00-05:00", "2026-11-01-02:00"),
    ]


def test_offsets_move_the_tick_but_not_the_partition():
    job = define_asset_job(
        "daily", partitions_def=DailyPartitionsDefinition(start_date="2026-01-01")
    )
    schedule = build_schedule_from_partitioned_job(job, hour_of_day=6, minute_of_hour=30)
    assert schedule.cron_schedule == "30 6 * * *"
    assert ticks(schedule, datetime(2026, 1, 5, tzinfo=UTC), 1) == [
        ("2026-01-05T06:30:00+00:00", ["2026-01-04"], ["2026-01-04"])
    ]


def test_static_partitions_request_every_key_on_the_given_cron():
    job = define_asset_job("s", partitions_def=StaticPartitionsDefinition(["a", "b"]))
    schedule = build_schedule_from_partitioned_job(job, cron_schedule="0 * * * *")
    assert ticks(schedule, datetime(2026, 1, 1, tzinfo=UTC), 1)[0][1] == ["a", "b"]


def test_multi_partitions_request_every_key_of_the_latest_day():
    partitions = MultiPartitionsDefinition(
        {
            "date": DailyPartitionsDefinition(start_date="2026-01-01"),
            "region": StaticPartitionsDefinition(["eu", "us"]),
        }
    )
    schedule = build_schedule_from_partitioned_job(define_asset_job("m", partitions_def=partitions))
    [(_, keys, run_keys)] = ticks(schedule, datetime(2026, 1, 3, tzinfo=UTC), 1)
    assert sorted(keys) == ["2026-01-02|eu", "2026-01-02|us"]
    assert run_keys == keys


def test_partitions_of_the_selected_assets_are_used_when_the_job_has_none():
    @asset(partitions_def=DailyPartitionsDefinition(start_date="2026-01-01"))
    def daily_asset():
        return 1

    schedule = build_schedule_from_partitioned_job(define_asset_job("a", selection=[daily_asset]))
    assert ticks(schedule, datetime(2026, 1, 3, tzinfo=UTC), 1)[0][1] == ["2026-01-02"]


@pytest.mark.parametrize(
    ("job", "kwargs", "needle"),
    [
        (define_asset_job("plain"), {}, "not partitioned"),
        (
            define_asset_job("s", partitions_def=StaticPartitionsDefinition(["a"])),
            {},
            "cron_schedule=",
        ),
        (
            define_asset_job("dyn", partitions_def=DynamicPartitionsDefinition(name="x")),
            {},
            "time-window",
        ),
        (
            define_asset_job(
                "d", partitions_def=DailyPartitionsDefinition(start_date="2026-01-01")
            ),
            {"cron_schedule": "0 0 * * *"},
            "cadence",
        ),
        (
            define_asset_job(
                "d", partitions_def=DailyPartitionsDefinition(start_date="2026-01-01")
            ),
            {"day_of_week": 1, "day_of_month": 1},
            "not both",
        ),
    ],
)
def test_unfit_jobs_and_arguments_are_rejected(job, kwargs, needle):
    with pytest.raises(DefinitionError, match=needle):
        build_schedule_from_partitioned_job(job, **kwargs)
