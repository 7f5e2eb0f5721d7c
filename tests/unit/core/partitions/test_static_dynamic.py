import pytest

from arco_flow.core.errors import DefinitionError, PartitionError
from arco_flow.core.partitions import (
    DynamicPartitionsDefinition,
    DynamicPartitionsStore,
    InMemoryDynamicPartitionsStore,
    PartitionKeyRange,
    StaticPartitionsDefinition,
)


def test_static_keys_keep_their_order():
    static = StaticPartitionsDefinition(["b", "a", "c"])
    assert static.get_partition_keys() == ["b", "a", "c"]
    assert static.get_num_partitions() == 3
    assert static.has_partition_key("a")
    assert not static.has_partition_key("z")
    assert static.get_partition_keys_in_range(PartitionKeyRange("a", "c")) == ["a", "c"]


def test_static_definitions_compare_by_keys():
    assert StaticPartitionsDefinition(["a", "b"]) == StaticPartitionsDefinition(("a", "b"))
    assert StaticPartitionsDefinition(["a", "b"]) != StaticPartitionsDefinition(["b", "a"])


def test_unknown_static_key_names_the_definition_and_the_closest_key():
    regions = StaticPartitionsDefinition([f"region-{i}" for i in range(10)])
    with pytest.raises(PartitionError) as caught:
        regions.validate_partition_key("regoin-3")
    message = str(caught.value)
    assert "StaticPartitionsDefinition(['region-0'" in message
    assert "Did you mean 'region-3'?" in message
    assert caught.value.code == "ARCO450"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (["a", "a", "b"], "duplicate keys"),
        (["a...b"], "contains '...'"),
        (["ok", 3], "is not a string"),
        ("abc", "takes a list"),
    ],
)
def test_invalid_static_keys_are_rejected(keys, message):
    with pytest.raises(DefinitionError, match=message):
        StaticPartitionsDefinition(keys)


def test_dynamic_keys_come_from_the_store():
    store = InMemoryDynamicPartitionsStore({"customers": ["acme", "globex"]})
    assert isinstance(store, DynamicPartitionsStore)
    customers = DynamicPartitionsDefinition(name="customers")
    assert customers.get_partition_keys(dynamic_partitions_store=store) == ["acme", "globex"]
    store.add_dynamic_partitions("customers", ["initech", "acme"])
    assert customers.get_num_partitions(dynamic_partitions_store=store) == 3
    store.delete_dynamic_partition("customers", "globex")
    assert customers.get_partition_keys(dynamic_partitions_store=store) == ["acme", "initech"]
    assert store.has_dynamic_partition("customers", "acme")


def test_a_key_list_handed_out_never_changes():
    store = InMemoryDynamicPartitionsStore({"customers": ["acme"]})
    before = store.get_dynamic_partitions("customers")
    store.add_dynamic_partitions("customers", ["globex"])
    assert list(before) == ["acme"]


def test_dynamic_partitions_need_a_store():
    with pytest.raises(PartitionError, match="pass dynamic_partitions_store="):
        DynamicPartitionsDefinition(name="customers").get_partition_keys()


def test_unknown_dynamic_key_says_how_to_add_it():
    store = InMemoryDynamicPartitionsStore({"customers": ["acme"]})
    customers = DynamicPartitionsDefinition(name="customers")
    with pytest.raises(PartitionError, match=r"add_dynamic_partitions\('customers'"):
        customers.subset_with_partition_keys(["acme", "initech"], dynamic_partitions_store=store)


@pytest.mark.parametrize("kwargs", [{}, {"name": ""}, {"partition_fn": lambda _: []}])
def test_a_dynamic_definition_needs_a_name(kwargs):
    with pytest.raises(DefinitionError):
        DynamicPartitionsDefinition(**kwargs)


class CopyingStore:
    """A store that hands out a new list on every call, as a database-backed one does."""

    def __init__(self, keys, as_tuple=False):
        self.keys, self.as_tuple = keys, as_tuple

    def get_dynamic_partitions(self, partitions_def_name):
        return tuple(self.keys) if self.as_tuple else list(self.keys)

    def has_dynamic_partition(self, partitions_def_name, partition_key):
        return partition_key in self.keys


def test_many_lookups_build_a_key_index_and_few_scan_the_list():
    keys = [f"k{i}" for i in range(50)]
    customers = DynamicPartitionsDefinition(name="customers")
    store = InMemoryDynamicPartitionsStore({"customers": keys})
    few = customers.subset_with_partition_keys(["k3", "k4"], dynamic_partitions_store=store)
    many = customers.subset_with_partition_keys(keys[10:30], dynamic_partitions_store=store)
    assert (few.ranges, many.ranges) == (((3, 5),), ((10, 30),))
    space = many.space
    assert space.index_of("k40") == 40
    with pytest.raises(PartitionError, match=r"\['k1'\] is not a partition"):
        space.index_of(["k1"])


def test_subsets_read_from_equal_key_lists_line_up():
    customers = DynamicPartitionsDefinition(name="customers")
    keys = ["acme", "globex", "initech"]
    lists, tuples = CopyingStore(keys), CopyingStore(keys, as_tuple=True)
    a = customers.subset_with_partition_keys(["acme"], dynamic_partitions_store=lists)
    b = customers.subset_with_partition_keys(["globex"], dynamic_partitions_store=lists)
    c = customers.subset_with_partition_keys(["initech"], dynamic_partitions_store=tuples)
    assert a.space is not b.space
    assert (a | b | c).ranges == ((0, 3),)


def test_key_ranges_and_time_windows_unpack_like_dagsters_named_tuples():
    from datetime import datetime

    from arco_flow.core.partitions import PartitionKeyRange, TimeWindow

    start, end = PartitionKeyRange("a", "c")
    assert (start, end) == ("a", "c")
    window_start, window_end = TimeWindow(datetime(2024, 1, 1), datetime(2024, 1, 2))
    assert window_end - window_start == datetime(2024, 1, 2) - datetime(2024, 1, 1)
