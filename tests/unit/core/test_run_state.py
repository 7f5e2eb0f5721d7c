from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import Manifest, ManifestAsset
from arco_flow.core.plan import build_plan
from arco_flow.core.run_state import RunState, TaskStatus


def make_state():
    assets = [
        ManifestAsset(key=AssetKey("a"), node="a"),
        ManifestAsset(key=AssetKey("b"), node="b", deps=(AssetKey("a"),)),
        ManifestAsset(key=AssetKey("c"), node="c", deps=(AssetKey("b"),)),
        ManifestAsset(key=AssetKey("x"), node="x"),
        ManifestAsset(key=AssetKey("y"), node="y", deps=(AssetKey("x"),)),
    ]
    graph = AssetGraph.from_assets(assets)
    return RunState(build_plan(Manifest(assets=graph.assets), graph, set(graph.keys)))


def drain(state):
    ready = []
    while (task := state.pop_ready()) is not None:
        ready.append(task.task_id)
    return ready


def test_roots_are_ready_first_in_plan_order():
    state = make_state()
    assert drain(state) == ["a", "x"]


def test_a_failure_skips_exactly_its_downstream():
    state = make_state()
    drain(state)
    state.start("a")
    state.start("x")
    assert state.fail("a") == ["b", "c"]
    state.succeed("x")
    assert drain(state) == ["y"]
    state.start("y")
    state.succeed("y")
    assert state.is_finished
    assert state.ids_with(TaskStatus.FAILED) == ["a"]
    assert state.ids_with(TaskStatus.SKIPPED) == ["b", "c"]
    assert state.blocked_by("b") == ("a",)


def test_a_retry_makes_the_task_ready_again_with_the_next_attempt():
    state = make_state()
    drain(state)
    assert state.start("a") == 1
    state.wait_for_retry("a")
    assert not state.is_finished
    state.retry_now("a")
    assert drain(state) == ["a"]
    assert state.start("a") == 2
    state.succeed("a")
    assert drain(state) == ["b"]
