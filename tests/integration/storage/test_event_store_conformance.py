"""One suite for every storage backend: memory and SQLite pass it unchanged."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from arco_flow.core.errors import CanonicalJsonError, NotFoundError
from arco_flow.core.events import (
    AssetMaterialized,
    ErrorInfo,
    LogRecorded,
    NewEvent,
    RunFailed,
    RunResumed,
    RunStarted,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.run_state import TaskStatus
from arco_flow.storage.memory_store import MemoryEventStore
from arco_flow.storage.protocols import Storage
from arco_flow.storage.records import RunsFilter, RunStatus
from arco_flow.storage.sql_store import SqlEventStore
from tests.storage_events import (
    A,
    B,
    C,
    D,
    StepClock,
    canceled_run,
    failed_run,
    new,
    plan_data,
    run_started,
    succeeded_run,
)


@dataclass
class Backend:
    name: str
    store: Storage
    set_run_status: Callable[[str, str], None]
    """Overwrites a run's status in the live projection, behind the store's back."""
    delete_materialization: Callable[[int], None]


def _memory_backend() -> Backend:
    store = MemoryEventStore(clock=StepClock())

    def set_run_status(run_id: str, status: str) -> None:
        runs = store._projections.state.runs
        key = ("default", "default", run_id)
        runs[key] = replace(runs[key], status=RunStatus(status))

    def delete_materialization(event_id: int) -> None:
        for history in store._projections.materializations.values():
            history[:] = [item for item in history if item.event_id != event_id]

    return Backend("memory", store, set_run_status, delete_materialization)


def _sqlite_backend(path) -> Backend:
    store = SqlEventStore(path, clock=StepClock())

    def execute(sql: str, *parameters) -> None:
        connection = sqlite3.connect(path)
        try:
            with connection:
                connection.execute(sql, parameters)
        finally:
            connection.close()

    return Backend(
        "sqlite",
        store,
        lambda run_id, status: execute(
            "UPDATE runs SET status = ? WHERE run_id = ?", status, run_id
        ),
        lambda event_id: execute("DELETE FROM materializations WHERE event_id = ?", event_id),
    )


@pytest.fixture(params=["memory", "sqlite"])
def backend(request, tmp_path):
    made = _memory_backend() if request.param == "memory" else _sqlite_backend(tmp_path / "arco.db")
    yield made
    made.store.close()


@pytest.fixture
def store(backend) -> Storage:
    return backend.store


# The log


def test_append_gives_increasing_event_ids_and_per_stream_sequences(store):
    records = store.append(failed_run("run-1")[:3] + succeeded_run("run-2")[:2])
    assert [r.event_id for r in records] == [1, 2, 3, 4, 5]
    assert [(r.stream, r.stream_sequence) for r in records] == [
        ("run:run-1", 1),
        ("run:run-1", 2),
        ("run:run-1", 3),
        ("run:run-2", 1),
        ("run:run-2", 2),
    ]
    more = store.append(failed_run("run-1")[3:5])
    assert [(r.event_id, r.stream_sequence) for r in more] == [(6, 4), (7, 5)]


def test_one_batch_shares_one_timestamp_from_the_injected_clock(store):
    first = store.append(failed_run()[:2])
    second = store.append(failed_run()[2:3])
    assert [r.timestamp for r in first] == [1001.0, 1001.0]
    assert [r.timestamp for r in second] == [1002.0]


def test_stored_records_carry_the_event_and_its_envelope(store):
    event = run_started("run-1")
    appended = store.append(
        [NewEvent(event=event, idempotency_key="k-1", actor="user:ana", trace_context={"t": "1"})]
    )
    (read,) = store.read_all()
    assert read == appended[0]
    assert read.event == event
    assert (read.actor, read.trace_context, read.idempotency_key) == ("user:ana", {"t": "1"}, "k-1")
    assert (read.tenant_id, read.workspace_id, read.event_type) == (
        "default",
        "default",
        "run.started/1",
    )


def test_read_stream_pages_by_sequence(store):
    store.append(failed_run("run-1"))
    store.append(succeeded_run("run-2"))
    page = store.read_stream("run:run-1", after_sequence=2, limit=3)
    assert [r.stream_sequence for r in page] == [3, 4, 5]
    assert all(r.run_id == "run-1" for r in page)
    assert len(store.read_stream("run:run-1")) == len(failed_run())
    assert store.read_stream("run:nope") == []


def test_read_all_pages_by_event_id(store):
    store.append(failed_run("run-1"))
    page = store.read_all(after_event_id=3, limit=2)
    assert [r.event_id for r in page] == [4, 5]
    assert store.read_all(after_event_id=1000) == []


def test_a_duplicate_append_returns_the_first_record_and_changes_nothing(store):
    events = failed_run()
    first = store.append(events)
    run, tasks = store.get_run("run-1"), store.list_tasks("run-1")
    again = store.append(events)
    assert again == first
    assert len(store.read_all()) == len(events)
    assert store.get_run("run-1") == run
    assert store.list_tasks("run-1") == tasks
    assert store.verify() == []


def test_a_duplicate_within_one_batch_returns_the_first_record(store):
    started = new(run_started("run-1"))
    twice = NewEvent(
        event=run_started("run-1", job_name="other"), idempotency_key=started.idempotency_key
    )
    records = store.append(
        [started, twice, new(TaskStarted(run_id="run-1", task_id="a", attempt=1))]
    )
    assert records[1] == records[0]
    assert records[1].event.job_name == "__asset_job"
    assert [r.event_id for r in store.read_all()] == [1, 2]
    assert records[2].stream_sequence == 2


def test_a_mixed_batch_writes_only_its_new_events(store):
    events = failed_run()
    first = store.append(events[:3])
    records = store.append(events[:5])
    assert records[:3] == first
    assert [r.event_id for r in records[3:]] == [4, 5]


def test_get_by_idempotency_key(store):
    records = store.append(failed_run())
    assert store.get_by_idempotency_key(records[4].idempotency_key) == records[4]
    assert store.get_by_idempotency_key("no-such-key") is None


def test_an_event_with_no_json_form_is_refused_and_nothing_is_written(store):
    bad = AssetMaterialized(run_id="run-1", task_id="a", asset_key=A, metadata={"x": object()})
    with pytest.raises(CanonicalJsonError):
        store.append([new(run_started("run-1")), new(bad)])
    assert store.read_all() == []
    assert store.list_runs() == []


# Tenants


def test_a_second_tenant_sees_nothing_of_the_first(store):
    store.append(failed_run())
    assert store.list_runs(tenant_id="acme") == []
    assert store.read_all(tenant_id="acme") == []
    assert store.read_stream("run:run-1", tenant_id="acme") == []
    assert store.asset_records(tenant_id="acme") == []
    assert store.materialization_history(A, tenant_id="acme") == []
    assert store.latest_materialization(A, tenant_id="acme") is None
    assert store.get_by_idempotency_key(failed_run()[0].idempotency_key, tenant_id="acme") is None
    with pytest.raises(NotFoundError):
        store.get_run("run-1", tenant_id="acme")
    with pytest.raises(NotFoundError):
        store.list_tasks("run-1", workspace_id="other")


def test_the_same_idempotency_key_in_another_tenant_is_a_new_event(store):
    first = store.append(failed_run()[:1])
    other = store.append(failed_run()[:1], tenant_id="acme", workspace_id="prod")
    assert other[0].event_id != first[0].event_id
    assert (other[0].tenant_id, other[0].workspace_id, other[0].stream_sequence) == (
        "acme",
        "prod",
        1,
    )
    assert store.get_run("run-1", tenant_id="acme", workspace_id="prod").tenant_id == "acme"
    assert len(store.list_runs()) == 1
    assert store.verify() == []


# Projections after a realistic run


def test_the_run_record_follows_the_run(store):
    store.append(failed_run(parent_run_id="run-0"))
    run = store.get_run("run-1")
    assert run.status is RunStatus.FAILURE
    assert (run.job_name, run.plan_id, run.parent_run_id) == ("__asset_job", "plan-1", "run-0")
    assert run.tags == {"team": "data", "env": "test"}
    assert run.asset_keys == (A, B, C, D)
    assert run.code_location == {"module": "example.defs"}
    assert (run.executor, run.max_concurrent) == ("process_pool", 4)
    assert run.run_config == {"ops": {"a": {"config": {"n": 3}}}}
    assert run.plan["tasks"][1][:2] == ["b", "warehouse__b"]
    assert run.coordinator == {"host": "box", "pid": 11}
    assert run.error is not None
    assert run.error.message == "bad row"
    assert (run.created_time, run.started_time, run.ended_time) == (1001.0, 1001.0, 1001.0)
    assert run.created_event_id == 1


def test_cancel_request_resume_and_cancel_move_the_run_status(store):
    events = canceled_run("run-9")
    store.append(events[:2])
    assert store.get_run("run-9").status is RunStatus.STARTED
    store.append(events[2:3])
    assert store.get_run("run-9").status is RunStatus.CANCELING
    store.append(events[3:4])
    run = store.get_run("run-9")
    assert run.status is RunStatus.CANCELING
    assert run.coordinator == {"host": "other", "pid": 12}
    store.append(events[4:])
    run = store.get_run("run-9")
    assert (run.status, run.ended_time, run.updated_time) == (RunStatus.CANCELED, 1004.0, 1004.0)


def test_a_resumed_run_is_started_with_its_new_coordinator(store):
    store.append([new(run_started("run-1"))])
    store.append([new(RunResumed(run_id="run-1", coordinator={"host": "b", "pid": 2}))])
    run = store.get_run("run-1")
    assert (run.status, run.coordinator, run.updated_time) == (
        RunStatus.STARTED,
        {"host": "b", "pid": 2},
        1002.0,
    )


def test_task_records_follow_attempts_retries_failures_and_skips(store):
    for event in failed_run():
        store.append([event])  # one transaction each: every step goes through the store
    tasks = {task.task_id: task for task in store.list_tasks("run-1")}
    assert [t.task_id for t in store.list_tasks("run-1")] == ["a", "b", "c", "d"]
    a, b, c, d = tasks["a"], tasks["b"], tasks["c"], tasks["d"]
    assert (a.status, a.attempts, a.node, a.stage) == (TaskStatus.SUCCEEDED, 1, "a", 0)
    assert (a.wall_s, a.cpu_s, a.peak_rss_mb) == (1.5, 1.0, 50.0)
    assert (b.status, b.attempts, b.node) == (TaskStatus.SUCCEEDED, 2, "warehouse__b")
    assert (b.wall_s, b.cpu_s, b.peak_rss_mb) == (3.0, 0.75, 80.0)
    assert b.last_error is not None
    assert b.last_error.class_name == "TimeoutError"
    assert (b.started_time, b.ended_time) == (1009.0, 1011.0)
    assert (c.status, c.attempts) == (TaskStatus.FAILED, 1)
    assert c.last_error is not None
    assert c.last_error.message == "bad row"
    assert (d.status, d.attempts, d.skip_reason) == (TaskStatus.SKIPPED, 0, "upstream failed")


def test_a_task_waiting_for_a_retry_says_so(store):
    store.append(failed_run()[:8])
    (b,) = [t for t in store.list_tasks("run-1") if t.task_id == "b"]
    assert (b.status, b.attempts, b.ended_time) == (TaskStatus.WAITING_RETRY, 1, 1001.0)


def test_planned_tasks_are_pending_until_they_start(store):
    store.append(failed_run()[:1])
    tasks = store.list_tasks("run-1")
    assert [(t.task_id, t.status, t.attempts) for t in tasks] == [
        ("a", TaskStatus.PENDING, 0),
        ("b", TaskStatus.PENDING, 0),
        ("c", TaskStatus.PENDING, 0),
        ("d", TaskStatus.PENDING, 0),
    ]


def test_events_of_an_older_attempt_add_usage_but_do_not_move_the_task(store):
    store.append(
        [
            new(run_started("run-1")),
            new(TaskStarted(run_id="run-1", task_id="a", attempt=2)),
            new(TaskSucceeded(run_id="run-1", task_id="a", attempt=1)),
        ]
    )
    (a,) = [t for t in store.list_tasks("run-1") if t.task_id == "a"]
    assert (a.status, a.attempts) == (TaskStatus.RUNNING, 2)


def test_materializations_history_latest_and_asset_records(store):
    store.append(failed_run("run-1"))
    store.append(succeeded_run("run-2"))
    store.append(succeeded_run("run-3", partition="2024-01-01"))
    store.append(succeeded_run("run-4", partition="2024-01-02"))
    store.append(succeeded_run("run-5", partition="2024-01-01"))

    history = store.materialization_history(A)
    assert [m.run_id for m in history] == ["run-5", "run-4", "run-3", "run-2", "run-1"]
    first = history[-1]
    assert first.metadata == {"rows": {"type": "int", "value": 10}, "ratio": 0.5}
    assert (first.data_version, first.code_version, first.description) == ("v-a1", "1", "first")
    assert (first.task_id, first.partition_key, first.asset_key) == ("a", None, A)
    assert [m.run_id for m in store.materialization_history(A, limit=2)] == ["run-5", "run-4"]
    assert [m.run_id for m in store.materialization_history(A, partition_key="2024-01-01")] == [
        "run-5",
        "run-3",
    ]
    cursor = history[1].event_id
    assert [m.run_id for m in store.materialization_history(A, before_event_id=cursor)] == [
        "run-3",
        "run-2",
        "run-1",
    ]

    latest = store.latest_materialization(A)
    assert latest is not None
    assert (latest.run_id, latest.partition_key) == ("run-5", "2024-01-01")
    by_partition = store.latest_materializations(A)
    assert {key: m.run_id for key, m in by_partition.items()} == {
        None: "run-2",
        "2024-01-01": "run-5",
        "2024-01-02": "run-4",
    }
    only = store.latest_materializations(A, partition_keys=["2024-01-02", "2099-01-01"])
    assert {key: m.run_id for key, m in only.items()} == {"2024-01-02": "run-4"}
    assert store.latest_materialization(C) is None
    assert store.latest_materializations(C) == {}

    records = store.asset_records()
    assert [r.asset_key for r in records] == [A, B]
    a, b = records
    assert (a.materialization_count, a.observation_count) == (5, 1)
    assert a.last_materialization == latest
    assert a.last_observation is not None
    assert (a.last_observation.data_version, a.last_observation.run_id) == ("v-a1", "run-1")
    assert b.last_materialization is not None
    assert (b.materialization_count, b.last_materialization.data_version) == (1, "v-b2")
    assert [r.asset_key for r in store.asset_records([B, C])] == [B]


def test_observation_history_is_newest_first(store):
    store.append(failed_run("run-1"))
    store.append(failed_run("run-2"))
    assert [o.run_id for o in store.observation_history(A)] == ["run-2", "run-1"]
    assert [o.run_id for o in store.observation_history(A, limit=1)] == ["run-2"]
    assert store.observation_history(B) == []


# Run queries


def test_list_runs_is_newest_first_and_pages_with_a_cursor(store):
    for index in range(5):
        store.append(succeeded_run(f"run-{index}"))
    assert [r.run_id for r in store.list_runs()] == ["run-4", "run-3", "run-2", "run-1", "run-0"]
    page = store.list_runs(limit=2)
    assert [r.run_id for r in page] == ["run-4", "run-3"]
    page = store.list_runs(limit=2, cursor=page[-1].run_id)
    assert [r.run_id for r in page] == ["run-2", "run-1"]
    assert [r.run_id for r in store.list_runs(limit=2, cursor="run-0")] == []


def test_list_runs_filters_by_status_tag_asset_job_and_parent(store):
    store.append(failed_run("run-1"))
    store.append(succeeded_run("run-2", tags={"team": "ml"}, job_name="daily"))
    store.append(canceled_run("run-3"))
    store.append(
        succeeded_run("run-4", parent_run_id="run-1", tags={"team": "data", "env": "prod"})
    )

    def ids(**filters):
        return [r.run_id for r in store.list_runs(RunsFilter(**filters))]

    assert ids(statuses=[RunStatus.SUCCESS]) == ["run-4", "run-2"]
    assert ids(statuses=[RunStatus.FAILURE, RunStatus.CANCELED]) == ["run-3", "run-1"]
    assert ids(tags={"team": "data"}) == ["run-4", "run-3", "run-1"]
    assert ids(tags={"team": "data", "env": "prod"}) == ["run-4"]
    assert ids(tags={"team": "nobody"}) == []
    assert ids(asset_key=A) == ["run-4", "run-2", "run-1"]
    assert ids(asset_key=D) == ["run-1"]  # planned, never materialized
    assert ids(asset_key=AssetKey("zzz")) == []
    assert ids(job_name="daily") == ["run-2"]
    assert ids(parent_run_id="run-1") == ["run-4"]
    assert ids(run_ids=["run-1", "run-3", "nope"]) == ["run-3", "run-1"]
    assert ids(statuses=[RunStatus.SUCCESS], tags={"team": "ml"}, asset_key=A) == ["run-2"]


def test_a_materialization_puts_its_run_in_the_asset_filter(store):
    store.append([new(run_started("run-1", asset_keys=()))])
    store.append([new(AssetMaterialized(run_id="run-1", task_id="x", asset_key=C))])
    assert [r.run_id for r in store.list_runs(RunsFilter(asset_key=C))] == ["run-1"]


def test_run_events_in_order_and_by_type(store):
    store.append(failed_run("run-1"))
    store.append(succeeded_run("run-2"))
    events = store.run_events("run-1")
    assert [r.stream_sequence for r in events] == list(range(1, len(failed_run()) + 1))
    started = store.run_events("run-1", event_types=[TaskStarted.EVENT_TYPE])
    assert [(r.event.task_id, r.event.attempt) for r in started] == [
        ("a", 1),
        ("b", 1),
        ("b", 2),
        ("c", 1),
    ]
    logs = store.run_events("run-1", event_types=[LogRecorded.EVENT_TYPE, RunStarted.EVENT_TYPE])
    assert [r.event_type for r in logs] == [RunStarted.EVENT_TYPE, LogRecorded.EVENT_TYPE]
    assert [r.stream_sequence for r in store.run_events("run-1", after_sequence=13, limit=1)] == [
        14
    ]


def test_events_of_a_run_with_no_record_can_still_be_read(store):
    store.append([new(TaskStarted(run_id="orphan", task_id="a", attempt=1))])
    assert len(store.run_events("orphan")) == 1
    assert [t.status for t in store.list_tasks("orphan")] == [TaskStatus.RUNNING]
    with pytest.raises(NotFoundError):
        store.get_run("orphan")


def test_unknown_runs_raise_not_found_with_a_clear_message(store):
    store.append(succeeded_run("run-2024-01-01"))
    with pytest.raises(NotFoundError, match="run 'run-2024-01-02' does not exist") as caught:
        store.get_run("run-2024-01-02")
    assert "Did you mean 'run-2024-01-01'?" in str(caught.value)
    assert "arco-flow runs list" in str(caught.value)
    with pytest.raises(NotFoundError):
        store.list_tasks("nope")
    with pytest.raises(NotFoundError):
        store.run_events("nope")
    with pytest.raises(NotFoundError, match="cursor 'nope'"):
        store.list_runs(cursor="nope")


# Rebuild and verify


def test_rebuild_then_verify_shows_no_difference(store):
    store.append(failed_run("run-1"))
    for event in succeeded_run("run-2", partition="p1"):
        store.append([event])
    store.append(canceled_run("run-3"), tenant_id="acme")
    before = (store.list_runs(), store.list_tasks("run-1"), store.asset_records())
    assert store.verify() == []
    assert store.rebuild_projections(batch_size=4) == len(store.read_all()) + 5
    assert store.verify() == []
    assert (store.list_runs(), store.list_tasks("run-1"), store.asset_records()) == before


def test_verify_detects_a_corrupted_projection_row(backend):
    store = backend.store
    store.append(failed_run("run-1"))
    backend.set_run_status("run-1", "SUCCESS")
    differences = store.verify()
    assert differences == [
        "runs[default, default, run-1]: status is 'SUCCESS' live, "
        "but 'FAILURE' rebuilt from the log"
    ]


def test_verify_detects_a_missing_materialization_and_rebuild_restores_it(backend):
    store = backend.store
    records = store.append(failed_run("run-1"))
    materialized = next(r for r in records if r.event_type == AssetMaterialized.EVENT_TYPE)
    backend.delete_materialization(materialized.event_id)
    differences = store.verify()
    assert differences == [
        f"materializations[{materialized.event_id}]: produced by the log, "
        "but missing from the live projection"
    ]
    store.rebuild_projections()
    assert store.verify() == []
    assert len(store.materialization_history(A)) == 1


def test_a_500_task_run_with_failures_and_retries_rebuilds_and_verifies_clean(store):
    run_id = "big"
    tasks = [f"t{index:03d}" for index in range(500)]
    plan = plan_data(*((task, task, index // 100) for index, task in enumerate(tasks)))
    store.append([new(run_started(run_id, asset_keys=(), plan=plan))])
    boom = ErrorInfo(class_name="ValueError", message="flaky")
    for index, task in enumerate(tasks):
        last_attempt = 2 if index % 7 == 0 else 1
        events = [new(TaskStarted(run_id=run_id, task_id=task, attempt=1))]
        if index % 7 == 0:  # fails once, then succeeds
            events += [
                new(TaskFailed(run_id=run_id, task_id=task, attempt=1, error=boom, retry_in_s=0.1)),
                new(TaskStarted(run_id=run_id, task_id=task, attempt=2)),
            ]
        if index % 50 == 49:  # fails for good
            events.append(
                new(TaskFailed(run_id=run_id, task_id=task, attempt=last_attempt, error=boom))
            )
        else:
            key = AssetKey(task)
            events += [
                new(
                    AssetMaterialized(run_id=run_id, task_id=task, asset_key=key, partition_key="p")
                ),
                new(TaskSucceeded(run_id=run_id, task_id=task, attempt=last_attempt)),
            ]
        store.append(events)
    store.append([new(RunFailed(run_id=run_id, failed_task_ids=("t049",)))])

    statuses = [task.status for task in store.list_tasks(run_id)]
    assert statuses.count(TaskStatus.SUCCEEDED) == 490
    assert statuses.count(TaskStatus.FAILED) == 10
    assert store.verify() == []
    assert store.rebuild_projections(batch_size=300) == len(store.read_all())
    assert store.verify() == []
    assert len(store.asset_records()) == 490
