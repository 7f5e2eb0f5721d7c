"""What a run may select of its checks: subsets of multi-checks, partitions of checked assets."""

from __future__ import annotations

import pytest

import arco_flow as af
from arco_flow.core.errors import PartitionError, PlanError

PARTITIONS = af.StaticPartitionsDefinition(["a", "b"])


@af.asset
def orders():
    return [1, 2]


@af.asset
def customers():
    return ["x"]


@af.asset(partitions_def=PARTITIONS)
def events():
    return [1]


def multi_check(can_subset, seen):
    @af.multi_asset_check(
        specs=[
            af.AssetCheckSpec("orders_positive", asset="orders"),
            af.AssetCheckSpec("customers_named", asset="customers"),
        ],
        can_subset=can_subset,
    )
    def both(context: af.AssetCheckExecutionContext):
        seen.append(set(context.selected_asset_check_keys))
        for key in context.selected_asset_check_keys:
            yield af.AssetCheckResult(asset_key=key.asset_key, check_name=key.name, passed=True)

    return both


def run(definitions, **kwargs):
    return af.materialize(definitions, resources={"io_manager": af.InMemoryIOManager()}, **kwargs)


def test_a_multi_check_that_cannot_be_subset_is_refused_when_partly_selected():
    check = multi_check(False, [])
    selection = af.AssetSelection.checks(af.AssetCheckKey(af.AssetKey("orders"), "orders_positive"))

    with pytest.raises(PlanError) as raised:
        run(
            [orders, customers, check],
            selection=af.AssetSelection.all().without_checks() | selection,
        )

    message = str(raised.value)
    assert "multi_asset_check 'both' cannot evaluate part of its checks" in message
    assert "customers:customers_named is not selected" in message
    assert "can_subset=True" in message


def test_a_multi_check_that_cannot_be_subset_runs_whole():
    seen = []
    result = run([orders, customers, multi_check(False, seen)])
    assert result.success
    assert seen == [
        {
            af.AssetCheckKey(af.AssetKey("orders"), "orders_positive"),
            af.AssetCheckKey(af.AssetKey("customers"), "customers_named"),
        }
    ]


def test_a_subsettable_multi_check_sees_only_the_selected_checks():
    seen = []
    key = af.AssetCheckKey(af.AssetKey("orders"), "orders_positive")
    selection = af.AssetSelection.all().without_checks() | af.AssetSelection.checks(key)

    result = run([orders, customers, multi_check(True, seen)], selection=selection)

    assert result.success
    assert seen == [{key}]


def test_a_check_of_a_partitioned_asset_in_an_unpartitioned_run_says_what_to_select():
    @af.asset_check(asset=events)
    def recent(events):
        return af.AssetCheckResult(passed=True)

    selection = af.AssetSelection.assets(orders) | af.AssetSelection.checks(recent)
    with pytest.raises(PartitionError) as raised:
        run([orders, events, recent], selection=selection)

    message = str(raised.value)
    assert "check 'events:recent' checks the partitioned asset 'events'" in message
    assert "for a partition key or range" in message


def test_a_check_of_an_unpartitioned_asset_in_a_partitioned_run_says_what_to_select():
    @af.asset_check(asset=orders)
    def positive(orders):
        return af.AssetCheckResult(passed=True)

    selection = af.AssetSelection.assets(events) | af.AssetSelection.checks(positive)
    with pytest.raises(PartitionError) as raised:
        run([orders, events, positive], selection=selection, partition_key="a")

    message = str(raised.value)
    assert "check 'orders:positive' checks the unpartitioned asset 'orders'" in message
    assert "partition 'a'" in message
    assert "without a partition" in message


def test_a_check_of_a_partitioned_asset_runs_with_the_partition():
    @af.asset_check(asset=events)
    def recent(context: af.AssetCheckExecutionContext, events):
        return af.AssetCheckResult(passed=context.partition_key == "b")

    result = run([events, recent], partition_key="b")
    assert result.success
