"""`FreshnessPolicy`: constructors, validation, codec, and the pure evaluation (time
windows, cron deadlines across daylight-saving changes, time-partitioned assets)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_flow.core.errors import DefinitionError
from arco_flow.core.freshness_policy import (
    FreshnessPolicy,
    FreshnessState,
    evaluate_freshness_policy,
    freshness_policy_from_data,
    freshness_policy_to_data,
)
from arco_flow.core.partitions import DailyPartitionsDefinition

HOUR = 3600.0
PASS, WARN, FAIL, UNKNOWN = (
    FreshnessState.PASS,
    FreshnessState.WARN,
    FreshnessState.FAIL,
    FreshnessState.UNKNOWN,
)
WINDOW = FreshnessPolicy.time_window(
    fail_window=timedelta(hours=24), warn_window=timedelta(hours=12)
)


def at(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).timestamp()


# -- constructors and codec ------------------------------------------------------------


def test_time_window_mirrors_dagster() -> None:
    assert WINDOW.fail_window == timedelta(hours=24)
    assert WINDOW.warn_window == timedelta(hours=12)
    assert WINDOW.deadline_cron is None
    assert not WINDOW.remediate


def test_cron_mirrors_dagster() -> None:
    policy = FreshnessPolicy.cron("0 10 * * *", timedelta(hours=1), "America/New_York")
    assert policy.deadline_cron == "0 10 * * *"
    assert policy.lower_bound_delta == timedelta(hours=1)
    assert policy.timezone == "America/New_York"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: FreshnessPolicy.time_window(timedelta(seconds=30)), "at least 1 minute"),
        (
            lambda: FreshnessPolicy.time_window(timedelta(hours=1), timedelta(hours=2)),
            "shorter than fail_window",
        ),
        (lambda: FreshnessPolicy.time_window(3600), "timedelta"),  # type: ignore[arg-type]
        (lambda: FreshnessPolicy.cron("not a cron", timedelta(hours=1)), "not valid"),
        (lambda: FreshnessPolicy.cron("0 10 * * *", timedelta(hours=1), "Mars/Base"), "not valid"),
        (lambda: FreshnessPolicy.cron("0 10 * * *", timedelta(seconds=1)), "at least 1 minute"),
        (lambda: FreshnessPolicy(), "exactly one"),
    ],
)
def test_invalid_policies_are_refused_with_the_fix(
    build: Callable[[], object], message: str
) -> None:
    with pytest.raises(DefinitionError, match=message):
        build()


# What dagster 1.13.28's FreshnessPolicy.cron accepts and refuses (its shortest interval
# between ticks is measured in UTC, whatever the policy's zone).
@pytest.mark.parametrize(
    ("cron", "longest"),
    [
        ("0 9 * * *", timedelta(days=1)),
        ("*/15 * * * *", timedelta(minutes=15)),
        ("0 0 1 * *", timedelta(days=28)),  # February
        ("0 9 * * 1-5", timedelta(days=1)),
        ("0 9,17 * * *", timedelta(hours=8)),
        ("0 0 29 2 *", timedelta(days=4 * 365 + 1)),  # leap days: the sample's horizon ends
    ],
)
def test_cron_lower_bound_delta_is_at_most_the_shortest_interval_between_ticks(
    cron: str, longest: timedelta
) -> None:
    policy = FreshnessPolicy.cron(cron, longest, "America/New_York")  # 23-hour days too
    assert policy.lower_bound_delta == longest
    too_long = longest + timedelta(seconds=1)
    with pytest.raises(DefinitionError, match="is longer than the shortest interval") as raised:
        FreshnessPolicy.cron(cron, too_long, "America/New_York")
    assert f"deadline_cron {cron!r}" in str(raised.value)
    assert f"give a lower_bound_delta of at most {longest}" in str(raised.value)


@given(
    fail=st.integers(min_value=61, max_value=10**7),
    warn=st.none() | st.integers(min_value=60, max_value=10**7),
    remediate=st.booleans(),
    on_warn=st.booleans(),
)
def test_time_window_codec_round_trips(
    fail: int, warn: int | None, remediate: bool, on_warn: bool
) -> None:
    if warn is not None and warn >= fail:
        warn = None
    policy = FreshnessPolicy.time_window(
        timedelta(seconds=fail),
        None if warn is None else timedelta(seconds=warn),
        remediate=remediate,
        remediate_on=WARN if on_warn else FAIL,
    )
    assert freshness_policy_from_data(freshness_policy_to_data(policy)) == policy


def test_cron_codec_round_trips() -> None:
    policy = FreshnessPolicy.cron(
        "0 9 * * 1-5", timedelta(minutes=30), "Europe/Berlin", remediate=True
    )
    assert freshness_policy_from_data(freshness_policy_to_data(policy)) == policy


# -- time windows ------------------------------------------------------------------------


def test_time_window_states() -> None:
    last = 1_000_000.0
    states = [
        evaluate_freshness_policy(WINDOW, now=last + hours * HOUR, last_updated=last).state
        for hours in (0, 11.9, 12, 23.9, 24, 100)
    ]
    assert states == [PASS, PASS, WARN, WARN, FAIL, FAIL]


def test_never_updated_is_unknown_as_dagster() -> None:
    assert evaluate_freshness_policy(WINDOW, now=5.0, last_updated=None).state is UNKNOWN


@given(
    last=st.integers(min_value=0, max_value=2 * 10**9),
    lag=st.integers(min_value=0, max_value=10**7),
)
def test_time_window_lag_deadline_and_next_change(last: int, lag: int) -> None:
    now = last + lag
    found = evaluate_freshness_policy(WINDOW, now=now, last_updated=last)
    assert found.lag_seconds == lag
    assert found.deadline == last + 24 * HOUR
    expected = PASS if now - last < 12 * HOUR else WARN if now - last < 24 * HOUR else FAIL
    assert found.state is expected
    # The state holds until next_change: nothing changes before it, something at it.
    if found.next_change is not None:
        assert found.next_change > now
        later = evaluate_freshness_policy(WINDOW, now=found.next_change, last_updated=last)
        assert later.state is not found.state
    else:
        assert found.state is FAIL
    assert (found.window_key is None) == (found.state is PASS)


def test_without_a_warn_window_there_is_no_warn() -> None:
    policy = FreshnessPolicy.time_window(timedelta(hours=1))
    assert evaluate_freshness_policy(policy, now=3599, last_updated=0).state is PASS
    assert evaluate_freshness_policy(policy, now=3600, last_updated=0).state is FAIL


def test_one_window_key_per_overdue_episode() -> None:
    warn = evaluate_freshness_policy(WINDOW, now=13 * HOUR, last_updated=0)
    fail = evaluate_freshness_policy(WINDOW, now=30 * HOUR, last_updated=0)
    again = evaluate_freshness_policy(WINDOW, now=60 * HOUR, last_updated=31 * HOUR)
    assert warn.window_key == fail.window_key
    assert again.window_key != fail.window_key


# -- cron deadlines ----------------------------------------------------------------------


def test_cron_policy_passes_until_the_next_deadline_across_spring_forward() -> None:
    zone = "America/New_York"
    policy = FreshnessPolicy.cron("0 10 * * *", timedelta(hours=1), zone)
    # Saturday 9 March 2024, 09:30 local; the clocks spring forward the next night.
    last = at(zone, 2024, 3, 9, 9, 30)
    found = evaluate_freshness_policy(policy, now=at(zone, 2024, 3, 9, 12), last_updated=last)
    assert found.state is PASS
    assert found.next_change == at(zone, 2024, 3, 10, 10)
    assert found.next_change - at(zone, 2024, 3, 9, 10) == 23 * HOUR
    missed = evaluate_freshness_policy(policy, now=found.next_change, last_updated=last)
    assert missed.state is FAIL
    assert missed.deadline == at(zone, 2024, 3, 10, 10)
    assert missed.next_change is None  # only an update makes it pass again


def test_cron_policy_across_fall_back() -> None:
    zone = "Europe/Berlin"
    policy = FreshnessPolicy.cron("30 2 * * *", timedelta(minutes=30), zone)
    # 27 October 2024: 02:30 happens twice in Berlin; the deadline is the first one.
    last = at(zone, 2024, 10, 26, 2, 10)
    found = evaluate_freshness_policy(policy, now=at(zone, 2024, 10, 26, 5), last_updated=last)
    assert found.state is PASS
    assert found.next_change is not None
    assert found.next_change - at(zone, 2024, 10, 26, 2, 30) in (24 * HOUR, 25 * HOUR)
    failed = evaluate_freshness_policy(policy, now=found.next_change, last_updated=last)
    assert failed.state is FAIL


def test_update_before_the_lower_bound_is_too_early() -> None:
    policy = FreshnessPolicy.cron("0 10 * * *", timedelta(hours=1))
    early = at("UTC", 2024, 1, 2, 8, 30)
    found = evaluate_freshness_policy(policy, now=at("UTC", 2024, 1, 2, 10), last_updated=early)
    assert found.state is FAIL


# -- time-partitioned assets -------------------------------------------------------------

DAILY_BERLIN = DailyPartitionsDefinition(start_date="2024-03-01", timezone="Europe/Berlin")


def test_partitioned_lag_runs_from_the_end_of_the_latest_complete_window() -> None:
    policy = FreshnessPolicy.time_window(timedelta(hours=6), timedelta(hours=2))
    window_end = at("Europe/Berlin", 2024, 3, 31)  # the day 2024-03-30 ends
    found = [
        evaluate_freshness_policy(
            policy,
            now=window_end + hours * HOUR,
            last_updated=None,
            partitions_def=DAILY_BERLIN,
            partition_updated=lambda key: False,
        )
        for hours in (1, 3, 7)
    ]
    assert [f.state for f in found] == [PASS, WARN, FAIL]
    assert {f.partition_key for f in found} == {"2024-03-30"}
    assert found[2].window_key == "2024-03-30"
    assert found[2].lag_seconds == 7 * HOUR
    # The next window (31 March, a 23-hour day in Berlin) completes at its own end.
    assert found[2].next_change == at("Europe/Berlin", 2024, 4, 1)
    assert found[2].next_change - window_end == 23 * HOUR


def test_partitioned_passes_once_the_expected_partition_is_materialized() -> None:
    policy = FreshnessPolicy.time_window(timedelta(hours=6), timedelta(hours=2))
    now = at("Europe/Berlin", 2024, 3, 31, 20)
    found = evaluate_freshness_policy(
        policy,
        now=now,
        last_updated=now - 1,
        partitions_def=DAILY_BERLIN,
        partition_updated=lambda key: key == "2024-03-30",
    )
    assert found.state is PASS
    assert found.next_change == at("Europe/Berlin", 2024, 4, 1) + 2 * HOUR


@given(hours=st.floats(min_value=0, max_value=24 * 60))
def test_partitioned_state_is_stable_until_next_change(hours: float) -> None:
    policy = FreshnessPolicy.time_window(timedelta(hours=6), timedelta(hours=2))
    now = at("Europe/Berlin", 2024, 3, 2) + hours * HOUR
    materialized = {"2024-03-05", "2024-03-29", "2024-03-30"}

    def evaluate(when: float):  # type: ignore[no-untyped-def]
        return evaluate_freshness_policy(
            policy,
            now=when,
            last_updated=None,
            partitions_def=DAILY_BERLIN,
            partition_updated=materialized.__contains__,
        )

    found = evaluate(now)
    assert found.next_change is not None
    assert found.next_change > now
    assert evaluate(now + (found.next_change - now) / 2).state is found.state


def test_partitioned_cron_policy_expects_the_partition_due_by_the_tick() -> None:
    policy = FreshnessPolicy.cron("0 9 * * *", timedelta(hours=1), "Europe/Berlin")
    now = at("Europe/Berlin", 2024, 3, 31, 10)
    missing = evaluate_freshness_policy(
        policy,
        now=now,
        last_updated=None,
        partitions_def=DAILY_BERLIN,
        partition_updated=lambda key: False,
    )
    assert missing.state is FAIL
    assert missing.partition_key == "2024-03-30"
    assert missing.window_key == "2024-03-30"
    assert missing.next_change == at("Europe/Berlin", 2024, 4, 1, 9)
    present = evaluate_freshness_policy(
        policy,
        now=now,
        last_updated=now,
        partitions_def=DAILY_BERLIN,
        partition_updated=lambda key: key == "2024-03-30",
    )
    assert present.state is PASS
