"""Time-window arithmetic across daylight-saving changes and month ends, in several zones.

The O(1) tick sequences (hourly, daily, weekly, monthly) are checked against `CronTicks`,
which finds the same schedule by iterating day by day, and every definition's index ->
key -> index round trip and window contiguity are checked around the zones' transitions.
"""

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.partitions import TimeWindowPartitionsDefinition
from arco_flow.core.partitions._cron import parse_cron
from arco_flow.core.partitions._ticks import CronTicks, get_zone, ticks_for

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]


@cache
def transition_days(zone_name):
    """Days of 2000-2030 on which the zone's UTC offset changes (none for UTC and Kolkata)."""
    zone = ZoneInfo(zone_name)
    days = []
    day = date(2000, 1, 1)
    previous = zone.utcoffset(datetime(2000, 1, 1, 12))
    while day < date(2030, 12, 31):
        day += timedelta(days=1)
        offset = zone.utcoffset(datetime(day.year, day.month, day.day, 12))
        if offset != previous:
            days.append(day)
        previous = offset
    return days or [date(2024, 2, 27), date(2024, 12, 30)]


@st.composite
def schedules(draw):
    """(cron schedule, key format, zone name, naive start) near a transition or a month end."""
    zone = draw(st.sampled_from(ZONES))
    minute = draw(st.sampled_from([0, 15, 30, 45]))
    hour = draw(st.sampled_from([0, 1, 2, 3, 12, 23]))
    kind = draw(st.sampled_from(["hourly", "daily", "weekly", "monthly"]))
    cron, fmt = {
        "hourly": (f"{minute} * * * *", "%Y-%m-%d-%H:%M"),
        "daily": (f"{minute} {hour} * * *", "%Y-%m-%d"),
        "weekly": (f"{minute} {hour} * * {draw(st.integers(0, 6))}", "%Y-%m-%d"),
        "monthly": (f"{minute} {hour} {draw(st.integers(1, 28))} * *", "%Y-%m-%d"),
    }[kind]
    near = draw(st.sampled_from([*transition_days(zone), date(2024, 1, 31), date(2023, 2, 28)]))
    back = {"hourly": 1, "daily": 3, "weekly": 21, "monthly": 90}[kind]
    start = datetime(near.year, near.month, near.day) - timedelta(days=back)
    start += timedelta(minutes=draw(st.integers(0, 24 * 60 - 1)))
    return cron, fmt, zone, start


@settings(max_examples=120, deadline=None)
@given(schedules())
def test_constant_time_ticks_agree_with_iterating_the_cron_schedule(schedule):
    cron, _fmt, zone_name, start = schedule
    zone = get_zone(zone_name)
    anchor = start.replace(tzinfo=zone).timestamp()
    fast = ticks_for(cron, zone, anchor)
    slow = CronTicks(zone, parse_cron(cron), anchor)
    assert not isinstance(fast, CronTicks)
    first = fast.ordinal_at_or_before(anchor)
    if fast.instant(first) < anchor:
        first += 1
    for k in range(-3, 60):
        assert fast.instant(first + k) == slow.instant(k), (cron, zone_name, start, k)
        assert fast.ordinal_at_or_before(slow.instant(k)) == first + k
        assert fast.ordinal_at_or_before(slow.instant(k) - 1) == first + k - 1


@settings(max_examples=120, deadline=None)
@given(schedules(), st.integers(min_value=0, max_value=60))
def test_index_key_index_round_trips_and_windows_are_contiguous(schedule, index):
    cron, fmt, zone, start = schedule
    definition = TimeWindowPartitionsDefinition(
        start=start, fmt=fmt, cron_schedule=cron, timezone=zone
    )
    space = definition.resolve(datetime(2100, 1, 1, tzinfo=UTC))
    key = space.key_at(index)
    assert space.index_of(key) == index
    window, following = space.time_window(index), space.time_window(index + 1)
    # Aware datetimes of one zone compare by wall time in Python: compare instants.
    assert window.start.timestamp() < window.end.timestamp() == following.start.timestamp()
    assert window.start.tzinfo is not None
    inside = datetime.fromtimestamp((window.start.timestamp() + window.end.timestamp()) / 2, UTC)
    assert definition.get_partition_key_for_time(inside) == key
    assert definition.get_partition_key_for_timestamp(window.start.timestamp()) == key
    if index == 0:
        assert definition.start.timestamp() <= window.start.timestamp()
        assert space.time_window(-1).start.timestamp() < definition.start.timestamp()


@settings(max_examples=60, deadline=None)
@given(schedules(), st.integers(min_value=1, max_value=400))
def test_listed_keys_match_the_count_and_increase_in_time(schedule, hours_later):
    cron, fmt, zone, start = schedule
    definition = TimeWindowPartitionsDefinition(
        start=start, fmt=fmt, cron_schedule=cron, timezone=zone
    )
    now = datetime.fromtimestamp(
        start.replace(tzinfo=ZoneInfo(zone)).timestamp() + hours_later * 86400, UTC
    )
    keys = definition.get_partition_keys(current_time=now)
    assert len(keys) == definition.get_num_partitions(current_time=now)
    assert len(set(keys)) == len(keys)
    starts = [definition.time_window_for_partition_key(k).start.timestamp() for k in keys]
    assert starts == sorted(starts)
    if keys:
        assert definition.time_window_for_partition_key(keys[-1]).end <= now
        assert all(
            definition.has_partition_key(k, current_time=now)
            for k in keys[:: max(1, len(keys) // 7)]
        )
