"""Backfills driven through the run queue (the daemon's backfill loop): chunk runs are
queued with the backfill tag, at most `max_in_flight` at once, below scheduled runs; a
failed chunk holds back only its dependents; cancel empties the queue; a launch recorded
but never submitted is submitted again under its run id; the queue loop starts every run
(in threads here), never the backfill driver."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import arco_flow as af
from arco_flow.core.backfill_state import BackfillState, BackfillStatus, ChunkStatus
from arco_flow.core.errors import ArcoError, ConfigError, NotFoundError
from arco_flow.core.events import (
    BackfillCancelRequested,
    BackfillChunkLaunched,
    BackfillDriverStarted,
    Event,
    NewEvent,
    RunQueued,
)
from arco_flow.core.events import idempotency_key as key_of
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import DailyPartitionsDefinition, WeeklyPartitionsDefinition
from arco_flow.daemon.backfill_queue import BackfillQueueDriver
from arco_flow.daemon.backfills import (
    BACKFILL_TAG,
    PartitionsRequest,
    cancel_backfill,
    create_backfill,
    drive_backfill,
    load_backfill,
    pause_backfill,
    resume_backfill,
    retry_backfill,
)
from arco_flow.daemon.queue import RunQueueLoop
from arco_flow.execution.run_queue import (
    BACKFILL_DEFAULT_PRIORITY,
    QueueLimits,
    run_priority,
    submit_run,
)
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import ACTIVE_RUN_STATUSES, RunStatus
from tests.waiting import wait_until

DAILY = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-15")
WEEKLY = WeeklyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-15")
FAILING: set[str] = set()
CALLS: list[tuple[str, str]] = []


@af.asset(partitions_def=DAILY, backfill_policy=af.BackfillPolicy.multi_run(3))
def raw(context: af.AssetExecutionContext) -> af.MaterializeResult:
    CALLS.extend(("raw", key) for key in context.partition_keys)
    return af.MaterializeResult()


@af.asset(partitions_def=DAILY, deps=[raw], backfill_policy=af.BackfillPolicy.multi_run(3))
def clean(context: af.AssetExecutionContext) -> af.MaterializeResult:
    for key in context.partition_keys:
        if key in FAILING:
            raise RuntimeError(f"bad data on {key}")
        CALLS.append(("clean", key))
    return af.MaterializeResult()


@af.asset(partitions_def=WEEKLY, deps=[clean])
def weekly(context: af.AssetExecutionContext) -> af.MaterializeResult:
    CALLS.append(("weekly", context.partition_key))
    return af.MaterializeResult()


@af.asset
def plain() -> int:
    CALLS.append(("plain", ""))
    return 1


GATE = threading.Event()


@af.asset(partitions_def=DAILY)
def before_slow(context: af.AssetExecutionContext) -> af.MaterializeResult:
    return af.MaterializeResult()


# Its run's first task ends at once, so the run is recorded STARTED while this one waits.
@af.asset(partitions_def=DAILY, deps=[before_slow])
def slow(context: af.AssetExecutionContext) -> af.MaterializeResult:
    if not GATE.wait(30):
        raise RuntimeError("the test never opened the gate")
    CALLS.append(("slow", context.partition_key))
    return af.MaterializeResult()


PLAIN_JOB = af.define_asset_job("plain_job", selection=[plain])
DEFS = af.Definitions(assets=[raw, clean, weekly, plain, before_slow, slow], jobs=[PLAIN_JOB])
RANGE = PartitionsRequest(kind="range", start="2024-01-01", end="2024-01-14")
ALL_THREE = "key:raw or key:clean or key:weekly"


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[ArcoInstance]:
    FAILING.clear()
    CALLS.clear()
    GATE.clear()
    with ArcoInstance.get(tmp_path / "home") as found:
        yield found


def _create(instance: ArcoInstance, **kwargs: Any) -> BackfillState:
    arguments: dict[str, Any] = {"selection": ALL_THREE, "partitions": RANGE, "code_location": None}
    arguments.update(kwargs)
    return create_backfill(instance, DEFS, **arguments)


def _queue(instance: ArcoInstance, limit: int | None = None) -> RunQueueLoop:
    return RunQueueLoop.for_definitions(instance, QueueLimits(max_concurrent_runs=limit), DEFS)


def _active_runs(instance: ArcoInstance, backfill_id: str) -> list[str]:
    runs = instance.get_runs(tags={BACKFILL_TAG: backfill_id}, statuses=ACTIVE_RUN_STATUSES)
    return [run.run_id for run in runs]


def _another_live_process() -> dict[str, Any]:
    """A driver identity whose process lives (this test's parent): a daemon elsewhere."""
    return {"host": socket.gethostname(), "pid": os.getppid(), "mode": "run_queue"}


def _drive(
    instance: ArcoInstance, driver: BackfillQueueDriver, queue: RunQueueLoop, backfill_id: str
) -> list[int]:
    """Alternates backfill passes and queue passes until the backfill ends.

    Returns:
        How many of its runs were queued or running after each backfill pass.
    """
    in_flight: list[int] = []
    for _ in range(40):
        [done] = [p for p in driver.tick(0.0) if p.backfill_id == backfill_id]
        in_flight.append(len(_active_runs(instance, backfill_id)))
        if done.status.is_terminal:
            return in_flight
        queue.tick(0.0)
        queue.wait()
    raise AssertionError(
        f"backfill {backfill_id} did not end: {load_backfill(instance, backfill_id)}"
    )


def test_chunk_runs_are_queued_with_the_backfill_tag_and_never_run_by_the_driver(
    instance: ArcoInstance,
) -> None:
    state = _create(instance, selection="raw", max_partitions_per_run=2)
    assert len(state.plan.chunks) == 7
    driver = BackfillQueueDriver(instance, max_in_flight=3)
    [first] = driver.tick(0.0)
    assert first.status is BackfillStatus.RUNNING
    assert len(first.submitted) == first.in_flight == 3
    assert CALLS == []  # the pass queued runs; it ran nothing
    for run_id in first.submitted:
        run = instance.get_run(run_id)
        assert run.status is RunStatus.QUEUED
        assert run.tags[BACKFILL_TAG] == state.backfill_id
        assert run_priority(run.tags) == BACKFILL_DEFAULT_PRIORITY
    current = load_backfill(instance, state.backfill_id)
    assert current.run_ids[:3] == list(first.submitted)  # each launch recorded first
    assert current.driver["mode"] == "run_queue"
    # A second pass with nothing finished submits nothing more.
    [second] = driver.tick(0.0)
    assert (second.submitted, second.in_flight) == ((), 3)

    in_flight = _drive(instance, driver, _queue(instance), state.backfill_id)
    assert max(in_flight) == 3
    assert in_flight[-1] == 0
    done = load_backfill(instance, state.backfill_id)
    assert done.status is BackfillStatus.COMPLETED
    runs = instance.get_runs(tags={BACKFILL_TAG: state.backfill_id})
    assert len(runs) == 7
    assert {run.status for run in runs} == {RunStatus.SUCCESS}
    for run in runs:  # every one went through the queue
        assert instance.all_logs(run.run_id, event_types=[RunQueued.EVENT_TYPE])
    assert sorted(key for _, key in CALLS) == DAILY.get_partition_keys()
    [summary] = instance.get_backfills()
    assert (summary.status, summary.partitions_done) == ("COMPLETED", 14)


def test_chunks_wait_for_their_dependencies_and_a_failed_one_holds_back_only_its_dependents(
    instance: ArcoInstance,
) -> None:
    FAILING.add("2024-01-08")
    state = _create(instance)
    [weekly_chunk] = [c for c in state.plan.chunks if c.asset_keys == (AssetKey("weekly"),)]
    driver = BackfillQueueDriver(instance, max_in_flight=10)
    [first] = driver.tick(0.0)
    assert len(first.submitted) == 5  # every daily chunk at once; the weekly one waits
    assert weekly_chunk.chunk_id not in load_backfill(instance, state.backfill_id).launched_chunks()

    _drive(instance, driver, _queue(instance), state.backfill_id)
    done = load_backfill(instance, state.backfill_id)
    assert done.status is BackfillStatus.FAILED
    assert done.counts()[ChunkStatus.FAILED] == 1
    assert done.counts()[ChunkStatus.SUCCEEDED] == 4
    assert done.blocked_chunks() == [weekly_chunk.chunk_id]
    assert ("clean", "2024-01-14") in CALLS
    assert ("weekly", "2024-01-07") not in CALLS

    FAILING.clear()
    retry_backfill(instance, state.backfill_id)
    _drive(instance, driver, _queue(instance), state.backfill_id)
    done = load_backfill(instance, state.backfill_id)
    assert done.status is BackfillStatus.COMPLETED
    assert ("weekly", "2024-01-07") in CALLS
    [summary] = instance.get_backfills()
    assert (summary.status, summary.partitions_failed, summary.partitions_done) == (
        "COMPLETED",
        0,
        29,
    )


def test_cancel_cancels_the_queued_chunk_runs_and_the_driver_ends_the_backfill(
    instance: ArcoInstance,
) -> None:
    state = _create(instance, selection="raw", max_partitions_per_run=2)
    driver = BackfillQueueDriver(instance, max_in_flight=3, driver=_another_live_process())
    [first] = driver.tick(0.0)
    canceling = cancel_backfill(instance, state.backfill_id)
    assert canceling.status is BackfillStatus.CANCELING  # its driver lives: it ends it
    assert {instance.get_run(r).status for r in first.submitted} == {RunStatus.CANCELED}
    [last] = driver.tick(0.0)
    assert last.status is BackfillStatus.CANCELED
    assert sorted(last.settled) == [0, 1, 2]
    assert _queue(instance).tick(0.0) == []
    assert CALLS == []
    assert load_backfill(instance, state.backfill_id).counts()[ChunkStatus.CANCELED] == 3


def test_cancel_asks_a_started_chunk_run_to_stop_once_and_ends_when_it_has(
    instance: ArcoInstance,
) -> None:
    keys = PartitionsRequest(kind="keys", keys=("2024-01-02", "2024-01-03"))
    state = _create(instance, selection="key:before_slow or key:slow", partitions=keys)
    assert len(state.plan.chunks) == 2
    driver = BackfillQueueDriver(instance, max_in_flight=1, driver=_another_live_process())
    [first] = driver.tick(0.0)
    queue = _queue(instance)
    try:
        assert queue.tick(0.0) == list(first.submitted)  # planned; its task waits at the gate
        [started] = first.submitted
        wait_until(lambda: instance.get_run(started).status is RunStatus.STARTED)
        # The request alone, as a process that died before canceling any run leaves it.
        request = BackfillCancelRequested(backfill_id=state.backfill_id)
        instance.append([NewEvent(event=request, idempotency_key=key_of(request, 99))])
        [canceling] = driver.tick(0.0)
        assert (canceling.status, canceling.in_flight) == (BackfillStatus.CANCELING, 1)
        assert canceling.canceled == (started,)
        assert canceling.submitted == ()  # the second chunk never starts
        assert instance.is_cancel_requested(started)
        [again] = driver.tick(0.0)
        assert again.canceled == ()  # asked once (the run may have stopped since)
    finally:
        GATE.set()
        queue.wait()
    assert instance.get_run(started).status.is_finished
    passes = [again, *driver.tick(0.0)]  # it ends once the run has
    assert passes[-1].status is BackfillStatus.CANCELED
    assert [chunk for one in passes for chunk in one.settled] == [0]
    assert len(instance.get_runs(tags={BACKFILL_TAG: state.backfill_id})) == 1


def test_a_cancel_request_alone_makes_the_driver_cancel_what_is_queued(
    instance: ArcoInstance,
) -> None:
    state = _create(instance, selection="raw", max_partitions_per_run=2)
    driver = BackfillQueueDriver(instance, max_in_flight=2)
    [first] = driver.tick(0.0)
    # A launch recorded but never submitted (its driver died in between), and a cancel
    # request appended by a process that canceled nothing.
    lost = str(uuid.uuid4())
    events: list[Event] = [
        BackfillChunkLaunched(backfill_id=state.backfill_id, chunk_id=2, run_id=lost, attempt=1),
        BackfillCancelRequested(backfill_id=state.backfill_id, reason="test"),
    ]
    instance.append([NewEvent(event=e, idempotency_key=key_of(e, 99)) for e in events])
    [canceling] = driver.tick(0.0)
    assert sorted(canceling.canceled) == sorted(first.submitted)
    assert canceling.settled == (2,)  # the lost one is canceled without being queued
    with pytest.raises(NotFoundError):
        instance.get_run(lost)
    [last] = driver.tick(0.0)
    assert last.status is BackfillStatus.CANCELED
    assert _active_runs(instance, state.backfill_id) == []


def test_a_launch_recorded_but_never_submitted_is_submitted_under_its_run_id(
    instance: ArcoInstance,
) -> None:
    state = _create(instance, selection="raw", max_partitions_per_run=7)
    backfill_id = state.backfill_id
    assert len(state.plan.chunks) == 2
    lost = str(uuid.uuid4())
    dead = {"host": "a-host-that-is-gone", "pid": 1, "mode": "run_queue"}
    events: list[Event] = [
        BackfillDriverStarted(backfill_id=backfill_id, driver=dead),
        BackfillChunkLaunched(backfill_id=backfill_id, chunk_id=0, run_id=lost, attempt=1),
    ]
    instance.append([NewEvent(event=e, idempotency_key=key_of(e, 1)) for e in events])
    driver = BackfillQueueDriver(instance)
    [first] = driver.tick(0.0)
    assert first.submitted[0] == lost
    assert len(first.submitted) == 2
    assert instance.get_run(lost).status is RunStatus.QUEUED
    _drive(instance, driver, _queue(instance), backfill_id)
    done = load_backfill(instance, backfill_id)
    assert done.status is BackfillStatus.COMPLETED
    assert done.run_ids[0] == lost
    assert done.attempts == [1, 1]
    assert sorted(key for _, key in CALLS) == DAILY.get_partition_keys()  # each day once


def test_a_scheduled_run_submitted_later_starts_before_the_remaining_backfill_runs(
    instance: ArcoInstance,
) -> None:
    _create(instance, selection="raw", max_partitions_per_run=2)
    driver = BackfillQueueDriver(instance, max_in_flight=3)
    [first] = driver.tick(0.0)
    submit_run(
        DEFS.resolve_job_def("plain_job"),
        instance,
        run_id="scheduled",
        code_location=None,
        tags={"dagster/schedule_name": "nightly"},
    )
    queue = _queue(instance, limit=1)
    assert queue.tick(0.0) == ["scheduled"]
    queue.wait()
    assert instance.get_run("scheduled").status is RunStatus.SUCCESS
    assert queue.tick(0.0) == [first.submitted[0]]
    queue.wait()
    assert CALLS[0] == ("plain", "")


def test_pause_submits_nothing_new_and_resume_goes_on(instance: ArcoInstance) -> None:
    state = _create(instance, selection="raw", max_partitions_per_run=2)
    driver = BackfillQueueDriver(instance, max_in_flight=2)
    driver.tick(0.0)
    pause_backfill(instance, state.backfill_id)
    queue = _queue(instance)
    queue.tick(0.0)
    queue.wait()  # the runs already queued still run
    [paused] = driver.tick(0.0)
    assert paused.status is BackfillStatus.PAUSED
    assert (paused.submitted, len(paused.settled), paused.in_flight) == ((), 2, 0)
    assert driver.tick(0.0)[0].submitted == ()
    resume_backfill(instance, state.backfill_id)
    _drive(instance, driver, queue, state.backfill_id)
    assert load_backfill(instance, state.backfill_id).status is BackfillStatus.COMPLETED


def test_a_backfill_driven_in_its_own_process_is_left_to_it(instance: ArcoInstance) -> None:
    state = _create(instance, selection="raw")
    foreground = {"host": socket.gethostname(), "pid": os.getppid()}
    event = BackfillDriverStarted(backfill_id=state.backfill_id, driver=foreground)
    instance.append([NewEvent(event=event, idempotency_key=key_of(event, 1))])
    assert BackfillQueueDriver(instance).tick(0.0) == []
    assert instance.get_runs() == []


def test_the_foreground_driver_refuses_a_backfill_the_daemon_drives_unless_forced(
    instance: ArcoInstance,
) -> None:
    state = _create(instance, selection="raw", max_partitions_per_run=7)
    BackfillQueueDriver(instance, driver=_another_live_process()).tick(0.0)
    with pytest.raises(ArcoError, match="driven by the daemon"):
        drive_backfill(instance, state.backfill_id, definitions=DEFS)
    # Forced, it takes the queued runs out of the queue and runs their chunks here.
    queued = _active_runs(instance, state.backfill_id)
    assert len(queued) == 2
    done = drive_backfill(instance, state.backfill_id, definitions=DEFS, force=True)
    assert done.status is BackfillStatus.COMPLETED
    assert {instance.get_run(r).status for r in queued} == {RunStatus.CANCELED}
    assert done.attempts == [2, 2]
    assert sorted(key for _, key in CALLS) == DAILY.get_partition_keys()


def test_max_in_flight_below_one_is_refused(instance: ArcoInstance) -> None:
    with pytest.raises(ConfigError, match="1 or more"):
        BackfillQueueDriver(instance, max_in_flight=0)


def test_the_daemon_drives_a_backfill_through_its_run_queue(tmp_path: Path) -> None:
    from arco_flow.daemon.runner import run_daemon

    FAILING.clear()
    CALLS.clear()
    with ArcoInstance.get(tmp_path / "home") as instance:
        state = _create(instance, selection="raw", max_partitions_per_run=2)
        stop = threading.Event()
        errors: list[BaseException] = []
        daemon = threading.Thread(
            target=run_daemon,
            args=(instance, {}),
            kwargs={
                "stop_event": stop,
                "interval_s": 0.05,
                "definitions": DEFS,
                "queue_limits": QueueLimits(max_concurrent_runs=2),
                "on_error": lambda _name, error: errors.append(error),
            },
        )
        daemon.start()
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if load_backfill(instance, state.backfill_id).status.is_terminal:
                    break
                time.sleep(0.05)
        finally:
            stop.set()
            daemon.join()
        assert errors == []
        done = load_backfill(instance, state.backfill_id)
        assert done.status is BackfillStatus.COMPLETED
        assert done.driver["mode"] == "run_queue"
        runs = instance.get_runs(tags={BACKFILL_TAG: state.backfill_id})
        assert len(runs) == 7
        for run in runs:
            assert run.status is RunStatus.SUCCESS
            assert instance.all_logs(run.run_id, event_types=[RunQueued.EVENT_TYPE])
        assert sorted(key for _, key in CALLS) == DAILY.get_partition_keys()


def test_the_cli_leaves_a_backfill_the_daemon_drives_to_it(
    tmp_path: Path, instance: ArcoInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from arco_flow.cli.main import cli

    monkeypatch.setenv("ARCO_HOME", str(tmp_path / "home"))
    state = _create(instance, selection="raw", max_partitions_per_run=7)
    BackfillQueueDriver(instance, driver=_another_live_process()).tick(0.0)
    pause_backfill(instance, state.backfill_id)
    result = CliRunner().invoke(cli, ["backfill", "resume", state.backfill_id])
    assert result.exit_code == 0, result.output
    assert "driven by the daemon" in result.output
    assert load_backfill(instance, state.backfill_id).status is BackfillStatus.RUNNING
    assert CALLS == []  # nothing ran in the CLI's process
    assert len(_active_runs(instance, state.backfill_id)) == 2


def test_a_backfill_created_to_be_driven_here_records_its_driver_with_its_creation(
    instance: ArcoInstance,
) -> None:
    state = _create(instance, selection="raw", driven_here=True)
    [_created, driver] = instance.read_stream(f"backfill:{state.backfill_id}")
    assert isinstance(driver.event, BackfillDriverStarted)
    assert state.driver["pid"] == os.getpid()
    assert load_backfill(instance, state.backfill_id).driver == state.driver
