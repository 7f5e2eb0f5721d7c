from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    InMemoryDynamicPartitionsStore,
    MultiPartitionsDefinition,
    PartitionKeyRange,
    PartitionsSubset,
    StaticPartitionsDefinition,
)

KEYS = [f"k{i:02d}" for i in range(40)]
STATIC = StaticPartitionsDefinition(KEYS)
NOW = datetime(2024, 3, 1, tzinfo=UTC)
DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
DAYS = DAILY.get_partition_keys(current_time=NOW)
MULTI = MultiPartitionsDefinition(
    {"date": DAILY, "region": StaticPartitionsDefinition(["a", "b", "c"])}
)
MULTI_KEYS = MULTI.get_partition_keys(current_time=NOW)


def definitions():
    return st.sampled_from([(STATIC, KEYS), (DAILY, DAYS), (MULTI, MULTI_KEYS)])


@st.composite
def subset_pairs(draw):
    definition, keys = draw(definitions())
    left = draw(st.sets(st.sampled_from(keys), max_size=30))
    right = draw(st.sets(st.sampled_from(keys), max_size=30))
    return definition, keys, left, right


def subset(definition, keys):
    return definition.subset_with_partition_keys(keys, current_time=NOW)


@settings(max_examples=150, deadline=None)
@given(subset_pairs())
def test_subset_algebra_behaves_like_sets_of_keys(pair):
    definition, all_keys, left, right = pair
    a, b = subset(definition, left), subset(definition, right)
    assert set((a | b).get_partition_keys()) == left | right
    assert set((a & b).get_partition_keys()) == left & right
    assert set((a - b).get_partition_keys()) == left - right
    assert len(a) == len(left)
    assert all((key in a) == (key in left) for key in all_keys[:50])
    assert list(a) == a.get_partition_keys()
    assert a | b == b | a
    assert (a & b) | (a - b) == a
    assert a - (a - b) == a & b
    rebuilt = definition.empty_subset(current_time=NOW)
    for key_range in a.get_partition_key_ranges():
        rebuilt = rebuilt.with_partition_key_range(key_range)
    assert rebuilt == a


@settings(max_examples=60, deadline=None)
@given(definitions(), st.data())
def test_chunks_and_slices_keep_order(definition_keys, data):
    definition, keys = definition_keys
    chosen = data.draw(st.sets(st.sampled_from(keys), max_size=40))
    size = data.draw(st.integers(min_value=1, max_value=7))
    whole = subset(definition, chosen)
    chunks = whole.chunks(size)
    assert [k for c in chunks for k in c.get_partition_keys()] == whole.get_partition_keys()
    assert all(len(c) == size for c in chunks[:-1])
    assert whole.slice(1, 4).get_partition_keys() == whole.get_partition_keys()[1:4]


def test_all_partitions_of_a_long_daily_definition_is_one_range():
    daily = DailyPartitionsDefinition(start_date="1970-01-01", end_date="2100-01-01")
    everything = daily.subset_with_all_partitions()
    assert everything.ranges == ((0, 47482),)
    assert len(everything) == 47482
    assert "2099-12-31" in everything
    assert "2100-01-01" not in everything
    assert "garbage" not in everything
    chunks = everything.chunks(100)
    assert (len(chunks), len(chunks[-1])) == (475, 82)
    assert chunks[-1].get_partition_keys()[-1] == "2099-12-31"


def test_many_dynamic_keys_are_counted_without_being_listed():
    keys = [f"c{i}" for i in range(200_000)]
    store = InMemoryDynamicPartitionsStore({"customers": keys})
    customers = DynamicPartitionsDefinition(name="customers")
    everything = customers.subset_with_all_partitions(dynamic_partitions_store=store)
    some = customers.subset_with_partition_keys(
        ["c5", "c6", "c199999"], dynamic_partitions_store=store
    )
    assert len(everything) == 200_000
    assert (everything & some).ranges == ((5, 7), (199999, 200000))
    assert len(everything - some) == 199_997
    assert len(everything.chunks(20_000)) == 10


def test_subsets_of_a_dynamic_definition_read_at_different_times_combine_by_key():
    store = InMemoryDynamicPartitionsStore({"customers": ["a", "b", "c"]})
    customers = DynamicPartitionsDefinition(name="customers")
    before = customers.subset_with_partition_keys(["b", "c"], dynamic_partitions_store=store)
    store.delete_dynamic_partition("customers", "a")
    after = customers.subset_with_partition_keys(["c"], dynamic_partitions_store=store)
    assert (after | before).get_partition_keys() == ["b", "c"]
    assert (before - after).get_partition_keys() == ["b"]


def test_an_empty_dynamic_subset_needs_no_store_to_be_combined():
    store = InMemoryDynamicPartitionsStore({"customers": ["a", "b"]})
    customers = DynamicPartitionsDefinition(name="customers")
    some = customers.subset_with_partition_keys(["b"], dynamic_partitions_store=store)
    empty = PartitionsSubset(
        customers.resolve(dynamic_partitions_store=InMemoryDynamicPartitionsStore())
    )
    assert (empty | some).get_partition_keys() == ["b"]


def test_subsets_of_different_definitions_do_not_mix():
    days = subset(DAILY, ["2024-01-02"])
    with pytest.raises(PartitionError, match="map one onto the other"):
        _ = days | subset(STATIC, ["k01"])
    with pytest.raises(PartitionError, match="cannot take a key range"):
        days.with_partition_key_range(PartitionKeyRange("k01", "k02"), STATIC)


def test_subset_keys_must_exist():
    with pytest.raises(PartitionError, match="outside the time range"):
        subset(DAILY, ["2024-03-01"])
    with pytest.raises(PartitionError, match="ends before it starts"):
        DAILY.subset_with_partition_key_range(
            PartitionKeyRange("2024-01-05", "2024-01-02"), current_time=NOW
        )
