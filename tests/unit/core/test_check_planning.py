"""Asset checks in the core: graph index, selection, planning, run state."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.canonical_json import canonical_json
from arco_flow.core.errors import DefinitionError, PlanError, SelectionError
from arco_flow.core.events import AssetCheckEvaluated, TaskSkipped, TaskSucceeded
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.core.manifest import (
    Manifest,
    ManifestAsset,
    ManifestCheck,
    manifest_from_data,
    manifest_json,
    manifest_to_data,
)
from arco_flow.core.plan import PlanPartition, build_plan, plan_from_data, plan_to_data
from arco_flow.core.run_state import RunState, TaskStatus, restore_run_state
from arco_flow.core.selection import AssetSelection


def K(name: str) -> AssetKey:
    return AssetKey.from_user_string(name)


def C(text: str) -> AssetCheckKey:
    return AssetCheckKey.from_user_string(text)


def asset(name: str, *deps: str, node: str | None = None, **kwargs: Any) -> ManifestAsset:
    return ManifestAsset(key=K(name), node=node or name, deps=tuple(K(d) for d in deps), **kwargs)


def check(target: str, name: str, *, node: str | None = None, **kwargs: Any) -> ManifestCheck:
    return ManifestCheck(asset_key=K(target), name=name, node=node or f"{target}_{name}", **kwargs)


# orders -> cleaned -> report;  customers -> customer_report;  in-asset check on customers
ASSETS = [
    asset("orders"),
    asset("cleaned", "orders"),
    asset("report", "cleaned"),
    asset("customers"),
    asset("customer_report", "customers"),
]
CHECKS = [
    check("orders", "no_nulls", blocking=True),
    check("orders", "row_count"),
    check("customers", "unique", node="customers", blocking=True),
    check("cleaned", "fresh", additional_deps=(K("customers"),)),
]


@pytest.fixture(scope="module")
def graph() -> AssetGraph:
    return AssetGraph.from_assets(ASSETS, CHECKS)


def manifest(graph: AssetGraph) -> Manifest:
    return Manifest(assets=graph.assets, checks=graph.checks)


def keys(*texts: str) -> set[AssetCheckKey]:
    return {C(text) for text in texts}


# -- keys and graph ----------------------------------------------------------------------


def test_check_key_round_trips_through_its_user_string():
    key = AssetCheckKey(["raw", "orders"], "no_nulls")
    assert AssetCheckKey.from_user_string(key.to_user_string()) == key
    assert str(key) == "raw/orders:no_nulls"


def test_check_key_string_without_a_name_is_rejected_with_an_example():
    with pytest.raises(DefinitionError, match="orders:no_nulls"):
        AssetCheckKey.from_user_string("orders")


def test_graph_indexes_checks_by_asset(graph):
    assert graph.check_keys_by_asset[K("orders")] == (C("orders:no_nulls"), C("orders:row_count"))
    assert len(graph.asset_check_keys) == 4


def test_graph_rejects_a_check_on_an_unknown_asset_with_a_suggestion():
    with pytest.raises(DefinitionError, match="Did you mean 'orders'"):
        AssetGraph.from_assets(ASSETS, [check("ordrs", "x")])


def test_manifest_carries_checks_and_the_fast_writer_matches_canonical_json(graph):
    data = manifest_to_data(manifest(graph))
    assert manifest_json(manifest(graph)) == canonical_json(data)
    assert manifest_from_data(data).checks == manifest(graph).checks


# -- selection ---------------------------------------------------------------------------


def test_all_and_assets_include_their_checks_as_in_dagster(graph):
    assert AssetSelection.all().resolve_checks(graph) == graph.asset_check_keys
    assert AssetSelection.assets("orders").resolve_checks(graph) == keys(
        "orders:no_nulls", "orders:row_count"
    )
    assert AssetSelection.from_string("key:customers").resolve_checks(graph) == keys(
        "customers:unique"
    )


def test_check_only_selections_select_no_asset(graph):
    for selection in (
        AssetSelection.checks_for_assets("orders"),
        AssetSelection.checks(C("orders:no_nulls")),
        AssetSelection.all_asset_checks(),
    ):
        assert selection.resolve(graph) == set()
    assert AssetSelection.checks_for_assets("orders").resolve_checks(graph) == keys(
        "orders:no_nulls", "orders:row_count"
    )
    assert AssetSelection.checks(C("orders:no_nulls")).resolve_checks(graph) == keys(
        "orders:no_nulls"
    )


def test_without_checks_keeps_assets_and_drops_every_check(graph):
    selection = AssetSelection.all().without_checks()
    assert selection.resolve(graph) == set(graph.keys)
    assert selection.resolve_checks(graph) == set()


def test_difference_and_intersection_combine_checks(graph):
    minus = AssetSelection.all() - AssetSelection.checks(C("orders:row_count"))
    assert C("orders:row_count") not in minus.resolve_checks(graph)
    assert C("orders:no_nulls") in minus.resolve_checks(graph)
    both = AssetSelection.assets("orders") & AssetSelection.checks_for_assets("orders")
    assert both.resolve(graph) == set()
    assert both.resolve_checks(graph) == keys("orders:no_nulls", "orders:row_count")


def test_lineage_selections_carry_the_checks_of_their_assets(graph):
    upstream = AssetSelection.assets("report").upstream()
    assert upstream.resolve_checks(graph) == keys(
        "orders:no_nulls", "orders:row_count", "cleaned:fresh"
    )


def test_unknown_check_key_is_a_selection_error_with_a_suggestion(graph):
    with pytest.raises(SelectionError, match="Did you mean 'orders:no_nulls'"):
        AssetSelection.checks(C("orders:no_null")).resolve_checks(graph)
    assert AssetSelection.checks(C("orders:no_null")).resolve_checks(graph, allow_missing=True) == (
        set()
    )


def test_checks_takes_definitions_with_check_keys(graph):
    class Definition:
        check_keys = frozenset({C("orders:row_count")})

    assert AssetSelection.checks(Definition()).resolve_checks(graph) == keys("orders:row_count")
    with pytest.raises(SelectionError, match="AssetCheckKey"):
        AssetSelection.checks("orders:row_count")


def test_a_graph_without_checks_resolves_no_check():
    bare = AssetGraph.from_assets(ASSETS)
    assert AssetSelection.all().resolve_checks(bare) == set()


names_strategy = st.sets(st.sampled_from([a.key.to_user_string() for a in ASSETS]))


@settings(max_examples=60, deadline=None)
@given(chosen=names_strategy, removed=names_strategy)
def test_checks_of_an_asset_selection_are_exactly_those_of_its_assets(graph, chosen, removed):
    selection = AssetSelection.assets(*chosen) - AssetSelection.checks_for_assets(*removed)
    expected = {
        key
        for key in graph.asset_check_keys
        if key.asset_key.to_user_string() in chosen
        and key.asset_key.to_user_string() not in removed
    }
    assert selection.resolve_checks(graph) == expected
    assert selection.resolve(graph) == {K(name) for name in chosen}
    assert selection.without_checks().resolve_checks(graph) == set()


# -- planning ----------------------------------------------------------------------------


def plan_for(graph, assets, checks, **kwargs):
    return build_plan(manifest(graph), graph, {K(a) for a in assets}, checks=checks, **kwargs)


def test_a_standalone_check_is_a_task_after_its_asset(graph):
    plan = plan_for(graph, ["orders"], keys("orders:row_count"))
    task = plan.task("orders_row_count")
    assert task.asset_keys == ()
    assert task.deps == ("orders",)
    assert task.check_keys == (C("orders:row_count"),)
    assert plan.check_keys == (C("orders:row_count"),)


def test_an_in_asset_check_runs_in_its_assets_task(graph):
    plan = plan_for(graph, ["customers"], keys("customers:unique"))
    assert plan.task_ids == ("customers",)
    assert plan.task("customers").check_keys == (C("customers:unique"),)


def test_a_blocking_check_gates_the_children_of_its_asset_only(graph):
    everything = [a.key.to_user_string() for a in ASSETS]
    plan = plan_for(graph, everything, graph.asset_check_keys)
    cleaned = plan.task("cleaned")
    assert cleaned.gated_by == (C("orders:no_nulls"),)
    assert "orders_no_nulls" in cleaned.deps  # waits for the check
    assert "orders_row_count" not in cleaned.deps  # not blocking: does not wait
    assert plan.task("customer_report").gated_by == (C("customers:unique"),)
    assert plan.task("report").gated_by == ()
    # additional deps order the check after the assets it reads
    assert plan.task("cleaned_fresh").deps == ("cleaned", "customers")


def test_checks_alone_plan_only_check_tasks(graph):
    plan = plan_for(graph, [], keys("orders:no_nulls", "orders:row_count"))
    assert plan.task_ids == ("orders_no_nulls", "orders_row_count")
    assert all(task.deps == () for task in plan.tasks)
    assert plan.asset_keys == ()


def test_an_in_asset_check_without_its_asset_cannot_be_planned(graph):
    with pytest.raises(PlanError, match="select the asset too"):
        plan_for(graph, ["orders"], keys("customers:unique"))


def test_an_unknown_check_cannot_be_planned(graph):
    with pytest.raises(PlanError, match="no asset check has key 'orders:nope'"):
        plan_for(graph, ["orders"], keys("orders:nope"))


def test_plans_without_checks_keep_their_id(graph):
    selection = {K("orders"), K("cleaned")}
    plain = build_plan(manifest(graph), graph, selection)
    assert plan_for(graph, ["orders", "cleaned"], ()).plan_id == plain.plan_id
    assert "orders" in plain.task_ids


def test_a_plan_with_checks_round_trips_through_data(graph):
    everything = [a.key.to_user_string() for a in ASSETS]
    plan = plan_for(graph, everything, graph.asset_check_keys, partition=PlanPartition(key="p"))
    again = plan_from_data(plan_to_data(plan))
    assert again.tasks == plan.tasks
    assert again.plan_id == plan.plan_id
    assert plan.task("orders_no_nulls[p]").deps == ("orders[p]",)


# -- run state ---------------------------------------------------------------------------


def test_block_skips_exactly_the_gated_tasks_and_their_downstream(graph):
    everything = [a.key.to_user_string() for a in ASSETS]
    state = RunState(plan_for(graph, everything, graph.asset_check_keys))
    for task_id in ("orders", "customers", "orders_no_nulls"):
        state.start(task_id)
        state.succeed(task_id)
    assert state.block(C("orders:no_nulls")) == ["cleaned", "cleaned_fresh", "report"]
    assert state.status["customer_report"] is TaskStatus.PENDING
    assert state.status["orders_row_count"] is TaskStatus.PENDING
    assert state.block(C("orders:row_count")) == []


def test_a_restored_state_remembers_failed_blocking_checks(graph):
    everything = [a.key.to_user_string() for a in ASSETS]
    plan = plan_for(graph, everything, graph.asset_check_keys)

    def evaluated(name, passed, severity="ERROR", blocking=True):
        return AssetCheckEvaluated(
            run_id="r",
            task_id="orders_no_nulls",
            asset_key=K("orders"),
            check_name=name,
            passed=passed,
            severity=severity,
            blocking=blocking,
        )

    events = [
        TaskSucceeded(run_id="r", task_id="orders", attempt=1),
        evaluated("no_nulls", False),
        evaluated("no_nulls", False),
        evaluated("row_count", False, blocking=False),
        evaluated("warned", False, severity="WARN"),
        TaskSucceeded(run_id="r", task_id="orders_no_nulls", attempt=1),
        TaskSkipped(run_id="r", task_id="cleaned", reason="blocking check orders:no_nulls failed"),
    ]
    state = restore_run_state(plan, events)
    assert state.failed_blocking_checks == [C("orders:no_nulls")]
    assert state.status["cleaned"] is TaskStatus.SKIPPED
