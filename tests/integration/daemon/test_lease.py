"""The daemon lease: one daemon per store; a stale lease is taken over, a fresh one is not."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import arco_flow as af
from arco_flow.daemon.lease import DaemonLease, LeaseHeldError
from arco_flow.daemon.runner import run_daemon
from arco_flow.storage.instance import ArcoInstance


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[ArcoInstance]:
    with ArcoInstance.from_home(tmp_path / "home") as instance:
        yield instance


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_second_daemon_is_refused_while_the_lease_is_fresh(instance: ArcoInstance) -> None:
    first = DaemonLease(instance, ttl_s=60)
    first.acquire()
    with pytest.raises(LeaseHeldError, match="owns this store"):
        DaemonLease(instance, ttl_s=60).acquire()


def test_a_stale_lease_is_taken_over_and_its_old_holder_stops(
    instance: ArcoInstance, caplog: pytest.LogCaptureFixture
) -> None:
    first = DaemonLease(instance, ttl_s=60)
    first.acquire()
    holder = first.holder()
    assert holder is not None
    later = Clock(holder.heartbeat_time + 61)
    second = DaemonLease(instance, ttl_s=60, clock=later)
    second.acquire()
    assert "taking over the stale daemon lease" in caplog.text
    new_holder = second.holder()
    assert new_holder is not None
    assert new_holder.daemon_id == second.daemon_id
    with pytest.raises(LeaseHeldError, match="lost its lease"):
        first.heartbeat()


def test_a_released_lease_is_free_at_once(instance: ArcoInstance) -> None:
    first = DaemonLease(instance)
    first.acquire()
    first.heartbeat()
    first.release()
    assert first.holder() is None
    DaemonLease(instance).acquire()


@af.asset
def thing() -> int:
    return 1


def test_run_daemon_ticks_until_stopped_and_releases_its_lease(instance: ArcoInstance) -> None:
    ticked = threading.Event()

    @af.sensor(
        target=[thing], minimum_interval_seconds=0, default_status=af.DefaultSensorStatus.RUNNING
    )
    def once(context: af.SensorEvaluationContext) -> af.RunRequest:
        return af.RunRequest(run_key="once")

    defs = af.Definitions(assets=[thing], sensors=[once])
    stop = threading.Event()
    outcomes = []

    def on_tick(outcome: object) -> None:
        outcomes.append(outcome)
        ticked.set()

    thread = threading.Thread(
        target=run_daemon,
        args=(instance, {}),
        kwargs={"stop_event": stop, "interval_s": 0.02, "definitions": defs, "on_tick": on_tick},
    )
    thread.start()
    assert ticked.wait(30)
    stop.set()
    thread.join(60)
    assert not thread.is_alive()
    assert DaemonLease(instance).holder() is None
    assert [run.tags.get("arco/sensor_name") for run in instance.get_runs()] == ["once"]


def test_a_heartbeat_reads_only_what_the_lease_stream_added(
    instance: ArcoInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(1_000.0)
    lease = DaemonLease(instance, ttl_s=60, clock=clock)
    lease.acquire()
    for _ in range(50):
        clock.now += 20
        lease.heartbeat()
    read: list[int] = []
    real = instance.read_stream

    def counting(stream: str, *, after_sequence: int = 0):  # type: ignore[no-untyped-def]
        records = real(stream, after_sequence=after_sequence)
        read.append(len(records))
        return records

    monkeypatch.setattr(instance, "read_stream", counting)
    clock.now += 20
    lease.heartbeat()
    assert sum(read) <= 1  # its own previous heartbeat at most, not the 51 before it
    holder = DaemonLease(instance, ttl_s=60, clock=clock).holder()
    assert holder is not None
    assert holder.daemon_id == lease.daemon_id
