import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_flow.core.errors import DefinitionError
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import ManifestAsset


def node(name, *deps, **kwargs):
    return ManifestAsset(
        key=AssetKey.from_user_string(name),
        node=name.replace("/", "__"),
        deps=tuple(AssetKey.from_user_string(d) for d in deps),
        **kwargs,
    )


def K(name):
    return AssetKey.from_user_string(name)


@pytest.fixture
def diamond():
    return AssetGraph.from_assets(
        [node("d", "b", "c"), node("b", "a"), node("c", "a"), node("a"), node("e")]
    )


def test_keys_are_sorted_and_lookups_work(diamond):
    assert [k.to_user_string() for k in diamond.keys] == ["a", "b", "c", "d", "e"]
    assert diamond.parents_of(K("d")) == {K("b"), K("c")}
    assert diamond.children_of(K("a")) == {K("b"), K("c")}
    assert diamond.get_all_asset_keys() == set(diamond.keys)
    assert K("a") in diamond
    assert len(diamond) == 5


def test_stages_put_each_asset_after_its_deepest_parent(diamond):
    stages = [[k.to_user_string() for k in stage] for stage in diamond.stages]
    assert stages == [["a", "e"], ["b", "c"], ["d"]]
    assert diamond.stage_of[K("d")] == 2


def test_upstream_and_downstream_with_depth(diamond):
    assert diamond.downstream([K("a")]) == {K("a"), K("b"), K("c"), K("d")}
    assert diamond.downstream([K("a")], depth=1) == {K("a"), K("b"), K("c")}
    assert diamond.upstream([K("d")], depth=1, include_self=False) == {K("b"), K("c")}
    assert diamond.upstream([K("e")]) == {K("e")}


def test_roots_and_sinks_of_a_subset(diamond):
    subset = {K("b"), K("c"), K("d")}
    assert diamond.roots_of(subset) == {K("b"), K("c")}
    assert diamond.sinks_of(subset) == {K("d")}


def test_cycle_error_names_every_asset_in_the_cycle():
    with pytest.raises(DefinitionError) as error:
        AssetGraph.from_assets([node("a", "c"), node("b", "a"), node("c", "b"), node("x", "a")])
    message = str(error.value)
    assert "cycle" in message
    assert (
        "a -> b -> c -> a" in message
        or "b -> c -> a -> b" in message
        or ("c -> a -> b -> c" in message)
    )
    assert "x" not in message.split(":")[1]


def test_unknown_dependency_names_it_suggests_a_close_key_and_the_fix():
    with pytest.raises(DefinitionError) as error:
        AssetGraph.from_assets([node("orders"), node("report", "order")])
    message = str(error.value)
    assert "'report' depends on 'order'" in message
    assert "Did you mean 'orders'?" in message
    assert "AssetSpec('order')" in message


def test_self_dependency_is_reported():
    with pytest.raises(DefinitionError, match="depends on itself"):
        AssetGraph.from_assets([node("a", "a")])


def test_duplicate_keys_are_reported():
    with pytest.raises(DefinitionError, match="more than once: a"):
        AssetGraph.from_assets([node("a"), node("a")])


def test_unknown_key_lookup_suggests_a_close_one(diamond):
    with pytest.raises(DefinitionError, match="Did you mean 'e'"):
        diamond.get(K("ee"))


@st.composite
def dags(draw):
    size = draw(st.integers(min_value=1, max_value=25))
    assets = []
    for index in range(size):
        parents = draw(st.sets(st.integers(min_value=0, max_value=max(index - 1, 0)), max_size=3))
        deps = [f"n{p}" for p in parents if p < index]
        assets.append(node(f"n{index}", *deps))
    order = draw(st.permutations(assets))
    return order


@given(dags())
def test_stages_respect_every_edge_whatever_the_declaration_order(assets):
    graph = AssetGraph.from_assets(assets)
    stage = graph.stage_of
    for asset in assets:
        for dep in asset.deps:
            assert stage[dep] < stage[asset.key]
    assert (
        graph.toposorted_keys() == AssetGraph.from_assets(sorted(assets, key=str)).toposorted_keys()
    )


@given(dags())
def test_downstream_is_the_inverse_of_upstream(assets):
    graph = AssetGraph.from_assets(assets)
    for key in graph.keys:
        for other in graph.downstream([key]):
            assert key in graph.upstream([other])
