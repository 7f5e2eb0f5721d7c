"""The state of a run's tasks, and the decisions that follow each outcome.

Pure and in memory. The coordinator feeds it outcomes and asks what is ready; it answers
in plan order, so that the same plan and outcomes always dispatch in the same order.
A failed task skips exactly its downstream tasks; unrelated branches go on. A failed
blocking check skips exactly the tasks it gates (its asset's children) and theirs.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from enum import Enum

from arco_flow.core.events import (
    AssetCheckEvaluated,
    Event,
    TaskFailed,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
)
from arco_flow.core.keys import AssetCheckKey
from arco_flow.core.plan import Plan, Task

__all__ = ["RunState", "TaskStatus", "lost_task_ids", "restore_run_state"]


class TaskStatus(Enum):
    """Where a task of a run stands."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    WAITING_RETRY = "WAITING_RETRY"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"

    @property
    def is_terminal(self) -> bool:
        """Whether the task will not change again in this run."""
        return self in _TERMINAL


_TERMINAL = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.SKIPPED})


class RunState:
    """Statuses, attempts and readiness of every task of a plan."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        tasks = plan.tasks
        self._order = {task.task_id: index for index, task in enumerate(tasks)}
        self._children: dict[str, list[str]] = {task.task_id: [] for task in tasks}
        self._remaining: dict[str, int] = {}
        for task in tasks:
            self._remaining[task.task_id] = len(task.deps)
            for dep in task.deps:
                self._children[dep].append(task.task_id)
        self.status: dict[str, TaskStatus] = {t.task_id: TaskStatus.PENDING for t in tasks}
        self.attempts: dict[str, int] = {task.task_id: 0 for task in tasks}
        self._ready: list[int] = [index for index, task in enumerate(tasks) if not task.deps]
        heapq.heapify(self._ready)
        self._unfinished = len(tasks)
        self.failed_blocking_checks: list[AssetCheckKey] = []
        """Blocking checks that failed with ``ERROR`` in the run, as replayed from the log
        (the coordinator keeps its own list while it runs)."""
        self._gated: dict[AssetCheckKey, list[str]] = {}
        for task in tasks:
            for key in task.gated_by:
                self._gated.setdefault(key, []).append(task.task_id)

    def pop_ready(self) -> Task | None:
        """The next task whose upstream tasks all succeeded, in plan order; None if none."""
        while self._ready:
            task = self.plan.tasks[heapq.heappop(self._ready)]
            if self.status[task.task_id] is TaskStatus.PENDING:
                return task
        return None

    def fail_without_skipping(self, task_id: str) -> None:
        """Records a final failure whose skipped downstream is recorded separately."""
        self._finish(task_id, TaskStatus.FAILED)

    def mark_skipped(self, task_id: str) -> None:
        """Records one skip, as replayed from the log."""
        self._finish(task_id, TaskStatus.SKIPPED)

    def has_ready(self) -> bool:
        """Whether a task is ready to dispatch."""
        ready = self._ready
        tasks, status = self.plan.tasks, self.status
        while ready and status[tasks[ready[0]].task_id] is not TaskStatus.PENDING:
            heapq.heappop(ready)
        return bool(ready)

    def start(self, task_id: str) -> int:
        """Marks the task running and returns its attempt number (1 for the first)."""
        self.status[task_id] = TaskStatus.RUNNING
        self.attempts[task_id] += 1
        return self.attempts[task_id]

    def succeed(self, task_id: str) -> None:
        """Records success; children whose upstream all succeeded become ready."""
        self._finish(task_id, TaskStatus.SUCCEEDED)
        for child in self._children[task_id]:
            self._remaining[child] -= 1
            if self._remaining[child] == 0 and self.status[child] is TaskStatus.PENDING:
                heapq.heappush(self._ready, self._order[child])

    def wait_for_retry(self, task_id: str) -> None:
        """Records a failed attempt that another attempt will follow."""
        self.status[task_id] = TaskStatus.WAITING_RETRY

    def retry_now(self, task_id: str) -> None:
        """Makes a task waiting for its retry ready again."""
        if self.status[task_id] is not TaskStatus.WAITING_RETRY:
            return
        self.status[task_id] = TaskStatus.PENDING
        heapq.heappush(self._ready, self._order[task_id])

    def fail(self, task_id: str) -> list[str]:
        """Records a final failure and skips every task downstream of it.

        Returns:
            The ids of the tasks skipped, in plan order.
        """
        self._finish(task_id, TaskStatus.FAILED)
        return self._skip_downstream(task_id)

    def skip(self, task_id: str) -> list[str]:
        """Skips a task that will not run (e.g. canceled), and its downstream."""
        self._finish(task_id, TaskStatus.SKIPPED)
        return [task_id, *self._skip_downstream(task_id)]

    def block(self, check_key: AssetCheckKey) -> list[str]:
        """Skips the pending tasks a failed blocking check gates, and their downstream.

        Returns:
            The ids of the tasks skipped, in plan order.
        """
        skipped: list[str] = []
        for task_id in self._gated.get(check_key, ()):
            if self.status[task_id] is TaskStatus.PENDING:
                self._finish(task_id, TaskStatus.SKIPPED)
                skipped.append(task_id)
                skipped.extend(self._skip_downstream(task_id))
        skipped.sort(key=self._order.__getitem__)
        return skipped

    def _skip_downstream(self, task_id: str) -> list[str]:
        skipped: list[str] = []
        stack = list(self._children[task_id])
        while stack:
            child = stack.pop()
            if self.status[child] is not TaskStatus.PENDING:
                continue
            self._finish(child, TaskStatus.SKIPPED)
            skipped.append(child)
            stack.extend(self._children[child])
        skipped.sort(key=self._order.__getitem__)
        return skipped

    def _finish(self, task_id: str, status: TaskStatus) -> None:
        if not self.status[task_id].is_terminal:
            self._unfinished -= 1
        self.status[task_id] = status

    @property
    def is_finished(self) -> bool:
        """Whether every task reached a terminal status."""
        return self._unfinished == 0

    def ids_with(self, status: TaskStatus) -> list[str]:
        """Task ids with `status`, in plan order."""
        return [task.task_id for task in self.plan.tasks if self.status[task.task_id] is status]

    def blocked_by(self, task_id: str) -> tuple[str, ...]:
        """The direct upstream tasks of `task_id` that did not succeed."""
        task = self.plan.task(task_id)
        return tuple(d for d in task.deps if self.status[d] is not TaskStatus.SUCCEEDED)


def restore_run_state(plan: Plan, events: Iterable[Event]) -> RunState:
    """Replays a run's recorded events onto a fresh state for `plan`.

    Tasks with a start but no outcome are left RUNNING: the caller decides what became of
    them (after a coordinator crash they are lost, see `lost_task_ids`).
    """
    state = RunState(plan)
    for event in events:
        if isinstance(event, AssetCheckEvaluated):
            if event.blocking and not event.passed and event.severity == "ERROR":
                key = AssetCheckKey(event.asset_key, event.check_name)
                if key not in state.failed_blocking_checks:
                    state.failed_blocking_checks.append(key)
            continue
        task_id = getattr(event, "task_id", None)
        if task_id is None or task_id not in state.status:
            continue
        if isinstance(event, TaskStarted):
            state.attempts[task_id] = max(state.attempts[task_id], event.attempt)
            state.status[task_id] = TaskStatus.RUNNING  # pop_ready skips it from now on
        elif isinstance(event, TaskSucceeded):
            state.succeed(task_id)
        elif isinstance(event, TaskFailed):
            if event.retry_in_s is None:
                state.fail_without_skipping(task_id)
            else:
                state.wait_for_retry(task_id)
        elif isinstance(event, TaskSkipped):
            state.mark_skipped(task_id)
    return state


def lost_task_ids(state: RunState) -> list[str]:
    """Tasks that started and never reported an outcome, in plan order."""
    return state.ids_with(TaskStatus.RUNNING)
