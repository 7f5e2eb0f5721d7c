"""`run_daemon`: schedules, sensors and backfills of one code location, each in its own loop.

The composition root of the daemon. It takes the store's lease (`daemon.lease`), then
runs one thread per loop (schedules, sensors, backfills) so a slow sensor never delays a
schedule, and beats the lease in the calling thread until `stop_event` is set or the lease
is lost. A tick waits until its runs are planned, never until they end; on stop the
daemon waits for the runs it runs in its own threads (runs in run processes go on). On
start it resumes the runs of schedules and sensors that a dead daemon left unfinished
(their coordinator was that daemon).

Where runs run: with a code location (module or file) and a store on disk, every run the
daemon starts (a tick's, a queued one, one the monitor resumes, a freshness remediation
through the queue) runs in a process of its own that loads the code location itself
(`daemon.run_processes.SubprocessRunLauncher`); the daemon never imports user code to
launch, queue, start or resume a run. Otherwise (definitions built in a Python process, an
in-memory store) runs run in threads of this process (`ThreadRunLauncher`,
`ThreadQueuedRunStarter`, `ThreadRunResumer`).

Schedule and sensor bodies are evaluated in code servers (`daemon.code_server`): one
spawned process for the schedules and one for the sensors, so a hung sensor never stalls a
schedule. The automation and freshness loops and the queue (which checks job names) read
the manifest the schedules' code server sends (`core.manifest_view.ManifestDefinitions`):
with a code location and a store on disk, the daemon process never imports user code.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Literal

from arco_flow.core.manifest import Manifest
from arco_flow.core.manifest_view import AssetDefinitionsView, ManifestDefinitions
from arco_flow.daemon.automation_loop import AUTOMATION_TICK_TAG, AutomationDaemon
from arco_flow.daemon.backfill_queue import BackfillQueueDriver
from arco_flow.daemon.code_server import DEFAULT_EVALUATION_TIMEOUT_S, CodeServer, Instigators
from arco_flow.daemon.freshness import FreshnessDaemon  # freshness policies (issue 6, item 5)
from arco_flow.daemon.lease import DEFAULT_LEASE_TTL_S, DaemonLease
from arco_flow.daemon.monitor import (
    DEFAULT_CANCEL_GRACE_S,
    RunMonitor,
    RunResumer,
    ThreadRunResumer,
)
from arco_flow.daemon.queue import (
    QueuedRunStarter,
    QueueRunLauncher,
    RunQueueLoop,
    ThreadQueuedRunStarter,
)
from arco_flow.daemon.run_processes import DEFAULT_PLAN_TIMEOUT_S, SubprocessRunLauncher
from arco_flow.daemon.scheduler import DEFAULT_MAX_CATCH_UP_TICKS, MissedTickPolicy, Scheduler
from arco_flow.daemon.sensors import SENSOR_NAME_TAG, SensorDaemon
from arco_flow.daemon.ticks import RunLauncher, ThreadRunLauncher, TickOutcome
from arco_flow.execution.launcher import Executor
from arco_flow.execution.run_operations import load_code_location
from arco_flow.execution.run_process import store_address
from arco_flow.execution.run_queue import QueueLimits, record_queue_limits
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
    # -- run queue and monitoring (issue 6) --
    enqueue_runs: bool = True,
    queue_limits: QueueLimits | None = None,
    max_runtime_s: float | None = None,
    max_resumes: int = 1,
    cancel_grace_s: float = DEFAULT_CANCEL_GRACE_S,
    # -- end run queue and monitoring --
    # -- code server (issue 6, item 6) --
    evaluate_in: Literal["code_server", "in_process"] | None = None,
    evaluation_timeout_s: float = DEFAULT_EVALUATION_TIMEOUT_S,
    # -- end code server --
    # -- run processes (issue 6, item 6) --
    launch_in: Literal["run_process", "thread"] | None = None,
    plan_timeout_s: float = DEFAULT_PLAN_TIMEOUT_S,
    # -- end run processes --
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
        enqueue_runs: Schedules and sensors queue their runs (the queue loop launches them
            by priority under `queue_limits`) instead of launching them at once.
        queue_limits: Global and per-tag limits of running runs (default: none).
        max_runtime_s: The deadline of a run without the ``arco/max_runtime_s`` tag.
        max_resumes: How often the monitor resumes a run whose coordinator died.
        cancel_grace_s: How long a run past its deadline gets to stop before it fails.
        evaluate_in: Where schedule and sensor bodies run: ``code_server`` (a spawned
            process per loop, schedules and sensors apart; the default when
            `code_location` names a module or file) or ``in_process`` (`definitions`
            evaluated here; the default for definitions built in a Python process).
        evaluation_timeout_s: With ``code_server``: the most seconds one evaluation may
            take; a hung body is killed and its tick recorded failed.
        launch_in: Where runs run: ``run_process`` (a process of their own that loads
            `code_location`; the default when it names a module or file and the store is
            on disk) or ``thread`` (threads of this process, from `definitions`).
        plan_timeout_s: With ``run_process``: the most seconds a run's process may take to
            load the code location and plan the run.

    Raises:
        LeaseHeldError: another live daemon owns the store, or took it over.
    """
    has_location = bool(code_location.get("module") or code_location.get("file"))
    out_of_process = launch_in == "run_process" or (
        launch_in is None and has_location and store_address(instance) is not None
    )
    # -- code server (issue 6, item 6) --
    servers: list[CodeServer] = []
    if evaluate_in == "code_server" or (evaluate_in is None and has_location):
        servers = [
            CodeServer(code_location, instance, evaluation_timeout_s=evaluation_timeout_s)
            for _loop_name in ("schedules", "sensors")
        ]
    # -- end code server --
    # What the loops read of the definitions: with code servers and run processes, the
    # manifest a code server sends (the daemon never imports user code); otherwise the
    # definitions themselves, loaded here when not given.
    view: AssetDefinitionsView
    jobs: Definitions | Manifest
    if definitions is None and out_of_process and servers:
        try:
            manifest = servers[0].manifest()
        except BaseException:
            for server in servers:
                server.close()
            raise
        view, jobs = ManifestDefinitions(manifest), manifest
    else:
        if definitions is None:
            definitions = load_code_location(code_location)
        view = jobs = definitions
    # -- run processes (issue 6, item 6) --
    location = dict(code_location) or None
    launcher: ThreadRunLauncher | SubprocessRunLauncher
    starter: QueuedRunStarter
    resumer: RunResumer
    if out_of_process:
        launcher = SubprocessRunLauncher(
            instance, code_location=code_location, executor=executor, plan_timeout_s=plan_timeout_s
        )
        starter = resumer = launcher
    else:
        assert definitions is not None  # loaded above for the in-thread path
        launcher = ThreadRunLauncher(
            instance, definitions, code_location=location, executor=executor
        )
        loaded = definitions
        starter = ThreadQueuedRunStarter(instance, loader=lambda _location: loaded)
        resumer = ThreadRunResumer(instance, loader=lambda _location: loaded)
    # -- end run processes --
    lease = DaemonLease(instance, ttl_s=lease_ttl_s, clock=clock)
    try:
        lease.acquire()
    except BaseException:
        for server in servers:
            server.close()
        raise
    # -- run queue and monitoring (issue 6) --
    record_queue_limits(
        instance, queue_limits or QueueLimits(), lease_name="default", daemon_id=lease.daemon_id
    )
    # -- run queue and monitoring (issue 6) --
    tick_launcher: RunLauncher = launcher
    if enqueue_runs:
        tick_launcher = QueueRunLauncher(instance, jobs, code_location=location, executor=executor)
    run_queue = RunQueueLoop(instance, queue_limits or QueueLimits(), starter=starter)
    monitor = RunMonitor(
        instance,
        resumer=resumer,
        max_resumes=max_resumes,
        default_max_runtime_s=max_runtime_s,
        grace_s=cancel_grace_s,
    )
    # -- end run queue and monitoring --
    schedule_source: Definitions | Instigators
    sensor_source: Definitions | Instigators
    if servers:
        schedule_source, sensor_source = servers
    else:
        assert definitions is not None  # loaded above whenever there is no code server
        schedule_source = sensor_source = definitions
    scheduler = Scheduler(
        instance,
        schedule_source,
        launcher=tick_launcher,
        missed_ticks=missed_ticks,
        max_catch_up_ticks=max_catch_up_ticks,
    )
    sensors = SensorDaemon(instance, sensor_source, launcher=tick_launcher)
    automation = _automation_loop(instance, view, tick_launcher)  # declarative automation
    tags = (SCHEDULE_NAME_TAG, SENSOR_NAME_TAG, AUTOMATION_TICK_TAG)
    for run_id in launcher.resume_orphaned(tags):
        _LOG.warning("resuming run %s, left unfinished by a daemon that stopped", run_id)
    report = on_error or _log_error

    backfill_driver = BackfillQueueDriver(instance, on_error=report)

    def backfills(_now: float) -> list[TickOutcome]:
        _drive_backfills(instance, report, backfill_driver)
        return []

    loops: dict[str, Callable[[float], list[TickOutcome]]] = {
        "schedules": scheduler.tick,
        "sensors": sensors.tick,
        "backfills": backfills,
        "automation": automation,  # declarative automation
        "queue": lambda now: _no_outcomes(run_queue.tick(now)),  # issue 6
        "monitor": lambda now: _no_outcomes(monitor.tick(now)),  # issue 6
        # -- freshness policies (issue 6, item 5) --
        "freshness": _freshness_loop(instance, view, code_location, executor),
        # -- end freshness policies --
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
        for server in servers:  # code server (issue 6, item 6)
            server.close()
        if isinstance(launcher, SubprocessRunLauncher):
            # Run processes are their runs' coordinators and go on without the daemon:
            # stopping it does not wait for hour-long runs, nor end them.
            going_on = launcher.running()
            if going_on:
                _LOG.info("%d run(s) go on in their own processes", going_on)
        else:  # runs in threads of this process end with it: let them finish
            launcher.wait()
            run_queue.wait()
            monitor.wait()
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


def _drive_backfills(
    instance: ArcoInstance,
    report: Callable[[str, BaseException], None],
    driver: BackfillQueueDriver | None = None,
) -> None:
    """Advances each unfinished backfill no other live process drives, through the queue.

    A pass never blocks and runs no chunk here: it settles the chunks whose runs ended and
    submits the ready ones to the run queue, whose loop starts them (in run processes with
    a code location and a store on disk), so the daemon never imports user code for a
    backfill and its runs wait behind higher-priority ones. `driver` keeps each
    backfill's state between passes; without one, each pass replays the streams.
    """
    (driver or BackfillQueueDriver(instance, on_error=report)).tick(0.0)


def _no_outcomes(_acted: list[str]) -> list[TickOutcome]:
    """A queue or monitor pass as a daemon loop: it reports no tick outcomes (issue 6)."""
    return []


# -- declarative automation --
def _automation_loop(
    instance: ArcoInstance, definitions: AssetDefinitionsView, launcher: RunLauncher
) -> Callable[[float], list[TickOutcome]]:
    """The automation loop's pass; its definitions errors are reported on every pass."""
    daemon: list[AutomationDaemon] = []

    def tick(now: float) -> list[TickOutcome]:
        if not daemon:
            daemon.append(AutomationDaemon(instance, definitions, launcher=launcher))
        return daemon[0].tick(now)

    return tick


# -- end declarative automation --


# -- freshness policies (issue 6, item 5) --
def _freshness_loop(
    instance: ArcoInstance,
    definitions: AssetDefinitionsView,
    code_location: Mapping[str, str],
    executor: Executor,
) -> Callable[[float], list[TickOutcome]]:
    """The freshness loop's pass: evaluates policies, records changes, queues remediations.

    The daemon is built on the first pass, so definitions whose manifest cannot be built
    are reported by the loop (on every pass) instead of stopping the daemon.
    """
    daemon: list[FreshnessDaemon] = []

    def tick(now: float) -> list[TickOutcome]:
        if not daemon:
            daemon.append(
                FreshnessDaemon(
                    instance,
                    definitions.manifest,
                    code_location=dict(code_location) or None,
                    executor=executor,
                )
            )
        return _no_outcomes([e.state.value for e in daemon[0].tick(now)])

    return tick


# -- end freshness policies --


def _log_error(name: str, error: BaseException) -> None:
    _LOG.error("the %s loop failed: %s", name, error, exc_info=error)
