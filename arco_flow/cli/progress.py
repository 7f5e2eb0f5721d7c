"""Live progress of a run in the terminal, drawn from the run's events.

Writes to stderr with rich: a bar of finished tasks while the run goes, one line per
task as it ends, and a summary with each failure's error at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from arco_flow.core.events import (
    AssetMaterialized,
    EventRecord,
    TaskFailed,
    TaskSkipped,
    TaskSucceeded,
)
from arco_flow.core.plan import Plan
from arco_flow.execution.materialize import execute_job_in_process
from arco_flow.sdk.jobs import JobDefinition

__all__ = ["run_with_progress"]


def run_with_progress(
    job: JobDefinition,
    select: str | None,
    run_config: Any,
    resources: Mapping[str, Any] | None = None,
) -> bool:
    """Runs `job` (restricted to `select`) in process, drawing progress; True on success."""
    console = Console(stderr=True)
    materialized = 0
    failures: list[TaskFailed] = []
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    bar = progress.add_task("tasks", total=None)

    def on_planned(plan: Plan) -> None:
        # Drawn only once planning succeeded, so a bad selection shows just its error.
        progress.update(bar, total=len(plan.tasks))
        progress.start()

    def on_event(record: EventRecord) -> None:
        nonlocal materialized
        event = record.event
        if isinstance(event, TaskSucceeded):
            progress.advance(bar)
            wall = f" {event.usage.wall_s * 1000:.0f} ms" if event.usage else ""
            progress.console.print(f"[green]✓[/] {event.task_id}{wall}")
        elif isinstance(event, TaskFailed):
            if event.retry_in_s is None:
                progress.advance(bar)
                failures.append(event)
                first_line = event.error.message.splitlines()[0] if event.error.message else ""
                progress.console.print(
                    f"[red]✗[/] {event.task_id}: {event.error.class_name}: {first_line}"
                )
            else:
                progress.console.print(
                    f"[yellow]↻[/] {event.task_id} attempt {event.attempt} failed; "
                    f"retrying in {event.retry_in_s:.1f} s"
                )
        elif isinstance(event, TaskSkipped):
            progress.advance(bar)
            progress.console.print(
                f"[dim]- {event.task_id} skipped: {', '.join(event.blocked_by)} did not succeed[/]"
            )
        elif isinstance(event, AssetMaterialized):
            materialized += 1

    try:
        result = execute_job_in_process(
            job,
            run_config=run_config,
            raise_on_error=False,
            resources=resources,
            asset_selection=select,
            on_event=on_event,
            on_planned=on_planned,
        )
    finally:
        progress.stop()
    status = "[green]SUCCESS[/]" if result.success else "[red]FAILURE[/]"
    console.print(
        f"run {result.run_id} {status}: {len(result.plan.tasks)} tasks, "
        f"{materialized} materializations, {len(result.failed_task_ids)} failed, "
        f"{len(result.skipped_task_ids)} skipped"
    )
    for failure in failures:
        console.print(f"\n[red]{failure.task_id}[/] failed:\n{failure.error.stack.rstrip()}")
    return result.success
