import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_flow.core.errors import PlanError
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import Manifest, ManifestAsset
from arco_flow.core.plan import PlanPartition, build_plan, plan_to_data


def asset(name, *deps, node=None, **kwargs):
    return ManifestAsset(
        key=AssetKey(name), node=node or name, deps=tuple(AssetKey(d) for d in deps), **kwargs
    )


def plan_for(assets, selection=None, **kwargs):
    manifest = Manifest(assets=tuple(sorted(assets, key=lambda a: a.key.path)))
    graph = AssetGraph.from_assets(assets)
    keys = {AssetKey(s) for s in selection} if selection else set(graph.keys)
    return build_plan(manifest, graph, keys, **kwargs)


def test_tasks_are_ordered_by_stage_and_carry_their_dependencies():
    plan = plan_for([asset("c", "b"), asset("b", "a"), asset("a"), asset("z")])
    assert [t.task_id for t in plan.tasks] == ["a", "z", "b", "c"]
    assert plan.task("c").deps == ("b",)
    assert [[t.task_id for t in stage] for stage in plan.stages] == [["a", "z"], ["b"], ["c"]]


def test_unselected_upstream_assets_are_not_tasks():
    plan = plan_for([asset("c", "b"), asset("b", "a"), asset("a")], selection=["c", "a"])
    assert plan.task_ids == ("a", "c")
    assert plan.task("c").deps == ()
    assert plan.task("c").stage == 0


def test_a_multi_asset_is_one_task_and_internal_edges_are_not_deps():
    assets = [
        asset("x", node="m"),
        asset("y", "x", node="m"),
        asset("down", "y"),
        asset("up"),
        asset("x2", "up", node="m"),
    ]
    plan = plan_for(assets)
    assert plan.task("m").asset_keys == (AssetKey("x"), AssetKey("x2"), AssetKey("y"))
    assert plan.task("m").deps == ("up",)
    assert plan.task("down").deps == ("m",)


def test_partial_selection_of_a_multi_asset_that_cannot_subset_says_what_to_select():
    assets = [asset("x", node="m"), asset("y", node="m")]
    with pytest.raises(PlanError, match=r"'m'.*y is not selected.*can_subset=True"):
        plan_for(assets, selection=["x"])


def test_partial_selection_is_allowed_when_the_node_can_subset():
    assets = [asset("x", node="m", can_subset=True), asset("y", node="m", can_subset=True)]
    plan = plan_for(assets, selection=["x"])
    assert plan.task("m").asset_keys == (AssetKey("x"),)


def test_unknown_and_external_keys_are_reported_together():
    assets = [asset("a"), asset("ext", is_executable=False)]
    manifest = Manifest(assets=tuple(assets))
    graph = AssetGraph.from_assets(assets)
    with pytest.raises(PlanError) as error:
        build_plan(manifest, graph, {AssetKey("ext"), AssetKey("b")})
    assert "external" in str(error.value)
    assert "no asset has key 'b'" in str(error.value)


def test_multi_asset_cycle_between_nodes_is_named():
    assets = [asset("x", node="m1"), asset("y", "x", node="m2"), asset("z", "y", node="m1")]
    with pytest.raises(PlanError, match=r"m1 -> m2 -> m1|m2 -> m1 -> m2"):
        plan_for(assets)


def test_plan_id_changes_with_run_config_and_partition():
    assets = [asset("a")]
    base = plan_for(assets)
    assert plan_for(assets).plan_id == base.plan_id
    assert plan_for(assets, run_config={"ops": {"a": {"config": {"x": 1}}}}).plan_id != base.plan_id
    partitioned = plan_for(assets, partition=PlanPartition(key="2024-01-01"))
    assert partitioned.plan_id != base.plan_id
    assert partitioned.tasks[0].task_id == "a[2024-01-01]"


def test_plan_data_carries_the_plan_id():
    plan = plan_for([asset("b", "a"), asset("a")])
    data = plan_to_data(plan)
    assert data["plan_id"] == plan.plan_id
    assert [t[0] for t in data["tasks"]] == ["a", "b"]


@st.composite
def layered(draw):
    size = draw(st.integers(min_value=1, max_value=30))
    assets = []
    for index in range(size):
        parents = draw(st.sets(st.integers(min_value=0, max_value=max(index - 1, 0)), max_size=3))
        assets.append(asset(f"n{index}", *[f"n{p}" for p in parents if p < index]))
    return assets, draw(st.permutations(assets))


@given(layered())
def test_plan_id_is_unchanged_when_assets_are_declared_in_another_order(pair):
    original, shuffled = pair
    assert plan_for(original).plan_id == plan_for(list(shuffled)).plan_id


def test_plan_data_round_trips():
    from arco_flow.core.plan import plan_from_data

    plan = plan_for(
        [asset("c", "b"), asset("b", "a"), asset("a")], partition=PlanPartition(key="2024-01-01")
    )
    again = plan_from_data(plan_to_data(plan))
    assert again == plan
    assert plan_to_data(again) == plan_to_data(plan)


def test_manifest_fingerprint_is_the_canonical_one_whatever_the_encoder_path():
    from arco_flow.core.canonical_json import fingerprint
    from arco_flow.core.manifest import manifest_to_data
    from arco_flow.core.retry import RetryPolicy

    plain = Manifest(assets=(asset("a"), asset("b", "a", tags={"k": "v"})))
    careful = Manifest(
        assets=(
            asset("a", metadata={"x": {"type": "float", "value": 1.0}}, timeout_s=2.0),
            asset("b", "a", retry_policy=RetryPolicy(max_retries=1, delay=0.5)),
            asset("c", tags={"\U0001f600": "astral", "\ufb01": "bmp"}),
        )
    )
    for manifest in (plain, careful):
        assert manifest.fingerprint == fingerprint(manifest_to_data(manifest))


def test_a_range_plan_names_its_tasks_by_the_range_and_round_trips():
    from arco_flow.core.plan import plan_from_data

    partition = PlanPartition(range_start="2024-01-02", range_end="2024-01-04")
    plan = plan_for([asset("a"), asset("b", "a")], partition=partition)
    assert [t.task_id for t in plan.tasks] == [
        "a[2024-01-02...2024-01-04]",
        "b[2024-01-02...2024-01-04]",
    ]
    assert plan.tasks[1].deps == ("a[2024-01-02...2024-01-04]",)
    again = plan_from_data(plan_to_data(plan))
    assert again.plan_id == plan.plan_id
    assert again.partition == partition
    assert all(task.partition == partition for task in again.tasks)
    single = plan_for([asset("a")], partition=PlanPartition(key="2024-01-02"))
    assert single.plan_id != plan_for([asset("a")], partition=partition).plan_id
