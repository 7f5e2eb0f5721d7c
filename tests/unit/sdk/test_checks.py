"""`@asset_check`, `@multi_asset_check`, `AssetCheckSpec`, `AssetCheckResult`, and their
validation in `Definitions`."""

from __future__ import annotations

import pytest

import arco_flow as af
from arco_flow.core.errors import DefinitionError, DefinitionsValidationError
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.sdk.checks import resolve_check_results


@af.asset
def orders() -> list[int]:
    return [1, 2]


@af.asset
def customers() -> list[str]:
    return ["a"]


def test_asset_check_binds_the_parameter_named_like_the_asset():
    @af.asset_check(asset=orders, blocking=True, description="no nulls")
    def no_nulls(context, orders):
        return af.AssetCheckResult(passed=True)

    assert no_nulls.check_key == AssetCheckKey("orders", "no_nulls")
    assert no_nulls.node_name == "orders_no_nulls"
    assert [(b.name, b.key) for b in no_nulls.inputs] == [("orders", AssetKey("orders"))]
    assert no_nulls.specs[0].blocking
    assert no_nulls.definition_problems == ()


def test_one_parameter_of_another_name_is_the_checked_asset_as_in_dagster():
    @af.asset_check(asset="orders")
    def positive(values):
        return af.AssetCheckResult(passed=min(values) > 0)

    assert [(b.name, b.key) for b in positive.inputs] == [("values", AssetKey("orders"))]


def test_additional_ins_load_other_assets():
    @af.asset_check(asset=orders, additional_ins={"people": af.AssetIn(key="customers")})
    def matches(orders, people):
        return af.AssetCheckResult(passed=True)

    assert {b.name: b.key for b in matches.inputs} == {
        "orders": AssetKey("orders"),
        "people": AssetKey("customers"),
    }
    assert matches.specs[0].additional_deps == (AssetKey("customers"),)


def test_additional_ins_naming_no_parameter_is_an_error():
    with pytest.raises(DefinitionError, match="additional_ins names 'other'"):

        @af.asset_check(asset=orders, additional_ins={"other": af.AssetIn(key="customers")})
        def check(orders):
            return af.AssetCheckResult(passed=True)


def test_asset_check_needs_its_asset():
    with pytest.raises(DefinitionError, match=r"@asset_check\(asset=my_asset\)"):

        @af.asset_check
        def check():
            return af.AssetCheckResult(passed=True)


def test_calling_a_check_definition_runs_its_body():
    @af.asset_check(asset=orders)
    def two_rows(orders):
        return af.AssetCheckResult(passed=len(orders) == 2)

    assert two_rows([1, 2]).passed
    assert not two_rows(orders=[1]).passed


def test_check_result_validates_its_fields():
    with pytest.raises(DefinitionError, match="passed must be True or False"):
        af.AssetCheckResult(passed=1)  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="AssetCheckSeverity"):
        af.AssetCheckResult(passed=True, severity="WARN")  # type: ignore[arg-type]
    assert af.AssetCheckResult(passed=True, asset_key="a/b").asset_key == AssetKey(["a", "b"])


def test_check_spec_names_must_be_identifiers():
    with pytest.raises(DefinitionError, match="letters, digits"):
        af.AssetCheckSpec("no nulls", asset="orders")


def test_multi_asset_check_declares_several_checks():
    @af.multi_asset_check(
        specs=[
            af.AssetCheckSpec("a", asset="orders"),
            af.AssetCheckSpec("b", asset="customers", blocking=True),
        ]
    )
    def several(orders, customers):
        yield af.AssetCheckResult(passed=True, check_name="a")
        yield af.AssetCheckResult(passed=False, check_name="b")

    assert several.check_keys == {AssetCheckKey("orders", "a"), AssetCheckKey("customers", "b")}
    assert {b.name for b in several.inputs} == {"orders", "customers"}
    with pytest.raises(DefinitionError, match="check_key"):
        _ = several.check_key


def test_asset_check_specs_must_target_the_assets_own_keys():
    with pytest.raises(DefinitionError, match="does not materialize"):

        @af.asset(check_specs=[af.AssetCheckSpec("x", asset="elsewhere")])
        def thing():
            return 1


def test_asset_check_specs_cannot_repeat_a_name():
    spec = af.AssetCheckSpec("x", asset="thing")
    with pytest.raises(DefinitionError, match="declared twice"):

        @af.asset(check_specs=[spec, spec])
        def thing():
            return 1


# -- Definitions ------------------------------------------------------------------------


def test_definitions_report_every_check_problem_at_once():
    @af.asset_check(asset="ordrs")
    def unknown():
        return af.AssetCheckResult(passed=True)

    @af.asset(check_specs=[af.AssetCheckSpec("dup", asset="thing")])
    def thing():
        return 1

    @af.asset_check(asset=thing, name="dup")
    def duplicate():
        return af.AssetCheckResult(passed=True)

    @af.asset_check(asset=orders)
    def unbound(orders, stray):
        return af.AssetCheckResult(passed=True)

    @af.asset_check(asset=orders, required_resource_keys={"warehouse"})
    def needs_db():
        return af.AssetCheckResult(passed=True)

    defs = af.Definitions(
        assets=[orders, thing], asset_checks=[unknown, duplicate, unbound, needs_db]
    )
    with pytest.raises(DefinitionsValidationError) as raised:
        defs.validate()
    text = str(raised.value)
    assert "targets asset 'ordrs', which is not defined. Did you mean 'orders'?" in text
    assert "asset check 'thing:dup' is defined twice" in text
    assert "parameter 'stray' matches neither the checked asset ('orders')" in text
    assert "requires resource 'warehouse'" in text


def test_a_check_reading_an_unknown_asset_is_a_problem():
    @af.asset_check(asset=orders, additional_deps=["custmers"])
    def joined():
        return af.AssetCheckResult(passed=True)

    problems = af.Definitions(assets=[orders, customers], asset_checks=[joined]).problems()
    assert any("reads asset 'custmers'" in p and "Did you mean 'customers'" in p for p in problems)


def test_definitions_reject_something_that_is_not_a_check():
    with pytest.raises(DefinitionError, match="not an asset check"):
        af.Definitions(assets=[orders], asset_checks=[orders])


def test_manifest_carries_in_asset_and_standalone_checks_sorted():
    @af.asset(check_specs=[af.AssetCheckSpec("ok", asset="thing", blocking=True)])
    def thing():
        return 1

    @af.asset_check(asset=orders, description="rows")
    def rows():
        return af.AssetCheckResult(passed=True)

    manifest = af.Definitions(assets=[orders, thing], asset_checks=[rows]).manifest
    assert [
        (c.asset_key.to_user_string(), c.name, c.node, c.blocking) for c in manifest.checks
    ] == [
        ("orders", "rows", "orders_rows", False),
        ("thing", "ok", "thing", True),
    ]
    assert manifest.checks[0].description == "rows"


def test_jobs_carry_the_checks_of_their_selection():
    @af.asset_check(asset=orders)
    def rows():
        return af.AssetCheckResult(passed=True)

    job = af.define_asset_job("orders_job", selection="key:orders")
    defs = af.Definitions(assets=[orders, customers], asset_checks=[rows], jobs=[job])
    assert defs.resolve_job_def("orders_job").check_keys == {rows.check_key}
    assert defs.resolve_implicit_global_asset_job_def().check_keys == {rows.check_key}
    assert defs.resolve_all_asset_check_keys() == [rows.check_key]


# -- results ----------------------------------------------------------------------------


SPECS = [af.AssetCheckSpec("a", asset="orders"), af.AssetCheckSpec("b", asset="orders")]
BOTH = [spec.key for spec in SPECS]


def test_results_pair_with_their_specs_by_name():
    pairs = resolve_check_results(
        SPECS,
        BOTH,
        [
            af.AssetCheckResult(passed=True, check_name="b"),
            af.AssetCheckResult(passed=False, check_name="a"),
        ],
        "here",
    )
    assert [(spec.name, result.passed) for spec, result in pairs] == [("a", False), ("b", True)]


@pytest.mark.parametrize(
    ("results", "message"),
    [
        ([af.AssetCheckResult(passed=True, check_name="a")], "no result for check"),
        ([af.AssetCheckResult(passed=True, check_name="zzz")], "which it does not declare"),
        ([af.AssetCheckResult(passed=True)], "set check_name="),
        ([5], "where an AssetCheckResult was expected"),
        (
            [
                af.AssetCheckResult(passed=True, check_name="a"),
                af.AssetCheckResult(passed=True, check_name="a"),
            ],
            "two results",
        ),
    ],
)
def test_bad_results_are_clear_errors(results, message):
    with pytest.raises(DefinitionError, match=message):
        resolve_check_results(SPECS, BOTH, results, "here")


def test_results_of_unselected_checks_are_dropped():
    pairs = resolve_check_results(
        SPECS,
        [SPECS[0].key],
        [
            af.AssetCheckResult(passed=True, check_name="a"),
            af.AssetCheckResult(passed=True, check_name="b"),
        ],
        "here",
    )
    assert [spec.name for spec, _ in pairs] == ["a"]
