import pytest

import arco_flow as af
from arco_flow.core.keys import AssetKey


def test_asset_key_name_and_node_follow_dagster():
    @af.asset
    def orders():
        return 1

    assert orders.key == AssetKey("orders")
    assert orders.op.name == "orders"

    @af.asset(name="n", key_prefix="z", group_name="g")
    def whatever(upstream):
        return upstream

    assert whatever.key == AssetKey(["z", "n"])
    assert whatever.op.name == "z__n"
    # an input without AssetIn is the unprefixed key of the parameter's name (as Dagster)
    assert whatever.dependency_keys == {AssetKey("upstream")}
    assert whatever.group_names_by_key == {AssetKey(["z", "n"]): "g"}


def test_key_argument_sets_the_whole_key():
    @af.asset(key=["p", "q"])
    def r():
        return 1

    assert r.key == AssetKey(["p", "q"])
    assert r.op.name == "p__q"


def test_key_with_name_is_rejected():
    with pytest.raises(af.DefinitionError, match="not both"):

        @af.asset(key="a", name="b")
        def x():
            return 1


def test_ins_deps_and_parameter_roles():
    class Cfg(af.Config):
        n: int = 1

    class Db(af.ConfigurableResource):
        url: str

    @af.asset(
        ins={"renamed": af.AssetIn(key="raw/orders")},
        deps=["audit", AssetKey(["x", "y"])],
        required_resource_keys={"slack"},
    )
    def clean(context, renamed, config: Cfg, db: Db):
        return renamed

    assert clean.dependency_keys == {
        AssetKey(["raw", "orders"]),
        AssetKey("audit"),
        AssetKey(["x", "y"]),
    }
    assert clean.keys_by_input_name == {"renamed": AssetKey(["raw", "orders"])}
    assert clean.required_resource_keys == {"slack", "db"}
    assert clean.signature.context_param == "context"
    assert clean.signature.config_param == "config"


def test_ins_naming_a_missing_parameter_is_rejected_with_the_fix():
    with pytest.raises(af.DefinitionError, match="does not take as parameters"):

        @af.asset(ins={"nope": af.AssetIn(key="a")})
        def x(a):
            return a


def test_context_must_be_first():
    with pytest.raises(af.DefinitionError, match="must be the first parameter"):

        @af.asset
        def x(a, context):
            return a


def test_star_args_are_rejected():
    with pytest.raises(af.DefinitionError, match=r"\*args"):

        @af.asset
        def x(*inputs):
            return 1


def test_tags_must_be_strings():
    with pytest.raises(af.DefinitionError, match="must map a string to a string"):

        @af.asset(tags={"tier": 1})
        def x():
            return 1


def test_unsupported_arguments_are_named():
    with pytest.raises(af.DefinitionError, match="hooks"):

        @af.asset(hooks={1})
        def x():
            return 1


def test_spec_carries_metadata_owners_kinds_and_docstring():
    @af.asset(owners=["team:data"], kinds={"python"}, compute_kind="pandas", code_version="3")
    def documented():
        """Orders, cleaned."""
        return 1

    (spec,) = documented.specs
    assert spec.description == "Orders, cleaned."
    assert spec.owners == ("team:data",)
    assert spec.kinds == frozenset({"python", "pandas"})
    assert spec.code_version == "3"


def test_direct_invocation_calls_the_body():
    @af.asset
    def plus_one(x: int) -> int:
        return x + 1

    assert plus_one(3) == 4

    @af.asset
    def with_context(context):
        return context.partition_key

    assert with_context(af.build_asset_context(partition_key="2024-01-01")) == "2024-01-01"


def test_multi_asset_outs_and_specs():
    @af.multi_asset(outs={"a": af.AssetOut(key_prefix="p"), "b": af.AssetOut(group_name="g")})
    def two(upstream):
        return 1, 2

    assert two.keys == {AssetKey(["p", "a"]), AssetKey("b")}
    assert two.keys_by_output_name == {"a": AssetKey(["p", "a"]), "b": AssetKey("b")}
    assert two.dependency_keys == {AssetKey("upstream")}
    with pytest.raises(af.DefinitionError, match="no single key"):
        _ = two.key

    @af.multi_asset(specs=[af.AssetSpec(["x", "a"]), af.AssetSpec("b", deps=["q"])])
    def from_specs():
        yield af.MaterializeResult(asset_key=["x", "a"])
        yield af.MaterializeResult(asset_key="b")

    assert from_specs.dependency_keys == {AssetKey("q")}
    assert from_specs.get_output_name_for_asset_key(AssetKey(["x", "a"])) == "x__a"


def test_multi_asset_internal_deps_restrict_each_output():
    @af.multi_asset(
        outs={"a": af.AssetOut(), "b": af.AssetOut()},
        internal_asset_deps={"a": {AssetKey("u1")}, "b": {AssetKey("u2")}},
    )
    def m(u1, u2):
        return u1, u2

    deps = {spec.key: spec.dependency_keys for spec in m.specs}
    assert deps == {AssetKey("a"): {AssetKey("u1")}, AssetKey("b"): {AssetKey("u2")}}


def test_multi_asset_needs_outs_or_specs():
    with pytest.raises(af.DefinitionError, match="exactly one"):

        @af.multi_asset()
        def m():
            return None


def test_asset_spec_helpers():
    spec = af.AssetSpec("a", deps=["b"], tags={"x": "1"})
    merged = spec.merge_attributes(deps=["c"], tags={"y": "2"})
    assert merged.dependency_keys == {AssetKey("b"), AssetKey("c")}
    assert merged.tags == {"x": "1", "y": "2"}
    assert spec.replace_attributes(key="z").key == AssetKey("z")
    with pytest.raises(af.DefinitionError, match="must be a list"):
        af.AssetSpec("a", deps="b")


def test_backfill_policies_reach_the_definition_and_the_manifest():
    from arco_flow.core.partitions import DailyPartitionsDefinition

    daily = DailyPartitionsDefinition(start_date="2024-01-01")

    @af.asset(partitions_def=daily, backfill_policy=af.BackfillPolicy.single_run())
    def whole():
        return 1

    @af.multi_asset(
        outs={"x": af.AssetOut(), "y": af.AssetOut()},
        partitions_def=daily,
        backfill_policy=af.BackfillPolicy.multi_run(7),
    )
    def pair():
        return 1, 2

    @af.asset(partitions_def=daily)
    def unset():
        return 1

    assert whole.backfill_policy == af.BackfillPolicy.single_run()
    assert pair.backfill_policy.max_partitions_per_run == 7
    assert unset.backfill_policy is None
    manifest = af.Definitions(assets=[whole, pair, unset]).manifest
    policies = {asset.key.to_user_string(): asset.backfill_policy for asset in manifest.assets}
    assert policies == {
        "whole": af.BackfillPolicy.single_run(),
        "x": af.BackfillPolicy.multi_run(7),
        "y": af.BackfillPolicy.multi_run(7),
        "unset": None,
    }


def test_an_unpartitioned_asset_takes_only_a_single_run_policy():
    @af.asset(backfill_policy=af.BackfillPolicy.single_run())
    def fine():
        return 1

    assert fine.backfill_policy.policy_type is af.BackfillPolicyType.SINGLE_RUN
    with pytest.raises(
        af.DefinitionError, match=r"not partitioned; use BackfillPolicy\.single_run"
    ):

        @af.asset(backfill_policy=af.BackfillPolicy.multi_run(2))
        def split():
            return 1

    with pytest.raises(af.DefinitionError, match="not partitioned"):

        @af.multi_asset(outs={"x": af.AssetOut()}, backfill_policy=af.BackfillPolicy.multi_run(2))
        def split_many():
            return 1


def test_a_backfill_policy_must_be_a_backfill_policy():
    with pytest.raises(af.DefinitionError, match="backfill_policy must be a BackfillPolicy"):

        @af.asset(backfill_policy="single")
        def wrong():
            return 1
