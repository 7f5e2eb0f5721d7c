"""The coordinator is killed with SIGKILL mid-run; `runs resume` finishes the run.

Nothing is lost and nothing is recorded twice: every asset ends with exactly one
materialization in the run, and the store's projections match its event log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunStatus
from tests.e2e.cli_process import start_arco, wait_for

CODE = """
import os, time
from pathlib import Path
import arco_flow as af

SIGNALS = Path(os.environ["CRASH_TEST_DIR"])

@af.asset
def first():
    return 1

@af.asset(retry_policy=af.RetryPolicy(max_retries=1))
def slow(first):
    (SIGNALS / "slow-started").touch()
    deadline = time.monotonic() + 60
    while not (SIGNALS / "release").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the test never released the slow asset")
        time.sleep(0.02)
    return first + 1

@af.asset
def last(slow):
    return slow + 1

@af.asset
def unrelated():
    return "x"
"""


def arco(home: Path, signals: Path, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    return start_arco(home, *args, env={"CRASH_TEST_DIR": str(signals)}, **kwargs)


def wait_for_started(home: Path, task_id: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the run ended early: {process.communicate()}")
        with ArcoInstance.get(home) as instance:
            for run in instance.get_runs():
                started = instance.all_logs(run.run_id, event_types=["task.started/1"])
                if any(record.event.task_id == task_id for record in started):
                    return
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} was never recorded as started")


@pytest.mark.parametrize("executor", ["process_pool", "in_process"])
def test_sigkill_mid_run_then_resume_loses_nothing_and_doubles_nothing(tmp_path, executor):
    home, signals = tmp_path / "home", tmp_path / "signals"
    signals.mkdir()
    module = tmp_path / "crashy.py"
    module.write_text(textwrap.dedent(CODE))

    run = arco(
        home,
        signals,
        "materialize",
        "-f",
        str(module),
        "--executor",
        executor,
        "--max-concurrent",
        "1",
        start_new_session=True,
    )
    wait_for(signals / "slow-started", run)
    if executor == "process_pool":
        # Let the coordinator record the attempt's start, so that it is lost on record.
        wait_for_started(home, "slow", run)
    os.kill(run.pid, signal.SIGKILL)  # the coordinator only: its workers must notice alone
    run.communicate(timeout=30)

    with ArcoInstance.get(home) as instance:
        (crashed,) = instance.get_runs()
        assert crashed.status is RunStatus.STARTED  # nobody recorded an end
        run_id = crashed.run_id

    (signals / "release").touch()
    resumed = arco(home, signals, "runs", "resume", run_id)
    _, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err

    with ArcoInstance.get(home) as instance:
        run_record = instance.get_run(run_id)
        assert run_record.status is RunStatus.SUCCESS
        materialized = [
            record.event.asset_key.to_user_string()
            for record in instance.all_logs(run_id, event_types=["asset.materialized/1"])
        ]
        assert sorted(materialized) == ["first", "last", "slow", "unrelated"]
        failed = instance.all_logs(run_id, event_types=["task.failed/1"])
        lost = [(r.event.task_id, r.event.attempt, r.event.error.class_name) for r in failed]
        if executor == "process_pool":
            # The recorded attempt was failed as lost and retried by the asset's policy.
            assert lost == [("slow", 1, "CoordinatorLost")]
        else:
            # In process, an attempt is recorded whole when it ends: the killed one left
            # nothing, so the task simply ran again.
            assert lost == []
        assert instance.verify() == []
        last = instance.get_latest_materialization_event("last")
        assert last is not None
        assert last.run_id == run_id


def test_resume_refuses_a_run_whose_coordinator_is_alive(tmp_path):
    home, signals = tmp_path / "home", tmp_path / "signals"
    signals.mkdir()
    module = tmp_path / "crashy.py"
    module.write_text(textwrap.dedent(CODE))
    run = arco(home, signals, "materialize", "-f", str(module), "--executor", "in_process")
    try:
        wait_for(signals / "slow-started", run)
        with ArcoInstance.get(home) as instance:
            (live,) = instance.get_runs()
        refused = arco(home, signals, "runs", "resume", live.run_id)
        _, err = refused.communicate(timeout=30)
        assert refused.returncode == 2
        assert "still coordinated by process" in err
    finally:
        (signals / "release").touch()
        run.communicate(timeout=60)
    assert run.returncode == 0


def test_runs_cancel_stops_a_running_pool_run_and_ends_it_canceled(tmp_path):
    home, signals = tmp_path / "home", tmp_path / "signals"
    signals.mkdir()
    module = tmp_path / "crashy.py"
    module.write_text(textwrap.dedent(CODE))
    run = arco(home, signals, "materialize", "-f", str(module), "--max-concurrent", "1")
    wait_for(signals / "slow-started", run)
    wait_for_started(home, "slow", run)
    with ArcoInstance.get(home) as instance:
        (live,) = instance.get_runs()
    cancel = arco(home, signals, "runs", "cancel", live.run_id)
    _, err = cancel.communicate(timeout=30)
    assert cancel.returncode == 0, err
    _, err = run.communicate(timeout=60)
    assert run.returncode == 1
    assert "CANCELED" in err
    with ArcoInstance.get(home) as instance:
        ended = instance.get_run(live.run_id)
        assert ended.status is RunStatus.CANCELED
        tasks = {task.task_id: task.status.value for task in instance.get_tasks(live.run_id)}
        assert tasks["slow"] == "FAILED"
        assert tasks["last"] == "SKIPPED"
        assert instance.verify() == []
