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


def test_restored_state_finds_lost_tasks_and_keeps_finished_ones():
    from arco_flow.core.errors import ArcoError
    from arco_flow.core.events import ErrorInfo, TaskFailed, TaskSkipped, TaskStarted, TaskSucceeded
    from arco_flow.core.run_state import lost_task_ids, restore_run_state

    plan = make_state().plan
    error = ErrorInfo.from_exception(ArcoError("boom"))
    events = [
        TaskStarted(run_id="r", task_id="a", attempt=1),
        TaskStarted(run_id="r", task_id="x", attempt=1),
        TaskSucceeded(run_id="r", task_id="a", attempt=1),
        TaskFailed(run_id="r", task_id="x", attempt=1, error=error, retry_in_s=5.0),
        TaskStarted(run_id="r", task_id="b", attempt=1),
    ]
    state = restore_run_state(plan, events)
    assert lost_task_ids(state) == ["b"]
    assert state.status["a"] is TaskStatus.SUCCEEDED
    assert state.status["x"] is TaskStatus.WAITING_RETRY
    assert state.attempts["b"] == 1
    assert drain(state) == []  # b is running, c waits for b, y waits for x
    state.retry_now("x")
    assert drain(state) == ["x"]

    final = restore_run_state(
        plan,
        [
            TaskStarted(run_id="r", task_id="a", attempt=1),
            TaskFailed(run_id="r", task_id="a", attempt=1, error=error),
            TaskSkipped(run_id="r", task_id="b", reason="upstream failed"),
            TaskSkipped(run_id="r", task_id="c", reason="upstream failed"),
        ],
    )
    assert final.ids_with(TaskStatus.FAILED) == ["a"]
    assert final.ids_with(TaskStatus.SKIPPED) == ["b", "c"]
    assert drain(final) == ["x"]
