"""`automation_condition=` on `@asset`, `@multi_asset` outputs and `AssetSpec`: written into
the manifest in its data form, and read back from there."""

from __future__ import annotations

import pytest

import arco_flow as af
from arco_flow.core.automation import AutomationCondition, condition_from_data
from arco_flow.core.keys import AssetKey

EAGER = AutomationCondition.eager()
HOURLY = AutomationCondition.on_cron("0 * * * *")


def _conditions(defs: af.Definitions) -> dict[str, AutomationCondition | None]:
    return {
        asset.key.to_user_string(): (
            condition_from_data(asset.automation_condition)
            if asset.automation_condition is not None
            else None
        )
        for asset in defs.manifest.assets
    }


def test_asset_multi_asset_and_spec_write_their_condition_into_the_manifest() -> None:
    @af.asset(automation_condition=EAGER)
    def single() -> int:
        return 1

    @af.multi_asset(
        outs={
            "first": af.AssetOut(automation_condition=HOURLY),
            "second": af.AssetOut(),
        }
    )
    def pair() -> tuple[int, int]:
        return 1, 2

    @af.multi_asset(specs=[af.AssetSpec("third", automation_condition=EAGER)])
    def from_specs() -> None:
        return None

    external = af.AssetSpec("outside", automation_condition=AutomationCondition.on_missing())
    defs = af.Definitions(assets=[single, pair, from_specs, external])
    assert _conditions(defs) == {
        "single": EAGER,
        "first": HOURLY,
        "second": None,
        "third": EAGER,
        "outside": AutomationCondition.on_missing(),
    }


def test_a_condition_that_is_not_one_is_refused() -> None:
    spec = af.AssetSpec("oops", automation_condition=lambda: True)
    with pytest.raises(af.DefinitionError, match=r"'oops'.*AutomationCondition\.eager"):
        af.Definitions(assets=[spec]).manifest  # noqa: B018


def test_the_evaluator_reads_the_manifest_conditions() -> None:
    @af.asset
    def source() -> int:
        return 1

    @af.asset(automation_condition=EAGER)
    def derived(source: int) -> int:
        return source

    defs = af.Definitions(assets=[source, derived])
    with af.ArcoInstance.ephemeral() as instance:
        first = af.evaluate_automation_conditions(defs, instance)
        assert [r.key for r in first.results] == [AssetKey("derived")]
        af.materialize([source], instance=instance)
        after = af.evaluate_automation_conditions(defs, instance, cursor=first.cursor)
        assert after.get_num_requested("derived") == 1
