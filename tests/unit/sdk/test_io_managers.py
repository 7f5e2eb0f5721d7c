"""IO manager contexts over partitions, and the in-memory IO manager."""

import datetime

import pytest

import arco_flow as af
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import (
    DailyPartitionsDefinition,
    PartitionKeyRange,
    StaticPartitionsDefinition,
)
from arco_flow.sdk.io_managers import values_by_partition
from arco_flow.sdk.partition_scope import PartitionScope

DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
KEY = AssetKey("prices")


def range_output(start="2024-01-02", end="2024-01-04", definition=DAILY):
    scope = PartitionScope.for_range(definition, PartitionKeyRange(start, end))
    return af.OutputContext(asset_key=KEY, partition_scope=scope)


def test_an_output_context_over_a_range_describes_every_partition():
    context = range_output()
    assert context.has_asset_partitions
    assert not context.has_partition_key
    assert context.asset_partition_keys == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert context.asset_partition_key_range == PartitionKeyRange("2024-01-02", "2024-01-04")
    window = context.asset_partitions_time_window
    assert window.start == datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)
    assert window.end == datetime.datetime(2024, 1, 5, tzinfo=datetime.UTC)
    with pytest.raises(af.ArcoError, match="covers 3 partitions"):
        _ = context.asset_partition_key
    with pytest.raises(af.ArcoError, match="one identifier per partition"):
        context.get_asset_identifier()


def test_an_output_context_of_one_partition_is_a_one_key_range():
    context = af.OutputContext(
        asset_key=KEY, partition_scope=PartitionScope(DAILY, key="2024-01-02")
    )
    assert context.has_partition_key
    assert context.has_asset_partitions
    assert context.asset_partition_key == "2024-01-02"
    assert context.asset_partition_keys == ["2024-01-02"]
    assert context.asset_partition_key_range == PartitionKeyRange("2024-01-02", "2024-01-02")
    assert context.asset_partitions_time_window.end == datetime.datetime(
        2024, 1, 3, tzinfo=datetime.UTC
    )
    assert context.get_asset_identifier() == ["prices", "2024-01-02"]


def test_an_unpartitioned_context_has_no_partitions():
    context = af.OutputContext(asset_key=KEY)
    assert not context.has_asset_partitions
    with pytest.raises(af.ArcoError, match="has no partition"):
        _ = context.asset_partition_keys


def test_a_static_range_has_no_time_window():
    letters = StaticPartitionsDefinition(["a", "b", "c"])
    context = range_output("a", "c", letters)
    assert context.asset_partition_keys == ["a", "b", "c"]
    with pytest.raises(af.DefinitionError, match="not partitioned by time"):
        _ = context.asset_partitions_time_window


def test_values_by_partition_takes_exactly_the_range_keys():
    context = range_output()
    value = {"2024-01-04": 3, "2024-01-02": 1, "2024-01-03": 2}
    assert list(values_by_partition(context, value)) == ["2024-01-02", "2024-01-03", "2024-01-04"]
    with pytest.raises(af.DefinitionError, match="got list"):
        values_by_partition(context, [1, 2, 3])
    with pytest.raises(af.DefinitionError, match=r"missing 1: '2024-01-04'; extra 1: 'x'"):
        values_by_partition(context, {"2024-01-02": 1, "2024-01-03": 2, "x": 0})


def test_the_in_memory_manager_stores_a_range_per_partition_and_loads_it_back():
    manager = af.InMemoryIOManager()
    output = range_output()
    manager.handle_output(output, {"2024-01-02": 1, "2024-01-03": 2, "2024-01-04": 3})
    single = af.InputContext(
        name="prices",
        asset_key=KEY,
        upstream_output=af.OutputContext(asset_key=KEY, partition_key="2024-01-03"),
        partition_key="2024-01-03",
    )
    assert manager.load_input(single) == 2
    several = af.InputContext(
        name="prices",
        asset_key=KEY,
        upstream_output=output,
        partition_scope=PartitionScope.for_range(
            DAILY, PartitionKeyRange("2024-01-03", "2024-01-04")
        ),
    )
    assert several.asset_partition_keys == ["2024-01-03", "2024-01-04"]
    assert manager.load_input(several) == {"2024-01-03": 2, "2024-01-04": 3}


def test_the_filesystem_manager_loads_a_range_input_as_a_dict(tmp_path):
    manager = af.FilesystemIOManager(base_dir=str(tmp_path))
    output = range_output()
    manager.handle_output(output, {"2024-01-02": 1, "2024-01-03": 2, "2024-01-04": 3})
    assert output.consume_added_metadata() == {"path": str(tmp_path / "prices")}
    several = af.InputContext(
        name="prices",
        asset_key=KEY,
        upstream_output=output,
        partition_scope=PartitionScope.for_range(
            DAILY, PartitionKeyRange("2024-01-02", "2024-01-03")
        ),
    )
    assert manager.load_input(several) == {"2024-01-02": 1, "2024-01-03": 2}


def test_build_asset_context_takes_a_partition_key_range():
    context = af.build_asset_context(
        partition_key_range=PartitionKeyRange("2024-01-02", "2024-01-03"), partitions_def=DAILY
    )
    assert context.partition_keys == ["2024-01-02", "2024-01-03"]
    assert context.has_partition_key_range
    with pytest.raises(af.DefinitionError, match="needs partitions_def="):
        af.build_asset_context(partition_key_range=PartitionKeyRange("a", "b"))
    with pytest.raises(af.DefinitionError, match="not both"):
        af.build_asset_context(partition_key="a", partition_key_range=PartitionKeyRange("a", "b"))
