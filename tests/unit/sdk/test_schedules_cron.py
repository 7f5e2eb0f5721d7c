"""sdk.cron: cron validation with cronsim, and fire times equal to the library's iteration."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from cronsim import CronSim
from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.cron import fire_times
from arco_flow.core.errors import DefinitionError
from arco_flow.core.partitions._ticks import get_zone
from arco_flow.sdk.cron import (
    cron_string_iterator,
    is_valid_cron_schedule,
    validate_cron_schedule,
)

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Asia/Kathmandu",
    "America/St_Johns",
]
CRONS = [
    "*/5 * * * *",
    "0 * * * *",
    "10,40 * * * *",
    "@daily",
    "30 2 * * *",
    "0 1 * * *",
    "0 0 * * 0",
    "15 3 * * 6",
    "@monthly",
    "30 1 15 * *",
    "0 9 * * 1-5",
    "0 */6 * * *",
    "0 0 L * *",
    "0 0 29 2 *",
    "0 0 * * 1#2",
    "0,30 1-3 * * *",
]


def library_fire_times(cron: str, zone_name: str, start: float) -> Any:
    """cronsim's wall times, resolved under Dagster's DST rules: the slow reference path."""
    from arco_flow.sdk.cron import _library_form

    form = _library_form(cron)
    every_hour = len(CronSim(form, datetime(2000, 1, 1)).hours) == 24
    return fire_times(
        "not used",
        get_zone(zone_name),
        start,
        wall_times=lambda after: iter(CronSim(form, after)),
        every_hour=every_hour,
    )


@settings(max_examples=80, deadline=None)
@given(
    cron=st.sampled_from(CRONS),
    zone_name=st.sampled_from(ZONES),
    start=st.integers(
        min_value=int(datetime(2000, 1, 1, tzinfo=UTC).timestamp()),
        max_value=int(datetime(2035, 1, 1, tzinfo=UTC).timestamp()),
    ),
)
def test_fire_times_equal_the_library_iteration_across_zones_and_dst(cron, zone_name, start):
    ours = [
        d.timestamp() for d in itertools.islice(cron_string_iterator(start, cron, zone_name), 30)
    ]
    reference = list(itertools.islice(library_fire_times(cron, zone_name, start), 30))
    assert ours == reference


def test_iterator_yields_datetimes_in_the_zone_at_or_after_the_start():
    start = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    first = list(itertools.islice(cron_string_iterator(start, "*/5 * * * *", "UTC"), 3))
    assert [d.isoformat() for d in first] == [
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T00:05:00+00:00",
        "2026-01-01T00:10:00+00:00",
    ]
    berlin = next(cron_string_iterator(start, "0 9 * * *", "Europe/Berlin"))
    assert berlin.isoformat() == "2026-01-01T09:00:00+01:00"


def test_a_list_of_crons_fires_at_the_union_of_their_times():
    start = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    times = itertools.islice(cron_string_iterator(start, ["0 9 * * *", "0 17 * * *"], "UTC"), 3)
    assert [d.hour for d in times] == [9, 17, 9]


@pytest.mark.parametrize(
    ("cron", "needle"),
    [
        ("61 * * * *", "minute"),
        ("0 24 * * *", "hour"),
        ("0 0 32 * *", "day of month"),
        ("0 0 * 13 *", "month"),
        ("0 0 * * 8", "day of week"),
        ("0 0 * *", "5"),
        ("0 0 30 2 *", "never"),
        ("*/0 * * * *", "step"),
        ("banana * * * *", "minute"),
    ],
)
def test_malformed_cron_names_the_field_and_what_is_allowed(cron, needle):
    with pytest.raises(DefinitionError) as raised:
        validate_cron_schedule(cron, owner="schedule 's'")
    message = str(raised.value)
    assert needle in message
    assert "schedule 's'" in message
    assert "minute (0-59)" in message


@pytest.mark.parametrize("cron", ["@hourly", "@weekly", "@yearly", "0 0 ? * *", "0 0 * * mon-fri"])
def test_dagster_forms_are_valid(cron):
    assert is_valid_cron_schedule(cron)


@pytest.mark.parametrize("value", [[], "", 5, ["0 0 * * *", 3], b"0 0 * * *"])
def test_a_cron_schedule_is_a_string_or_a_non_empty_list_of_strings(value):
    assert not is_valid_cron_schedule(value)


def test_unknown_time_zone_is_a_definition_error():
    with pytest.raises(DefinitionError, match="IANA"):
        next(cron_string_iterator(0.0, "0 0 * * *", "Mars/Olympus_Mons"))
