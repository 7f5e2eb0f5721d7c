import pytest

import arco_flow as af
from arco_flow.core.keys import AssetKey


@af.asset(group_name="raw")
def orders():
    return [1, 2]


@af.asset(group_name="clean")
def cleaned(orders):
    return orders


def test_graph_manifest_and_specs():
    external = af.AssetSpec("vendor_feed")

    @af.asset(deps=[external])
    def from_vendor():
        return 1

    defs = af.Definitions(assets=[orders, cleaned, external, from_vendor])
    graph = defs.resolve_asset_graph()
    assert graph.get_all_asset_keys() == {
        AssetKey("orders"),
        AssetKey("cleaned"),
        AssetKey("vendor_feed"),
        AssetKey("from_vendor"),
    }
    manifest = defs.manifest
    assert [a.key.to_user_string() for a in manifest.assets] == [
        "cleaned",
        "from_vendor",
        "orders",
        "vendor_feed",
    ]
    assert not graph.get(AssetKey("vendor_feed")).is_executable
    assert defs.resolve_implicit_global_asset_job_def().asset_keys == {
        AssetKey("orders"),
        AssetKey("cleaned"),
        AssetKey("from_vendor"),
    }
    assert defs.resolve_all_asset_specs()[0].key == AssetKey("cleaned")
    assert defs.resolve_all_asset_keys()[0] == AssetKey("cleaned")
    assert defs.get_assets_def("cleaned") is cleaned


def test_manifest_fingerprint_is_stable_across_declaration_order():
    first = af.Definitions(assets=[orders, cleaned]).manifest.fingerprint
    second = af.Definitions(assets=[cleaned, orders]).manifest.fingerprint
    assert first == second


def test_every_problem_is_reported_at_once():
    @af.asset
    def a(b):
        return b

    @af.asset
    def b(a):
        return a

    @af.asset(deps=["nowhere"])
    def lost():
        return 1

    @af.asset(required_resource_keys={"warehouse"})
    def needs():
        return 1

    @af.asset(name="lost")
    def lost_again():
        return 1

    defs = af.Definitions(
        assets=[a, b, lost, needs, lost_again],
        jobs=[af.define_asset_job("j", selection="key:(")],
    )
    with pytest.raises(af.DefinitionsValidationError) as error:
        defs.validate()
    problems = error.value.problems
    assert len(problems) == 3
    assert "asset key 'lost' is defined twice" in problems[0]
    assert "requires resource 'warehouse'" in problems[1]
    assert problems[2].startswith("job 'j': ")


def test_cycle_and_unknown_dep_are_both_reported():
    @af.asset
    def a(b):
        return b

    @af.asset
    def b(a):
        return a

    @af.asset(deps=["nowhere"])
    def lost():
        return 1

    with pytest.raises(af.DefinitionsValidationError) as error:
        af.Definitions(assets=[a, b, lost]).resolve_asset_graph()
    assert "'lost' depends on 'nowhere'" in str(error.value)
    assert "cycle" in str(error.value)


def test_cycle_is_named():
    @af.asset
    def a(b):
        return b

    @af.asset
    def b(a):
        return a

    with pytest.raises(
        af.DefinitionsValidationError, match=r"cycle: a -> b -> a|cycle: b -> a -> b"
    ):
        af.Definitions(assets=[a, b]).resolve_asset_graph()


def test_jobs_resolve_their_selection():
    job = af.define_asset_job("clean_only", selection="group:clean", tags={"team": "data"})
    defs = af.Definitions(assets=[orders, cleaned], jobs=[job])
    resolved = defs.get_job_def("clean_only")
    assert resolved.asset_keys == {AssetKey("cleaned")}
    assert resolved.tags == {"team": "data"}
    assert defs.manifest.jobs[0].asset_keys == (AssetKey("cleaned"),)
    with pytest.raises(af.NotFoundError, match="Did you mean 'clean_only'"):
        defs.get_job_def("clean_onyl")


def test_job_names_are_validated():
    with pytest.raises(af.DefinitionError, match="job name"):
        af.define_asset_job("bad name")


def test_merge_combines_and_rejects_conflicting_resources():
    one = af.Definitions(assets=[orders], resources={"r": object()})
    two = af.Definitions(assets=[cleaned], resources={"r": object()})
    with pytest.raises(af.DefinitionError, match="resource 'r'"):
        af.Definitions.merge(one, two)
    merged = af.Definitions.merge(af.Definitions(assets=[orders]), af.Definitions(assets=[cleaned]))
    assert len(merged.resolve_asset_graph()) == 2


def test_non_assets_are_rejected_with_the_fix():
    with pytest.raises(af.DefinitionError, match="decorated with @asset"):
        af.Definitions(assets=[lambda: 1])


def test_legacy_config_schema_reaches_the_body():
    @af.asset(config_schema={"factor": af.Field(int, default_value=2)})
    def scaled(context):
        return 10 * context.op_config["factor"]

    result = af.materialize_to_memory([scaled])
    assert result.asset_value("scaled") == 20
    result = af.materialize_to_memory(
        [scaled], run_config={"ops": {"scaled": {"config": {"factor": 3}}}}
    )
    assert result.asset_value("scaled") == 30
