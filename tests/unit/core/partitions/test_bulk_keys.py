"""The bulk key -> index path of daily definitions agrees with the key-by-key path."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions import DailyPartitionsDefinition

DAILY = DailyPartitionsDefinition(start_date="2020-01-01")
NOW = datetime(2021, 1, 1, tzinfo=UTC)


@given(st.lists(st.integers(-30, 400), min_size=17, max_size=60))
def test_bulk_indices_equal_one_by_one_indices(offsets):
    space = DAILY.resolve(NOW)
    keys = [(date(2020, 1, 1) + timedelta(days=n)).isoformat() for n in offsets]
    bulk = space.ranges_of(keys, existing=False)
    assert [i for a, b in bulk for i in range(a, b)] == sorted(
        {space.index_of(key, existing=False) for key in keys}
    )


def test_bulk_keys_of_a_definition_with_no_last_partition_are_indexed():
    space = DAILY.resolve(None)
    keys = [(date(2020, 1, 1) + timedelta(days=n)).isoformat() for n in range(100, 120)]
    assert space.ranges_of(keys) == ((100, 120),)


def test_bulk_keys_outside_the_partitions_that_exist_are_refused():
    space = DAILY.resolve(NOW)
    keys = [(date(2020, 1, 1) + timedelta(days=n)).isoformat() for n in range(20)]
    assert space.ranges_of(keys) == ((0, 20),)
    with pytest.raises(PartitionError, match="outside the time range"):
        space.ranges_of([*keys, "2030-01-01"])


def test_bulk_keys_that_are_not_dates_fall_back_to_the_checked_path():
    space = DAILY.resolve(NOW)
    keys = [(date(2020, 1, 1) + timedelta(days=n)).isoformat() for n in range(20)]
    with pytest.raises(PartitionError):
        space.ranges_of([*keys, "2020-02-30"])
    with pytest.raises(PartitionError):
        space.ranges_of([*keys, "20200105"])
