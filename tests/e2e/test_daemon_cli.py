"""`arco-flow daemon` killed with SIGKILL mid-tick, restarted: no tick lost, no run twice.

Also: the lease refuses a second daemon, and `schedules|sensors list|start|stop|preview`.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from arco_flow.core.events import (
    NewEvent,
    TickSkipped,
    TickStarted,
    idempotency_key,
)
from arco_flow.daemon.scheduler import schedule_tick_id
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import TickStatus
from arco_flow.storage.records import RunStatus
from tests.e2e.cli_process import run_arco, start_arco, wait_for

CODE = """
import os, time
from pathlib import Path
import arco_flow as af

SIGNALS = Path(os.environ["DAEMON_TEST_DIR"])

def wait_for_release():
    deadline = time.monotonic() + 60
    while not (SIGNALS / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.02)

@af.asset
def thing():
    (SIGNALS / "run-started").touch()
    wait_for_release()  # the first run is in flight when the test kills the daemon
    return 1

JOB = af.define_asset_job("thing_job", selection=[thing])

@af.schedule(cron_schedule="* * * * *", job=JOB, default_status=af.DefaultScheduleStatus.RUNNING)
def every_minute(context):
    log = SIGNALS / "evaluations.log"
    earlier = log.read_text().splitlines() if log.exists() else []
    with log.open("a") as out:
        out.write(f"{context.scheduled_execution_time.timestamp():.0f}\\n")
    if earlier and not (SIGNALS / "release").exists():
        (SIGNALS / "blocked").touch()  # the second fire time blocks: the test kills us here
        wait_for_release()
    key = f"{context.scheduled_execution_time.timestamp():.0f}"
    return af.RunRequest(run_key=key)

@af.sensor(job=JOB, minimum_interval_seconds=3600)
def quiet(context):
    return af.SkipReason("nothing to do")

defs = af.Definitions(assets=[thing], jobs=[JOB], schedules=[every_minute], sensors=[quiet])
"""


def _project(tmp_path: Path) -> tuple[Path, Path, Path]:
    home, signals = tmp_path / "home", tmp_path / "signals"
    signals.mkdir()
    module = tmp_path / "scheduled.py"
    module.write_text(textwrap.dedent(CODE))
    return home, signals, module


def _daemon(home: Path, signals: Path, module: Path) -> subprocess.Popen[str]:
    return start_arco(
        home,
        "daemon",
        "-f",
        str(module),
        "--interval",
        "0.1",
        "--missed-ticks",
        "catch_up",
        "--max-catch-up",
        "2",
        env={"DAEMON_TEST_DIR": str(signals)},
        start_new_session=True,
    )


def _seed_last_tick(home: Path) -> float:
    """Records a tick two fire times ago, as a daemon that then went down would have."""
    last = math.floor(time.time() / 60) * 60 - 120
    tick_id = schedule_tick_id(float(last))
    started = TickStarted(
        instigator_name="every_minute",
        tick_id=tick_id,
        instigator_type="schedule",
        timestamp=float(last),
        scheduled_time=float(last),
    )
    skipped = TickSkipped(instigator_name="every_minute", tick_id=tick_id, reason="seeded")
    with ArcoInstance.get(home) as instance:
        instance.append(
            [NewEvent(event=e, idempotency_key=idempotency_key(e)) for e in (started, skipped)]
        )
    return float(last)


def _wait_until(
    condition: Callable[[], bool], process: subprocess.Popen[str], seconds: float = 60
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the daemon ended early: {process.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.05)


def test_sigkill_mid_tick_then_restart_loses_no_tick_and_launches_no_run_twice(tmp_path):
    home, signals, module = _project(tmp_path)
    seeded = _seed_last_tick(home)

    first = _daemon(home, signals, module)
    # The first missed fire time ticked and its run is in flight; the second is mid-evaluation.
    wait_for(signals / "blocked", first)
    wait_for(signals / "run-started", first)
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=30)

    (signals / "release").touch()
    second = _daemon(home, signals, module)
    try:

        def all_ticked() -> bool:
            with ArcoInstance.get(home) as instance:
                ticks = instance.get_ticks("every_minute")
                runs = instance.get_runs()
            missed = [t for t in ticks if t.scheduled_time and t.scheduled_time > seeded]
            ended = all(r.status not in (RunStatus.QUEUED, RunStatus.STARTED) for r in runs)
            return len(missed) >= 2 and all(t.is_finished for t in missed) and ended

        _wait_until(all_ticked, second)
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=60)
    finally:
        if second.poll() is None:
            second.kill()
    assert second.returncode == 0, err
    assert "launched 1 run(s)" in out

    with ArcoInstance.get(home) as instance:
        ticks = [t for t in instance.get_ticks("every_minute") if t.scheduled_time != seeded]
        started = [
            r.event
            for r in instance.read_stream("instigator:every_minute")
            if isinstance(r.event, TickStarted)
        ]
        runs = instance.get_runs()
        assert instance.verify() == []
    # No tick lost: both missed fire times ticked, each recorded once and successful.
    assert len(ticks) >= 2
    assert all(t.status is TickStatus.SUCCESS for t in ticks)
    assert max(Counter(e.scheduled_time for e in started).values()) == 1
    # No run twice: one run per tick, each run key once, and every run succeeded.
    run_ids = [run_id for t in ticks for run_id in t.run_ids]
    assert sorted(run_ids) == sorted(r.run_id for r in runs)
    assert len(set(run_ids)) == len(ticks)
    assert all(r.status is RunStatus.SUCCESS for r in runs)
    # The run the killed daemon left in flight was finished by the next one under its
    # recorded id: resumed if its start was recorded, else launched (for the first time).
    first_run = ticks[-1].run_ids[0]
    assert first_run in {r.run_id for r in runs}
    evaluated = (signals / "evaluations.log").read_text().split()
    # The killed evaluation had recorded nothing, so its fire time was evaluated again.
    assert len(evaluated) == len(ticks) + 1


def test_the_lease_refuses_a_second_daemon(tmp_path):
    home, signals, module = _project(tmp_path)
    first = _daemon(home, signals, module)
    try:
        _wait_until(lambda: _lease_taken(home), first)
        refused = run_arco(home, "daemon", "-f", str(module), env={"DAEMON_TEST_DIR": str(signals)})
        assert refused.returncode == 2
        assert "owns this store" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == 0


def _lease_taken(home: Path) -> bool:
    with ArcoInstance.get(home) as instance:
        return bool(instance.read_stream("daemon:default"))


def test_schedules_and_sensors_list_start_stop_preview(tmp_path):
    home, signals, module = _project(tmp_path)
    env = {"DAEMON_TEST_DIR": str(signals)}
    (signals / "release").touch()

    listed = run_arco(home, "schedules", "list", "-f", str(module), env=env)
    assert listed.returncode == 0, listed.stderr
    assert "every_minute  RUNNING (default)" in listed.stdout

    stopped = run_arco(home, "schedules", "stop", "-f", str(module), "every_minute", env=env)
    assert stopped.returncode == 0, stopped.stderr
    listed = run_arco(home, "schedules", "list", "-f", str(module), env=env)
    assert "every_minute  STOPPED" in listed.stdout

    started = run_arco(home, "sensors", "start", "-f", str(module), "quiet", env=env)
    assert started.returncode == 0, started.stderr
    listed = run_arco(home, "sensors", "list", "-f", str(module), env=env)
    assert "quiet  RUNNING" in listed.stdout

    preview = run_arco(home, "schedules", "preview", "-f", str(module), "every_minute", env=env)
    assert preview.returncode == 0, preview.stderr
    assert "would request run: job thing_job, run_key" in preview.stdout
    sensor_preview = run_arco(home, "sensors", "preview", "-f", str(module), "quiet", env=env)
    assert "skipped: nothing to do" in sensor_preview.stdout
    with ArcoInstance.get(home) as instance:
        assert instance.get_ticks("every_minute") == []  # a preview records nothing
        assert instance.get_runs() == []

    unknown = run_arco(home, "schedules", "start", "-f", str(module), "every_minut", env=env)
    assert unknown.returncode == 2
    assert "no schedule named 'every_minut'" in unknown.stderr
    assert "every_minute" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
