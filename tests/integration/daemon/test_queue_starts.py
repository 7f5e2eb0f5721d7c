"""How the queue starts runs: all of a pass together, each once, and never twice.

A pass starts every run it may before it waits for any to be planned; a run being started
counts against the limits; a queued run is claimed in the log before it is planned, so two
starters racing on it start it once, and a claim whose claimer died is released.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import arco_flow as af
from arco_flow.core.errors import ArcoError
from arco_flow.core.events import NewEvent, RunClaimed, RunStarted, idempotency_key
from arco_flow.daemon.queue import RunQueueLoop, ThreadQueuedRunStarter, explain_queue
from arco_flow.execution.run_queue import (
    QueueLimits,
    RunClaimedError,
    claim_is_held,
    claim_queued_run,
    submit_run,
)
from arco_flow.sdk.definitions import Definitions
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunStatus

RELEASE = threading.Event()
"""Set to let the `held` asset return."""


@af.asset
def numbers() -> int:
    return 1


@af.asset
def held() -> int:
    RELEASE.wait(60)
    return 1


DEFS = af.Definitions(
    assets=[numbers, held],
    jobs=[
        af.define_asset_job("numbers_job", selection=[numbers]),
        af.define_asset_job("held_job", selection=[held]),
    ],
)


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[ArcoInstance]:
    RELEASE.clear()
    with ArcoInstance.from_home(tmp_path / "home") as instance:
        yield instance
    RELEASE.set()


def submit(instance: ArcoInstance, run_id: str, job: str = "numbers_job") -> None:
    submit_run(DEFS.resolve_job_def(job), instance, run_id=run_id, code_location=None)


def gathering_loader(parties: int) -> tuple[threading.Barrier, object]:
    """A loader every start must reach before any can load: starts one by one never pass."""
    barrier = threading.Barrier(parties, timeout=20)

    def load(_location: object) -> Definitions:
        barrier.wait()
        return DEFS

    return barrier, load


def claims(instance: ArcoInstance, run_id: str) -> list[RunClaimed]:
    records = instance.all_logs(run_id, event_types=[RunClaimed.EVENT_TYPE])
    return [r.event for r in records if isinstance(r.event, RunClaimed)]


def record_claim(instance: ArcoInstance, run_id: str, pid: int, ordinal: int = 0) -> None:
    claim = RunClaimed(
        run_id=run_id, claim_id=f"c{ordinal}", claimer={"host": socket.gethostname(), "pid": pid}
    )
    instance.append([NewEvent(event=claim, idempotency_key=idempotency_key(claim, ordinal))])


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process.pid
    process.kill()
    process.wait()


def test_a_pass_starts_every_run_it_may_before_waiting_for_any_to_be_planned(
    instance: ArcoInstance,
) -> None:
    for index in range(4):
        submit(instance, f"r{index}")
    barrier, load = gathering_loader(4)
    starter = ThreadQueuedRunStarter(instance, loader=load)  # type: ignore[arg-type]
    loop = RunQueueLoop(instance, QueueLimits(), starter=starter)

    assert sorted(loop.tick(0.0)) == ["r0", "r1", "r2", "r3"]
    loop.wait(60)

    assert not barrier.broken  # all four were loading at once
    assert {instance.get_run(f"r{i}").status for i in range(4)} == {RunStatus.SUCCESS}


def test_runs_being_started_count_against_the_limit_until_they_end(
    instance: ArcoInstance,
) -> None:
    for index in range(5):
        submit(instance, f"r{index}", job="held_job")
    barrier, load = gathering_loader(3)
    starter = ThreadQueuedRunStarter(instance, loader=load)  # type: ignore[arg-type]
    loop = RunQueueLoop(instance, QueueLimits(max_concurrent_runs=3), starter=starter)

    assert loop.tick(0.0) == ["r0", "r1", "r2"]
    assert loop.tick(1.0) == []  # three are running: the limit holds
    other_daemon = RunQueueLoop.for_definitions(instance, QueueLimits(max_concurrent_runs=3), DEFS)
    assert other_daemon.tick(1.0) == []  # the store says so too, not just this starter
    RELEASE.set()
    loop.wait(60)
    assert not barrier.broken
    assert sorted(other_daemon.tick(2.0)) == ["r3", "r4"]
    other_daemon.wait(60)
    assert {instance.get_run(f"r{i}").status for i in range(5)} == {RunStatus.SUCCESS}


def test_two_starters_racing_on_one_queued_run_start_it_once(instance: ArcoInstance) -> None:
    for index in range(10):
        submit(instance, f"r{index}")
    for index in range(10):
        run_id = f"r{index}"
        gate = threading.Barrier(2, timeout=20)
        outcomes: list[str] = []

        def race(
            run_id: str = run_id, gate: threading.Barrier = gate, outcomes: list[str] = outcomes
        ) -> None:
            starter = ThreadQueuedRunStarter(instance, loader=lambda _location: DEFS)
            gate.wait()
            try:
                starter.start(run_id)
                outcomes.append("started")
            except ArcoError:  # claimed by the other, or found started already
                outcomes.append("refused")
            starter.wait(60)

        threads = [threading.Thread(target=race) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(outcomes) == ["refused", "started"], run_id
        assert len(claims(instance, run_id)) == 1
        started = instance.all_logs(run_id, event_types=[RunStarted.EVENT_TYPE])
        assert len(started) == 1
        assert instance.get_run(run_id).status is RunStatus.SUCCESS
    assert len(instance.get_materialization_history("numbers")) == 10  # each ran once


def test_the_log_keeps_one_claim_per_number_and_refuses_the_second(
    instance: ArcoInstance,
) -> None:
    submit(instance, "r1")
    first = RunClaimed(run_id="r1", claim_id="a", claimer={"pid": 1})
    second = RunClaimed(run_id="r1", claim_id="b", claimer={"pid": 2})
    keys = [idempotency_key(claim, 0) for claim in (first, second)]
    assert keys[0] == keys[1] == "r1/run.claimed/1/0"
    instance.append([NewEvent(event=first, idempotency_key=keys[0])])
    (kept,) = instance.append([NewEvent(event=second, idempotency_key=keys[1])])
    assert isinstance(kept.event, RunClaimed)
    assert kept.event.claim_id == "a"
    assert [claim.claim_id for claim in claims(instance, "r1")] == ["a"]


def test_a_run_claimed_by_a_live_process_is_neither_started_nor_forgotten_by_the_limits(
    instance: ArcoInstance, live_pid: int
) -> None:
    submit(instance, "claimed")
    submit(instance, "next")
    record_claim(instance, "claimed", live_pid)
    run = instance.get_run("claimed")
    assert run.status is RunStatus.QUEUED
    assert run.coordinator["pid"] == live_pid
    assert claim_is_held(run.coordinator)
    with pytest.raises(RunClaimedError, match=f"being started by process {live_pid}"):
        claim_queued_run(instance, "claimed")

    loop = RunQueueLoop.for_definitions(instance, QueueLimits(max_concurrent_runs=1), DEFS)
    assert loop.tick(0.0) == []  # the claimed run is starting: it fills the only slot
    (decision,) = explain_queue(instance, QueueLimits(max_concurrent_runs=1))
    assert decision.run_id == "next"
    assert decision.reason == "global limit 1/1 running"


def test_a_claim_whose_claimer_died_before_starting_the_run_is_released(
    instance: ArcoInstance,
) -> None:
    submit(instance, "r1")
    record_claim(instance, "r1", dead_pid())
    assert not claim_is_held(instance.get_run("r1").coordinator)

    loop = RunQueueLoop.for_definitions(instance, QueueLimits(), DEFS)
    assert loop.tick(0.0) == ["r1"]
    loop.wait(60)

    run = instance.get_run("r1")
    assert run.status is RunStatus.SUCCESS
    assert run.coordinator["pid"] == os.getpid()
    first, second = claims(instance, "r1")  # the second claim took the next number
    assert first.claim_id == "c0"
    assert second.claimer["pid"] == os.getpid()


def test_a_claim_of_an_earlier_process_with_this_pid_is_not_held() -> None:
    mine = {"host": socket.gethostname(), "pid": os.getpid(), "process": "an earlier one"}
    assert not claim_is_held(mine)
    assert not claim_is_held({})


def test_a_run_started_by_its_claimer_is_not_claimed_again(instance: ArcoInstance) -> None:
    submit(instance, "r1")
    loop = RunQueueLoop.for_definitions(instance, QueueLimits(), DEFS)
    assert loop.tick(0.0) == ["r1"]
    loop.wait(60)
    with pytest.raises(RunClaimedError, match="SUCCESS and was started already"):
        claim_queued_run(instance, "r1")
