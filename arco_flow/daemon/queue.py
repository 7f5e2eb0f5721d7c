"""The daemon's run queue: `QueueRunLauncher` enqueues, `RunQueueLoop` launches.

Schedules and sensors hand their runs to a `QueueRunLauncher` (it implements
`arco_flow.daemon.ticks.RunLauncher`): a requested run is recorded QUEUED under the run id
its tick recorded, which completes the tick. It needs only the job's name and tags, from
a `Manifest` (or `Definitions`), never the user's code. Each pass of `RunQueueLoop` reads
the queued and running runs, asks `queue_decisions` what may launch (priority, FIFO,
global and tag limits), and hands all of those to its `QueuedRunStarter` at once, which
starts them together and returns when every one is planned (or failed), so a pass costs
about one run's planning time however many runs it starts: `SubprocessRunLauncher`
(`daemon.run_processes`) starts each in a process of its own, `ThreadQueuedRunStarter` in
a thread of this process (definitions built in a Python process, tests).

Limits stay right while runs start: a run counts as running from the moment its start
begins until it ends, first as under way in the starter (`in_flight`), then as claimed
(`RunClaimed`: its record's coordinator is a live claimer), then as STARTED. A claimed run
is never started again, even by another daemon: the claim is the log's
(`execution.run_queue.claim_queued_run`), and a claim whose claimer died before starting
the run is released (the run is startable again).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Protocol

from arco_flow.core.errors import ArcoError, NotFoundError, did_you_mean
from arco_flow.core.events import TickRunRequested
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import Manifest
from arco_flow.execution.launcher import Executor
from arco_flow.execution.run_operations import Loader
from arco_flow.execution.run_queue import (
    QueueDecision,
    QueueLimits,
    RunClaimedError,
    claim_is_held,
    launch_queued_run,
    queue_decisions,
    submit_named_run,
)
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.jobs import IMPLICIT_JOB_NAME
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunRecord, RunStatus

__all__ = [
    "QueueRunLauncher",
    "QueuedRunStarter",
    "RunQueueLoop",
    "ThreadQueuedRunStarter",
    "explain_queue",
    "job_tags",
]

_LOG = logging.getLogger("arco_flow.daemon.queue")


def job_tags(jobs: Definitions | Manifest, job_name: str) -> dict[str, str]:
    """The tags of the job named `job_name`, which must exist.

    Raises:
        NotFoundError: no job has that name; the message suggests a close one.
    """
    if isinstance(jobs, Definitions):
        return dict(jobs.resolve_job_def(job_name).tags)
    if job_name == IMPLICIT_JOB_NAME:
        return {}
    for job in jobs.jobs:
        if job.name == job_name:
            return dict(job.tags)
    names = [job.name for job in jobs.jobs]
    raise NotFoundError(
        f"no job named {job_name!r}.{did_you_mean(job_name, names)} Jobs: "
        f"{', '.join(names) or 'none'}"
    )


class QueueRunLauncher:
    """Enqueues each run a tick requests instead of starting it (a `RunLauncher`).

    Args:
        instance: Where runs are recorded.
        jobs: Where the requested jobs are found (an unknown job fails the tick): the
            manifest, or the definitions themselves.
        code_location: Recorded with each run so the queue loop can load it.
        executor: How each run's tasks will execute.
    """

    def __init__(
        self,
        instance: ArcoInstance,
        jobs: Definitions | Manifest,
        *,
        code_location: Mapping[str, str] | None,
        executor: Executor = "in_process",
    ) -> None:
        self._instance, self._jobs = instance, jobs
        self._code_location, self._executor = code_location, executor

    def launch(self, request: TickRunRequested) -> None:
        """Records the requested run as QUEUED (idempotent per run id).

        Raises:
            NotFoundError: the request names a job that does not exist.
        """
        data = request.request
        job_name = str(data["job_name"])
        selection = data.get("asset_selection")
        submit_named_run(
            self._instance,
            job_name,
            job_tags=job_tags(self._jobs, job_name),
            run_id=request.run_id,
            code_location=self._code_location,
            executor=self._executor,
            run_config=data.get("run_config") or None,
            asset_selection=[AssetKey(path) for path in selection] if selection else None,
            tags=dict(data.get("tags") or {}),
            partition_key=data.get("partition_key"),
        )


class QueuedRunStarter(Protocol):
    """Starts the queued runs the queue loop lets go."""

    def start_all(self, run_ids: Sequence[str]) -> dict[str, Exception]:
        """Starts the queued runs together; returns once each is planned, not when they end.

        Every start begins before the first is waited for, and each gets the same time to
        plan as it would alone.

        Returns:
            The error of each run that could not be started, by run id: one that cannot be
            planned is recorded failed (not left QUEUED); one claimed by another process
            (`RunClaimedError`) is left to it.
        """
        ...

    def in_flight(self) -> set[str]:
        """The runs this starter started (or is starting) that have not ended here."""
        ...

    def wait(self, timeout: float | None = None) -> None:
        """Waits for the runs it started to end (each at most `timeout` seconds)."""
        ...


class ThreadQueuedRunStarter:
    """Starts each queued run in a thread of this process (a `QueuedRunStarter`).

    For definitions built in a Python process, and tests; the daemon on a code location
    uses `SubprocessRunLauncher`.

    Args:
        instance: Where runs are recorded.
        loader: Loads a queued run's definitions from its recorded code location.
    """

    def __init__(self, instance: ArcoInstance, *, loader: Loader) -> None:
        self._instance, self._loader = instance, loader
        self._lock = threading.Lock()
        self._by_run: dict[str, threading.Thread] = {}
        self._threads: list[threading.Thread] = []

    def start(self, run_id: str) -> None:
        """Starts queued run `run_id`; returns once it is planned, not when it ends.

        Raises:
            Exception: it could not be started (see `start_all`).
        """
        failures = self.start_all([run_id])
        if run_id in failures:
            raise failures[run_id]

    def start_all(self, run_ids: Sequence[str]) -> dict[str, Exception]:
        """See `QueuedRunStarter.start_all`: one thread per run, all started first."""
        starts = [(run_id, *self._begin(run_id)) for run_id in run_ids]
        failures: dict[str, Exception] = {}
        for run_id, planned, failure in starts:
            planned.wait()
            if failure:
                failures[run_id] = failure[0]
        return failures

    def _begin(self, run_id: str) -> tuple[threading.Event, list[Exception]]:
        """Starts the thread of `run_id`; the event is set once it is planned or failed."""
        planned = threading.Event()
        failure: list[Exception] = []

        def run() -> None:
            try:
                launch_queued_run(
                    self._instance,
                    run_id,
                    loader=self._loader,
                    on_planned=lambda _prepared: planned.set(),
                )
            except Exception as error:  # noqa: BLE001  # returned to the loop, or logged
                if planned.is_set():
                    _LOG.exception("queued run %s failed to run", run_id)
                else:
                    failure.append(error)
            finally:
                planned.set()

        thread = threading.Thread(target=run, name=f"arco-queued-{run_id}", daemon=True)
        with self._lock:
            self._by_run = {r: t for r, t in self._by_run.items() if t.is_alive()}
            self._by_run[run_id] = thread
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()
        return planned, failure

    def in_flight(self) -> set[str]:
        """See `QueuedRunStarter.in_flight`."""
        with self._lock:
            return {run_id for run_id, thread in self._by_run.items() if thread.is_alive()}

    def wait(self, timeout: float | None = None) -> None:
        """See `QueuedRunStarter.wait`."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)


def _queue_state(
    instance: ArcoInstance, in_flight: set[str] | None = None
) -> tuple[list[RunRecord], list[RunRecord]]:
    """(runs that wait to start, runs that count as running) as the store has them now.

    A queued run that `in_flight` names, or whose claimer lives, is starting: it counts as
    running and is not started again.
    """
    queued = instance.get_runs(statuses=[RunStatus.QUEUED])
    running = instance.get_runs(statuses=[RunStatus.STARTED, RunStatus.CANCELING])
    running = [run for run in running if run.plan_id]
    under_way = in_flight or set()
    waiting: list[RunRecord] = []
    for run in queued:
        if run.run_id in under_way or claim_is_held(run.coordinator):
            running.append(run)
        else:
            waiting.append(run)
    return waiting, running


def explain_queue(instance: ArcoInstance, limits: QueueLimits) -> list[QueueDecision]:
    """The queued runs in launch order, with what the next pass would do with each.

    A queued run that a live process has claimed is starting, so it is not listed.
    """
    waiting, running = _queue_state(instance)
    return queue_decisions(waiting, running, limits)


class RunQueueLoop:
    """Lets queued runs go by priority under `limits`; `starter` starts each.

    Args:
        instance: Where runs are recorded.
        limits: The global and per-tag limits of running runs.
        starter: Starts a queued run (in a process of its own, or a thread).
    """

    def __init__(
        self, instance: ArcoInstance, limits: QueueLimits, *, starter: QueuedRunStarter
    ) -> None:
        self._instance, self._limits, self._starter = instance, limits, starter

    @staticmethod
    def for_definitions(
        instance: ArcoInstance, limits: QueueLimits, definitions: Definitions
    ) -> RunQueueLoop:
        """A loop that starts every queued run from `definitions`, in threads of this process."""
        starter = ThreadQueuedRunStarter(instance, loader=lambda _location: definitions)
        return RunQueueLoop(instance, limits, starter=starter)

    def tick(self, _now: float) -> list[str]:
        """One pass: starts together every run that may launch; returns their run ids.

        Returns once each of them is planned (or failed), not when they end.
        """
        waiting, running = _queue_state(self._instance, self._starter.in_flight())
        launched = [
            decision.run_id
            for decision in queue_decisions(waiting, running, self._limits)
            if decision.launch
        ]
        if not launched:
            return []
        for run_id, error in self._starter.start_all(launched).items():
            _log_start_failure(run_id, error)
        return launched

    def wait(self, timeout: float | None = None) -> None:
        """Waits for every run this loop launched to end (each at most `timeout` seconds)."""
        self._starter.wait(timeout)


def _log_start_failure(run_id: str, error: Exception) -> None:
    if isinstance(error, RunClaimedError):
        _LOG.info("queued run %s is left to another process: %s", run_id, error)
    elif isinstance(error, ArcoError):
        _LOG.error("queued run %s could not run: %s", run_id, error)
    else:  # the run's own record says what happened
        _LOG.error("queued run %s failed to run", run_id, exc_info=error)
