"""The process-pool dispatcher with real worker processes, driven by the run coordinator."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from arco_flow.core.errors import DefinitionError
from arco_flow.core.events import (
    AssetMaterialized,
    Event,
    EventRecord,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.messages import TaskOutcome, TaskRequest
from arco_flow.core.plan import build_plan
from arco_flow.execution.coordinator import RunCoordinator, RunOutcome
from arco_flow.execution.process_pool import ProcessPoolDispatcher, check_process_pool_compatible
from arco_flow.execution.recorder import RunRecorder
from arco_flow.sdk.metadata import metadata_from_data
from arco_flow.storage.memory_store import MemoryEventStore
from tests.integration.execution import pool_assets

LOCATION = {"module": pool_assets.MODULE, "attribute": "defs"}
FAST: dict[str, Any] = {"heartbeat_interval_s": 0.05, "kill_grace_s": 0.5, "cancel_grace_s": 0.5}


class Events:
    """Every event of the runs, from the dispatcher and the coordinator, stamped on arrival.

    Worker events are stamped when the dispatcher emits them; the coordinator's own (task
    ends, skips) when the recorder flushes them, right after the outcome came back.
    """

    def __init__(self) -> None:
        self.recorder = RunRecorder(MemoryEventStore(), on_record=self._on_record)
        self._seen: dict[int, tuple[float, Event]] = {}
        self.on_event: Callable[[Event], None] | None = None

    def emit(self, event: Event) -> None:
        self._seen.setdefault(id(event), (time.monotonic(), event))
        self.recorder.record(event)
        if self.on_event is not None:
            self.on_event(event)

    def _on_record(self, record: EventRecord) -> None:
        self._seen.setdefault(id(record.event), (time.monotonic(), record.event))

    def of(self, kind: type[Any], task_id: str | None = None) -> list[Any]:
        return [
            e
            for _, e in self._seen.values()
            if isinstance(e, kind) and (task_id is None or e.task_id == task_id)
        ]

    def run_ids(self) -> set[str]:
        return {event.run_id for _, event in self._seen.values()}

    def pid_of(self, task_id: str) -> int:
        (materialized,) = self.of(AssetMaterialized, task_id)
        return int(metadata_from_data(materialized.metadata)["pid"].value)


@pytest.fixture
def events() -> Events:
    return Events()


class Relay:
    """Sends a shared pool's events to the running test's `Events`."""

    def __init__(self) -> None:
        self.target: Events | None = None

    def emit(self, event: Event) -> None:
        assert self.target is not None, f"{event} arrived between tests"
        self.target.emit(event)


SharedPools = tuple[Relay, dict[int, ProcessPoolDispatcher]]


@pytest.fixture(scope="module")
def shared_pools() -> Iterator[SharedPools]:
    """Pools kept across the tests that leave their workers alive, to start fewer."""
    relay = Relay()
    pools = {
        count: ProcessPoolDispatcher(LOCATION, emit=relay.emit, max_workers=count, **FAST)
        for count in (1, 2)
    }
    yield relay, pools
    for pool in pools.values():
        pool.close()


def _lend(shared: SharedPools, events: Events, count: int) -> Iterator[ProcessPoolDispatcher]:
    relay, pools = shared
    pool = pools[count]
    relay.target = events
    yield pool
    for run_id in events.run_ids():
        pool.end_run(run_id)
    assert pool.wait(0) == []
    relay.target = None


@pytest.fixture
def one_worker(shared_pools: SharedPools, events: Events) -> Iterator[ProcessPoolDispatcher]:
    """A shared pool of one worker process."""
    yield from _lend(shared_pools, events, 1)


@pytest.fixture
def two_workers(shared_pools: SharedPools, events: Events) -> Iterator[ProcessPoolDispatcher]:
    """A shared pool of two worker processes."""
    yield from _lend(shared_pools, events, 2)


@pytest.fixture
def pool_factory(events: Events) -> Iterator[Callable[..., ProcessPoolDispatcher]]:
    """Fresh pools, for tests that kill or close workers."""
    pools: list[ProcessPoolDispatcher] = []

    def make(location: Mapping[str, str] = LOCATION, **options: Any) -> ProcessPoolDispatcher:
        pool = ProcessPoolDispatcher(location, emit=events.emit, **{**FAST, **options})
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


def run_config(tmp_path: Path, ops: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "ops": {name: {"config": config} for name, config in (ops or {}).items()},
        "resources": {"io_manager": {"config": {"base_dir": str(tmp_path)}}},
    }


def run(
    pool: ProcessPoolDispatcher,
    events: Events,
    names: Sequence[str],
    config: Mapping[str, Any],
    *,
    run_id: str | None = None,
    **options: Any,
) -> RunOutcome:
    defs = pool_assets.defs
    keys = {AssetKey(name) for name in names}
    plan = build_plan(defs.manifest, defs.resolve_asset_graph(), keys)
    coordinator = RunCoordinator(
        run_id=run_id or f"run-{uuid.uuid4().hex[:8]}",
        plan=plan,
        dispatcher=pool,
        recorder=events.recorder,
        run_config=config,
        max_concurrent=2,
        **options,
    )
    return coordinator.run()


def request(node: str, config: Mapping[str, Any]) -> TaskRequest:
    return TaskRequest(
        run_id=f"run-{uuid.uuid4().hex[:8]}",
        task_id=node,
        attempt=1,
        node=node,
        asset_keys=(AssetKey(node),),
        run_config=config,
    )


def wait_until_started(pool: ProcessPoolDispatcher, events: Events, task_id: str) -> None:
    deadline = time.monotonic() + 20
    while not events.of(TaskStarted, task_id):
        if time.monotonic() > deadline:  # a guard against hanging, not a timing check
            pytest.fail(f"{task_id} never started")
        assert pool.wait(0.02) == []


def wait_for_outcome(pool: ProcessPoolDispatcher, seconds: float = 20) -> TaskOutcome:
    (outcome,) = pool.wait(seconds)
    return outcome


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_values_flow_between_tasks_in_different_worker_processes(two_workers, events, tmp_path):
    (tmp_path / "meet").mkdir()
    meet = {"folder": str(tmp_path / "meet")}
    config = run_config(tmp_path, {"left": meet, "right": meet})

    outcome = run(two_workers, events, ["left", "right", "joined"], config)

    assert outcome.succeeded
    assert events.pid_of("left") != events.pid_of("right")
    with (tmp_path / "joined").open("rb") as stored:
        assert pickle.load(stored) == 12


def test_one_worker_process_runs_many_tasks_and_reports_its_usage(one_worker, events, tmp_path):
    pool = one_worker
    names = [f"solo_{index}" for index in range(6)]

    outcome = run(pool, events, names, run_config(tmp_path))

    assert outcome.succeeded
    assert {events.pid_of(name) for name in names} == set(pool.worker_pids)
    assert len(pool.worker_pids) == 1
    for succeeded in events.of(TaskSucceeded):
        assert succeeded.usage.wall_s < 1.0
        assert succeeded.usage.cpu_s >= 0.0
        assert succeeded.usage.peak_rss_mb > 1.0


def test_failed_task_skips_its_downstream_while_an_unrelated_branch_succeeds(
    two_workers, events, tmp_path
):
    outcome = run(
        two_workers, events, ["broken", "after_broken", "unrelated"], run_config(tmp_path)
    )

    assert outcome.failed_task_ids == ["broken"]
    assert outcome.skipped_task_ids == ["after_broken"]
    assert [e.task_id for e in events.of(TaskSucceeded)] == ["unrelated"]
    (failed,) = events.of(TaskFailed, "broken")
    assert failed.error.class_name == "ValueError"
    assert failed.error.message == "broken on purpose"
    assert failed.error.is_user_code
    assert "pool_assets.py" in failed.error.stack


def test_worker_that_exits_is_reported_crashed_and_replaced(pool_factory, events, tmp_path):
    pool = pool_factory(max_workers=1)

    crashed = run(pool, events, ["crashes"], run_config(tmp_path))
    survived = run(pool, events, ["solo_0"], run_config(tmp_path))

    assert crashed.failed_task_ids == ["crashes"]
    (failed,) = events.of(TaskFailed, "crashes")
    assert failed.error.class_name == "WorkerCrashed"
    assert "'crashes'" in failed.error.message
    assert "exited with code 1" in failed.error.message
    assert not failed.error.is_user_code
    found = re.search(r"pid (\d+)", failed.error.message)
    assert found is not None
    assert survived.succeeded
    assert events.pid_of("solo_0") != int(found.group(1))


def test_task_past_its_timeout_is_killed_and_reported(pool_factory, events, tmp_path):
    pool = pool_factory(max_workers=1)
    config = run_config(tmp_path, {"sleepy": {"seconds": 30}})

    outcome = run(pool, events, ["sleepy"], config, timeouts={"sleepy": 0.3})

    assert outcome.failed_task_ids == ["sleepy"]
    (failed,) = events.of(TaskFailed, "sleepy")
    assert failed.error.class_name == "TaskTimeout"
    assert "'sleepy'" in failed.error.message
    assert "timeout of 0.3 s" in failed.error.message
    assert failed.usage.wall_s >= 0.3  # it ran until the limit, and was then stopped
    assert pool.worker_pids == []


def test_cancel_interrupts_a_running_task_and_its_worker_serves_on(one_worker, events, tmp_path):
    pool = one_worker
    sleepy = request("sleepy", run_config(tmp_path, {"sleepy": {"seconds": 30}}))
    pool.submit(sleepy)
    wait_until_started(pool, events, "sleepy")
    (pid,) = pool.worker_pids

    pool.cancel(sleepy.run_id, grace_s=10)
    canceled = wait_for_outcome(pool, 2.0)
    pool.submit(request("solo_0", run_config(tmp_path)))
    after = wait_for_outcome(pool)

    assert canceled.error is not None
    assert canceled.error.class_name == "TaskCanceled"
    assert "canceled while it ran" in canceled.error.message
    assert after.succeeded
    assert pool.worker_pids == [pid]


def test_cancel_kills_a_task_that_does_not_stop_and_the_run_ends_canceled(
    pool_factory, events, tmp_path
):
    pool = pool_factory(max_workers=2)
    started: list[float] = []
    events.on_event = lambda event: (
        started.append(time.monotonic()) if isinstance(event, TaskStarted) else None
    )
    config = run_config(tmp_path, {"stubborn": {"seconds": 30}})

    outcome = run(
        pool,
        events,
        ["stubborn"],
        config,
        # Asked a little after the start, so that the cancel reaches the body itself.
        cancel_requested=lambda: bool(started) and time.monotonic() - started[0] > 0.2,
        poll_interval_s=0.02,
    )

    assert outcome.canceled
    (failed,) = events.of(TaskFailed, "stubborn")
    assert failed.error.class_name == "TaskCanceled"
    assert "was killed" in failed.error.message
    assert pool.worker_pids == []


def test_close_leaves_no_worker_processes(pool_factory, events, tmp_path):
    pool = pool_factory(max_workers=2)
    assert run(pool, events, ["left", "right"], run_config(tmp_path)).succeeded
    pool.submit(request("sleepy", run_config(tmp_path, {"sleepy": {"seconds": 30}})))
    wait_until_started(pool, events, "sleepy")
    pids = pool.worker_pids
    assert len(pids) == 2

    pool.close()

    assert not [child for child in multiprocessing.active_children() if child.pid in pids]
    assert not any(is_alive(pid) for pid in pids)


def test_heartbeats_arrive_while_a_task_runs(one_worker, events, tmp_path):
    config = run_config(tmp_path, {"sleepy": {"seconds": 0.4}})

    outcome = run(one_worker, events, ["sleepy"], config)

    assert outcome.succeeded
    assert one_worker.heartbeats(outcome.run_id, "sleepy") >= 2
    assert one_worker.last_heartbeat(outcome.run_id, "sleepy") is not None
    assert one_worker.heartbeats(outcome.run_id, "other") == 0


def test_worker_that_stops_heartbeating_is_reported_crashed(pool_factory, events, tmp_path):
    pool = pool_factory(max_workers=1, heartbeat_timeout_s=0.5)
    pool.submit(request("sleepy", run_config(tmp_path, {"sleepy": {"seconds": 30}})))
    wait_until_started(pool, events, "sleepy")
    (pid,) = pool.worker_pids

    os.kill(pid, signal.SIGSTOP)
    crashed = wait_for_outcome(pool, 5.0)

    assert crashed.error is not None
    assert crashed.error.class_name == "WorkerCrashed"
    assert f"pid {pid}" in crashed.error.message
    assert "sent nothing" in crashed.error.message
    assert not is_alive(pid)


def test_end_run_tears_down_the_runs_resources_in_each_worker(one_worker, events, tmp_path):
    pool = one_worker
    config = run_config(tmp_path)
    config["resources"]["tracker"] = {"config": {"folder": str(tmp_path)}}
    # The coordinator ends the run in the workers (end_run) once the run is over.
    outcome = run(pool, events, ["tracked"], config)
    assert outcome.succeeded
    pid = events.pid_of("tracked")
    marker = tmp_path / f"teardown-{pid}"

    deadline = time.monotonic() + 5
    while not marker.exists():
        if time.monotonic() > deadline:  # a guard against hanging, not a timing check
            pytest.fail("the run's resources were not torn down")
        time.sleep(0.01)
    assert pool.worker_pids == [pid]


def test_in_memory_io_manager_is_refused_up_front():
    with pytest.raises(DefinitionError, match="InMemoryIOManager") as raised:
        check_process_pool_compatible(pool_assets.memory_defs)

    message = str(raised.value)
    assert "'left'" in message
    assert "'joined'" in message
    assert "FilesystemIOManager" in message
    check_process_pool_compatible(pool_assets.defs)


def test_in_memory_io_manager_fails_the_task_in_the_worker(pool_factory, events, tmp_path):
    pool = pool_factory({"module": pool_assets.MODULE, "attribute": "memory_defs"})
    pool.submit(request("left", {}))

    outcome = wait_for_outcome(pool)

    assert outcome.error is not None
    assert "InMemoryIOManager" in outcome.error.message
    assert "FilesystemIOManager" in outcome.error.message


def test_code_location_that_does_not_load_fails_each_task(pool_factory, events):
    pool = pool_factory({"module": "tests.integration.execution.no_such_module"})
    pool.submit(request("left", {}))

    outcome = wait_for_outcome(pool)

    assert outcome.error is not None
    assert outcome.error.class_name == "DefinitionError"
    assert "no_such_module" in outcome.error.message


def test_worker_that_dies_loading_the_code_location_fails_a_queued_task(pool_factory):
    pool = pool_factory({"module": "tests.integration.execution.crashing_location"})
    pool.submit(request("left", {}))

    outcome = wait_for_outcome(pool)

    assert outcome.error is not None
    assert outcome.error.class_name == "WorkerCrashed"
    assert "'left'" in outcome.error.message
    assert "exited with code 3 while loading the code location" in outcome.error.message
    assert pool.worker_pids == []


def test_code_location_must_name_a_module_or_a_file():
    with pytest.raises(DefinitionError, match="'module' or 'file'"):
        ProcessPoolDispatcher({"attribute": "defs"}, emit=lambda event: None)
