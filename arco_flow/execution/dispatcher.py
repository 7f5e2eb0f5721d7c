"""Dispatchers: how the coordinator hands `TaskRequest`s to workers and hears back.

One protocol, several transports (DESIGN.md §4). `InProcessDispatcher` runs each task in
the calling thread as it is submitted: the reference implementation, used by tests and
`materialize`. The process pool and Celery dispatchers implement the same protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from arco_flow.core.events import Event
from arco_flow.core.messages import TaskOutcome, TaskRequest
from arco_flow.worker.executor import WorkerSession, execute_task

__all__ = ["Dispatcher", "InProcessDispatcher", "RoutingDispatcher"]


class Dispatcher(Protocol):
    """Hands task attempts to workers and returns how they ended."""

    def submit(self, request: TaskRequest) -> None:
        """Starts (or queues) one attempt."""

    def wait(self, timeout: float | None) -> list[TaskOutcome]:
        """Attempts that ended since the last call; waits up to `timeout` for one."""

    @property
    def capacity(self) -> int:
        """How many attempts may run at once."""

    def cancel(self, run_id: str, *, grace_s: float | None = None) -> None:
        """Stops the attempts of `run_id`: gracefully, then by force after `grace_s`."""

    def end_run(self, run_id: str) -> None:
        """The run is over: workers may tear down its resources."""

    def close(self) -> None:
        """Stops the workers; attempts still running are abandoned."""


class InProcessDispatcher:
    """Runs each attempt synchronously, in this thread, when it is submitted."""

    def __init__(self, session: WorkerSession, emit: Callable[[Event], None]) -> None:
        self._session = session
        self._emit = emit
        self._done: list[TaskOutcome] = []

    @property
    def capacity(self) -> int:
        """One: attempts run one after another."""
        return 1

    def submit(self, request: TaskRequest) -> None:
        """Runs the attempt now; its outcome is returned by the next `wait`."""
        self._done.append(execute_task(request, self._session, self._emit))

    def wait(self, timeout: float | None) -> list[TaskOutcome]:
        """The outcomes of the attempts run since the last call."""
        done, self._done = self._done, []
        return done

    def cancel(self, run_id: str, *, grace_s: float | None = None) -> None:
        """Nothing runs between calls: the coordinator stops dispatching, that is all."""

    def end_run(self, run_id: str) -> None:
        """The caller owns the run's resources here; nothing to tear down."""

    def close(self) -> None:
        """Nothing to stop."""


class RoutingDispatcher:
    """Sends the attempts of some compute nodes to one dispatcher, the rest to another.

    A process-pool run hands checks that only read the store (``runs_on_control_plane``)
    to an in-process dispatcher, whose session holds the instance; every other attempt
    goes to the pool. Outcomes of either are returned as they come.

    Args:
        default: where most attempts run (the pool).
        local: where the attempts of `local_nodes` run (in this process).
        local_nodes: compute nodes routed to `local`.
    """

    def __init__(self, default: Dispatcher, local: Dispatcher, local_nodes: frozenset[str]):
        self._default = default
        self._local = local
        self._local_nodes = local_nodes

    @property
    def capacity(self) -> int:
        """The default dispatcher's capacity."""
        return self._default.capacity

    def submit(self, request: TaskRequest) -> None:
        """Hands the attempt to the dispatcher of its node."""
        target = self._local if request.node in self._local_nodes else self._default
        target.submit(request)

    def wait(self, timeout: float | None) -> list[TaskOutcome]:
        """Outcomes of local attempts at once; else waits on the default dispatcher."""
        done = self._local.wait(0.0)
        if done:
            return done
        return self._default.wait(timeout)

    def cancel(self, run_id: str, *, grace_s: float | None = None) -> None:
        """Cancels the run's attempts on both dispatchers."""
        self._local.cancel(run_id, grace_s=grace_s)
        self._default.cancel(run_id, grace_s=grace_s)

    def end_run(self, run_id: str) -> None:
        """Ends the run on both dispatchers."""
        self._local.end_run(run_id)
        self._default.end_run(run_id)

    def close(self) -> None:
        """Closes both dispatchers."""
        self._local.close()
        self._default.close()
