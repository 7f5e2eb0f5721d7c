"""Events of realistic runs, built with the real event classes, for the storage tests."""

from __future__ import annotations

from typing import Any

from arco_flow.core.events import (
    AssetMaterialized,
    AssetObserved,
    ErrorInfo,
    Event,
    LogRecorded,
    NewEvent,
    RunCanceled,
    RunCancelRequested,
    RunFailed,
    RunResumed,
    RunStarted,
    RunSucceeded,
    TaskFailed,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
    TaskUsage,
    idempotency_key,
)
from arco_flow.core.keys import AssetKey

A, B, C, D = AssetKey("a"), AssetKey(["warehouse", "b"]), AssetKey("c"), AssetKey("d")


class StepClock:
    """A clock that moves one second forward each time it is read."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def new(event: Event, ordinal: int = 0) -> NewEvent:
    return NewEvent(event=event, idempotency_key=idempotency_key(event, ordinal))


def plan_data(*tasks: tuple[str, str, int]) -> dict[str, Any]:
    """A plan's data form with tasks (task_id, node, stage)."""
    return {
        "plan_id": "plan-1",
        "version": 1,
        "tasks": [[task_id, node, [node], [], stage] for task_id, node, stage in tasks],
    }


def run_started(run_id: str, **overrides: Any) -> RunStarted:
    fields: dict[str, Any] = {
        "run_id": run_id,
        "plan_id": "plan-1",
        "job_name": "__asset_job",
        "asset_keys": (A, B, C, D),
        "tags": {"team": "data", "env": "test"},
        "plan": plan_data(("a", "a", 0), ("b", "warehouse__b", 1), ("c", "c", 1), ("d", "d", 2)),
        "run_config": {"ops": {"a": {"config": {"n": 3}}}},
        "code_location": {"module": "example.defs"},
        "executor": "process_pool",
        "max_concurrent": 4,
        "coordinator": {"host": "box", "pid": 11},
    }
    fields.update(overrides)
    return RunStarted(**fields)


def failed_run(run_id: str = "run-1", **started) -> list[NewEvent]:
    """a succeeds; b fails once, is retried and succeeds; c fails; d is skipped; the run fails."""
    boom = ErrorInfo(class_name="ValueError", message="bad row", stack="Traceback ...")
    return [
        new(run_started(run_id, **started)),
        new(TaskStarted(run_id=run_id, task_id="a", attempt=1)),
        new(LogRecorded(run_id=run_id, task_id="a", level="INFO", message="loading a")),
        new(
            AssetMaterialized(
                run_id=run_id,
                task_id="a",
                asset_key=A,
                metadata={"rows": {"type": "int", "value": 10}, "ratio": 0.5},
                data_version="v-a1",
                code_version="1",
                description="first",
            )
        ),
        new(
            TaskSucceeded(
                run_id=run_id,
                task_id="a",
                attempt=1,
                usage=TaskUsage(wall_s=1.5, cpu_s=1.0, peak_rss_mb=50.0),
            )
        ),
        new(AssetObserved(run_id=run_id, task_id="a", asset_key=A, data_version="v-a1")),
        new(TaskStarted(run_id=run_id, task_id="b", attempt=1)),
        new(
            TaskFailed(
                run_id=run_id,
                task_id="b",
                attempt=1,
                error=ErrorInfo(class_name="TimeoutError", message="slow"),
                retry_in_s=0.5,
                usage=TaskUsage(wall_s=2.0, cpu_s=0.25, peak_rss_mb=80.0),
            )
        ),
        new(TaskStarted(run_id=run_id, task_id="b", attempt=2)),
        new(AssetMaterialized(run_id=run_id, task_id="b", asset_key=B, data_version="v-b2")),
        new(
            TaskSucceeded(
                run_id=run_id,
                task_id="b",
                attempt=2,
                usage=TaskUsage(wall_s=1.0, cpu_s=0.5, peak_rss_mb=60.0),
            )
        ),
        new(TaskStarted(run_id=run_id, task_id="c", attempt=1)),
        new(TaskFailed(run_id=run_id, task_id="c", attempt=1, error=boom)),
        new(TaskSkipped(run_id=run_id, task_id="d", reason="upstream failed", blocked_by=("c",))),
        new(RunFailed(run_id=run_id, failed_task_ids=("c",), error=boom)),
    ]


def succeeded_run(run_id: str, *, partition: str | None = None, **started) -> list[NewEvent]:
    """A run of one task, `a`, that materializes `a` (maybe one partition) and succeeds."""
    plan = plan_data(("a", "a", 0))
    return [
        new(run_started(run_id, asset_keys=(A,), plan=plan, **started)),
        new(TaskStarted(run_id=run_id, task_id="a", attempt=1)),
        new(
            AssetMaterialized(
                run_id=run_id,
                task_id="a",
                asset_key=A,
                partition_key=partition,
                data_version=run_id,
            )
        ),
        new(TaskSucceeded(run_id=run_id, task_id="a", attempt=1)),
        new(RunSucceeded(run_id=run_id)),
    ]


def canceled_run(run_id: str) -> list[NewEvent]:
    """Cancel requested, a new coordinator resumes, then the run is canceled."""
    return [
        new(run_started(run_id, asset_keys=(C,), plan=plan_data(("c", "c", 0)))),
        new(TaskStarted(run_id=run_id, task_id="c", attempt=1)),
        new(RunCancelRequested(run_id=run_id, reason="user")),
        new(RunResumed(run_id=run_id, coordinator={"host": "other", "pid": 12})),
        new(RunCanceled(run_id=run_id)),
    ]
