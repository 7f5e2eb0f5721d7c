"""`quarantine_on_failed_check`: what a definition needs, refused at definition time."""

from __future__ import annotations

from typing import Any

import pytest

import arco_flow as af
from arco_flow.sdk.io_managers import supports_quarantine

BLOCKING = [af.AssetCheckSpec("positive", asset="orders", blocking=True)]


class PlainIOManager(af.IOManager):
    def handle_output(self, context: Any, obj: Any) -> None:
        pass

    def load_input(self, context: Any) -> Any:
        return None


def orders_asset(check_specs=None):
    @af.asset(check_specs=check_specs, quarantine_on_failed_check=True)
    def orders():
        return [1]

    return orders


def test_the_flag_is_on_the_spec_and_on_asset_out():
    assert orders_asset(BLOCKING).specs[0].quarantine_on_failed_check

    @af.multi_asset(outs={"a": af.AssetOut(quarantine_on_failed_check=True), "b": af.AssetOut()})
    def both():
        return 1, 2

    assert [spec.quarantine_on_failed_check for spec in both.specs] == [True, False]


def test_an_asset_without_a_blocking_check_is_refused():
    defs = af.Definitions(assets=[orders_asset()])
    with pytest.raises(af.DefinitionsValidationError, match="has no blocking check"):
        defs.validate()


def test_a_standalone_blocking_check_is_enough():
    orders = orders_asset()

    @af.asset_check(asset=orders, blocking=True)
    def late(orders):
        return af.AssetCheckResult(passed=True)

    af.Definitions(assets=[orders], asset_checks=[late]).validate()


def test_a_standalone_non_blocking_check_is_not_enough():
    orders = orders_asset()

    @af.asset_check(asset=orders)
    def late(orders):
        return af.AssetCheckResult(passed=True)

    defs = af.Definitions(assets=[orders], asset_checks=[late])
    with pytest.raises(af.DefinitionsValidationError, match="has no blocking check"):
        defs.validate()


def test_an_io_manager_without_quarantine_support_is_refused():
    defs = af.Definitions(
        assets=[orders_asset(BLOCKING)], resources={"io_manager": PlainIOManager()}
    )
    with pytest.raises(af.DefinitionsValidationError, match="cannot keep values in quarantine"):
        defs.validate()


def test_the_built_in_io_managers_support_quarantine():
    assert supports_quarantine(af.InMemoryIOManager())
    assert supports_quarantine(af.FilesystemIOManager(base_dir="unused"))
    assert not supports_quarantine(PlainIOManager())
    af.Definitions(assets=[orders_asset(BLOCKING)]).validate()


def test_a_quarantined_output_context_names_a_location_apart():
    context = af.OutputContext(asset_key=af.AssetKey(["a", "b"]), run_id="r1", quarantine=True)
    assert context.get_asset_identifier() == ["_quarantine", "r1", "a", "b"]
    normal = af.OutputContext(asset_key=af.AssetKey(["a", "b"]), run_id="r1", partition_key="p")
    assert normal.get_asset_identifier() == ["a", "b", "p"]
