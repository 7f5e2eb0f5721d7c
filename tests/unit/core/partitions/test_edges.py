"""Contracts of the base classes and the less travelled paths of subsets, spaces and codecs."""

from datetime import UTC, date, datetime

import pytest

from arco_flow.core.errors import DefinitionError, PartitionError
from arco_flow.core.partitions import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    InMemoryDynamicPartitionsStore,
    KeySpace,
    MultiPartitionsDefinition,
    PartitionKeyRange,
    PartitionsDefinition,
    PartitionsSubset,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
    partition_mapping_to_data,
    partitions_def_to_data,
)
from arco_flow.core.partitions._cron import parse_cron
from arco_flow.core.partitions._mapping import PartitionMapping
from arco_flow.core.partitions._ranges import chunk_ranges, index_at_position
from arco_flow.core.partitions._ticks import WallDateTicks

NOW = datetime(2024, 1, 20, tzinfo=UTC)
LETTERS = StaticPartitionsDefinition(["a", "b", "c", "d", "e", "f"])


def test_base_classes_leave_their_core_to_subclasses():
    with pytest.raises(NotImplementedError):
        PartitionsDefinition().resolve()
    with pytest.raises(NotImplementedError):
        PartitionsDefinition()._identity()
    space = KeySpace(LETTERS, None)
    for call in (
        space.all_ranges,
        lambda: space.key_at(0),
        lambda: space.index_of("a"),
        lambda: space.same_indexing(space),
    ):
        with pytest.raises(NotImplementedError):
            call()

    class Letters(KeySpace):
        def key_at(self, index):
            return "abc"[index]

    assert Letters(LETTERS, None).keys_in(((0, 2),)) == ["a", "b"]
    ticks = WallDateTicks(UTC, 0, 0)
    with pytest.raises(NotImplementedError):
        ticks.day_of(0)
    with pytest.raises(NotImplementedError):
        ticks.ordinal_of_day(date(2024, 1, 1))


def test_subsets_behave_as_values():
    some = LETTERS.subset_with_partition_keys(["a", "c", "e", "f"])
    assert some == LETTERS.subset_with_partition_keys(["f", "e", "c", "a"])
    assert some != LETTERS.subset_with_partition_keys(["a"])
    assert some != StaticPartitionsDefinition(["a", "c", "e", "f"]).subset_with_all_partitions()
    assert some != ["a", "c", "e", "f"]
    assert hash(some) == hash(LETTERS.subset_with_partition_keys(["a", "c", "e", "f"]))
    assert 3 not in some
    assert repr(some).endswith("4 partitions: 0..0, 2..2, 4..5)")
    eight = StaticPartitionsDefinition(list("abcdefgh"))
    assert "+1 ranges" in repr(eight.subset_with_partition_keys(["a", "c", "e", "g"]))
    assert some.with_partition_keys(["b"]).get_partition_keys() == ["a", "b", "c", "e", "f"]
    assert some.get_partition_key_ranges(LETTERS) == [
        PartitionKeyRange("a", "a"),
        PartitionKeyRange("c", "c"),
        PartitionKeyRange("e", "f"),
    ]
    with pytest.raises(PartitionError, match="has no key ranges in"):
        some.get_partition_key_ranges(StaticPartitionsDefinition(["a"]))


def test_list_spaces_reject_keys_that_are_not_strings():
    with pytest.raises(PartitionError, match=r"partition keys of .* are strings, got"):
        LETTERS.subset_with_partition_keys([["a"]])
    assert not LETTERS.resolve().same_indexing(DailyPartitionsDefinition("2024-01-01").resolve(NOW))


def test_key_ranges_are_two_strings():
    with pytest.raises(PartitionError, match="two partition key strings"):
        PartitionKeyRange("a", 3)


def test_cron_edge_cases():
    assert not parse_cron("0 0 * 2 *").matches_date(date(2024, 3, 1))
    with pytest.raises(ValueError, match="is a string"):
        parse_cron(5)


def test_non_default_formats_are_written_by_strftime():
    weekly = WeeklyPartitionsDefinition(start_date="2024/01/01", fmt="%Y/%m/%d")
    assert weekly.get_partition_keys(current_time=NOW) == ["2024/01/07"]
    hourly = TimeWindowPartitionsDefinition(
        start="2024-01-01T00", fmt="%Y-%m-%dT%H", cron_schedule="0 * * * *"
    )
    assert hourly.get_partition_keys(current_time=datetime(2024, 1, 1, 2, tzinfo=UTC)) == [
        "2024-01-01T00",
        "2024-01-01T01",
    ]


def test_an_iterated_schedule_answers_for_times_before_its_start():
    business = TimeWindowPartitionsDefinition(
        start="2024-01-10", fmt="%Y-%m-%d", cron_schedule="0 0 * * 1-5"
    )
    before = datetime(2024, 1, 6, 12, tzinfo=UTC).timestamp()
    assert business.get_partition_key_for_timestamp(before) == "2024-01-05"
    assert business.time_window_for_partition_key("2024-01-05").end == datetime(
        2024, 1, 8, tzinfo=UTC
    )


def test_dynamic_subsets_from_different_key_lists_rebase_in_a_multi_definition():
    store = InMemoryDynamicPartitionsStore({"customers": ["acme", "globex", "initech"]})
    multi = MultiPartitionsDefinition(
        {"customer": DynamicPartitionsDefinition(name="customers"), "tier": LETTERS}
    )
    before = multi.subset_with_partition_keys(
        ["globex|b", "initech|c"], dynamic_partitions_store=store
    )
    store.delete_dynamic_partition("customers", "acme")
    after = multi.subset_with_partition_keys(["initech|a"], dynamic_partitions_store=store)
    assert sorted((after | before).get_partition_keys()) == ["globex|b", "initech|a", "initech|c"]
    assert multi.resolve(dynamic_partitions_store=store).product((), ((0, 1),)) == ()


def test_an_inner_time_dimension_must_exist_for_a_product_index():
    both_times = MultiPartitionsDefinition(
        {"a": DailyPartitionsDefinition("2024-01-01"), "b": DailyPartitionsDefinition("2024-01-01")}
    )
    space = both_times.resolve(NOW)
    with pytest.raises(PartitionError, match="'b' key does not exist yet"):
        space.index_of("2024-01-02|2024-03-01", existing=False)


def test_multi_definition_lookups():
    multi = MultiPartitionsDefinition({"x": LETTERS, "y": StaticPartitionsDefinition(["1"])})
    with pytest.raises(PartitionError, match="has no dimension 'z'"):
        multi.get_partitions_def_for_dimension("z")
    with pytest.raises(PartitionError, match="exactly one time-window dimension"):
        _ = multi.time_window_dimension
    with pytest.raises(PartitionError, match="one key for each of the dimensions"):
        multi.get_partition_key_from_str("a")
    with pytest.raises(DefinitionError, match="is not a non-empty string without"):
        MultiPartitionsDefinition({"x|y": LETTERS, "z": LETTERS})


def test_codecs_refuse_what_they_cannot_write():
    class Custom(PartitionsDefinition):
        pass

    class CustomMapping(PartitionMapping):
        def validate_partition_mapping(self, upstream_partitions_def, downstream_partitions_def):
            pass

        def get_upstream_mapped_partitions_result_for_partitions(self, *args, **kwargs):
            raise NotImplementedError

        def get_downstream_partitions_for_partitions(self, *args, **kwargs):
            raise NotImplementedError

    with pytest.raises(PartitionError, match="has no data form"):
        partitions_def_to_data(Custom())
    with pytest.raises(PartitionError, match="not a built-in partition mapping"):
        partition_mapping_to_data(CustomMapping())


def test_an_empty_subset_of_nothing():
    assert PartitionsSubset(LETTERS.resolve()).is_empty


def test_range_helpers_refuse_impossible_requests():
    with pytest.raises(IndexError):
        index_at_position(((0, 2),), 2)
    with pytest.raises(IndexError):
        index_at_position(((0, 2),), -1)
    with pytest.raises(ValueError, match="at least 1"):
        chunk_ranges(((0, 2),), 0)


def test_definitions_cannot_be_changed_or_compared_to_other_things():
    daily = DailyPartitionsDefinition("2024-01-01")
    with pytest.raises(AttributeError, match="immutable"):
        del daily.fmt
    assert daily != "2024-01-01"
    assert hash(StaticPartitionMapping({"a": "x"})) == hash(StaticPartitionMapping({"a": ["x"]}))


def test_a_yearly_schedule_iterates():
    yearly = TimeWindowPartitionsDefinition(start="2020", fmt="%Y", cron_schedule="@yearly")
    assert yearly.get_partition_keys(current_time=NOW) == ["2020", "2021", "2022", "2023"]
