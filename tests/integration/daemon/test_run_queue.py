"""The run queue on a store: submit, launch by priority under limits, cancel, `runs queue`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import arco_flow as af
from arco_flow.cli.main import cli
from arco_flow.daemon.queue import RunQueueLoop
from arco_flow.daemon.runner import run_daemon
from arco_flow.execution.run_queue import (
    BACKFILL_TAG,
    QueueLimits,
    cancel_queued_run,
    parse_tag_limit,
    recorded_queue_limits,
    submit_run,
)
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunStatus


@af.asset
def numbers() -> int:
    return 1


JOB = af.define_asset_job("numbers_job", selection=[numbers])
DEFS = af.Definitions(assets=[numbers], jobs=[JOB])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def instance(home: Path) -> Iterator[ArcoInstance]:
    with ArcoInstance.from_home(home) as instance:
        yield instance


def submit(instance: ArcoInstance, run_id: str, **tags: str) -> None:
    submit_run(
        DEFS.resolve_job_def("numbers_job"), instance, run_id=run_id, code_location=None, tags=tags
    )


def test_a_submitted_run_is_queued_then_started_under_the_same_id(instance: ArcoInstance) -> None:
    submit(instance, "r1")
    submit(instance, "r1")  # idempotent
    assert instance.get_run("r1").status is RunStatus.QUEUED
    assert len(instance.get_runs()) == 1
    loop = RunQueueLoop.for_definitions(instance, QueueLimits(), DEFS)
    assert loop.tick(0.0) == ["r1"]
    loop.wait()
    run = instance.get_run("r1")
    assert run.status is RunStatus.SUCCESS
    assert run.plan_id
    assert [t.status.value for t in instance.get_tasks("r1")] == ["SUCCEEDED"]


def test_backfill_runs_never_starve_a_later_scheduled_run(instance: ArcoInstance) -> None:
    for index in range(20):
        submit(instance, f"bf-{index:02d}", **{BACKFILL_TAG: "bf1"})
    submit(instance, "scheduled", **{"dagster/schedule_name": "daily"})
    loop = RunQueueLoop.for_definitions(instance, QueueLimits(max_concurrent_runs=1), DEFS)
    assert loop.tick(0.0) == ["scheduled"]
    loop.wait()
    assert instance.get_run("scheduled").status is RunStatus.SUCCESS
    assert loop.tick(1.0) == ["bf-00"]
    loop.wait()


def test_a_queued_run_can_be_canceled(instance: ArcoInstance) -> None:
    submit(instance, "r1")
    assert cancel_queued_run(instance, "r1").status is RunStatus.CANCELED
    loop = RunQueueLoop.for_definitions(instance, QueueLimits(), DEFS)
    assert loop.tick(0.0) == []


def test_runs_queue_explains_why_each_run_waits(
    home: Path, instance: ArcoInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCO_HOME", str(home))
    submit(instance, "low", **{BACKFILL_TAG: "bf"})
    submit(instance, "ml1", team="ml")
    submit(instance, "ml2", team="ml")
    submit(instance, "urgent", **{"arco/priority": "10"})
    runner = CliRunner()
    result = runner.invoke(
        cli, ["runs", "queue", "--max-concurrent-runs", "2", "--tag-limit", "team=ml:1"]
    )
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    assert header == "limits (as given): 2 running at once; tags team=ml:1"
    assert [line.split()[1] for line in lines] == ["urgent", "ml1", "ml2", "low"]
    assert "launches next" in lines[0]
    assert "launches next" in lines[1]
    assert (
        "waits: behind 2 run(s) launching now, 1 of higher priority; global limit 2/2" in lines[2]
    )
    assert "behind 2 run(s) launching now, 2 of higher priority" in lines[3]
    canceled = runner.invoke(cli, ["runs", "cancel", "ml2"])
    assert canceled.exit_code == 0
    assert "canceled while queued" in canceled.output
    again = runner.invoke(cli, ["runs", "queue", "--tag-limit", "team=ml:0"])
    assert "tag team=ml at limit 0/0" in again.output


def test_a_queued_run_is_not_taken_for_an_orphan_of_a_dead_daemon(instance: ArcoInstance) -> None:
    from arco_flow.daemon.ticks import ThreadRunLauncher
    from arco_flow.sdk.schedules import SCHEDULE_NAME_TAG

    submit(instance, "queued", **{SCHEDULE_NAME_TAG: "nightly"})
    launcher = ThreadRunLauncher(instance, DEFS, code_location=None)
    assert launcher.resume_orphaned([SCHEDULE_NAME_TAG]) == []  # the queue launches it
    assert instance.get_run("queued").status is RunStatus.QUEUED


def test_runs_queue_explains_waits_against_the_limits_the_daemon_recorded(
    home: Path, instance: ArcoInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCO_HOME", str(home))
    submit(instance, "first")
    submit(instance, "second")
    runner = CliRunner()
    before = runner.invoke(cli, ["runs", "queue"])
    assert before.exit_code == 0, before.output
    assert before.output.startswith("limits: none (no daemon has run on this store")
    stop = threading.Event()
    stop.set()  # takes the lease, records its limits, stops
    limits = QueueLimits(max_concurrent_runs=1, tag_limits=(parse_tag_limit("team:3"),))
    run_daemon(instance, {}, stop_event=stop, definitions=DEFS, queue_limits=limits)
    assert recorded_queue_limits(instance) == limits
    result = runner.invoke(cli, ["runs", "queue"])
    assert result.exit_code == 0, result.output
    header, first, second = result.output.splitlines()
    assert header == "limits (the daemon's): 1 running at once; tags team:3"
    assert "launches next" in first
    assert "global limit 1/1" in second
