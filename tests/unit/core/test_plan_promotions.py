"""Planning held values: an asset quarantined pending standalone blocking checks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.core.manifest import (
    Manifest,
    ManifestAsset,
    ManifestCheck,
    manifest_from_data,
    manifest_to_data,
)
from arco_flow.core.plan import (
    PlanPartition,
    build_plan,
    plan_from_data,
    plan_to_data,
    promotion_task_id,
)
from arco_flow.core.run_state import RunState, TaskStatus

K = AssetKey.from_user_string
C = AssetCheckKey.from_user_string


def graph_of(quarantine: bool) -> AssetGraph:
    """orders (quarantining when asked) -> report; a blocking and a plain check on orders,
    and a check on `audit` that reads orders."""
    assets = [
        ManifestAsset(key=K("orders"), node="orders", quarantine_on_failed_check=quarantine),
        ManifestAsset(key=K("report"), node="report", deps=(K("orders"),)),
        ManifestAsset(key=K("audit"), node="audit"),
    ]
    checks = [
        ManifestCheck(
            asset_key=K("orders"), name="positive", node="orders_positive", blocking=True
        ),
        ManifestCheck(asset_key=K("orders"), name="count", node="orders_count"),
        ManifestCheck(
            asset_key=K("audit"),
            name="matches",
            node="audit_matches",
            additional_deps=(K("orders"),),
        ),
    ]
    return AssetGraph.from_assets(assets, checks)


def plan(graph: AssetGraph, **kwargs: Any):
    manifest = Manifest(assets=graph.assets, checks=graph.checks)
    selection = kwargs.pop("selection", {asset.key for asset in graph.assets})
    checks = kwargs.pop("checks", graph.asset_check_keys)
    return build_plan(manifest, graph, selection, checks=checks, **kwargs)


# Plan ids of `graph_of(False)` before holds existed: plans without them must not change.
PLAIN_PLAN_ID = "7c8cc336736cbaec39546827ce73cacb2bf5989431ee8ca24c6b04afc7d2e2d5"


def test_a_plan_without_held_assets_keeps_its_id():
    two_assets = AssetGraph.from_assets(
        [
            ManifestAsset(key=K("orders"), node="orders"),
            ManifestAsset(key=K("report"), node="report", deps=(K("orders"),)),
        ],
        [c for c in graph_of(False).checks if c.asset_key == K("orders")],
    )
    assert plan(two_assets).plan_id == PLAIN_PLAN_ID
    assert not any(task.promotes or task.held_keys for task in plan(graph_of(False)).tasks)


def test_a_held_asset_is_promoted_after_its_checks_and_before_its_readers():
    planned = plan(graph_of(True))

    promotion = planned.task("orders.promote")
    assert promotion.promotes == (K("orders"),)
    assert promotion.asset_keys == ()
    assert promotion.node == "orders"
    assert promotion.deps == ("orders", "orders_count", "orders_positive")
    assert promotion.gated_by == (C("orders:positive"),)
    assert planned.task("orders").held_keys == (K("orders"),)
    assert planned.task("orders_positive").held_keys == (K("orders"),)
    assert planned.task("orders_count").held_keys == (K("orders"),)
    assert "orders.promote" in planned.task("report").deps
    assert "orders.promote" in planned.task("audit_matches").deps
    assert planned.task("audit_matches").held_keys == ()
    assert K("orders") in planned.asset_keys


def test_a_held_plan_round_trips_through_data():
    planned = plan(graph_of(True), partition=PlanPartition(key="p"))
    again = plan_from_data(plan_to_data(planned))
    assert again.tasks == planned.tasks
    assert again.plan_id == planned.plan_id
    assert promotion_task_id(K("orders"), "[p]") in planned.task_ids


def test_the_manifest_carries_the_quarantine_flag():
    graph = graph_of(True)
    manifest = Manifest(assets=graph.assets, checks=graph.checks)
    again = manifest_from_data(manifest_to_data(manifest))
    assert again.fingerprint == manifest.fingerprint
    assert [a.quarantine_on_failed_check for a in again.assets] == [False, True, False]


def test_nothing_is_held_when_the_blocking_check_or_the_asset_is_left_out():
    graph = graph_of(True)
    without = plan(graph, checks={C("orders:count")})
    assert not any(task.promotes or task.held_keys for task in without.tasks)
    alone = plan(graph, selection=set(), checks={C("orders:positive")})
    assert alone.task_ids == ("orders_positive",)


def test_a_failed_blocking_check_skips_the_promotion_and_the_readers():
    state = RunState(plan(graph_of(True)))
    for task_id in ("audit", "orders", "orders_count", "orders_positive"):
        state.start(task_id)
        state.succeed(task_id)
    skipped = state.block(C("orders:positive"))
    assert set(skipped) == {"orders.promote", "report", "audit_matches"}
    assert state.status["orders.promote"] is TaskStatus.SKIPPED


@settings(max_examples=30, deadline=None)
@given(st.booleans(), st.sampled_from([None, "2024-01-01", "x"]))
def test_promotion_comes_after_every_check_of_the_asset_and_before_every_reader(
    quarantine: bool, partition_key: str | None
):
    partition = None if partition_key is None else PlanPartition(key=partition_key)
    planned = plan(graph_of(quarantine), partition=partition)
    stage = {task.task_id: task.stage for task in planned.tasks}
    promotions = [task for task in planned.tasks if task.promotes]
    assert len(promotions) == (1 if quarantine else 0)
    for promotion in promotions:
        for task in planned.tasks:
            checks_held = any(key.asset_key in promotion.promotes for key in task.check_keys)
            if checks_held:
                assert stage[task.task_id] < promotion.stage
            if promotion.task_id in task.deps:
                assert not checks_held


def test_two_held_assets_cannot_share_a_promotion_id():
    graph = AssetGraph.from_assets(
        [
            ManifestAsset(key=K("a__b"), node="x", quarantine_on_failed_check=True),
            ManifestAsset(key=AssetKey(["a", "b"]), node="y", quarantine_on_failed_check=True),
        ],
        [
            ManifestCheck(asset_key=K("a__b"), name="c", node="c1", blocking=True),
            ManifestCheck(asset_key=AssetKey(["a", "b"]), name="c", node="c2", blocking=True),
        ],
    )
    from arco_flow.core.errors import PlanError

    with pytest.raises(PlanError, match="share the promotion task"):
        plan(graph)
