"""The daemon's run queue: `QueueRunLauncher` enqueues, `RunQueueLoop` launches.

Schedules and sensors hand their runs to a `QueueRunLauncher` (it implements
`arco_flow.daemon.ticks.RunLauncher`): a requested run is recorded QUEUED under the run id
its tick recorded, which completes the tick. Each pass of `RunQueueLoop` reads the queued
and running runs, asks `queue_decisions` what may launch (priority, FIFO, global and tag
limits), and launches those in threads of this process, each waiting until it is planned.
A run launched by this process counts as running from the moment its thread starts, even
before its `RunStarted` is recorded, so a pass never launches a run twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from arco_flow.core.errors import ArcoError
from arco_flow.core.events import TickRunRequested
from arco_flow.core.keys import AssetKey
from arco_flow.execution.launcher import Executor
from arco_flow.execution.run_operations import Loader
from arco_flow.execution.run_queue import (
    QueueDecision,
    QueueLimits,
    launch_queued_run,
    queue_decisions,
    submit_run,
)
from arco_flow.sdk.definitions import Definitions
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunRecord, RunStatus

__all__ = ["QueueRunLauncher", "RunQueueLoop", "explain_queue"]

_LOG = logging.getLogger("arco_flow.daemon.queue")


class QueueRunLauncher:
    """Enqueues each run a tick requests instead of starting it (a `RunLauncher`).

    Args:
        instance: Where runs are recorded.
        definitions: Where the requested jobs are found (an unknown job fails the tick).
        code_location: Recorded with each run so the queue loop can load it.
        executor: How each run's tasks will execute.
    """

    def __init__(
        self,
        instance: ArcoInstance,
        definitions: Definitions,
        *,
        code_location: Mapping[str, str] | None,
        executor: Executor = "in_process",
    ) -> None:
        self._instance, self._definitions = instance, definitions
        self._code_location, self._executor = code_location, executor

    def launch(self, request: TickRunRequested) -> None:
        """Records the requested run as QUEUED (idempotent per run id)."""
        data = request.request
        job = self._definitions.resolve_job_def(str(data["job_name"]))
        selection = data.get("asset_selection")
        submit_run(
            job,
            self._instance,
            run_id=request.run_id,
            code_location=self._code_location,
            executor=self._executor,
            run_config=data.get("run_config") or None,
            asset_selection=[AssetKey(path) for path in selection] if selection else None,
            tags=dict(data.get("tags") or {}),
            partition_key=data.get("partition_key"),
        )


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
    """Launches queued runs by priority under `limits`, each in a thread of this process.

    Args:
        instance: Where runs are recorded.
        limits: The global and per-tag limits of running runs.
        loader: Loads a queued run's definitions from its recorded code location.
    """

    def __init__(self, instance: ArcoInstance, limits: QueueLimits, *, loader: Loader) -> None:
        self._instance, self._limits, self._loader = instance, limits, loader
        self._lock = threading.Lock()
        self._launching: dict[str, threading.Thread] = {}
        self._threads: list[threading.Thread] = []

    @staticmethod
    def for_definitions(
        instance: ArcoInstance, limits: QueueLimits, definitions: Definitions
    ) -> RunQueueLoop:
        """A loop that launches every queued run from `definitions` (a daemon's own)."""
        return RunQueueLoop(instance, limits, loader=lambda _location: definitions)

    def tick(self, _now: float) -> list[str]:
        """One pass: launches what may launch; returns their run ids."""
        queued, running = _queue_state(self._instance)
        with self._lock:
            self._launching = {r: t for r, t in self._launching.items() if t.is_alive()}
            in_flight = set(self._launching)
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
        planned = threading.Event()

        def run() -> None:
            try:
                launch_queued_run(
                    self._instance,
                    run_id,
                    loader=self._loader,
                    on_planned=lambda _prepared: planned.set(),
                )
            except ArcoError as error:
                _LOG.error("queued run %s could not run: %s", run_id, error)
            except Exception:  # noqa: BLE001  # the run's own record says what happened
                _LOG.exception("queued run %s failed to run", run_id)
            finally:
                planned.set()

        thread = threading.Thread(target=run, name=f"arco-queued-{run_id}", daemon=True)
        with self._lock:
            self._launching[run_id] = thread
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()
        planned.wait()

    def wait(self, timeout: float | None = None) -> None:
        """Waits for every run this loop launched to end (each at most `timeout` seconds)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
