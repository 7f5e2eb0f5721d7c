"""The daemon's run queue: `QueueRunLauncher` enqueues, `RunQueueLoop` launches.

Schedules and sensors hand their runs to a `QueueRunLauncher` (it implements
`arco_flow.daemon.ticks.RunLauncher`): a requested run is recorded QUEUED under the run id
its tick recorded, which completes the tick. It needs only the job's name and tags, from
a `Manifest` (or `Definitions`), never the user's code. Each pass of `RunQueueLoop` reads
the queued and running runs, asks `queue_decisions` what may launch (priority, FIFO,
global and tag limits), and hands those to its `QueuedRunStarter`, waiting for each until
it is planned: `SubprocessRunLauncher` (`daemon.run_processes`) starts each in a process of
its own, `ThreadQueuedRunStarter` in a thread of this process (definitions built in a
Python process, tests). A run the starter has under way counts as running from the moment
it starts, even before its `RunStarted` is recorded, so a pass never launches a run twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
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

    def start(self, run_id: str) -> None:
        """Starts queued run `run_id`; returns once it is planned, not when it ends.

        Raises:
            ArcoError: it cannot be planned (the run is recorded failed, not left QUEUED).
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
        """See `QueuedRunStarter.start`."""
        planned = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                launch_queued_run(
                    self._instance,
                    run_id,
                    loader=self._loader,
                    on_planned=lambda _prepared: planned.set(),
                )
            except BaseException as error:  # noqa: BLE001  # raised to the loop, or logged
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
        planned.wait()
        if failure:
            raise failure[0]

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


def _queue_state(instance: ArcoInstance) -> tuple[list[RunRecord], list[RunRecord]]:
    """(queued runs, running runs) as the store has them now."""
    queued = instance.get_runs(statuses=[RunStatus.QUEUED])
    running = instance.get_runs(statuses=[RunStatus.STARTED, RunStatus.CANCELING])
    return queued, [run for run in running if run.plan_id]


def explain_queue(instance: ArcoInstance, limits: QueueLimits) -> list[QueueDecision]:
    """The queued runs in launch order, with what the next pass would do with each."""
    queued, running = _queue_state(instance)
    return queue_decisions(queued, running, limits)


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
        """One pass: launches what may launch; returns their run ids."""
        queued, running = _queue_state(self._instance)
        in_flight = self._starter.in_flight()
        running_ids = {run.run_id for run in running}
        running += [run for run in queued if run.run_id in in_flight]
        waiting = [run for run in queued if run.run_id not in in_flight]
        launched: list[str] = []
        for decision in queue_decisions(waiting, running, self._limits):
            if decision.launch and decision.run_id not in running_ids:
                self._start(decision.run_id)
                launched.append(decision.run_id)
        return launched

    def _start(self, run_id: str) -> None:
        try:
            self._starter.start(run_id)
        except ArcoError as error:
            _LOG.error("queued run %s could not run: %s", run_id, error)
        except Exception:  # noqa: BLE001  # the run's own record says what happened
            _LOG.exception("queued run %s failed to run", run_id)

    def wait(self, timeout: float | None = None) -> None:
        """Waits for every run this loop launched to end (each at most `timeout` seconds)."""
        self._starter.wait(timeout)
