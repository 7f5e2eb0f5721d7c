"""Run monitoring on a store: dead coordinators are resumed once then failed; deadlines."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import arco_flow as af
from arco_flow.core.events import NewEvent, RunMonitorActed, RunStarted, idempotency_key
from arco_flow.core.plan import plan_to_data
from arco_flow.daemon.monitor import MAX_RUNTIME_TAG, RunMonitor, ThreadRunResumer
from arco_flow.execution.launcher import prepare_run
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunStatus


@af.asset
def numbers() -> int:
    return 1


JOB = af.define_asset_job("numbers_job", selection=[numbers])
DEFS = af.Definitions(assets=[numbers], jobs=[JOB])


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[ArcoInstance]:
    with ArcoInstance.from_home(tmp_path / "home") as instance:
        yield instance


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def record_started(instance: ArcoInstance, run_id: str, **tags: str) -> None:
    plan = prepare_run(DEFS.resolve_job_def("numbers_job")).plan
    event = RunStarted(
        run_id=run_id,
        plan_id=plan.plan_id,
        job_name="numbers_job",
        plan=plan_to_data(plan),
        tags=tags,
        coordinator={"host": socket.gethostname(), "pid": dead_pid()},
    )
    instance.append([NewEvent(event=event, idempotency_key=idempotency_key(event))])


def resumer(instance: ArcoInstance) -> ThreadRunResumer:
    return ThreadRunResumer(instance, loader=lambda _location: DEFS)


def actions(instance: ArcoInstance, run_id: str) -> list[str]:
    records = instance.all_logs(run_id, event_types=[RunMonitorActed.EVENT_TYPE])
    return [r.event.action for r in records if isinstance(r.event, RunMonitorActed)]


def test_a_run_whose_coordinator_died_is_resumed_to_its_end(instance: ArcoInstance) -> None:
    record_started(instance, "r1")
    monitor = RunMonitor(instance, resumer=resumer(instance))
    assert monitor.tick(0.0) == ["r1"]
    monitor.wait()
    assert instance.get_run("r1").status is RunStatus.SUCCESS
    assert actions(instance, "r1") == ["resume"]


def test_a_run_resumed_once_whose_coordinator_died_again_fails(instance: ArcoInstance) -> None:
    record_started(instance, "r1")
    acted = RunMonitorActed(run_id="r1", action="resume", reason="earlier")
    instance.append([NewEvent(event=acted, idempotency_key=idempotency_key(acted))])
    monitor = RunMonitor(instance, resumer=resumer(instance), max_resumes=1)
    monitor.tick(0.0)
    run = instance.get_run("r1")
    assert run.status is RunStatus.FAILURE
    assert run.error is not None
    assert "already resumed it 1 time(s)" in run.error.message


def test_deadline_cancels_then_fails_without_resuming(instance: ArcoInstance) -> None:
    record_started(instance, "r1", **{MAX_RUNTIME_TAG: "10"})
    started = instance.get_run("r1").started_time
    assert started is not None
    monitor = RunMonitor(instance, resumer=resumer(instance), grace_s=5)
    monitor.tick(started + 11)
    assert instance.get_run("r1").status is RunStatus.CANCELING
    assert actions(instance, "r1") == ["cancel"]
    cancel_at = instance.all_logs("r1")[-1].timestamp
    monitor.tick(max(cancel_at, started + 11) + 6)
    run = instance.get_run("r1")
    assert run.status is RunStatus.FAILURE
    assert run.error is not None
    assert "past its deadline of 10s" in run.error.message
