from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_flow.core.freshness import (
    FRESH_UNTIL_METADATA_KEY,
    LAST_UPDATED_TIMESTAMP_METADATA_KEY,
    OVERDUE_DEADLINE_METADATA_KEY,
    OVERDUE_SECONDS_METADATA_KEY,
    evaluate_last_update_freshness,
    evaluate_time_partition_freshness,
    expected_partition_key,
    latest_cron_tick,
    next_cron_tick,
    seconds_in_words,
)
from arco_flow.core.partitions import DailyPartitionsDefinition, HourlyPartitionsDefinition

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
DAILY_CRONS = ["0 9 * * *", "30 2 * * *", "0 0 * * *", "15 1 * * 1-5"]
CRONS = [*DAILY_CRONS, "0 * * * *", "*/20 * * * *", "0 3 1 * *", "0 6 * * 0"]
# Around the 2024 daylight-saving changes of the zones above, and some ordinary days.
ANCHORS = [
    datetime(2024, 3, 10, tzinfo=UTC),
    datetime(2024, 3, 31, tzinfo=UTC),
    datetime(2024, 4, 7, tzinfo=UTC),
    datetime(2024, 10, 6, tzinfo=UTC),
    datetime(2024, 10, 27, tzinfo=UTC),
    datetime(2024, 11, 3, tzinfo=UTC),
    datetime(2024, 6, 15, tzinfo=UTC),
]
nows = st.builds(
    lambda anchor, offset: anchor.timestamp() + offset,
    st.sampled_from(ANCHORS),
    st.floats(min_value=-3 * 86400, max_value=3 * 86400, allow_nan=False),
)


def _ts(text: str, zone: str = "UTC") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


@given(cron=st.sampled_from(CRONS), zone=st.sampled_from(ZONES), now=nows)
def test_the_deadline_is_the_last_tick_at_or_before_now_and_the_next_follows_it(cron, zone, now):
    latest = latest_cron_tick(cron, zone, now)
    following = next_cron_tick(cron, zone, now)
    assert latest <= now <= following
    # No tick lies strictly between the latest one and now, nor between now and the next.
    assert next_cron_tick(cron, zone, latest + 1e-3) >= now or latest == now
    assert latest_cron_tick(cron, zone, following - 1e-3) <= now or following == now


@given(cron=st.sampled_from(DAILY_CRONS), zone=st.sampled_from(ZONES), now=nows)
def test_a_daily_deadline_falls_on_its_wall_time_or_just_after_a_gap(cron, zone, now):
    minute, hour = (int(part) for part in cron.split()[:2])
    wall = datetime.fromtimestamp(latest_cron_tick(cron, zone, now), ZoneInfo(zone))
    on_time = (wall.hour, wall.minute) == (hour, minute)
    # A wall time inside a spring-forward gap moves to the first instant after the gap.
    moved = wall.minute == 0 and wall.hour in (hour + 1, hour + 2)
    assert on_time or moved


@given(
    cron=st.one_of(st.none(), st.sampled_from(CRONS)),
    zone=st.sampled_from(ZONES),
    now=nows,
    delta=st.floats(min_value=0, max_value=5 * 86400, allow_nan=False),
    age=st.one_of(st.none(), st.floats(min_value=-3600, max_value=10 * 86400, allow_nan=False)),
)
def test_fresh_exactly_when_the_update_is_at_or_after_the_lower_bound(cron, zone, now, delta, age):
    last = None if age is None else now - age
    result = evaluate_last_update_freshness(
        now=now,
        last_updated=last,
        lower_bound_delta_seconds=delta,
        deadline_cron=cron,
        timezone=zone,
    )
    deadline = latest_cron_tick(cron, zone, now) if cron else now
    assert result.deadline == deadline
    assert result.lower_bound == deadline - delta
    assert result.passed == (last is not None and last >= deadline - delta)
    metadata = result.metadata_values()
    if result.passed:
        assert metadata[FRESH_UNTIL_METADATA_KEY] >= now or cron is None
        assert OVERDUE_SECONDS_METADATA_KEY not in metadata
    else:
        assert FRESH_UNTIL_METADATA_KEY not in metadata
        assert metadata[OVERDUE_DEADLINE_METADATA_KEY] == deadline
    if last is not None:
        assert metadata[LAST_UPDATED_TIMESTAMP_METADATA_KEY] == last
        if not result.passed:
            assert 0 <= metadata[OVERDUE_SECONDS_METADATA_KEY] <= now - last


@given(
    cron=st.sampled_from(CRONS),
    zone=st.sampled_from(ZONES),
    now=nows,
    earlier=st.floats(min_value=0, max_value=86400, allow_nan=False),
    gap=st.floats(min_value=0, max_value=86400, allow_nan=False),
)
def test_a_later_update_is_never_less_fresh(cron, zone, now, earlier, gap):
    def passed(last):
        return evaluate_last_update_freshness(
            now=now,
            last_updated=last,
            lower_bound_delta_seconds=3600,
            deadline_cron=cron,
            timezone=zone,
        ).passed

    assert passed(now - earlier) <= passed(now - earlier + gap)


def test_the_documented_example_a_daily_deadline_at_nine_with_45_minutes():
    def at(now, last):
        return evaluate_last_update_freshness(
            now=_ts(now),
            last_updated=_ts(last),
            lower_bound_delta_seconds=45 * 60,
            deadline_cron="0 9 * * *",
        )

    # At 8:59 the deadline is still yesterday's 9:00.
    assert at("2024-01-02T08:59", "2024-01-01T08:20").passed
    assert not at("2024-01-02T09:00", "2024-01-01T08:20").passed
    assert at("2024-01-02T09:00", "2024-01-02T08:15").passed
    assert not at("2024-01-02T09:00", "2024-01-02T08:14").passed
    overdue = at("2024-01-02T10:00", "2024-01-02T07:00")
    # Stale since the 9:00 deadline whose lower bound (8:15) the 7:00 update missed.
    assert overdue.overdue_seconds == 3600
    assert overdue.description.startswith(
        "Asset is overdue for an update. The last update was 3 hours"
    )


def test_without_a_cron_fresh_until_is_the_last_update_plus_the_delta():
    result = evaluate_last_update_freshness(
        now=10_000, last_updated=9_000, lower_bound_delta_seconds=3600
    )
    assert result.passed
    assert result.fresh_until == 12_600
    assert result.latest_cron_tick is None


def test_an_asset_never_updated_is_overdue_with_dagsters_description():
    result = evaluate_last_update_freshness(
        now=10_000, last_updated=None, lower_bound_delta_seconds=60
    )
    assert not result.passed
    assert result.description == "Asset has never been observed/materialized."
    assert result.overdue_seconds is None


def test_a_spring_forward_deadline_in_the_gap_moves_past_it():
    # 02:30 does not exist in Berlin on 2024-03-31; the tick is 03:00 local (01:00 UTC).
    tick = latest_cron_tick("30 2 * * *", "Europe/Berlin", _ts("2024-03-31T12:00"))
    assert tick == _ts("2024-03-31T03:00", "Europe/Berlin")


def test_a_fall_back_deadline_is_the_later_of_the_repeated_wall_time():
    # 02:30 happens twice in Berlin on 2024-10-27; Dagster takes the second (01:30 UTC).
    tick = latest_cron_tick("30 2 * * *", "Europe/Berlin", _ts("2024-10-27T12:00"))
    assert tick == _ts("2024-10-27T01:30")


def test_the_expected_partition_is_the_last_complete_window_at_the_deadline():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    assert expected_partition_key(daily, _ts("2024-01-05T09:00")) == "2024-01-04"
    assert expected_partition_key(daily, _ts("2024-01-01T09:00")) is None


@pytest.mark.parametrize(
    ("updated", "last", "passed", "starts"),
    [
        (True, 1.0, True, "Asset is currently fresh, since partition 2024-01-04"),
        (False, 1.0, False, "Asset is overdue. We expected partition 2024-01-04"),
        (False, None, False, "The asset has never been observed/materialized."),
    ],
)
def test_time_partition_freshness_asks_only_for_the_expected_partition(
    updated, last, passed, starts
):
    asked = []

    def partition_updated(key):
        asked.append(key)
        return updated

    result = evaluate_time_partition_freshness(
        now=_ts("2024-01-05T10:00"),
        deadline_cron="0 9 * * *",
        timezone="UTC",
        partitions_def=DailyPartitionsDefinition(start_date="2024-01-01"),
        partition_updated=partition_updated,
        last_updated=last,
    )
    assert asked == ["2024-01-04"]
    assert result.passed is passed
    assert result.description.startswith(starts)
    assert result.expected_partition_key == "2024-01-04"
    assert result.deadline == _ts("2024-01-05T09:00")
    assert (result.fresh_until == _ts("2024-01-06T09:00")) is passed


def test_time_partition_freshness_passes_while_no_partition_is_due():
    result = evaluate_time_partition_freshness(
        now=_ts("2024-01-01T10:00"),
        deadline_cron="0 9 * * *",
        timezone="UTC",
        partitions_def=DailyPartitionsDefinition(start_date="2024-01-01"),
        partition_updated=lambda key: pytest.fail("no partition should be asked for"),
        last_updated=None,
    )
    assert result.passed
    assert result.expected_partition_key is None


@given(now=nows, zone=st.sampled_from(ZONES))
def test_the_expected_hourly_partition_ends_at_or_before_the_deadline(now, zone):
    hourly = HourlyPartitionsDefinition(start_date="2024-01-01-00:00", timezone=zone)
    deadline = latest_cron_tick("5 * * * *", zone, now)
    key = expected_partition_key(hourly, deadline)
    assert key is not None
    window = hourly.time_window_for_partition_key(key)
    assert window.end.timestamp() <= deadline < window.end.timestamp() + 2 * 3600


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 seconds"),
        (1, "1 second"),
        (61, "1 minute, 1 second"),
        (90061, "1 day, 1 hour, 1 minute, 1 second"),
        (2 * 86400 + 7200, "2 days, 2 hours"),
        (-120, "-2 minutes"),
    ],
)
def test_seconds_in_words_writes_dagsters_form(seconds, words):
    assert seconds_in_words(seconds) == words


def test_an_invalid_cron_or_zone_is_a_value_error():
    with pytest.raises(ValueError, match="fields"):
        latest_cron_tick("0 9 * *", "UTC", 0.0)
    with pytest.raises(ValueError, match="IANA"):
        latest_cron_tick("0 9 * * *", "Mars/Olympus", 0.0)


def test_fresh_until_is_the_next_tick_at_or_after_now_as_in_dagster():
    now = _ts("2024-01-02T09:00")
    assert next_cron_tick("0 9 * * *", "UTC", now) == now
    assert next_cron_tick("0 9 * * *", "UTC", now + 1) == now + timedelta(days=1).total_seconds()
