import dataclasses
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.errors import SelectionError
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import ManifestAsset
from arco_flow.core.selection import (
    AndAssetSelection,
    AssetSelection,
    KeyWildCardAssetSelection,
    OrAssetSelection,
    SubtractAssetSelection,
    resolve_selection,
)


def K(name: str) -> AssetKey:
    return AssetKey.from_user_string(name)


def asset(name: str, *deps: str, node: str | None = None, **kwargs: Any) -> ManifestAsset:
    return ManifestAsset(
        key=K(name),
        node=node or name.replace("/", "__"),
        deps=tuple(K(d) for d in deps),
        **kwargs,
    )


def names(keys: Iterable[AssetKey]) -> list[str]:
    return sorted(k.to_user_string() for k in keys)


@pytest.fixture(scope="module")
def shop():
    return AssetGraph.from_assets(
        [
            asset("raw/orders", group="raw", owners=("team:data",), kinds=("python",)),
            asset("raw/customers", group="raw"),
            asset("payments", group="raw", is_executable=False),
            asset("stg/orders", "raw/orders", group="staging", tags={"pii": ""}),
            asset(
                "stg/customers", "raw/customers", group="staging", tags={"pii": "", "tier": "gold"}
            ),
            asset("stg/payments", "payments", group="staging"),
            asset(
                "mart/revenue",
                "stg/orders",
                "stg/payments",
                group="marts",
                kinds=("dbt",),
                owners=("alice@x.com",),
            ),
            asset("mart/ltv", "stg/customers", "mart/revenue", group="marts", kinds=("dbt",)),
            asset("m/a", "raw/orders", node="m", can_subset=False),
            asset("m/b", node="m", can_subset=False),
            asset("s/a", node="s", can_subset=True),
            asset("s/b", node="s", can_subset=True),
        ]
    )


EXECUTABLE = [
    "m/a",
    "m/b",
    "mart/ltv",
    "mart/revenue",
    "raw/customers",
    "raw/orders",
    "s/a",
    "s/b",
    "stg/customers",
    "stg/orders",
    "stg/payments",
]


# -- constructors -------------------------------------------------------------------


def test_all_selects_executable_assets_only(shop):
    assert names(AssetSelection.all().resolve(shop)) == EXECUTABLE


def test_all_with_include_sources_adds_external_assets(shop):
    assert names(AssetSelection.all(include_sources=True).resolve(shop)) == sorted(
        [*EXECUTABLE, "payments"]
    )


def test_assets_accepts_keys_strings_part_lists_and_definitions(shop):
    definition = SimpleNamespace(keys={K("stg/orders"), K("raw/orders")})
    spec = SimpleNamespace(key=K("payments"))
    selection = AssetSelection.assets(K("mart/ltv"), "raw/customers", ["m", "a"], definition, spec)
    assert names(selection.resolve(shop)) == [
        "m/a",
        "mart/ltv",
        "payments",
        "raw/customers",
        "raw/orders",
        "stg/orders",
    ]
    # a definition's unordered keys are sorted, so the tree does not depend on set order
    assert selection.selected_keys[3:5] == (K("raw/orders"), K("stg/orders"))


def test_assets_drops_duplicate_keys_and_keys_is_the_same_constructor():
    assert AssetSelection.assets("a", K("a"), ["a"]).selected_keys == (K("a"),)
    assert AssetSelection.keys("a", "b/c") == AssetSelection.assets("a", "b/c")


@pytest.mark.parametrize("bad", ["bad key", 42, ["ok", ""], SimpleNamespace(keys=["a"])])
def test_assets_rejects_values_that_are_not_keys(bad):
    with pytest.raises(SelectionError, match=r"cannot select|not all AssetKeys"):
        AssetSelection.assets(bad)


def test_unknown_key_names_the_key_and_suggests_the_closest(shop):
    with pytest.raises(SelectionError) as error:
        AssetSelection.assets("raw/ordres").resolve(shop)
    message = str(error.value)
    assert "no asset has key 'raw/ordres'" in message
    assert "Did you mean 'raw/orders'?" in message
    assert "Definitions(assets=[...])" in message


def test_unknown_keys_are_all_listed_in_sorted_order(shop):
    with pytest.raises(SelectionError) as error:
        AssetSelection.assets("zz", "mart/revnue", "raw/orders").resolve(shop)
    message = str(error.value)
    assert "2 undefined keys" in message
    assert message.index("'mart/revnue'") < message.index("'zz'")
    assert "Did you mean 'mart/revenue'?" in message


def test_many_unknown_keys_suggest_for_the_first_few_and_list_the_rest(shop):
    missing = [f"nope_{i}" for i in range(7)]
    with pytest.raises(SelectionError) as error:
        AssetSelection.assets(*missing).resolve(shop)
    assert all(f"'{name}'" in str(error.value) for name in missing)


def test_allow_missing_skips_unknown_keys(shop):
    selection = AssetSelection.assets("zz", "raw/orders")
    assert names(selection.resolve(shop, allow_missing=True)) == ["raw/orders"]


def test_groups_select_executable_members_unless_sources_are_included(shop):
    assert names(AssetSelection.groups("raw").resolve(shop)) == ["raw/customers", "raw/orders"]
    assert names(AssetSelection.groups("raw", "marts").resolve(shop)) == [
        "mart/ltv",
        "mart/revenue",
        "raw/customers",
        "raw/orders",
    ]
    assert "payments" in names(AssetSelection.groups("raw", include_sources=True).resolve(shop))
    assert AssetSelection.groups().resolve(shop) == set()


def test_tag_matches_key_and_exact_value(shop):
    assert names(AssetSelection.tag("pii", "").resolve(shop)) == ["stg/customers", "stg/orders"]
    assert names(AssetSelection.tag("tier", "gold").resolve(shop)) == ["stg/customers"]
    assert AssetSelection.tag("tier", "silver").resolve(shop) == set()


def test_tag_string_splits_key_and_value():
    assert AssetSelection.tag_string("tier=gold") == AssetSelection.tag("tier", "gold")
    assert AssetSelection.tag_string("pii") == AssetSelection.tag("pii", "")
    with pytest.raises(SelectionError, match="more than one '='"):
        AssetSelection.tag_string("a=b=c")


def test_owner_matches_any_owner_and_none_selects_unowned_assets(shop):
    assert names(AssetSelection.owner("team:data").resolve(shop)) == ["raw/orders"]
    unowned = AssetSelection.owner(None).resolve(shop)
    assert K("payments") in unowned
    assert K("raw/orders") not in unowned


def test_kind_matches_kinds_and_none_selects_assets_without_kind(shop):
    assert names(AssetSelection.kind("dbt").resolve(shop)) == ["mart/ltv", "mart/revenue"]
    without = AssetSelection.kind(None).resolve(shop)
    assert K("stg/orders") in without
    assert K("mart/ltv") not in without
    assert K("payments") not in without


def test_key_prefixes_match_whole_leading_parts(shop):
    assert names(AssetSelection.key_prefixes("stg").resolve(shop)) == [
        "stg/customers",
        "stg/orders",
        "stg/payments",
    ]
    assert names(AssetSelection.key_prefixes(["mart", "ltv"], K("m/a")).resolve(shop)) == [
        "m/a",
        "mart/ltv",
    ]
    assert AssetSelection.key_prefixes("mar").resolve(shop) == set()


def test_key_substring_matches_the_user_string(shop):
    assert names(AssetSelection.key_substring("t/re").resolve(shop)) == ["mart/revenue"]
    assert AssetSelection.key_substring("payments").resolve(shop) == {K("stg/payments")}
    assert K("payments") in AssetSelection.key_substring("pay", include_sources=True).resolve(shop)


# -- operators ----------------------------------------------------------------------


def test_union_intersection_and_difference(shop):
    raw = AssetSelection.groups("raw")
    pii = AssetSelection.tag("pii", "")
    orders = AssetSelection.key_substring("orders")
    assert names((raw | pii).resolve(shop)) == [
        "raw/customers",
        "raw/orders",
        "stg/customers",
        "stg/orders",
    ]
    assert names((orders & pii).resolve(shop)) == ["stg/orders"]
    assert names((orders - pii).resolve(shop)) == ["raw/orders"]


def test_unions_and_intersections_flatten_their_operands():
    a, b, c = (AssetSelection.assets(x) for x in "abc")
    assert (a | b | c) == OrAssetSelection(operands=(a, b, c))
    assert (a & (b & c)) == AndAssetSelection(operands=(a, b, c))
    assert (a - b) == SubtractAssetSelection(left=a, right=b)


def test_operators_reject_non_selections():
    with pytest.raises(TypeError):
        AssetSelection.assets("a") | "b"  # type: ignore[operator]
    with pytest.raises(TypeError):
        AssetSelection.assets("a") & 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        AssetSelection.assets("a") - None  # type: ignore[operator]


def test_there_is_no_complement_operator_as_in_dagster():
    with pytest.raises(TypeError):
        ~AssetSelection.assets("a")  # type: ignore[operator]


def test_empty_unions_and_intersections_are_rejected():
    with pytest.raises(SelectionError):
        OrAssetSelection(operands=())
    with pytest.raises(SelectionError):
        AndAssetSelection(operands=())


# -- lineage ------------------------------------------------------------------------


def test_upstream_and_downstream_with_depth(shop):
    revenue = AssetSelection.assets("mart/revenue")
    assert names(revenue.upstream(depth=1).resolve(shop)) == [
        "mart/revenue",
        "stg/orders",
        "stg/payments",
    ]
    assert names(revenue.upstream().resolve(shop)) == [
        "mart/revenue",
        "raw/orders",
        "stg/orders",
        "stg/payments",
    ]
    assert names(AssetSelection.assets("raw/orders").downstream(1).resolve(shop)) == [
        "m/a",
        "raw/orders",
        "stg/orders",
    ]
    assert names(AssetSelection.assets("raw/orders").downstream(0).resolve(shop)) == ["raw/orders"]


def test_upstream_leaves_out_external_assets_but_downstream_keeps_them(shop):
    # As in Dagster: external assets cannot run, so an upstream walk drops them.
    assert K("payments") not in AssetSelection.assets("stg/payments").upstream().resolve(shop)
    assert AssetSelection.assets("payments").upstream().resolve(shop) == set()
    assert names(AssetSelection.assets("payments").downstream().resolve(shop)) == [
        "mart/ltv",
        "mart/revenue",
        "payments",
        "stg/payments",
    ]


def test_include_self_false_drops_the_starting_assets(shop):
    orders = AssetSelection.assets("raw/orders", "stg/orders")
    assert names(orders.downstream(include_self=False).resolve(shop)) == [
        "m/a",
        "mart/ltv",
        "mart/revenue",
    ]
    assert names(
        AssetSelection.assets("stg/orders").upstream(include_self=False).resolve(shop)
    ) == ["raw/orders"]


@pytest.mark.parametrize("depth", [-1, 1.5, True, "2"])
def test_a_depth_must_be_a_whole_number(depth):
    with pytest.raises(SelectionError, match="traversal depth"):
        AssetSelection.assets("a").upstream(depth=depth)
    with pytest.raises(SelectionError, match="traversal depth"):
        AssetSelection.assets("a").downstream(depth=depth)


def test_roots_and_sinks_look_through_unselected_assets(shop):
    # raw/orders -> stg/orders -> mart/revenue: with the middle unselected, mart/revenue
    # still has a selected ancestor, so it is not a root (Dagster's definition).
    chain = AssetSelection.assets("raw/orders", "mart/revenue")
    assert names(chain.roots().resolve(shop)) == ["raw/orders"]
    assert names(chain.sinks().resolve(shop)) == ["mart/revenue"]
    assert chain.sources() == chain.roots()


def test_roots_and_sinks_of_everything(shop):
    assert names(AssetSelection.all().roots().resolve(shop)) == [
        "m/b",
        "raw/customers",
        "raw/orders",
        "s/a",
        "s/b",
        "stg/payments",
    ]
    assert names(AssetSelection.all().sinks().resolve(shop)) == [
        "m/a",
        "m/b",
        "mart/ltv",
        "s/a",
        "s/b",
    ]


def test_required_multi_asset_neighbors_adds_the_rest_of_a_non_subsettable_node(shop):
    assert names(AssetSelection.assets("m/a").required_multi_asset_neighbors().resolve(shop)) == [
        "m/a",
        "m/b",
    ]
    assert names(AssetSelection.assets("s/a").required_multi_asset_neighbors().resolve(shop)) == [
        "s/a"
    ]
    single = AssetSelection.assets("raw/orders").required_multi_asset_neighbors()
    assert names(single.resolve(shop)) == ["raw/orders"]


# -- resolving, coercion ------------------------------------------------------------


def test_resolve_accepts_anything_with_resolve_asset_graph(shop):
    definitions = SimpleNamespace(resolve_asset_graph=lambda: shop)
    assert names(AssetSelection.groups("marts").resolve(definitions)) == [
        "mart/ltv",
        "mart/revenue",
    ]


@pytest.mark.parametrize("bad", [[], None, SimpleNamespace(resolve_asset_graph=lambda: None)])
def test_resolve_rejects_other_graph_arguments(bad):
    with pytest.raises(SelectionError, match="AssetGraph"):
        AssetSelection.all().resolve(bad)


def test_resolve_selection_treats_none_as_every_executable_asset(shop):
    assert names(resolve_selection(None, shop)) == EXECUTABLE
    assert names(resolve_selection("group:marts", shop)) == ["mart/ltv", "mart/revenue"]
    assert names(resolve_selection(["raw/orders", "key:m/b"], shop)) == ["m/b", "raw/orders"]
    assert names(resolve_selection([K("m/a")], shop)) == ["m/a"]
    assert resolve_selection(AssetSelection.assets("zz"), shop, allow_missing=True) == set()


def test_from_coercible_handles_each_form():
    a = AssetSelection.assets("a")
    assert AssetSelection.from_coercible(a) is a
    assert AssetSelection.from_coercible("key:a") == a
    assert AssetSelection.from_coercible(["a", "b"]) == a | AssetSelection.assets("b")
    assert AssetSelection.from_coercible([K("a")]) == a
    definition = SimpleNamespace(keys=[K("a")])
    assert AssetSelection.from_coercible(definition) == a  # type: ignore[arg-type]  # duck-typed
    assert AssetSelection.from_coercible([]) == AssetSelection.assets()
    with pytest.raises(SelectionError):
        AssetSelection.from_coercible(3)  # type: ignore[arg-type]


# -- values -------------------------------------------------------------------------


def test_selections_are_frozen_hashable_values():
    selection = AssetSelection.assets("a").downstream(2) | AssetSelection.groups("g")
    assert selection == AssetSelection.assets("a").downstream(2) | AssetSelection.groups("g")
    assert (
        len({selection, AssetSelection.assets("a").downstream(2) | AssetSelection.groups("g")}) == 1
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        selection.operands = ()  # type: ignore[misc]
    assert not hasattr(selection, "__dict__")


def test_a_key_wildcard_needs_a_star():
    with pytest.raises(SelectionError, match="has no"):
        KeyWildCardAssetSelection(selected_key_wildcard="raw/orders")


def test_resolution_does_not_change_between_calls(shop):
    selection = (AssetSelection.groups("raw").downstream() - AssetSelection.tag("pii", "")).sinks()
    assert selection.resolve(shop) == selection.resolve(shop)


# -- string form --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selection", "text"),
    [
        (AssetSelection.all(), "*"),
        (AssetSelection.all(include_sources=True), "is:materializable or is:external"),
        (AssetSelection.assets("raw/orders"), 'key:"raw/orders"'),
        (AssetSelection.assets(), "not *"),
        (
            AssetSelection.assets("a", "b") | AssetSelection.groups("x"),
            'key:"a" or key:"b" or group:"x"',
        ),
        (
            AssetSelection.assets("a") & AssetSelection.groups("x", "y"),
            'key:"a" and (group:"x" or group:"y")',
        ),
        (AssetSelection.assets("a").upstream(2), '2+key:"a"'),
        (AssetSelection.assets("a").upstream(0), '0+key:"a"'),
        (AssetSelection.assets("a").downstream(), 'key:"a"+'),
        (AssetSelection.assets("a").downstream(include_self=False), 'key:"a"+ and not key:"a"'),
        (AssetSelection.all() - AssetSelection.assets("b"), 'not key:"b"'),
        (AssetSelection.assets("a") - AssetSelection.assets("b"), 'key:"a" and not key:"b"'),
        (
            (AssetSelection.assets("a") | AssetSelection.assets("b")).upstream(),
            '+(key:"a" or key:"b")',
        ),
        (AssetSelection.assets("a").upstream().downstream(1), '(+key:"a")+1'),
        (AssetSelection.all().sinks(), "sinks(*)"),
        (AssetSelection.all().upstream(), "+(*)"),
        (AssetSelection.tag("k", 'v "q"\\'), 'tag:"k"="v \\"q\\"\\\\"'),
        (AssetSelection.tag("k", ""), 'tag:"k"'),
        (AssetSelection.groups(), "group:<null>"),
        (AssetSelection.owner(None), "owner:<null>"),
        (AssetSelection.kind("dbt"), 'kind:"dbt"'),
        (AssetSelection.key_substring("ord"), 'key_substring:"ord"'),
    ],
)
def test_to_selection_str(selection, text):
    assert selection.to_selection_str() == text
    assert str(selection) == text


@pytest.mark.parametrize(
    "selection",
    [
        AssetSelection.key_prefixes("raw"),
        AssetSelection.assets("a").required_multi_asset_neighbors(),
        AssetSelection.groups("g", include_sources=True),
        AssetSelection.tag("k", "v", include_sources=True) | AssetSelection.assets("a"),
    ],
)
def test_selections_the_syntax_cannot_express_say_so(selection):
    with pytest.raises(SelectionError, match="has no string form"):
        selection.to_selection_str()
    assert str(selection) == repr(selection)


# -- algebra laws on random graphs --------------------------------------------------

POOL = [f"n{i}" for i in range(8)] + ["p/x", "p/y"]
GROUPS = ["g1", "g2", "g 3"]
TAGS = [("t", ""), ("t", "x"), ("team", 'a "b"\\c')]
OWNERS = ["me@x.com", "team:data"]
KINDS = ["dbt", "python"]


@st.composite
def dags(draw, allow_external=True):
    """A random DAG over every name of POOL; deps only point to earlier names (acyclic)."""
    assets = []
    for index, name in enumerate(POOL):
        deps = (
            draw(st.lists(st.sampled_from(POOL[:index]), unique=True, max_size=3)) if index else []
        )
        tag = draw(st.sampled_from([None, *TAGS]))
        assets.append(
            asset(
                name,
                *deps,
                node=draw(st.sampled_from(["m1", "m2", name.replace("/", "_")])),
                group=draw(st.sampled_from(GROUPS)),
                tags=dict([tag]) if tag else {},
                owners=tuple(draw(st.lists(st.sampled_from(OWNERS), unique=True, max_size=2))),
                kinds=tuple(draw(st.lists(st.sampled_from(KINDS), unique=True, max_size=1))),
                is_executable=draw(st.booleans()) if allow_external else True,
                can_subset=draw(st.booleans()),
            )
        )
    return AssetGraph.from_assets(assets)


def leaves(keys: list[str]) -> st.SearchStrategy[AssetSelection]:
    return st.one_of(
        st.just(AssetSelection.all()),
        st.just(AssetSelection.all(include_sources=True)),
        st.lists(st.sampled_from(keys), min_size=0, max_size=3).map(
            lambda ks: AssetSelection.assets(*ks)
        ),
        st.lists(st.sampled_from(GROUPS), max_size=2).map(lambda gs: AssetSelection.groups(*gs)),
        st.sampled_from(TAGS).map(lambda kv: AssetSelection.tag(*kv)),
        st.sampled_from([None, *OWNERS]).map(AssetSelection.owner),
        st.sampled_from([None, *KINDS]).map(AssetSelection.kind),
        st.sampled_from(["n", "1", "p/", "/"]).map(AssetSelection.key_substring),
        st.sampled_from(["n*", "*1", "p/*", "*"]).map(
            lambda p: KeyWildCardAssetSelection(selected_key_wildcard=p)
        ),
        st.sampled_from(["g*", "*3"]).map(lambda p: AssetSelection.from_string(f'group:"{p}"')),
        st.sampled_from(["is:external", "is:materializable"]).map(AssetSelection.from_string),
    )


def selections(keys: list[str], with_difference: bool = True) -> st.SearchStrategy[AssetSelection]:
    depths = st.one_of(st.none(), st.integers(0, 3))

    def extend(children):
        options = [
            st.tuples(children, children).map(lambda p: p[0] | p[1]),
            st.tuples(children, children).map(lambda p: p[0] & p[1]),
            st.tuples(children, depths).map(lambda p: p[0].upstream(p[1])),
            st.tuples(children, depths, st.booleans()).map(
                lambda p: p[0].downstream(p[1], include_self=p[2] or not with_difference)
            ),
            st.tuples(children, depths).map(lambda p: p[0].upstream(p[1], include_self=False)),
            children.map(lambda s: s.roots()),
            children.map(lambda s: s.sinks()),
        ]
        if with_difference:
            options.append(st.tuples(children, children).map(lambda p: p[0] - p[1]))
        return st.one_of(*options)

    return st.recursive(leaves(keys), extend, max_leaves=6)


SELECTIONS = selections(POOL)


@settings(max_examples=100, deadline=None)
@given(dags(), SELECTIONS, SELECTIONS, SELECTIONS)
def test_algebra_laws_hold_on_random_graphs(graph, a, b, c):
    ra, rb, rc = a.resolve(graph), b.resolve(graph), c.resolve(graph)
    assert (a | b).resolve(graph) == (b | a).resolve(graph) == ra | rb
    assert (a & b).resolve(graph) == ra & rb
    assert (a & (b | c)).resolve(graph) == ((a & b) | (a & c)).resolve(graph) == ra & (rb | rc)
    assert (a - a).resolve(graph) == set()
    assert (a - b).resolve(graph) == ra - rb
    everything = set(graph.keys)
    for depth in range(4):
        assert a.upstream(depth).resolve(graph) <= a.upstream(depth + 1).resolve(graph)
        assert a.upstream(depth).resolve(graph) <= a.upstream().resolve(graph)
        assert a.downstream(depth).resolve(graph) <= a.downstream().resolve(graph)
    assert a.upstream().resolve(graph) == graph.upstream(ra) - {
        x.key for x in graph.assets if not x.is_executable
    }
    assert a.downstream(include_self=False).resolve(graph) == graph.downstream(ra) - ra
    assert a.roots().resolve(graph) == {
        k for k in ra if not (graph.upstream([k], include_self=False) & ra)
    }
    assert a.sinks().resolve(graph) == {
        k for k in ra if not (graph.downstream([k], include_self=False) & ra)
    }
    neighbours = a.required_multi_asset_neighbors().resolve(graph)
    assert ra <= neighbours <= everything
    for key in neighbours - ra:
        node = graph.get(key).node
        assert any(graph.get(k).node == node and not graph.get(k).can_subset for k in ra)


def test_resolution_is_reused_but_each_caller_gets_its_own_set():
    graph = AssetGraph.from_assets(
        [
            ManifestAsset(key=AssetKey("a"), node="a"),
            ManifestAsset(key=AssetKey("b"), node="b", deps=(AssetKey("a"),)),
        ]
    )
    selection = AssetSelection.assets("a").downstream()
    first = selection.resolve(graph)
    first.add(AssetKey("intruder"))
    assert selection.resolve(graph) == {AssetKey("a"), AssetKey("b")}
    assert AssetSelection.from_string("key:a+").resolve(graph) == {AssetKey("a"), AssetKey("b")}
