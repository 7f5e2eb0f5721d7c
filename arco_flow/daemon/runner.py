"""`run_daemon`: schedules, sensors and backfills of one code location, each in its own loop.

The composition root of the daemon. It takes the store's lease (`daemon.lease`), then
runs one thread per loop (schedules, sensors, backfills) so a slow sensor never delays a
schedule, and beats the lease in the calling thread until `stop_event` is set or the lease
is lost. Runs that ticks request are launched in threads of this process
(`ThreadRunLauncher`): a tick waits until its runs are planned, never until they end; on
stop the daemon waits for the runs it launched. On start it resumes the runs of schedules
and sensors that a dead daemon left unfinished (their coordinator was that daemon).

Known gap: schedule and sensor bodies are evaluated in this process (the definitions are
imported here), not yet in a worker process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from arco_flow.core.errors import ArcoError
from arco_flow.daemon.backfills import drive_backfill, load_backfill
from arco_flow.daemon.lease import DEFAULT_LEASE_TTL_S, DaemonLease
from arco_flow.daemon.scheduler import DEFAULT_MAX_CATCH_UP_TICKS, MissedTickPolicy, Scheduler
from arco_flow.daemon.sensors import SENSOR_NAME_TAG, SensorDaemon
from arco_flow.daemon.ticks import ThreadRunLauncher, TickOutcome
from arco_flow.execution.launcher import Executor
from arco_flow.execution.run_operations import coordinator_is_alive, load_code_location
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.schedules import SCHEDULE_NAME_TAG
from arco_flow.storage.instance import ArcoInstance

__all__ = ["DEFAULT_INTERVAL_S", "run_daemon"]

DEFAULT_INTERVAL_S = 1.0
"""Seconds between two passes of a loop (a sensor still waits its minimum interval)."""

_LOG = logging.getLogger("arco_flow.daemon")


def run_daemon(
    instance: ArcoInstance,
    code_location: Mapping[str, str],
    *,
    stop_event: threading.Event,
    clock: Callable[[], float] = time.time,
    interval_s: float = DEFAULT_INTERVAL_S,
    missed_ticks: MissedTickPolicy = "skip",
    max_catch_up_ticks: int = DEFAULT_MAX_CATCH_UP_TICKS,
    executor: Executor = "in_process",
    lease_ttl_s: float = DEFAULT_LEASE_TTL_S,
    definitions: Definitions | None = None,
    on_tick: Callable[[TickOutcome], None] | None = None,
    on_error: Callable[[str, BaseException], None] | None = None,
) -> None:
    """Runs the daemon until `stop_event` is set.

    Args:
        instance: The store to tick against; the daemon takes its lease.
        code_location: ``{"module"|"file": ..., "attribute"?: ...}``, recorded with each run.
        stop_event: Set it to stop; the daemon then waits for the runs it launched.
        clock: The current time (POSIX seconds).
        interval_s: Seconds between two passes of each loop.
        missed_ticks: ``skip`` (default, as Dagster) or ``catch_up``.
        max_catch_up_ticks: The most missed fire times caught up per schedule.
        executor: How the runs' tasks execute.
        lease_ttl_s: How long the lease outlives a silent daemon.
        definitions: The definitions, instead of loading `code_location`.
        on_tick: Sees every tick's outcome.
        on_error: Sees an error a loop survived (the loop goes on at its next pass).

    Raises:
        LeaseHeldError: another live daemon owns the store, or took it over.
    """
    if definitions is None:
        definitions = load_code_location(code_location)
    lease = DaemonLease(instance, ttl_s=lease_ttl_s, clock=clock)
    lease.acquire()
    launcher = ThreadRunLauncher(
        instance, definitions, code_location=dict(code_location) or None, executor=executor
    )
    scheduler = Scheduler(
        instance,
        definitions,
        launcher=launcher,
        missed_ticks=missed_ticks,
        max_catch_up_ticks=max_catch_up_ticks,
    )
    sensors = SensorDaemon(instance, definitions, launcher=launcher)
    for run_id in launcher.resume_orphaned((SCHEDULE_NAME_TAG, SENSOR_NAME_TAG)):
        _LOG.warning("resuming run %s, left unfinished by a daemon that stopped", run_id)
    report = on_error or _log_error

    def backfills(_now: float) -> list[TickOutcome]:
        _drive_backfills(instance, report)
        return []

    loops: dict[str, Callable[[float], list[TickOutcome]]] = {
        "schedules": scheduler.tick,
        "sensors": sensors.tick,
        "backfills": backfills,
    }
    threads = [
        threading.Thread(
            target=_loop,
            args=(name, tick, stop_event, clock, interval_s, on_tick, report),
            name=f"arco-daemon-{name}",
            daemon=True,
        )
        for name, tick in loops.items()
    ]
    for thread in threads:
        thread.start()
    try:
        while not stop_event.wait(lease.heartbeat_interval_s):
            lease.heartbeat()
    finally:
        stop_event.set()
        for thread in threads:
            thread.join()
        launcher.wait()
        lease.release()


def _loop(
    name: str,
    tick: Callable[[float], list[TickOutcome]],
    stop_event: threading.Event,
    clock: Callable[[], float],
    interval_s: float,
    on_tick: Callable[[TickOutcome], None] | None,
    report: Callable[[str, BaseException], None],
) -> None:
    while not stop_event.is_set():
        try:
            for outcome in tick(clock()):
                if on_tick is not None:
                    on_tick(outcome)
        except Exception as error:  # noqa: BLE001  # reported; the loop goes on
            report(name, error)
        stop_event.wait(interval_s)


def _drive_backfills(instance: ArcoInstance, report: Callable[[str, BaseException], None]) -> None:
    """Drives each unfinished backfill that no live process drives, one at a time."""
    for backfill in instance.get_backfills(statuses=("RUNNING", "CANCELING")):
        try:
            if coordinator_is_alive(load_backfill(instance, backfill.backfill_id).driver):
                continue  # its own process (e.g. `arco-flow backfill create`) drives it
            drive_backfill(instance, backfill.backfill_id)
        except ArcoError as error:
            report(f"backfill {backfill.backfill_id}", error)


def _log_error(name: str, error: BaseException) -> None:
    _LOG.error("the %s loop failed: %s", name, error, exc_info=error)
