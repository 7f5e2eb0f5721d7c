"""The dynamic keys a run reads: which definitions a node uses, the snapshot, unknown keys."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import arco_flow as af
from arco_flow.core.errors import ExecutionError, PartitionError
from arco_flow.core.partitions import DynamicPartitionsStore
from arco_flow.sdk.context import AssetExecutionContext, InstanceUnavailable
from arco_flow.sdk.dynamic_partitions import (
    DynamicPartitionsSnapshot,
    dynamic_names_by_node,
    dynamic_partitions_names,
    read_dynamic_partitions,
    unknown_dynamic_keys,
)

CUSTOMERS = af.DynamicPartitionsDefinition(name="customers")
SHOPS = af.DynamicPartitionsDefinition(name="shops")
REGIONS = af.StaticPartitionsDefinition(["eu", "us"])
BY_REGION = af.MultiPartitionsDefinition({"customer": CUSTOMERS, "region": REGIONS})
DAILY = af.DailyPartitionsDefinition(start_date="2024-01-01")

keys = st.text(alphabet="abcxyz-_", min_size=1, max_size=6)


def test_a_snapshot_is_a_dynamic_partitions_store_that_hands_out_one_tuple():
    snapshot = DynamicPartitionsSnapshot({"customers": ["a", "b"]})
    assert isinstance(snapshot, DynamicPartitionsStore)
    first = snapshot.get_dynamic_partitions("customers")
    assert first == ("a", "b")
    assert snapshot.get_dynamic_partitions("customers") is first
    assert snapshot.has_dynamic_partition("customers", "b")
    assert not snapshot.has_dynamic_partition("customers", "c")


def test_a_snapshot_refuses_a_name_the_run_did_not_read():
    snapshot = DynamicPartitionsSnapshot({"customers": ["a"]})
    with pytest.raises(
        PartitionError, match=r"did not read the keys of dynamic partitions 'shops'"
    ):
        snapshot.get_dynamic_partitions("shops")


def test_merging_keeps_the_keys_a_snapshot_has_and_adds_the_others():
    snapshot = DynamicPartitionsSnapshot({"customers": ("a",)})
    assert snapshot.merged({"customers": ("a",)}) is snapshot
    merged = snapshot.merged({"customers": ("z",), "shops": ("s",)})
    assert merged.keys_by_name == {"customers": ("a",), "shops": ("s",)}


def test_definition_names_are_found_in_dynamic_and_multi_definitions_only():
    assert dynamic_partitions_names(CUSTOMERS) == ("customers",)
    assert dynamic_partitions_names(BY_REGION) == ("customers",)
    assert dynamic_partitions_names(REGIONS) == ()
    assert dynamic_partitions_names(DAILY) == ()
    assert dynamic_partitions_names(None) == ()


def test_a_node_uses_its_own_dynamic_definitions_and_those_of_its_inputs():
    @af.asset(partitions_def=BY_REGION)
    def sales():
        return 1

    @af.asset(partitions_def=SHOPS)
    def shop_orders():
        return 1

    @af.asset(partitions_def=CUSTOMERS)
    def report(sales, shop_orders):
        return 1

    @af.asset
    def plain():
        return 1

    defs = af.Definitions(assets=[sales, shop_orders, report, plain])
    found = dynamic_names_by_node(defs, ["sales", "report", "plain"])
    assert found == {"sales": ("customers",), "report": ("customers", "shops")}


def test_reading_a_store_takes_each_name_once():
    class Store:
        def __init__(self):
            self.read = []

        def get_dynamic_partitions(self, name):
            self.read.append(name)
            return [f"{name}-1"]

        def has_dynamic_partition(self, name, key):
            raise AssertionError("not used")

    store = Store()
    snapshot = read_dynamic_partitions(store, ["shops", "customers", "shops"])
    assert snapshot.keys_by_name == {"customers": ("customers-1",), "shops": ("shops-1",)}
    assert sorted(store.read) == ["customers", "shops"]


@given(
    known=st.lists(keys, unique=True, max_size=5), key=keys, region=st.sampled_from(["eu", "us"])
)
def test_the_unknown_dynamic_part_of_a_key_is_the_one_the_snapshot_lacks(known, key, region):
    snapshot = DynamicPartitionsSnapshot({"customers": known})
    expected = [] if key in known else [("customers", key)]
    assert unknown_dynamic_keys(CUSTOMERS, key, snapshot) == expected
    assert unknown_dynamic_keys(BY_REGION, f"{key}|{region}", snapshot) == expected
    assert unknown_dynamic_keys(BY_REGION, key, snapshot) == []
    assert unknown_dynamic_keys(REGIONS, key, snapshot) == []


def test_context_instance_raises_the_reason_where_there_is_none():
    context = AssetExecutionContext(
        run_id="r",
        node_name="orders",
        asset_keys=[af.AssetKey("orders")],
        instance=InstanceUnavailable("workers hold no store credentials"),
    )
    with pytest.raises(ExecutionError, match=r"'orders': workers hold no store credentials"):
        context.instance  # noqa: B018


def test_a_range_context_for_a_dynamic_definition_reads_the_instance_keys():
    store = DynamicPartitionsSnapshot({"customers": ["a", "b", "c"]})
    context = af.build_asset_context(
        partition_key_range=af.PartitionKeyRange("a", "c"),
        partitions_def=CUSTOMERS,
        instance=store,
    )
    assert context.partition_keys == ["a", "b", "c"]
