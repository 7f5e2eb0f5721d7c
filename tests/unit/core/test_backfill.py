import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arco_flow.core.backfill import (
    BackfillPlan,
    backfill_plan_from_data,
    backfill_plan_to_data,
    backfill_targets,
    plan_backfill,
)
from arco_flow.core.canonical_json import canonical_json, loads
from arco_flow.core.errors import PlanError
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import ManifestAsset
from arco_flow.core.partitions import (
    AllPartitionMapping,
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    IdentityPartitionMapping,
    InMemoryDynamicPartitionsStore,
    LastPartitionMapping,
    MultiPartitionsDefinition,
    PartitionKeyRange,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    WeeklyPartitionsDefinition,
    infer_partition_mapping,
)
from arco_flow.core.plan import PlanPartition

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
DAILY = DailyPartitionsDefinition(start_date="2020-01-01", end_date="2021-01-01")
WEEKLY = WeeklyPartitionsDefinition(start_date="2020-01-05", end_date="2021-01-03")


def asset(name, *deps, node=None, **kwargs):
    return ManifestAsset(
        key=AssetKey(name), node=node or name, deps=tuple(AssetKey(d) for d in deps), **kwargs
    )


def k(name):
    return AssetKey(name)


def plan(
    assets, defs, targets=None, *, mappings=None, limits=None, default=None, now=NOW, **kwargs
):
    graph = AssetGraph.from_assets(assets)
    defs = {k(name): d for name, d in defs.items()}
    if targets is None:
        targets = backfill_targets(defs, defs, current_time=now, **kwargs)
    else:
        targets = {k(name): subset for name, subset in targets.items()}
    mappings = {(k(c), k(p)): m for (c, p), m in (mappings or {}).items()}
    return plan_backfill(
        graph,
        targets,
        partitions_defs=defs,
        mapping_of=lambda child, parent: mappings.get((child, parent)),
        max_partitions_per_run={k(name): n for name, n in (limits or {}).items()},
        default_max_partitions_per_run=default,
        current_time=now,
        **kwargs,
    )


def names(chunk):
    return [key.to_user_string() for key in chunk.asset_keys]


def ends(chunk):
    p = chunk.partition
    return (p.key, p.key) if p.key is not None else (p.range_start, p.range_end)


# -- chunking -------------------------------------------------------------------------


def test_daily_asset_over_130_years_is_cut_into_chunks_of_100():
    daily = DailyPartitionsDefinition(start_date="1970-01-01", end_date="2100-01-01")
    result = plan([asset("a")], {"a": daily}, default=100, now=None)
    assert len(result.chunks) == 475
    assert result.partition_count == 47482
    assert ends(result.chunks[0]) == ("1970-01-01", "1970-04-10")
    assert result.chunks[-1].partition_count == 82
    assert ends(result.chunks[-1])[1] == "2099-12-31"
    assert all(not c.deps for c in result.chunks)


def test_a_chunk_never_spans_a_gap_in_the_target():
    target = DAILY.subset_with_partition_key_range(
        PartitionKeyRange("2020-01-01", "2020-01-05")
    ).with_partition_key_range(PartitionKeyRange("2020-01-08", "2020-01-09"))
    result = plan([asset("a")], {"a": DAILY}, {"a": target}, default=3)
    assert [ends(c) for c in result.chunks] == [
        ("2020-01-01", "2020-01-03"),
        ("2020-01-04", "2020-01-05"),
        ("2020-01-08", "2020-01-09"),
    ]
    assert [c.partition_count for c in result.chunks] == [3, 2, 2]


def test_no_limit_runs_each_contiguous_range_in_one_run():
    target = DAILY.subset_with_partition_keys(["2020-01-01", "2020-01-02", "2020-02-01"])
    result = plan([asset("a")], {"a": DAILY}, {"a": target})
    assert [c.partition for c in result.chunks] == [
        PlanPartition(range_start="2020-01-01", range_end="2020-01-02"),
        PlanPartition(key="2020-02-01"),
    ]


def test_an_explicit_none_overrides_the_default_limit():
    result = plan([asset("a")], {"a": DAILY}, limits={"a": None}, default=1)
    assert len(result.chunks) == 1
    assert result.chunks[0].partition_count == 366


def test_dynamic_partitions_are_read_from_the_store_given():
    store = InMemoryDynamicPartitionsStore({"c": [f"k{i:04d}" for i in range(1000)]})
    result = plan(
        [asset("a")],
        {"a": DynamicPartitionsDefinition(name="c")},
        default=100,
        dynamic_partitions_store=store,
    )
    assert len(result.chunks) == 10
    assert ends(result.chunks[3]) == ("k0300", "k0399")


def test_multi_partition_chunks_are_rectangles_that_read_back_exactly():
    multi = MultiPartitionsDefinition(
        {
            "date": DailyPartitionsDefinition(start_date="2020-01-01", end_date="2020-01-05"),
            "region": StaticPartitionsDefinition(["eu", "us", "ap"]),
        }
    )
    result = plan([asset("a")], {"a": multi}, default=5)
    covered = []
    for chunk in result.chunks:
        start, end = ends(chunk)
        keys = multi.get_partition_keys_in_range(PartitionKeyRange(start, end))
        assert len(keys) == chunk.partition_count <= 5
        covered.extend(keys)
    assert sorted(covered) == sorted(multi.get_partition_keys())


# -- grouping and deps ------------------------------------------------------------------


def test_chain_of_equal_daily_assets_shares_runs_and_weekly_child_waits_for_them():
    assets = [asset("a"), asset("b", "a"), asset("c", "b")]
    result = plan(assets, {"a": DAILY, "b": DAILY, "c": WEEKLY}, default=30)
    daily_chunks = [c for c in result.chunks if names(c) == ["a", "b"]]
    weekly_chunks = [c for c in result.chunks if names(c) == ["c"]]
    assert len(daily_chunks) == 13
    assert len(weekly_chunks) == 2
    assert len(result.chunks) == 15
    assert result.partition_count == 366 * 2 + 52
    first = weekly_chunks[0]  # weeks 2020-01-05 .. 2020-07-26: days up to 2020-08-01
    assert ends(first) == ("2020-01-05", "2020-07-26")
    assert first.deps == tuple(range(8))


def test_independent_assets_with_equal_partitions_share_runs():
    copy = DailyPartitionsDefinition(start_date="2020-01-01", end_date="2021-01-01")
    result = plan([asset("x"), asset("y")], {"x": DAILY, "y": copy}, default=200)
    assert [names(c) for c in result.chunks] == [["x", "y"], ["x", "y"]]


def test_assets_with_other_targets_or_limits_get_their_own_runs():
    part = DAILY.subset_with_partition_key_range(PartitionKeyRange("2020-01-01", "2020-01-10"))
    result = plan(
        [asset("a"), asset("b", "a"), asset("c", "a")],
        {"a": DAILY, "b": DAILY, "c": DAILY},
        {"a": part, "b": part, "c": part},
        limits={"c": 5},
        default=10,
    )
    assert [names(c) for c in result.chunks] == [["a", "b"], ["c"], ["c"]]
    assert [c.deps for c in result.chunks] == [(), (0,), (0,)]


def test_an_offset_mapping_puts_the_child_in_later_runs_that_wait_for_the_day_before():
    result = plan(
        [asset("a"), asset("b", "a")],
        {"a": DAILY, "b": DAILY},
        mappings={("b", "a"): TimeWindowPartitionMapping(start_offset=-1)},
        default=10,
    )
    a_chunks = [c for c in result.chunks if names(c) == ["a"]]
    b_chunks = [c for c in result.chunks if names(c) == ["b"]]
    assert len(a_chunks) == len(b_chunks) == 37
    assert b_chunks[0].deps == (0,)
    assert b_chunks[1].deps == (0, 1)  # 2020-01-11 needs 2020-01-10


def test_grouping_never_closes_a_cycle_through_another_group():
    # a -> w (weekly) -> c, and a -> c: c cannot share a's runs, since they wait for w.
    assets = [asset("a"), asset("w", "a"), asset("c", "a", "w")]
    result = plan(assets, {"a": DAILY, "w": WEEKLY, "c": DAILY}, default=400)
    assert [names(c) for c in result.chunks] == [["a"], ["w"], ["c"]]
    assert [c.deps for c in result.chunks] == [(), (0,), (0, 1)]


def test_unselected_assets_in_between_impose_no_order():
    assets = [asset("a"), asset("x", "a"), asset("c", "x")]
    graph_defs = {"a": DAILY, "c": DAILY}
    result = plan(assets, graph_defs, default=400)
    assert [names(c) for c in result.chunks] == [["a", "c"]]
    assert result.chunks[0].deps == ()


def test_all_partition_mapping_waits_for_every_chunk_of_the_parent():
    static = StaticPartitionsDefinition(["p", "q", "r"])
    result = plan(
        [asset("a"), asset("s", "a")],
        {"a": DAILY, "s": static},
        mappings={("s", "a"): AllPartitionMapping()},
        default=100,
    )
    assert names(result.chunks[-1]) == ["s"]
    assert result.chunks[-1].deps == (0, 1, 2, 3)


def test_parents_outside_the_parent_target_are_not_waited_for():
    early = DAILY.subset_with_partition_key_range(PartitionKeyRange("2020-01-01", "2020-01-10"))
    late = DAILY.subset_with_partition_key_range(PartitionKeyRange("2020-06-01", "2020-06-10"))
    result = plan([asset("a"), asset("b", "a")], {"a": DAILY, "b": DAILY}, {"a": early, "b": late})
    assert [names(c) for c in result.chunks] == [["a"], ["b"]]
    assert result.chunks[1].deps == ()


def test_a_plan_is_the_same_whatever_the_order_of_the_inputs():
    assets = [asset("a"), asset("b", "a"), asset("c", "b"), asset("z")]
    defs = {"a": DAILY, "b": DAILY, "c": WEEKLY, "z": WEEKLY}
    one = plan(assets, defs, default=7)
    reordered = plan(list(reversed(assets)), dict(reversed(defs.items())), default=7)
    assert one == reordered
    assert one.fingerprint == reordered.fingerprint
    assert one.asset_keys == (k("a"), k("b"), k("c"), k("z"))


def test_empty_targets_contribute_no_chunk():
    result = plan([asset("a")], {"a": DAILY}, {"a": DAILY.empty_subset()})
    assert result.chunks == ()
    assert result.asset_keys == ()
    assert result.partition_count == 0


# -- errors -------------------------------------------------------------------------------


def test_every_problem_is_listed_at_once():
    other = DailyPartitionsDefinition(start_date="2019-01-01")
    graph = AssetGraph.from_assets([asset("orders"), asset("u"), asset("v"), asset("w")])
    with pytest.raises(PlanError) as info:
        plan_backfill(
            graph,
            {
                k("order"): DAILY.subset_with_all_partitions(),
                k("u"): DAILY.subset_with_all_partitions(),
                k("v"): other.subset_with_all_partitions(NOW),
                k("w"): DAILY.subset_with_all_partitions(),
            },
            partitions_defs={k("v"): DAILY, k("w"): DAILY},
            mapping_of=lambda c, p: None,
            max_partitions_per_run={k("w"): 0},
            default_max_partitions_per_run=-1,
            current_time=NOW,
        )
    message = str(info.value)
    assert "no asset has key 'order'. Did you mean 'orders'?" in message
    assert "'u' has no partitions definition" in message
    assert "target of 'v' is a subset of" in message
    assert "max partitions per run of 'w' is 0" in message
    assert "default_max_partitions_per_run is -1" in message


@pytest.mark.parametrize("bad", [0, -3, True, 2.5])
def test_a_max_partitions_per_run_below_one_is_refused(bad):
    with pytest.raises(PlanError, match="at least 1"):
        plan([asset("a")], {"a": DAILY}, limits={"a": bad})


def test_partitions_that_do_not_exist_yet_are_refused():
    open_ended = DailyPartitionsDefinition(start_date="2020-01-01")
    target = open_ended.subset_with_all_partitions(NOW)
    graph = AssetGraph.from_assets([asset("a")])
    with pytest.raises(PlanError, match=r"do not exist as of 2020-01-03.*'2020-01-03'"):
        plan_backfill(
            graph,
            {k("a"): target},
            partitions_defs={k("a"): open_ended},
            mapping_of=lambda c, p: None,
            max_partitions_per_run={},
            current_time=dt.datetime(2020, 1, 3, tzinfo=dt.UTC),
        )


def test_external_assets_cannot_be_backfilled():
    with pytest.raises(PlanError, match="'a' is external"):
        plan([asset("a", is_executable=False)], {"a": DAILY})


def test_a_mapping_that_cannot_join_the_definitions_is_reported_with_both_assets():
    static = StaticPartitionsDefinition(["p"])
    with pytest.raises(PlanError, match=r"'b' <- 'a'.*cannot map"):
        plan(
            [asset("a"), asset("b", "a")],
            {"a": DAILY, "b": static},
            mappings={("b", "a"): IdentityPartitionMapping()},
        )


def test_a_multi_asset_that_cannot_subset_is_not_split_between_runs():
    assets = [asset("x", node="m"), asset("y", node="m")]
    with pytest.raises(PlanError, match="multi-asset 'm' cannot run for part"):
        plan(assets, {"x": DAILY, "y": DAILY}, limits={"x": 5}, default=10)
    shared = plan(assets, {"x": DAILY, "y": DAILY}, default=10)
    assert all(names(c) == ["x", "y"] for c in shared.chunks)


# -- targets ------------------------------------------------------------------------------


def test_backfill_targets_take_all_partitions_a_key_list_or_a_range():
    defs = {k("a"): DAILY, k("b"): DAILY}
    assert len(backfill_targets(defs, defs)[k("b")]) == 366
    listed = backfill_targets(defs, defs, partition_keys=["2020-01-02", "2020-01-05"])
    assert listed[k("a")].get_partition_keys() == ["2020-01-02", "2020-01-05"]
    ranged = backfill_targets(
        [k("a")], defs, partition_key_range=PartitionKeyRange("2020-02-01", "2020-02-29")
    )
    assert len(ranged[k("a")]) == 29


def test_backfill_targets_refuse_both_forms_and_unpartitioned_assets():
    defs = {k("a"): DAILY}
    with pytest.raises(PlanError, match="not both"):
        backfill_targets(
            defs, defs, partition_keys=[], partition_key_range=PartitionKeyRange("x", "y")
        )
    with pytest.raises(PlanError, match="'b' has no partitions definition"):
        backfill_targets([k("a"), k("b")], defs)


# -- codec --------------------------------------------------------------------------------


def test_the_data_form_round_trips_through_json_and_keeps_the_fingerprint():
    result = plan(
        [asset("a"), asset("b", "a"), asset("c", "b")],
        {"a": DAILY, "b": DAILY, "c": WEEKLY},
        default=30,
    )
    data = loads(canonical_json(backfill_plan_to_data(result)))
    assert data["chunks"][0] == [[0, 1], ["2020-01-01", "2020-01-30"], 30, []]
    back = backfill_plan_from_data(data)
    assert back == result
    assert back.fingerprint == result.fingerprint


def test_a_changed_plan_has_another_fingerprint_and_tampered_data_is_refused():
    data = backfill_plan_to_data(plan([asset("a")], {"a": DAILY}, default=100))
    data["chunks"][0][2] = 99
    with pytest.raises(PlanError, match="the data was changed"):
        backfill_plan_from_data(data)
    del data["fingerprint"]
    assert backfill_plan_from_data(data).chunks[0].partition_count == 99


@pytest.mark.parametrize(
    "data",
    [{}, {"version": 2}, {"version": 1, "asset_keys": ["a"], "chunks": [[[3], "x", 1, []]]}],
)
def test_data_that_is_not_a_plan_is_refused(data):
    with pytest.raises(PlanError, match="backfill plan"):
        backfill_plan_from_data(data)


# -- properties ---------------------------------------------------------------------------

SMALL_DAILY = DailyPartitionsDefinition(start_date="2020-01-01", end_date="2020-03-01")
SMALL_DAILY_COPY = DailyPartitionsDefinition(start_date="2020-01-01", end_date="2020-03-01")
LATER_DAILY = DailyPartitionsDefinition(start_date="2020-01-20", end_date="2020-03-10")
SMALL_WEEKLY = WeeklyPartitionsDefinition(start_date="2020-01-05", end_date="2020-03-08")
STATIC = StaticPartitionsDefinition([f"s{i}" for i in range(12)])
DEFS = [SMALL_DAILY, SMALL_DAILY_COPY, LATER_DAILY, SMALL_WEEKLY, STATIC]


def _mapping_choices(child_def, parent_def):
    time_defs = (SMALL_DAILY, SMALL_DAILY_COPY, LATER_DAILY, SMALL_WEEKLY)
    if child_def in time_defs and parent_def in time_defs:
        return [
            None,
            TimeWindowPartitionMapping(start_offset=-1),
            TimeWindowPartitionMapping(start_offset=-2, end_offset=1),
            AllPartitionMapping(),
            LastPartitionMapping(),
        ]
    if child_def == parent_def:
        return [None, IdentityPartitionMapping(), AllPartitionMapping(), LastPartitionMapping()]
    return [AllPartitionMapping(), LastPartitionMapping()]


@st.composite
def backfills(draw):
    n = draw(st.integers(1, 7))
    defs = [draw(st.sampled_from(DEFS)) for _ in range(n)]
    assets, mappings, selected = [], {}, []
    for i in range(n):
        parents = draw(st.sets(st.integers(0, i - 1), max_size=3)) if i else set()
        assets.append(asset(f"a{i}", *(f"a{p}" for p in sorted(parents))))
        for p in parents:
            choice = draw(st.sampled_from(_mapping_choices(defs[i], defs[p])))
            mappings[(f"a{i}", f"a{p}")] = choice
        if draw(st.booleans()) or i == 0:
            selected.append(i)
    targets, limits = {}, {}
    shared = draw(st.booleans())
    for i in selected:
        size = defs[i].get_num_partitions()
        if shared:
            bounds = [(0, size)]
        else:
            cuts = sorted(draw(st.sets(st.integers(0, size), max_size=6)))
            bounds = list(zip(cuts[::2], cuts[1::2], strict=False))
        keys = defs[i].get_partition_keys()
        targets[f"a{i}"] = defs[i].subset_with_partition_keys(
            [key for low, high in bounds for key in keys[low:high]]
        )
        if draw(st.booleans()):
            limits[f"a{i}"] = draw(st.one_of(st.none(), st.integers(1, 20)))
    return assets, {f"a{i}": defs[i] for i in selected}, targets, mappings, limits


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(backfills(), st.one_of(st.none(), st.integers(1, 15)))
def test_planned_chunks_cover_targets_exactly_and_respect_dependencies(case, default):
    assets, defs, targets, mappings, limits = case
    result = plan(assets, defs, targets, mappings=mappings, limits=limits, default=default)
    by_key = {}
    for chunk in result.chunks:
        # ids are a topological order, so the chunk graph is acyclic
        assert all(dep < chunk.chunk_id for dep in chunk.deps)
        assert list(chunk.deps) == sorted(set(chunk.deps))
        for name in names(chunk):
            definition = defs[name]
            start, end = ends(chunk)
            keys = definition.get_partition_keys_in_range(PartitionKeyRange(start, end))
            assert len(keys) == chunk.partition_count
            limit = limits.get(name, default)
            assert limit is None or chunk.partition_count <= limit
            for key in keys:
                assert (name, key) not in by_key, "a partition is planned twice"
                by_key[(name, key)] = chunk
    expected = {(name, key) for name, subset in targets.items() for key in subset}
    assert set(by_key) == expected
    assert [c.chunk_id for c in result.chunks] == list(range(len(result.chunks)))
    assert result.partition_count == len(expected)
    graph = AssetGraph.from_assets(assets)
    for (name, key), chunk in by_key.items():
        for parent in graph.parents_of(k(name)):
            parent_name = parent.to_user_string()
            if parent_name not in defs:
                continue
            mapping = infer_partition_mapping(
                mappings.get((name, parent_name)), defs[name], defs[parent_name]
            )
            needed = mapping.get_upstream_mapped_partitions_result_for_partitions(
                defs[name].subset_with_partition_keys([key]), defs[name], defs[parent_name]
            ).partitions_subset
            for upstream_key in needed:
                source = by_key.get((parent_name, upstream_key))
                if source is not None:
                    assert source is chunk or source.chunk_id in chunk.deps
    assert backfill_plan_from_data(backfill_plan_to_data(result)) == result
    assert isinstance(result, BackfillPlan)


class CountingStore(InMemoryDynamicPartitionsStore):
    def __init__(self, keys_by_name):
        super().__init__(keys_by_name)
        self.reads = 0

    def get_dynamic_partitions(self, partitions_def_name):
        self.reads += 1
        return super().get_dynamic_partitions(partitions_def_name)


def test_the_dynamic_store_is_read_once_per_definition_while_planning():
    store = CountingStore({"c": [f"k{i}" for i in range(50)]})
    dynamic = DynamicPartitionsDefinition(name="c")
    defs = {k("d"): dynamic, k("s"): StaticPartitionsDefinition(["p", "q"])}
    targets = backfill_targets(defs, defs, dynamic_partitions_store=store)
    store.reads = 0
    result = plan_backfill(
        AssetGraph.from_assets([asset("d"), asset("s", "d")]),
        targets,
        partitions_defs=defs,
        mapping_of=lambda c, p: AllPartitionMapping(),
        max_partitions_per_run={k("s"): 1},
        default_max_partitions_per_run=10,
        dynamic_partitions_store=store,
    )
    assert [c.deps for c in result.chunks[5:]] == [(0, 1, 2, 3, 4)] * 2
    assert store.reads == 1
    assert store.has_dynamic_partition("c", "k3")


class UnhashableAll(AllPartitionMapping):
    __hash__ = None  # a user's mapping may hold a dict


def test_mappings_that_cannot_be_hashed_still_order_runs():
    static = StaticPartitionsDefinition(["p", "q"])
    result = plan(
        [asset("a"), asset("s", "a"), asset("t", "a")],
        {"a": DAILY, "s": static, "t": static},
        mappings={("s", "a"): UnhashableAll(), ("t", "a"): UnhashableAll()},
        default=200,
    )
    assert [names(c) for c in result.chunks] == [["a"], ["a"], ["s", "t"]]
    assert result.chunks[2].deps == (0, 1)


def test_multi_assets_that_can_subset_or_are_not_targeted_may_be_split():
    assets = [
        asset("x", node="m", can_subset=True),
        asset("y", node="m", can_subset=True),
        asset("u", node="n"),
        asset("v", node="n"),
    ]
    result = plan(assets, {"x": DAILY, "y": DAILY}, limits={"x": 5}, default=400)
    assert {tuple(names(c)) for c in result.chunks} == {("x",), ("y",)}


def test_the_planning_store_answers_membership_from_the_store_it_wraps():
    from arco_flow.core.backfill import _CachedStore

    cached = _CachedStore(InMemoryDynamicPartitionsStore({"c": ["k1"]}))
    assert cached.has_dynamic_partition("c", "k1")
    assert not cached.has_dynamic_partition("c", "k2")
