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
from typing import Any, Protocol

from arco_flow.core.events import (
    ErrorInfo,
    RunCanceled,
    RunFailed,
    RunResumed,
    RunStarted,
    RunSucceeded,
    TaskFailed,
    TaskSkipped,
    TaskSucceeded,
)
from arco_flow.core.keys import AssetCheckKey
from arco_flow.core.messages import TaskOutcome, TaskRequest
from arco_flow.core.plan import Plan, Task, plan_to_data
from arco_flow.core.retry import RetryPolicy, retry_delay
from arco_flow.core.run_state import RunState, TaskStatus, lost_task_ids
from arco_flow.execution.dispatcher import Dispatcher
from arco_flow.execution.recorder import RunRecorder

__all__ = ["Clock", "RunCoordinator", "RunOutcome", "SystemClock", "blocking_checks_error"]


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
    canceled: bool = False
    failed_task_ids: list[str] = field(default_factory=list)
    skipped_task_ids: list[str] = field(default_factory=list)
    first_failure: TaskOutcome | None = None
    failed_blocking_checks: list[str] = field(default_factory=list)
    """``"asset:check"`` of each blocking check that failed with ``ERROR``: the run fails."""


class RunCoordinator:
    """Carries out one plan through a dispatcher, recording every step.

    Args:
        run_id: the run's id.
        plan: what to run.
        dispatcher: where tasks run; it reports worker events to `recorder.record`.
        recorder: receives every run and task event and appends them in batches.
        retry_policies: compute node -> its retry policy (None: no retries).
        job_name: the job the run belongs to.
        run_config: the run's plain-dict config, passed to every task.
        tags: the run's tags.
        max_concurrent: tasks running at once, at most (capped by the dispatcher).
        clock: time source; the system clock by default.
        rng: random numbers in [0, 1) for retry jitter.
        timeouts: compute node -> seconds an attempt may run.
        parent_run_id: the run this one re-executes, if any.
        code_location: how workers (and a resuming coordinator) load the definitions.
        executor: the dispatcher's name, recorded for a resuming coordinator.
        coordinator_info: who coordinates (host, pid), recorded with the start.
        restored: the state of a run being resumed after its coordinator stopped.
        cancel_requested: polled while the run goes; True stops it (gracefully).
        poll_interval_s: how often `cancel_requested` is asked while tasks run.
        dynamic_partitions: definition name -> keys: the run's snapshot of its dynamic
            partitions, recorded with the start and handed to the tasks that use them.
        dynamic_names_by_node: compute node -> the names in `dynamic_partitions` its
            tasks use (a node left out gets none).
    """

    def __init__(
        self,
        *,
        run_id: str,
        plan: Plan,
        dispatcher: Dispatcher,
        recorder: RunRecorder,
        retry_policies: Mapping[str, RetryPolicy | None] | None = None,
        job_name: str = "__asset_job",
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        max_concurrent: int | None = None,
        clock: Clock | None = None,
        rng: Callable[[], float] = random.random,
        timeouts: Mapping[str, float | None] | None = None,
        parent_run_id: str | None = None,
        code_location: Mapping[str, Any] | None = None,
        executor: str = "in_process",
        coordinator_info: Mapping[str, Any] | None = None,
        restored: RunState | None = None,
        cancel_requested: Callable[[], bool] | None = None,
        poll_interval_s: float = 0.5,
        dynamic_partitions: Mapping[str, tuple[str, ...]] | None = None,
        dynamic_names_by_node: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.run_id = run_id
        self.plan = plan
        self._dispatcher = dispatcher
        self._recorder = recorder
        self._retry_policies = dict(retry_policies or {})
        self._job_name = job_name
        self._run_config = dict(run_config or {})
        self._tags = dict(tags or {})
        limit = dispatcher.capacity if max_concurrent is None else max_concurrent
        self._max_concurrent = max(1, min(limit, dispatcher.capacity))
        self._requested_concurrency = max_concurrent
        self._clock = clock or SystemClock()
        self._rng = rng
        self._timeouts = dict(timeouts or {})
        self._parent_run_id = parent_run_id
        self._code_location = dict(code_location or {})
        self._executor = executor
        self._coordinator_info = dict(coordinator_info or {})
        self._restored = restored is not None
        self._cancel_requested = cancel_requested
        self._poll_interval_s = poll_interval_s
        self._dynamic_partitions = dict(dynamic_partitions or {})
        self._dynamic_names_by_node = dict(dynamic_names_by_node or {})
        self.state = restored if restored is not None else RunState(plan)
        self._order = {task_id: index for index, task_id in enumerate(plan.task_ids)}
        self._retries: list[tuple[float, int, str]] = []  # (due time, plan order, task id)

    def run(self) -> RunOutcome:
        """Runs every task to a terminal status and records the run's end."""
        state = self.state
        outcome = RunOutcome(run_id=self.run_id, succeeded=False)
        self._record_start(outcome)
        # The start is durable before any task runs, not with the first stage's outcomes:
        # until it is, the store shows the run queued (or owned by a dead coordinator), so
        # the monitor could not enforce its deadline nor tell its coordinator alive.
        self._recorder.flush()
        running = 0
        canceling = False
        while not state.is_finished:
            if not canceling and self._cancel_requested is not None and self._cancel_requested():
                canceling = True
                self._begin_cancel()
            now = self._clock.monotonic()
            while not canceling and self._retries and self._retries[0][0] <= now:
                state.retry_now(heapq.heappop(self._retries)[2])
            while not canceling and running < self._max_concurrent and state.has_ready():
                task = state.pop_ready()
                assert task is not None
                self._dispatcher.submit(self._request(task, state.start(task.task_id)))
                running += 1
            self._recorder.flush()
            if running == 0:
                if canceling or not self._retries:
                    break  # nothing running, ready or due: the rest can never run
                self._sleep_until(self._retries[0][0])
                continue
            for ended in self._dispatcher.wait(self._wait_timeout(now)):
                running -= 1
                self._on_outcome(ended, outcome, canceling)
            self._recorder.flush()
        self._finish(outcome, canceling)
        self._recorder.flush()
        self._dispatcher.end_run(self.run_id)
        return outcome

    # -- start, resume, cancel and finish ----------------------------------------------

    def _record_start(self, outcome: RunOutcome) -> None:
        if not self._restored:
            self._recorder.record(
                RunStarted(
                    run_id=self.run_id,
                    plan_id=self.plan.plan_id,
                    job_name=self._job_name,
                    asset_keys=self.plan.asset_keys,
                    tags=self._tags,
                    parent_run_id=self._parent_run_id,
                    plan=plan_to_data(self.plan),
                    run_config=self._run_config,
                    code_location=self._code_location,
                    executor=self._executor,
                    max_concurrent=self._requested_concurrency,
                    coordinator=self._coordinator_info,
                    dynamic_partitions={
                        name: list(keys) for name, keys in self._dynamic_partitions.items()
                    },
                )
            )
            return
        self._recorder.record(RunResumed(run_id=self.run_id, coordinator=self._coordinator_info))
        # Blocking checks that failed under the previous coordinator still fail the run.
        outcome.failed_blocking_checks.extend(
            key.to_user_string() for key in self.state.failed_blocking_checks
        )
        # Retries the previous coordinator was waiting for are due now.
        for task_id in self.state.ids_with(TaskStatus.WAITING_RETRY):
            self.state.retry_now(task_id)
        # Attempts that started under the previous coordinator never reported: they were
        # lost with it. Each is failed as crashed and retried by its policy.
        for task_id in lost_task_ids(self.state):
            task = self.plan.task(task_id)
            request = self._request(task, self.state.attempts[task_id])
            lost = TaskOutcome(
                request=request,
                succeeded=False,
                error=ErrorInfo(
                    class_name="CoordinatorLost",
                    message=(
                        f"task {task_id!r} attempt {request.attempt} was running when the "
                        "run's coordinator stopped; its result was never recorded"
                    ),
                    is_user_code=False,
                ),
            )
            self._on_outcome(lost, outcome, canceling=False)

    def _begin_cancel(self) -> None:
        self._dispatcher.cancel(self.run_id)

    def _finish(self, outcome: RunOutcome, canceling: bool) -> None:
        state = self.state
        if canceling:
            for task_id in state.ids_with(TaskStatus.PENDING) + state.ids_with(
                TaskStatus.WAITING_RETRY
            ):
                if state.status[task_id].is_terminal:
                    continue  # skipped already, as the downstream of another
                for skipped in state.skip(task_id):
                    self._recorder.record(
                        TaskSkipped(run_id=self.run_id, task_id=skipped, reason="run canceled")
                    )
        outcome.failed_task_ids = state.ids_with(TaskStatus.FAILED)
        outcome.skipped_task_ids = state.ids_with(TaskStatus.SKIPPED)
        outcome.canceled = canceling
        outcome.succeeded = (
            not canceling
            and not outcome.failed_task_ids
            and not outcome.skipped_task_ids
            and not outcome.failed_blocking_checks
        )
        if canceling:
            self._recorder.record(RunCanceled(run_id=self.run_id))
        elif outcome.succeeded:
            self._recorder.record(RunSucceeded(run_id=self.run_id))
        else:
            error = outcome.first_failure.error if outcome.first_failure else None
            if error is None and outcome.failed_blocking_checks:
                error = blocking_checks_error(outcome.failed_blocking_checks)
            self._recorder.record(
                RunFailed(
                    run_id=self.run_id,
                    failed_task_ids=tuple(outcome.failed_task_ids),
                    error=error,
                )
            )

    # -- dispatch -------------------------------------------------------------------

    def _wait_timeout(self, now: float) -> float | None:
        timeout = max(0.0, self._retries[0][0] - now) if self._retries else None
        if self._cancel_requested is not None:
            timeout = (
                self._poll_interval_s if timeout is None else min(timeout, self._poll_interval_s)
            )
        return timeout

    def _sleep_until(self, due: float) -> None:
        delay = max(0.0, due - self._clock.monotonic())
        if self._cancel_requested is not None:
            delay = min(delay, self._poll_interval_s)
        self._clock.sleep(delay)

    def _request(self, task: Task, attempt: int) -> TaskRequest:
        names = self._dynamic_names_by_node.get(task.node, ())
        return TaskRequest(
            run_id=self.run_id,
            task_id=task.task_id,
            attempt=attempt,
            node=task.node,
            asset_keys=task.asset_keys,
            partition=task.partition,
            run_config=self._run_config,
            code_location=str(
                self._code_location.get("module") or self._code_location.get("file") or ""
            ),
            timeout_s=self._timeouts.get(task.node),
            job_name=self._job_name,
            tags=self._tags,
            check_names=tuple(key.to_user_string() for key in task.check_keys),
            dynamic_partitions={name: self._dynamic_partitions[name] for name in names},
            held_asset_keys=task.held_keys,
            promoted_asset_keys=task.promotes,
        )

    def _on_outcome(self, ended: TaskOutcome, outcome: RunOutcome, canceling: bool) -> None:
        state, request = self.state, ended.request
        task_id = request.task_id
        if ended.succeeded:
            self._recorder.record(
                TaskSucceeded(
                    run_id=self.run_id,
                    task_id=task_id,
                    attempt=request.attempt,
                    usage=ended.usage,
                )
            )
            state.succeed(task_id)
            for name in ended.failed_blocking_checks:
                self._block(name, task_id, outcome)
            return
        delay = None if canceling else self._retry_delay(ended)
        assert ended.error is not None
        self._recorder.record(
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
            heapq.heappush(self._retries, (due, self._order[task_id], task_id))
            return
        if outcome.first_failure is None:
            outcome.first_failure = ended
        for skipped in state.fail(task_id):
            self._recorder.record(
                TaskSkipped(
                    run_id=self.run_id,
                    task_id=skipped,
                    reason="run canceled" if canceling else "upstream failed",
                    blocked_by=state.blocked_by(skipped),
                )
            )

    def _block(self, name: str, task_id: str, outcome: RunOutcome) -> None:
        """Skips what a failed blocking check gates; the run will fail."""
        outcome.failed_blocking_checks.append(name)
        key = AssetCheckKey.from_user_string(name)
        for skipped in self.state.block(key):
            gated = key in self.plan.task(skipped).gated_by
            self._recorder.record(
                TaskSkipped(
                    run_id=self.run_id,
                    task_id=skipped,
                    reason=f"blocking check {name} failed",
                    # A gated task waits for the check's task; the rest for a skipped one.
                    blocked_by=(task_id,) if gated else self.state.blocked_by(skipped),
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


def blocking_checks_error(names: list[str]) -> ErrorInfo:
    """The run's error when blocking checks failed (Dagster's ``DagsterAssetCheckFailedError``)."""
    count = len(names)
    return ErrorInfo(
        class_name="AssetCheckFailedError",
        message=(
            f"{count} blocking asset check{'' if count == 1 else 's'} failed with ERROR "
            f"severity: {', '.join(names)}; the checked assets' downstream in the run did not "
            "run. Fix the data and materialize again, or make the check non-blocking"
        ),
        is_user_code=False,
    )
