"""The coordinator over a scripted dispatcher and a fake clock: no threads, no sleeping."""

from collections.abc import Callable

from arco_flow.core.events import (
    AssetMaterialized,
    ErrorInfo,
    Event,
    RunCanceled,
    RunResumed,
    RunStarted,
    TaskFailed,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
)
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import Manifest, ManifestAsset
from arco_flow.core.messages import TaskOutcome, TaskRequest
from arco_flow.core.plan import build_plan
from arco_flow.core.retry import Backoff, RetryPolicy
from arco_flow.core.run_state import restore_run_state
from arco_flow.execution.coordinator import RunCoordinator
from arco_flow.execution.recorder import RunRecorder
from arco_flow.storage.memory_store import MemoryEventStore


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedDispatcher:
    """Runs nothing: each submitted attempt ends as `script(request)` says, at once."""

    def __init__(self, emit: Callable[[Event], None], script, capacity=2):
        self.emit = emit
        self.script = script
        self.capacity = capacity
        self.submitted: list[TaskRequest] = []
        self.done: list[TaskOutcome] = []
        self.canceled: list[str] = []

    def submit(self, request):
        self.submitted.append(request)
        self.emit(
            TaskStarted(run_id=request.run_id, task_id=request.task_id, attempt=request.attempt)
        )
        succeeded = self.script(request)
        if succeeded:
            for key in request.asset_keys:
                self.emit(
                    AssetMaterialized(run_id=request.run_id, task_id=request.task_id, asset_key=key)
                )
        error = None if succeeded else ErrorInfo(class_name="Boom", message="boom")
        self.done.append(TaskOutcome(request=request, succeeded=succeeded, error=error))

    def wait(self, timeout):
        done, self.done = self.done, []
        return done

    def cancel(self, run_id, *, grace_s=None):
        self.canceled.append(run_id)

    def end_run(self, run_id):
        pass

    def close(self):
        pass


def plan_of(*pairs):
    assets = [
        ManifestAsset(key=AssetKey(name), node=name, deps=tuple(AssetKey(d) for d in deps))
        for name, deps in pairs
    ]
    graph = AssetGraph.from_assets(assets)
    return build_plan(Manifest(assets=graph.assets), graph, set(graph.keys))


PLAN = plan_of(("a", ()), ("b", ("a",)), ("c", ("b",)), ("x", ()))


def run(script, *, plan=PLAN, policies=None, cancel=None, restored=None, sink=None):
    clock = FakeClock()
    sink = sink or MemoryEventStore(clock=lambda: clock.now)
    recorder = RunRecorder(sink)
    dispatcher = ScriptedDispatcher(recorder.record, script)
    coordinator = RunCoordinator(
        run_id="r1",
        plan=plan,
        dispatcher=dispatcher,
        recorder=recorder,
        retry_policies=policies,
        clock=clock,
        rng=lambda: 0.5,
        cancel_requested=cancel,
        restored=restored,
    )
    outcome = coordinator.run()
    return outcome, [record.event for record in sink.read_all()], dispatcher, clock


def test_retries_wait_for_the_policy_delay_with_backoff():
    calls = {"a": 0}

    def script(request):
        if request.task_id == "a":
            calls["a"] += 1
            return calls["a"] == 3
        return True

    policy = RetryPolicy(max_retries=3, delay=2, backoff=Backoff.LINEAR)
    outcome, events, dispatcher, clock = run(script, policies={"a": policy})
    assert outcome.succeeded
    failures = [e for e in events if isinstance(e, TaskFailed)]
    assert [f.retry_in_s for f in failures] == [2.0, 4.0]
    assert clock.now >= 6.0
    assert [r.attempt for r in dispatcher.submitted if r.task_id == "a"] == [1, 2, 3]


def test_final_failure_skips_downstream_and_records_run_failed():
    outcome, events, _, _ = run(lambda request: request.task_id != "b")
    assert outcome.failed_task_ids == ["b"]
    assert outcome.skipped_task_ids == ["c"]
    assert [e.task_id for e in events if isinstance(e, TaskSkipped)] == ["c"]
    assert {e.task_id for e in events if isinstance(e, TaskSucceeded)} == {"a", "x"}


def test_a_failed_attempt_records_no_materialization():
    _outcome, events, _, _ = run(lambda request: request.task_id != "x")
    assert {e.asset_key for e in events if isinstance(e, AssetMaterialized)} == {
        AssetKey("a"),
        AssetKey("b"),
        AssetKey("c"),
    }


def test_materializations_are_appended_with_their_outcome_in_one_batch():
    batches = []

    class Spy(MemoryEventStore):
        def append(self, events):
            batches.append([type(n.event).__name__ for n in events])
            return super().append(events)

    run(lambda request: True, sink=Spy(clock=lambda: 0.0))
    for batch in batches:
        if "AssetMaterialized" in batch:
            assert batch.index("AssetMaterialized") < batch.index("TaskSucceeded")


def test_cancel_stops_dispatching_skips_the_rest_and_ends_canceled():
    asked = []

    def cancel():
        asked.append(1)
        return len(asked) > 1  # let the first round of tasks start

    outcome, events, dispatcher, _ = run(lambda request: True, cancel=cancel)
    assert outcome.canceled
    assert not outcome.succeeded
    assert dispatcher.canceled == ["r1"]
    assert isinstance(events[-1], RunCanceled)
    assert {e.task_id for e in events if isinstance(e, TaskSkipped)} == {"b", "c"}
    assert {r.task_id for r in dispatcher.submitted} == {"a", "x"}


def test_resume_fails_lost_attempts_retries_them_and_runs_the_rest():
    _first, events, _, _ = run(lambda request: True)
    # The previous coordinator recorded a's success and b's start, then died.
    recorded = [e for e in events if isinstance(e, RunStarted)] + [
        TaskStarted(run_id="r1", task_id="a", attempt=1),
        TaskSucceeded(run_id="r1", task_id="a", attempt=1),
        TaskStarted(run_id="r1", task_id="b", attempt=1),
    ]
    restored = restore_run_state(PLAN, recorded)
    outcome, resumed, dispatcher, _ = run(
        lambda request: True,
        policies={"b": RetryPolicy(max_retries=1)},
        restored=restored,
    )
    assert outcome.succeeded
    assert isinstance(resumed[0], RunResumed)
    lost = [e for e in resumed if isinstance(e, TaskFailed)]
    assert [(e.task_id, e.attempt, e.error.class_name) for e in lost] == [
        ("b", 1, "CoordinatorLost")
    ]
    assert [(r.task_id, r.attempt) for r in dispatcher.submitted] == [("x", 1), ("b", 2), ("c", 1)]


def test_resume_without_retries_fails_the_lost_task_and_skips_downstream():
    restored = restore_run_state(
        PLAN,
        [
            TaskStarted(run_id="r1", task_id="a", attempt=1),
            TaskSucceeded(run_id="r1", task_id="a", attempt=1),
            TaskStarted(run_id="r1", task_id="b", attempt=1),
        ],
    )
    outcome, _, dispatcher, _ = run(lambda request: True, restored=restored)
    assert outcome.failed_task_ids == ["b"]
    assert outcome.skipped_task_ids == ["c"]
    assert [r.task_id for r in dispatcher.submitted] == ["x"]


def test_duplicate_appends_are_deduplicated_by_idempotency_key():
    sink = MemoryEventStore(clock=lambda: 0.0)
    run(lambda request: True, sink=sink)
    count = len(sink.read_all())
    keys = [r.idempotency_key for r in sink.read_all()]
    assert len(set(keys)) == len(keys)
    # Re-appending the same events changes nothing.
    from arco_flow.core.events import NewEvent

    again = sink.append(
        [NewEvent(event=r.event, idempotency_key=r.idempotency_key) for r in sink.read_all()]
    )
    assert len(sink.read_all()) == count
    assert [r.event_id for r in again] == [r.event_id for r in sink.read_all()]


def test_the_dynamic_keys_are_recorded_with_the_start_and_sent_to_the_tasks_that_use_them():
    sink = MemoryEventStore()
    recorder = RunRecorder(sink)
    dispatcher = ScriptedDispatcher(recorder.record, lambda request: True)
    snapshot = {"customers": ("acme", "globex"), "shops": ("s1",)}
    RunCoordinator(
        run_id="r1",
        plan=PLAN,
        dispatcher=dispatcher,
        recorder=recorder,
        dynamic_partitions=snapshot,
        dynamic_names_by_node={"a": ("customers",), "b": ("customers", "shops")},
    ).run()
    sent = {request.node: dict(request.dynamic_partitions) for request in dispatcher.submitted}
    assert sent == {
        "a": {"customers": ("acme", "globex")},
        "b": snapshot,
        "c": {},
        "x": {},
    }
    (started,) = [r.event for r in sink.read_all() if isinstance(r.event, RunStarted)]
    assert started.dynamic_partitions == {"customers": ["acme", "globex"], "shops": ["s1"]}
