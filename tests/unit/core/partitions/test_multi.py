import json
import pickle
from datetime import UTC, datetime

import pytest

from arco_flow.core.errors import DefinitionError, PartitionError
from arco_flow.core.partitions import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    InMemoryDynamicPartitionsStore,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    PartitionKeyRange,
    StaticPartitionsDefinition,
    TimeWindow,
)

NOW = datetime(2024, 1, 20, tzinfo=UTC)
DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
REGIONS = StaticPartitionsDefinition(["eu", "us"])
MULTI = MultiPartitionsDefinition({"region": REGIONS, "date": DAILY})


def test_keys_join_dimensions_in_name_order_like_dagster():
    keys = MULTI.get_partition_keys(current_time=NOW)
    assert keys[:5] == [
        "2024-01-01|eu",
        "2024-01-01|us",
        "2024-01-02|eu",
        "2024-01-02|us",
        "2024-01-03|eu",
    ]
    assert len(keys) == 38
    assert isinstance(keys[3], MultiPartitionKey)
    assert keys[3].keys_by_dimension == {"date": "2024-01-02", "region": "us"}


def test_listed_keys_are_strings_read_as_multi_partition_keys():
    keys = MULTI.get_partition_keys(current_time=NOW)
    assert isinstance(keys, list)
    assert all(isinstance(key, MultiPartitionKey) for key in keys)
    assert isinstance(keys[-1], MultiPartitionKey)
    assert [k.keys_by_dimension["region"] for k in keys[:2]] == ["eu", "us"]
    assert keys[1:3] == ["2024-01-01|us", "2024-01-02|eu"]
    assert keys[1:3][0].keys_by_dimension == {"date": "2024-01-01", "region": "us"}
    assert "2024-01-05|eu" in keys
    assert json.dumps(keys[:1]) == '["2024-01-01|eu"]'
    assert sorted(keys)[0].keys_by_dimension["date"] == "2024-01-01"


def test_ten_years_of_days_times_twenty_regions():
    multi = MultiPartitionsDefinition(
        {
            "date": DailyPartitionsDefinition(start_date="2016-01-01"),
            "region": StaticPartitionsDefinition([f"r{i:02d}" for i in range(20)]),
        }
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    keys = multi.get_partition_keys(current_time=now)
    assert (len(keys), keys[0], keys[-1]) == (73060, "2016-01-01|r00", "2025-12-31|r19")
    assert multi.get_num_partitions(current_time=now) == 73060
    assert multi.subset_with_all_partitions(current_time=now).ranges == ((0, 73060),)


def test_multi_partition_key_is_a_string_with_its_dimensions():
    key = MultiPartitionKey({"region": "eu", "date": "2024-01-01"})
    assert key == "2024-01-01|eu"
    assert key.keys_by_dimension == {"date": "2024-01-01", "region": "eu"}
    restored = pickle.loads(pickle.dumps(key))
    assert restored.keys_by_dimension == key.keys_by_dimension
    assert MULTI.get_partition_key_from_str("2024-01-05|us") == key.replace("01|eu", "05|us")
    with pytest.raises(PartitionError):
        MultiPartitionKey({"date": "a|b"})


def test_key_ranges_are_rectangles_as_in_dagster():
    key_range = PartitionKeyRange("2024-01-02|eu", "2024-01-03|us")
    assert MULTI.get_partition_keys_in_range(key_range, current_time=NOW) == [
        "2024-01-02|eu",
        "2024-01-02|us",
        "2024-01-03|eu",
        "2024-01-03|us",
    ]
    subset = MULTI.subset_with_partition_keys(
        ["2024-01-01|us", "2024-01-02|eu", "2024-01-02|us", "2024-01-05|eu"], current_time=NOW
    )
    ranges = subset.get_partition_key_ranges()
    rebuilt = MULTI.empty_subset(current_time=NOW)
    for key_range in ranges:
        rebuilt = rebuilt.with_partition_key_range(key_range)
    assert rebuilt == subset


def test_the_time_dimension_is_laid_out_outermost():
    # "region" sorts after "date" in one definition and before "day" in the other: either
    # way a range of days times every region is one index range.
    for name in ("date", "zday"):
        multi = MultiPartitionsDefinition({name: DAILY, "region": REGIONS})
        space = multi.resolve(NOW)
        days = DAILY.subset_with_partition_keys(["2024-01-03", "2024-01-04"], current_time=NOW)
        rows = space.product(days.ranges, space.inner_space.all_ranges())
        assert len(rows) == 1
        assert sorted(space.keys_in(rows))[0].count("|") == 1


def test_time_window_of_a_multi_key():
    window = MULTI.time_window_for_partition_key("2024-01-03|eu")
    assert window == TimeWindow(datetime(2024, 1, 3, tzinfo=UTC), datetime(2024, 1, 4, tzinfo=UTC))
    assert MULTI.time_window_dimension.name == "date"


def test_dynamic_dimension_reads_the_store():
    store = InMemoryDynamicPartitionsStore({"customers": ["acme", "globex"]})
    multi = MultiPartitionsDefinition(
        {"customer": DynamicPartitionsDefinition(name="customers"), "region": REGIONS}
    )
    keys = multi.get_partition_keys(dynamic_partitions_store=store)
    assert keys == ["acme|eu", "acme|us", "globex|eu", "globex|us"]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("2024-01-05", r"one key for each of the dimensions \['date', 'region'\]"),
        ("2024-01-05|eu|x", "joined by '|' in that order"),
        ("2024-01-05|uss", "in dimension 'region'.*Did you mean 'us'"),
        ("2023-12-31|eu", "in dimension 'date'.*outside the time range"),
    ],
)
def test_malformed_or_unknown_multi_keys_name_the_dimensions(key, message):
    with pytest.raises(PartitionError, match=message):
        MULTI.validate_partition_key(key, current_time=NOW)
    assert not MULTI.has_partition_key(key, current_time=NOW)


@pytest.mark.parametrize(
    ("dimensions", "message"),
    [
        ({"date": DAILY}, "exactly two dimensions"),
        ({"a": DAILY, "b": REGIONS, "c": REGIONS}, "exactly two dimensions"),
        ({"a": DAILY, "b": StaticPartitionsDefinition(["x|y"])}, "keys with '|'"),
        ({"a": DAILY, "b": MULTI}, "a dimension is a static"),
    ],
)
def test_invalid_multi_definitions(dimensions, message):
    with pytest.raises(DefinitionError, match=message):
        MultiPartitionsDefinition(dimensions)
