"""Runs the daemon starts run in processes of their own; the daemon imports no user code.

Each test writes a user module into its temporary folder. The module logs the pid of
every process that imports it, and its asset writes the pid it runs in, so a test can
tell which process did what.
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import arco_flow as af
from arco_flow.core.errors import ArcoError
from arco_flow.core.events import (
    RunClaimed,
    RunMonitorActed,
    RunQueued,
    TickRunRequested,
    TickStarted,
)
from arco_flow.daemon.freshness import FreshnessDaemon
from arco_flow.daemon.monitor import RunMonitor
from arco_flow.daemon.queue import RunQueueLoop
from arco_flow.daemon.run_processes import SubprocessRunLauncher
from arco_flow.daemon.runner import run_daemon
from arco_flow.daemon.ticks import TickOutcome, finish_tick, record_evaluation
from arco_flow.execution.run_process import (
    RunProcessError,
    RunProcessMessage,
    StoreAddress,
    message_from_data,
    message_to_data,
    store_address,
)
from arco_flow.execution.run_queue import QueueLimits, submit_named_run
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import TickStatus
from arco_flow.storage.memory_store import MemoryEventStore
from arco_flow.storage.records import RunStatus
from tests.waiting import wait_until

MODULE_NAME = "arco_flow_run_process_defs"

CODE = """
import os, time
from pathlib import Path
import arco_flow as af

SIGNALS = Path(os.environ["RUN_PROCESS_TEST_DIR"])
with (SIGNALS / "imports.log").open("a") as log:
    log.write(f"{os.getpid()}\\n")

if (SIGNALS / "gather").exists():  # wait until every expected process is loading too
    (SIGNALS / f"arrived-{os.getpid()}").touch()
    expected = int((SIGNALS / "gather").read_text())
    deadline = time.monotonic() + 20
    while len(list(SIGNALS.glob("arrived-*"))) < expected:
        if time.monotonic() > deadline:
            (SIGNALS / f"alone-{os.getpid()}").touch()
            break
        time.sleep(0.02)

if (SIGNALS / "hold_import").exists():  # loading stalls until the test lets it go
    (SIGNALS / "importing").write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while not (SIGNALS / "release_import").exists() and time.monotonic() < deadline:
        time.sleep(0.02)

@af.asset
def source():
    return 1

@af.asset(deps=[source])
def report():
    (SIGNALS / "report.pid").write_text(str(os.getpid()))
    if (SIGNALS / "block").exists() and not (SIGNALS / "release").exists():
        (SIGNALS / "blocked").touch()
        deadline = time.monotonic() + 60
        while not (SIGNALS / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    return 2

REPORT_JOB = af.define_asset_job("report_job", selection=[source, report])

@af.sensor(job=REPORT_JOB, minimum_interval_seconds=0,
           default_status=af.DefaultSensorStatus.RUNNING)
def once(context):
    return af.RunRequest(run_key="once")

defs = af.Definitions(assets=[source, report], jobs=[REPORT_JOB], sensors=[once])
"""


@pytest.fixture
def signals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "signals"
    folder.mkdir()
    monkeypatch.setenv("RUN_PROCESS_TEST_DIR", str(folder))
    code = tmp_path / "code"
    code.mkdir()
    (code / f"{MODULE_NAME}.py").write_text(textwrap.dedent(CODE))
    monkeypatch.syspath_prepend(str(code))  # run processes get the daemon's import path
    return folder


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[ArcoInstance]:
    with ArcoInstance.from_home(tmp_path / "home") as instance:
        yield instance


@pytest.fixture
def launcher(instance: ArcoInstance, signals: Path) -> Iterator[SubprocessRunLauncher]:
    runs = SubprocessRunLauncher(instance, code_location={"module": MODULE_NAME})
    yield runs
    for pid in runs.pids().values():  # a failed test leaves no run process behind
        os.kill(pid, signal.SIGKILL)
    runs.wait(60)


def importers(signals: Path) -> set[int]:
    log = signals / "imports.log"
    return {int(line) for line in log.read_text().split()} if log.exists() else set()


def request(run_id: str, job_name: str = "report_job") -> TickRunRequested:
    data = {"job_name": job_name, "run_config": None, "tags": {"k": "v"}, "partition_key": None}
    return TickRunRequested(
        instigator_name="manual", tick_id="t1", run_id=run_id, run_key=None, request=data
    )


def test_a_sensor_run_runs_in_its_own_process_and_the_daemon_never_imports_the_user_code(
    instance: ArcoInstance, signals: Path
) -> None:
    stop = threading.Event()
    outcomes: list[TickOutcome] = []
    errors: list[BaseException] = []
    daemon = threading.Thread(
        target=run_daemon,
        args=(instance, {"module": MODULE_NAME}),
        kwargs={
            "stop_event": stop,
            "interval_s": 0.05,
            # No definitions given: the loops read the manifest the code server sends.
            "enqueue_runs": False,
            "on_tick": outcomes.append,
            "on_error": lambda _loop, error: errors.append(error),
        },
    )
    daemon.start()
    try:

        def ran() -> bool:
            runs, ticks = instance.get_runs(), instance.get_ticks("once")
            ended = [t for t in ticks if t.is_finished]
            return any(r.status is RunStatus.SUCCESS for r in runs) and bool(ended)

        wait_until(ran)
    finally:
        stop.set()
        daemon.join(60)
    assert not daemon.is_alive()
    assert errors == []
    (run,) = instance.get_runs()
    assert run.tags["arco/sensor_name"] == "once"
    assert [t.status for t in instance.get_ticks("once")][-1] is TickStatus.SUCCESS
    assert [o.run_ids for o in outcomes if o.run_ids] == [(run.run_id,)]
    coordinator = run.coordinator["pid"]
    assert coordinator != os.getpid()
    assert int((signals / "report.pid").read_text()) == coordinator  # the asset ran there
    assert coordinator in importers(signals)  # the run process loaded the code itself
    assert os.getpid() not in importers(signals)
    assert MODULE_NAME not in sys.modules


def test_a_request_for_an_unknown_job_fails_its_tick_with_the_run_process_error(
    instance: ArcoInstance, launcher: SubprocessRunLauncher
) -> None:
    started = TickStarted(
        instigator_name="manual", tick_id="t1", instigator_type="sensor", timestamp=1.0
    )
    recorded = record_evaluation(instance, started, [request("r1", job_name="report_jbo")])
    assert recorded is not None
    (tick,) = instance.get_ticks("manual")

    outcome = finish_tick(instance, launcher, tick, instigator_type="sensor")

    assert outcome is not None
    assert outcome.status is TickStatus.FAILURE
    (tick,) = instance.get_ticks("manual")
    assert tick.status is TickStatus.FAILURE
    assert tick.error is not None
    assert tick.error.class_name == "RunProcessError"
    assert "run r1 could not be launched: NotFoundError: no job named 'report_jbo'" in (
        tick.error.message
    )
    assert "Did you mean 'report_job'?" in tick.error.message
    assert tick.error.cause is not None
    assert tick.error.cause.class_name == "NotFoundError"
    assert instance.get_runs() == []
    launcher.wait(60)
    assert launcher.in_flight() == set()  # the failed child was reaped


def test_a_run_id_launched_twice_runs_once(
    instance: ArcoInstance, launcher: SubprocessRunLauncher, signals: Path
) -> None:
    launcher.launch(request("r1"))
    launcher.launch(request("r1"))  # under way, or recorded: nothing more
    launcher.wait(60)
    launcher.launch(request("r1"))  # recorded: nothing more
    launcher.wait(60)
    (run,) = instance.get_runs()
    assert run.status is RunStatus.SUCCESS
    assert run.tags["k"] == "v"
    assert len(importers(signals)) == 1  # one run process, so one import


def test_the_queue_loop_starts_a_queued_run_in_a_child_process(
    instance: ArcoInstance, launcher: SubprocessRunLauncher, signals: Path
) -> None:
    submit_named_run(instance, "report_job", run_id="q1", code_location={"module": MODULE_NAME})
    loop = RunQueueLoop(instance, QueueLimits(), starter=launcher)
    assert loop.tick(0.0) == ["q1"]
    assert loop.tick(0.1) == []  # started here: never started twice
    loop.wait(60)
    run = instance.get_run("q1")
    assert run.status is RunStatus.SUCCESS
    assert run.coordinator["pid"] != os.getpid()
    assert int((signals / "report.pid").read_text()) == run.coordinator["pid"]
    assert MODULE_NAME not in sys.modules


def test_a_queued_run_of_an_unknown_job_fails_in_its_child_and_the_loop_goes_on(
    instance: ArcoInstance, launcher: SubprocessRunLauncher, caplog: pytest.LogCaptureFixture
) -> None:
    submit_named_run(instance, "nope", run_id="q1", code_location={"module": MODULE_NAME})
    loop = RunQueueLoop(instance, QueueLimits(), starter=launcher)
    assert loop.tick(0.0) == ["q1"]
    loop.wait(60)
    run = instance.get_run("q1")
    assert run.status is RunStatus.FAILURE
    assert run.error is not None
    assert "no job named 'nope'" in run.error.message
    assert "queued run q1 could not run" in caplog.text


def test_the_monitor_resumes_a_run_whose_process_died_in_a_new_child(
    instance: ArcoInstance, launcher: SubprocessRunLauncher, signals: Path
) -> None:
    (signals / "block").touch()
    launcher.launch(request("r1"))
    # `source` is recorded (with the run's start) before `report` runs and blocks.
    wait_until((signals / "blocked").exists)
    first = launcher.pids()["r1"]
    assert instance.get_run("r1").coordinator["pid"] == first
    os.kill(first, signal.SIGKILL)
    launcher.wait(60)  # reaped: the dead coordinator is not a zombie that looks alive
    (signals / "release").touch()

    monitor = RunMonitor(instance, resumer=launcher)
    assert monitor.tick(time.time()) == ["r1"]
    monitor.wait(60)

    run = instance.get_run("r1")
    assert run.status is RunStatus.SUCCESS
    second = run.coordinator["pid"]
    assert second not in (first, os.getpid())
    assert int((signals / "report.pid").read_text()) == second
    acted = instance.all_logs("r1", event_types=[RunMonitorActed.EVENT_TYPE])
    assert [r.event.action for r in acted if isinstance(r.event, RunMonitorActed)] == ["resume"]
    assert MODULE_NAME not in sys.modules


def submit_report(instance: ArcoInstance, run_id: str) -> None:
    submit_named_run(instance, "report_job", run_id=run_id, code_location={"module": MODULE_NAME})


def claim_count(instance: ArcoInstance, run_id: str) -> int:
    return len(instance.all_logs(run_id, event_types=[RunClaimed.EVENT_TYPE]))


def importing_pid(signals: Path) -> int:
    """The pid of the child stalled while loading its code, once it wrote it whole."""
    path = signals / "importing"
    wait_until(lambda: path.exists() and path.read_text().strip().isdigit())
    return int(path.read_text())


def test_a_queue_pass_spawns_every_run_before_any_is_planned(
    instance: ArcoInstance, launcher: SubprocessRunLauncher, signals: Path
) -> None:
    (signals / "gather").write_text("3")  # each child loads its code only once all three do
    for index in range(3):
        submit_report(instance, f"q{index}")
    loop = RunQueueLoop(instance, QueueLimits(max_concurrent_runs=3), starter=launcher)

    assert sorted(loop.tick(0.0)) == ["q0", "q1", "q2"]
    loop.wait(60)

    assert list(signals.glob("alone-*")) == []  # no child waited alone: none was started late
    runs = [instance.get_run(f"q{index}") for index in range(3)]
    assert {run.status for run in runs} == {RunStatus.SUCCESS}
    assert len({run.coordinator["pid"] for run in runs}) == 3
    assert {int(path.name.split("-")[1]) for path in signals.glob("arrived-*")} == {
        run.coordinator["pid"] for run in runs
    }


def test_a_queued_run_a_dead_daemon_spawned_is_not_started_again_by_the_next(
    instance: ArcoInstance, launcher: SubprocessRunLauncher, signals: Path
) -> None:
    (signals / "hold_import").touch()
    submit_report(instance, "q1")
    first = RunQueueLoop(instance, QueueLimits(), starter=launcher)
    ticking = threading.Thread(target=first.tick, args=(0.0,), daemon=True)
    ticking.start()
    child = importing_pid(signals)  # the child claimed the run, then began loading code
    run = instance.get_run("q1")
    assert run.status is RunStatus.QUEUED
    assert run.coordinator["pid"] == child

    # The next daemon knows nothing of the first one's children: only the log.
    next_launcher = SubprocessRunLauncher(instance, code_location={"module": MODULE_NAME})
    second = RunQueueLoop(instance, QueueLimits(), starter=next_launcher)
    assert second.tick(1.0) == []
    (signals / "release_import").touch()
    ticking.join(60)
    first.wait(60)
    next_launcher.wait(60)

    run = instance.get_run("q1")
    assert run.status is RunStatus.SUCCESS
    assert run.coordinator["pid"] == child
    assert importers(signals) == {child}  # one run process, so one start
    assert claim_count(instance, "q1") == 1


def test_a_queued_run_whose_claimer_died_before_planning_is_started_by_the_next_pass(
    instance: ArcoInstance, launcher: SubprocessRunLauncher, signals: Path
) -> None:
    (signals / "hold_import").touch()
    submit_report(instance, "q1")
    first = RunQueueLoop(instance, QueueLimits(), starter=launcher)
    ticking = threading.Thread(target=first.tick, args=(0.0,), daemon=True)
    ticking.start()
    child = importing_pid(signals)
    os.kill(child, signal.SIGKILL)
    ticking.join(60)  # the pass ends: its child exited before planning
    launcher.wait(60)
    assert instance.get_run("q1").status is RunStatus.QUEUED  # claimed by the dead: released
    (signals / "hold_import").unlink()

    assert first.tick(1.0) == ["q1"]
    first.wait(60)

    run = instance.get_run("q1")
    assert run.status is RunStatus.SUCCESS
    assert run.coordinator["pid"] not in (child, os.getpid())
    assert claim_count(instance, "q1") == 2


def test_the_daemon_resumes_a_run_whose_process_was_killed_once_then_fails_it(
    instance: ArcoInstance, signals: Path
) -> None:
    (signals / "block").touch()
    stop = threading.Event()
    errors: list[BaseException] = []
    daemon = threading.Thread(
        target=run_daemon,
        args=(instance, {"module": MODULE_NAME}),
        kwargs={
            "stop_event": stop,
            "interval_s": 0.05,
            "definitions": af.Definitions(),  # nothing user-defined in the daemon's loops
            "enqueue_runs": False,
            "on_error": lambda _loop, error: errors.append(error),
        },
    )
    daemon.start()
    try:
        wait_until((signals / "blocked").exists)
        (run,) = instance.get_runs()
        first = run.coordinator["pid"]
        (signals / "blocked").unlink()
        os.kill(first, signal.SIGKILL)  # the run's process dies; the daemon goes on

        def resumed() -> bool:  # `report` runs again, in a new run process
            pid = signals / "report.pid"
            return (signals / "blocked").exists() and int(pid.read_text()) != first

        wait_until(resumed)
        second = int((signals / "report.pid").read_text())
        assert second != os.getpid()
        os.kill(second, signal.SIGKILL)

        wait_until(lambda: instance.get_run(run.run_id).status is RunStatus.FAILURE)
    finally:
        (signals / "release").touch()
        stop.set()
        daemon.join(60)
    assert not daemon.is_alive()
    assert errors == []
    acted = instance.all_logs(run.run_id, event_types=[RunMonitorActed.EVENT_TYPE])
    assert [r.event.action for r in acted if isinstance(r.event, RunMonitorActed)] == [
        "resume",
        "fail",
    ]
    error = instance.get_run(run.run_id).error
    assert error is not None
    assert "already resumed it 1 time(s)" in error.message
    assert MODULE_NAME not in sys.modules


T0 = 1_700_000_000.0  # 2023-11-14 22:13 UTC: the latest complete day is 2023-11-13


@af.asset(
    partitions_def=af.DailyPartitionsDefinition(start_date="2023-11-01"),
    freshness_policy=af.FreshnessPolicy.time_window(fail_window=timedelta(hours=3), remediate=True),
)
def daily(context: af.AssetExecutionContext) -> str:
    return context.partition_key


def test_freshness_remediation_is_queued_from_the_manifest_not_run(tmp_path: Path) -> None:
    manifest = af.Definitions(assets=[daily]).manifest
    with ArcoInstance(MemoryEventStore(clock=lambda: T0), str(tmp_path)) as instance:
        daemon = FreshnessDaemon(instance, manifest, code_location={"module": MODULE_NAME})
        daemon.tick(T0)
        (run,) = instance.get_runs()
        assert run.status is RunStatus.QUEUED
        assert instance.get_tasks(run.run_id) == []
        assert instance.get_materialization_history("daily") == []
        (queued,) = [r.event for r in instance.all_logs(run.run_id)]
        assert isinstance(queued, RunQueued)
        assert queued.job_name == "__asset_job"
        assert queued.asset_selection == ("daily",)
        assert queued.partition_key == "2023-11-13"  # the partitions came from the manifest
        assert dict(queued.code_location) == {"module": MODULE_NAME}


def test_a_run_process_message_survives_its_codec() -> None:
    message = RunProcessMessage(
        action="launch",
        run_id="r1",
        store=StoreAddress(url="sqlite:///x.db", storage_dir="s", tenant_id="t", workspace_id="w"),
        code_location={"file": "defs.py", "attribute": "defs"},
        executor="process_pool",
        request={"job_name": "j", "tags": {"a": "b"}, "asset_selection": [["x", "y"]]},
        sys_path=("here",),
    )
    assert message_from_data(message_to_data(message)) == message
    with pytest.raises(ArcoError, match="is not one of launch, start_queued, resume"):
        message_from_data({**message_to_data(message), "action": "rerun"})


def test_an_ephemeral_instance_cannot_launch_run_processes() -> None:
    with ArcoInstance.ephemeral() as instance:
        assert store_address(instance) is None
        with pytest.raises(ArcoError, match="lives in this process only"):
            SubprocessRunLauncher(instance, code_location={"module": MODULE_NAME})


def test_a_run_process_that_cannot_load_the_code_location_reports_it(
    instance: ArcoInstance, tmp_path: Path
) -> None:
    runs = SubprocessRunLauncher(instance, code_location={"file": str(tmp_path / "missing.py")})
    with pytest.raises(RunProcessError, match=r"code location file .* does not exist") as raised:
        runs.launch(request("r1"))
    assert raised.value.info is not None
    assert raised.value.info.class_name == "DefinitionError"
    runs.wait(60)


def test_a_stopped_daemon_leaves_its_runs_to_their_processes(
    instance: ArcoInstance, signals: Path
) -> None:
    (signals / "block").touch()
    stop = threading.Event()
    daemon = threading.Thread(
        target=run_daemon,
        args=(instance, {"module": MODULE_NAME}),
        kwargs={"stop_event": stop, "interval_s": 0.05, "enqueue_runs": False},
    )
    daemon.start()
    try:
        wait_until((signals / "blocked").exists)
        (run,) = instance.get_runs()
        stop.set()
        daemon.join(30)
        assert not daemon.is_alive()  # it did not wait for the blocked run
        assert instance.get_run(run.run_id).status is RunStatus.STARTED
        (signals / "release").touch()
        wait_until(lambda: instance.get_run(run.run_id).status is RunStatus.SUCCESS)
    finally:
        (signals / "release").touch()
        stop.set()
        daemon.join(60)
    assert MODULE_NAME not in sys.modules
