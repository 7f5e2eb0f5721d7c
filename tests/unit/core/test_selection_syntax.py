import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.errors import SelectionError
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetCheckKey
from arco_flow.core.selection import (
    AssetSelection,
    GroupWildCardAssetSelection,
    IsAttributeAssetSelection,
    KeyWildCardAssetSelection,
)
from arco_flow.core.selection_syntax import format_selection, parse_selection
from tests.unit.core.test_selection import POOL, SELECTIONS, K, asset, dags, names, selections

A = AssetSelection
a, b, c = A.assets("a"), A.assets("b"), A.assets("c")
ALL = A.all()


@pytest.fixture(scope="module")
def small():
    """The graph the expectations below were checked against in Dagster."""
    return AssetGraph.from_assets(
        [
            asset("a"),
            asset("b", "a"),
            asset("c", "b", tags={"t": "", "u": "v"}, owners=("me@x.com",), kinds=("python",)),
            asset("d", group="g2"),
            asset("ext", group="g2", is_executable=False),
            asset("e", "ext"),
        ]
    )


# -- each form ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key:a", a),
        ('key:"a"', a),
        ("key:raw/orders", A.assets("raw/orders")),
        ('key:"raw/orders"', A.assets(["raw", "orders"])),
        ("key:2024_sales", A.assets("2024_sales")),
        ("key:my-asset.v2", A.assets("my-asset.v2")),
        ("key:raw/*", KeyWildCardAssetSelection(selected_key_wildcard="raw/*")),
        ('key:"*orders"', KeyWildCardAssetSelection(selected_key_wildcard="*orders")),
        ("key:*", KeyWildCardAssetSelection(selected_key_wildcard="*")),
        ("key_substring:ord", A.key_substring("ord")),
        ("group:marts", A.groups("marts")),
        ('group:"ma*"', GroupWildCardAssetSelection(selected_group_wildcard="ma*")),
        ("group:<null>", A.groups()),
        ("tag:pii", A.tag("pii", "")),
        ("tag:tier=gold", A.tag("tier", "gold")),
        ("tag:tier = gold", A.tag("tier", "gold")),
        ('tag:"team"="data eng"', A.tag("team", "data eng")),
        ('tag:k="say \\"hi\\" \\\\o/"', A.tag("k", 'say "hi" \\o/')),
        ('owner:"alice@x.com"', A.owner("alice@x.com")),
        ("owner:alice@x.com", A.owner("alice@x.com")),
        ("owner:<null>", A.owner(None)),
        ("kind:dbt", A.kind("dbt")),
        ("kind:<null>", A.kind(None)),
        ("is:external", IsAttributeAssetSelection(attribute="external")),
        ("is:materializable", IsAttributeAssetSelection(attribute="materializable")),
        ("*", ALL),
        ("+key:a", a.upstream()),
        ("2+key:a", a.upstream(2)),
        ("0+key:a", a.upstream(0)),
        ("key:a+", a.downstream()),
        ("key:a+3", a.downstream(3)),
        ("key:a+01", a.downstream(1)),
        ("1+key:a+2", a.upstream(1) | a.downstream(2)),
        ("+key:a+", a.upstream() | a.downstream()),
        ("sinks(*)", ALL.sinks()),
        ("roots(group:raw)", A.groups("raw").roots()),
        ("+sinks(key:a)", a.sinks().upstream()),
        ("(key:a or key:b)+", (a | b).downstream()),
        ("not key:a", ALL - a),
        ("key:a or key:b or key:c", a | b | c),
        ("key:a and key:b and key:c", a & b & c),
        ("  key : a  ", a),
        ("2 + key:a\n+ 1", a.upstream(2) | a.downstream(1)),
        ("sinks (key:a)", a.sinks()),
    ],
)
def test_each_form_parses_to_its_object_form(text, expected):
    assert A.from_string(text) == expected
    assert parse_selection(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not key:a or key:b and key:c", (ALL - a) | (b & c)),
        ("key:a or key:b and key:c", a | (b & c)),
        ("key:a and key:b or key:c", (a & b) | c),
        ("not key:a and key:b", (ALL - a) & b),
        ("NOT key:a AND key:b OR key:c", ((ALL - a) & b) | c),
        ("not key:a+", ALL - a.downstream()),
        ("not not key:a", ALL - (ALL - a)),
        ("(key:a or key:b) and key:c", (a | b) & c),
        ("not (key:a or key:b)", ALL - (a | b)),
        ("* and key:a", ALL & a),
    ],
)
def test_precedence_matches_dagster(text, expected):
    # not binds tighter than and, and tighter than or; traversal marks tighter than all.
    assert A.from_string(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", ["a"]),
        ("*a", ["a"]),
        ("a*", ["a", "b", "c"]),
        ("*b*", ["a", "b", "c"]),
        ("+b", ["a", "b"]),
        ("b+", ["b", "c"]),
        ("++b", ["a", "b"]),
        ("a+++", ["a", "b", "c"]),
        ("*a+", ["a", "b"]),
        ("ext", ["ext"]),
        ("*e", ["e"]),
        ("key:a", ["a"]),
        ("key:a*", ["a"]),
        ("key_substring:a", ["a"]),
        ("group:g2", ["d"]),
        ('group:"g*"', ["d"]),
        ("tag:t", ["c"]),
        ("tag:u=v", ["c"]),
        ("tag:u", []),
        ("tag:t=", ["c"]),
        ("tag:k=v-1", []),
        ('owner:"me@x.com"', ["c"]),
        ("kind:python", ["c"]),
        ("kind:<null>", ["a", "b", "d", "e"]),
        ("is:external", ["ext"]),
        ("*", ["a", "b", "c", "d", "e"]),
        ("not key:a or key:b and key:c", ["b", "c", "d", "e"]),
        ("key:a or key:b and key:c", ["a"]),
        ("sinks(*)", ["c", "d", "e"]),
        ("roots(*)", ["a", "d", "e"]),
        ("roots(key:c or key:a)", ["a"]),
        ("key:a+ and key:b", ["b"]),
        ("2+key:c", ["a", "b", "c"]),
        ("01+key:c", ["b", "c"]),
        ("key:c+0", ["c"]),
        ("+key:e", ["e"]),
        ("+key:ext", []),
        ("key:ext", ["ext"]),
        ("not +key:c", ["d", "e"]),
        ("sinks(key:a)+", ["a", "b", "c"]),
        ("+sinks(*)", ["a", "b", "c", "d", "e"]),
        ("group:<null>", []),
    ],
)
def test_resolves_like_dagster(small, text, expected):
    # Each expectation is what Dagster 1.13 resolves the same string to on the same graph.
    assert names(A.from_string(text).resolve(small)) == expected


def test_legacy_forms_build_key_traversals():
    orders = A.assets("raw/orders")
    assert A.from_string("raw/orders") == orders
    assert A.from_string(" *raw/orders ") == orders.upstream()
    assert A.from_string("raw/orders*") == orders.downstream()
    assert A.from_string("*raw/orders*") == orders.upstream() | orders.downstream()
    assert A.from_string("++raw/orders") == orders.upstream(2)
    assert A.from_string("raw/orders+++") == orders.downstream(3)
    assert A.from_string("tag:url=http://x") == A.tag("url", "http://x")


def test_include_sources_widens_all_not_and_filters():
    def parse(text: str) -> AssetSelection:
        return A.from_string(text, include_sources=True)

    everything = A.all(include_sources=True)
    assert parse("*") == everything
    assert parse("not key:a") == everything - a
    assert parse("group:g") == A.groups("g", include_sources=True)
    assert parse("tag:k=v") == A.tag("k", "v", include_sources=True)
    assert parse("kind:dbt") == A.kind("dbt", include_sources=True)
    assert parse("key_substring:x") == A.key_substring("x", include_sources=True)


def test_unknown_key_in_a_string_names_it_and_suggests_the_closest(small):
    # Dagster silently selects nothing for key:<typo>; we say so.
    with pytest.raises(SelectionError, match=r"no asset has key 'exd'\. Did you mean 'ext'\?"):
        A.from_string("key:exd+").resolve(small)
    assert A.from_string("key:exd").resolve(small, allow_missing=True) == set()
    assert A.from_string("key:ex*").resolve(small) == {K("ext")}


# -- errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("", 1, "the selection is empty"),
        ("   ", 1, "the selection is empty"),
        ("key:", 5, "expected a value after 'key:'"),
        ("key:a or", 9, "expected a selection such as key:orders"),
        ("key:a and not", 14, "got the end of the selection"),
        ("(key:a", 7, "expected ')' to close the '(' at column 1"),
        ("key:a)", 6, "expected 'and', 'or' or the end of the selection, got ')'"),
        ("key:a b", 7, "got 'b'"),
        ("key:a, key:b", 6, "unexpected character ',': combine selections with 'or'"),
        ("key:a ! key:b", 7, "write 'not'"),
        ("grup:x", 1, "unknown attribute 'grup:'. Did you mean 'group'?"),
        ("code_location:x", 1, "'code_location:' is not supported"),
        ("status:ok", 1, "needs run-time state"),
        ("sinks key:a", 7, "expected '(' after sinks"),
        ("sinks()", 7, "expected a selection"),
        ("roots(key:a", 12, "expected ')' to close roots("),
        ("++key:a", 2, "one '+' per side"),
        ("key:a++", 7, "one '+' per side"),
        ("*+", 2, "cannot be traversed"),
        ("+*", 2, "cannot be traversed"),
        ("3 key:a", 3, "expected '+' after the depth 3"),
        ('key:"abc', 5, "never closed"),
        ("tag:<null>", 5, "'<null>' is only accepted after group:, owner: and kind:"),
        ("tag:team=data*", 10, "wildcards ('*') work in key: and group: values only"),
        ("tag:a=b=c", 8, "a tag takes one '='"),
        ("is:maybe", 4, "use is:external or is:materializable"),
        ('key:"bad key"', 5, "'bad key' is not a valid asset key"),
        ("orders or customers", 1, "a bare asset name is only accepted as the whole selection"),
        ("a[0]", 1, "'a[0]' is not a valid asset key"),
        ("+not key:a", 2, "got 'not'"),
        ('"orders"', 1, 'got the quoted string "orders"'),
    ],
)
def test_parse_errors_point_at_the_problem(text, column, fragment):
    with pytest.raises(SelectionError) as error:
        A.from_string(text)
    message = str(error.value)
    first, echo, caret, example = message.split("\n")
    assert first.startswith(f"invalid asset selection at column {column}: ")
    assert fragment in first
    assert echo == "    " + text
    assert caret == " " * (3 + column) + "^"
    assert example.startswith("For example: ")


def test_a_parse_error_gives_an_example_of_the_attribute_it_expected():
    with pytest.raises(SelectionError) as error:
        A.from_string("tag:")
    assert str(error.value).endswith(
        'For example: tag:pii or tag:team=data or tag:"team"="data eng"'
    )


def test_the_caret_stays_aligned_across_line_breaks():
    with pytest.raises(SelectionError) as error:
        A.from_string("key:a or\n\tkey:")
    _, echo, caret, _ = str(error.value).split("\n")
    assert echo == "    key:a or  key:"
    assert caret.index("^") == len(echo)


def test_only_strings_parse():
    with pytest.raises(SelectionError, match="must be a str"):
        parse_selection(["key:a"])  # type: ignore[arg-type]


# -- round trips --------------------------------------------------------------------


def test_format_selection_is_to_selection_str():
    selection = (A.groups("raw").downstream(2) - A.tag("pii", "")).roots()
    text = format_selection(selection)
    assert text == selection.to_selection_str() == 'roots(group:"raw"+2 and not tag:"pii")'
    assert A.from_string(text) == (A.groups("raw").downstream(2) & (ALL - A.tag("pii", ""))).roots()


@settings(max_examples=200, deadline=None)
@given(dags(allow_external=False), SELECTIONS)
def test_string_form_parses_back_to_an_equivalent_selection(graph, selection):
    text = selection.to_selection_str()
    parsed = A.from_string(text)
    assert parsed.resolve(graph) == selection.resolve(graph), text
    assert parsed.to_selection_str() == text


@settings(max_examples=100, deadline=None)
@given(dags(allow_external=True), selections(POOL, with_difference=False))
def test_string_form_keeps_external_assets_when_there_is_no_difference(graph, selection):
    # A difference reads "a and not b", and `not` covers executable assets only (as in
    # Dagster), so only difference-free selections keep external assets exactly.
    parsed = A.from_string(selection.to_selection_str())
    assert parsed.resolve(graph) == selection.resolve(graph)


def test_a_difference_drops_external_assets_from_its_string_form(small):
    selection = A.assets("ext", "a") - A.assets("a")
    assert selection.resolve(small) == {K("ext")}
    assert A.from_string(selection.to_selection_str()).resolve(small) == set()


# -- asset checks in the string syntax (beyond Dagster) -------------------------------


def _graph_with_checks() -> AssetGraph:
    import arco_flow as af

    @af.asset
    def orders() -> int:
        return 1

    @af.asset
    def report(orders: int) -> int:
        return orders

    def check(asset: object, name: str) -> object:
        @af.asset_check(asset=asset, name=name)
        def body() -> af.AssetCheckResult:
            return af.AssetCheckResult(passed=True)

        return body

    checks = [check(orders, "no_nulls"), check(orders, "slow"), check(report, "fresh")]
    return af.Definitions(assets=[orders, report], asset_checks=checks).resolve_asset_graph()


CHECKED = _graph_with_checks()
_CHECK_LEAVES = st.one_of(
    st.sampled_from(["orders", "report"]).map(lambda name: A.assets(name)),
    st.just(A.all()),
    st.just(A.all_asset_checks()),
    st.sampled_from(["orders", "report"]).map(lambda name: A.checks_for_assets(name)),
    st.sampled_from(["orders:no_nulls", "orders:slow", "report:fresh"]).map(
        lambda text: A.checks(AssetCheckKey.from_user_string(text))
    ),
)
CHECK_SELECTIONS = st.recursive(
    _CHECK_LEAVES,
    lambda children: st.one_of(
        st.tuples(children, children).map(lambda p: p[0] | p[1]),
        st.tuples(children, children).map(lambda p: p[0] & p[1]),
        st.tuples(children, children).map(lambda p: p[0] - p[1]),
        children.map(lambda s: s.without_checks()),
    ),
    max_leaves=6,
)


@pytest.mark.parametrize(
    ("text", "assets", "checks"),
    [
        ("check:orders:no_nulls", [], ["orders:no_nulls"]),
        ('check:"orders:no_nulls"', [], ["orders:no_nulls"]),
        ("check:*", [], ["orders:no_nulls", "orders:slow", "report:fresh"]),
        ('check:"orders:*"', [], ["orders:no_nulls", "orders:slow"]),
        ("check:orders:*", [], ["orders:no_nulls", "orders:slow"]),
        ("key:orders", ["orders"], ["orders:no_nulls", "orders:slow"]),
        ("key:orders and not check:*", ["orders"], []),
        ("key:orders and not check:orders:slow", ["orders"], ["orders:no_nulls"]),
        ("key:report or check:orders:slow", ["report"], ["orders:slow", "report:fresh"]),
    ],
)
def test_check_keys_in_the_string_syntax(text, assets, checks):
    selection = A.from_string(text)
    assert sorted(k.to_user_string() for k in selection.resolve(CHECKED)) == assets
    assert sorted(k.to_user_string() for k in selection.resolve_checks(CHECKED)) == checks


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("check:orders", "is not an asset check key"),
        ("check:orders:no*", "only as the whole check name"),
        ("chek:orders:x", "Did you mean 'check'"),
    ],
)
def test_malformed_check_values_say_how_to_write_them(text, message):
    with pytest.raises(SelectionError, match=message):
        A.from_string(text)


def test_an_undefined_check_is_named_when_resolving():
    with pytest.raises(SelectionError, match="no asset check has key 'orders:nope'"):
        A.from_string("check:orders:nope").resolve_checks(CHECKED)


@settings(max_examples=200, deadline=None)
@given(CHECK_SELECTIONS)
def test_selections_with_checks_parse_back_from_their_string_form(selection):
    text = selection.to_selection_str()
    parsed = A.from_string(text)
    assert parsed.resolve(CHECKED) == selection.resolve(CHECKED), text
    assert parsed.resolve_checks(CHECKED) == selection.resolve_checks(CHECKED), text
