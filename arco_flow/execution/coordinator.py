"""The run coordinator: owns one run from plan to end.

It dispatches ready tasks up to the concurrency limit through a `Dispatcher`, applies
retry policies (delay, backoff, jitter), skips the downstream of failed tasks while
unrelated branches finish, and records every decision as an event through `emit`.
Decisions about task readiness live in `arco_flow.core.run_state`; this module is the
thin shell around them that talks to the clock and the dispatcher.
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from arco_flow.core.events import (
    Event,
    RunFailed,
    RunStarted,
    RunSucceeded,
    TaskFailed,
    TaskSkipped,
    TaskSucceeded,
)
from arco_flow.core.messages import TaskOutcome, TaskRequest
from arco_flow.core.plan import Plan, Task
from arco_flow.core.retry import RetryPolicy, retry_delay
from arco_flow.core.run_state import RunState, TaskStatus
from arco_flow.execution.dispatcher import Dispatcher

__all__ = ["Clock", "RunCoordinator", "RunOutcome", "SystemClock"]


class Clock(Protocol):
    """Monotonic time and sleeping, injectable for tests."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock."""

    def sleep(self, seconds: float) -> None:
        """Blocks for `seconds`."""


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """`time.monotonic()`."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """`time.sleep(seconds)`."""
        time.sleep(seconds)


@dataclass(slots=True)
class RunOutcome:
    """How a run ended."""

    run_id: str
    succeeded: bool
    failed_task_ids: list[str] = field(default_factory=list)
    skipped_task_ids: list[str] = field(default_factory=list)
    first_failure: TaskOutcome | None = None


class RunCoordinator:
    """Carries out one plan through a dispatcher.

    Args:
        run_id: the run's id.
        plan: what to run.
        dispatcher: where tasks run.
        emit: receives every run and task event, in order.
        retry_policies: compute node -> its retry policy (None: no retries).
        job_name: the job the run belongs to.
        run_config: the run's plain-dict config, passed to every task.
        tags: the run's tags.
        max_concurrent: tasks running at once, at most (capped by the dispatcher).
        clock: time source; the system clock by default.
        rng: random numbers in [0, 1) for retry jitter.
    """

    def __init__(
        self,
        *,
        run_id: str,
        plan: Plan,
        dispatcher: Dispatcher,
        emit: Callable[[Event], None],
        retry_policies: Mapping[str, RetryPolicy | None] | None = None,
        job_name: str = "__asset_job",
        run_config: Mapping[str, object] | None = None,
        tags: Mapping[str, str] | None = None,
        max_concurrent: int | None = None,
        clock: Clock | None = None,
        rng: Callable[[], float] = random.random,
        timeouts: Mapping[str, float | None] | None = None,
        parent_run_id: str | None = None,
    ) -> None:
        self.run_id = run_id
        self.plan = plan
        self._dispatcher = dispatcher
        self._emit = emit
        self._retry_policies = dict(retry_policies or {})
        self._job_name = job_name
        self._run_config = dict(run_config or {})
        self._tags = dict(tags or {})
        limit = dispatcher.capacity if max_concurrent is None else max_concurrent
        self._max_concurrent = max(1, min(limit, dispatcher.capacity))
        self._clock = clock or SystemClock()
        self._rng = rng
        self._timeouts = dict(timeouts or {})
        self._parent_run_id = parent_run_id
        self.state = RunState(plan)

    def run(self) -> RunOutcome:
        """Runs every task to a terminal status and records the run's end."""
        emit, state, run_id = self._emit, self.state, self.run_id
        emit(
            RunStarted(
                run_id=run_id,
                plan_id=self.plan.plan_id,
                job_name=self._job_name,
                asset_keys=self.plan.asset_keys,
                tags=self._tags,
                parent_run_id=self._parent_run_id,
            )
        )
        outcome = RunOutcome(run_id=run_id, succeeded=False)
        retries: list[tuple[float, int, str]] = []  # (due time, plan order, task id)
        order = {task_id: index for index, task_id in enumerate(self.plan.task_ids)}
        running = 0
        while not state.is_finished:
            now = self._clock.monotonic()
            while retries and retries[0][0] <= now:
                state.retry_now(heapq.heappop(retries)[2])
            while running < self._max_concurrent and state.has_ready():
                task = state.pop_ready()
                assert task is not None
                self._dispatcher.submit(self._request(task, state.start(task.task_id)))
                running += 1
            if running == 0:
                if not retries:
                    break  # nothing running, nothing ready, nothing to retry: all is done
                self._clock.sleep(max(0.0, retries[0][0] - self._clock.monotonic()))
                continue
            timeout = max(0.0, retries[0][0] - now) if retries else None
            for ended in self._dispatcher.wait(timeout):
                running -= 1
                self._on_outcome(ended, outcome, retries, order)
        outcome.failed_task_ids = state.ids_with(TaskStatus.FAILED)
        outcome.skipped_task_ids = state.ids_with(TaskStatus.SKIPPED)
        outcome.succeeded = not outcome.failed_task_ids and not outcome.skipped_task_ids
        if outcome.succeeded:
            emit(RunSucceeded(run_id=run_id))
        else:
            emit(
                RunFailed(
                    run_id=run_id,
                    failed_task_ids=tuple(outcome.failed_task_ids),
                    error=outcome.first_failure.error if outcome.first_failure else None,
                )
            )
        return outcome

    def _request(self, task: Task, attempt: int) -> TaskRequest:
        return TaskRequest(
            run_id=self.run_id,
            task_id=task.task_id,
            attempt=attempt,
            node=task.node,
            asset_keys=task.asset_keys,
            partition=task.partition,
            run_config=self._run_config,
            timeout_s=self._timeouts.get(task.node),
            job_name=self._job_name,
            tags=self._tags,
        )

    def _on_outcome(
        self,
        ended: TaskOutcome,
        outcome: RunOutcome,
        retries: list[tuple[float, int, str]],
        order: Mapping[str, int],
    ) -> None:
        state, request = self.state, ended.request
        task_id = request.task_id
        if ended.succeeded:
            self._emit(
                TaskSucceeded(
                    run_id=self.run_id,
                    task_id=task_id,
                    attempt=request.attempt,
                    usage=ended.usage,
                )
            )
            state.succeed(task_id)
            return
        delay = self._retry_delay(ended)
        assert ended.error is not None
        self._emit(
            TaskFailed(
                run_id=self.run_id,
                task_id=task_id,
                attempt=request.attempt,
                error=ended.error,
                retry_in_s=delay,
                usage=ended.usage,
            )
        )
        if delay is not None:
            state.wait_for_retry(task_id)
            due = self._clock.monotonic() + delay
            heapq.heappush(retries, (due, order[task_id], task_id))
            return
        if outcome.first_failure is None:
            outcome.first_failure = ended
        for skipped in state.fail(task_id):
            self._emit(
                TaskSkipped(
                    run_id=self.run_id,
                    task_id=skipped,
                    reason="upstream failed",
                    blocked_by=state.blocked_by(skipped),
                )
            )

    def _retry_delay(self, ended: TaskOutcome) -> float | None:
        """Seconds before the next attempt, or None when the task has failed for good."""
        attempt = ended.request.attempt
        if ended.retry_requested is not None:
            max_retries, wait = ended.retry_requested
            return wait if attempt <= max_retries else None
        policy = self._retry_policies.get(ended.request.node)
        if policy is None or not ended.allow_retries or attempt > policy.max_retries:
            return None
        return retry_delay(policy, attempt, self._rng())
