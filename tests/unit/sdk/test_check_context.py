"""`build_asset_check_context`: calling a check body directly, as in Dagster's tests."""

from __future__ import annotations

import pytest

import arco_flow as af


class Threshold(af.ConfigurableResource):
    minimum: int = 0


@af.asset
def orders():
    return [1, 2]


@af.asset_check(asset=orders, required_resource_keys={"threshold"})
def above(context: af.AssetCheckExecutionContext, orders):
    minimum = context.resources.threshold.minimum
    context.log.info("checking %s rows", len(orders))
    return af.AssetCheckResult(passed=min(orders) > minimum, metadata={"run": context.run_id})


def test_a_check_body_taking_a_context_can_be_called_directly():
    context = af.build_asset_check_context(resources={"threshold": Threshold(minimum=1)})

    result = above(context, [2, 3])

    assert result.passed
    assert isinstance(context, af.AssetCheckExecutionContext)
    assert (
        above(af.build_asset_check_context(resources={"threshold": Threshold()}), [-1]).passed
        is False
    )


def test_the_context_carries_instance_config_specs_and_partition():
    spec = af.AssetCheckSpec("positive", asset="orders")
    marker = object()
    context = af.build_asset_check_context(
        instance=marker,
        asset_config={"limit": 3},
        check_specs=[spec],
        partition_key="2024-01-01",
    )
    assert context.instance is marker
    assert context.op_config == {"limit": 3}
    assert context.check_specs == [spec]
    assert set(context.selected_asset_check_keys) == {spec.key}
    assert context.partition_key == "2024-01-01"


def test_resources_config_is_refused_with_the_fix():
    with pytest.raises(af.DefinitionError, match="pass them as resources"):
        af.build_asset_check_context(resources_config={"threshold": {"config": {"minimum": 1}}})
