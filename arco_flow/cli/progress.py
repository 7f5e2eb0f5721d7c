"""Live progress of a run in the terminal, drawn from the run's events.

Writes to stderr with rich: a bar of finished tasks while the run goes, one line per
task as it ends, and a summary with each failure's error at the end.
"""

from __future__ import annotations

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
from arco_flow.execution.coordinator import RunOutcome

__all__ = ["RunProgress"]


class RunProgress:
    """Draws a run's progress on stderr from its event records."""

    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.materialized = 0
        self.failures: list[TaskFailed] = []
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._bar = self._progress.add_task("tasks", total=None)

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def start(self, plan: Plan) -> None:
        """Shows the bar, once planning succeeded (a bad selection shows just its error)."""
        self._progress.update(self._bar, total=len(plan.tasks))
        self._progress.start()

    def on_record(self, record: EventRecord) -> None:
        """Advances the bar and prints one line per task that ends."""
        event, progress, bar = record.event, self._progress, self._bar
        if isinstance(event, TaskSucceeded):
            progress.advance(bar)
            wall = f" {event.usage.wall_s * 1000:.0f} ms" if event.usage else ""
            progress.console.print(f"[green]✓[/] {event.task_id}{wall}")
        elif isinstance(event, TaskFailed):
            if event.retry_in_s is None:
                progress.advance(bar)
                self.failures.append(event)
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
            why = (
                "run canceled"
                if event.reason == "run canceled"
                else (f"{', '.join(event.blocked_by)} did not succeed")
            )
            progress.console.print(f"[dim]- {event.task_id} skipped: {why}[/]")
        elif isinstance(event, AssetMaterialized):
            self.materialized += 1

    def summary_interrupted(self) -> None:
        """Says what to do after Ctrl-C stopped the coordinator."""
        self._progress.stop()
        self.console.print(
            "[yellow]interrupted[/]: the run is left as it was; `arco-flow runs list` shows "
            "it, and `arco-flow runs resume RUN_ID` finishes it"
        )

    def summary(self, outcome: RunOutcome, task_count: int) -> None:
        """Prints the run's end and the stack of each failure."""
        self._progress.stop()
        if outcome.canceled:
            status = "[yellow]CANCELED[/]"
        else:
            status = "[green]SUCCESS[/]" if outcome.succeeded else "[red]FAILURE[/]"
        self.console.print(
            f"run {outcome.run_id} {status}: {task_count} tasks, "
            f"{self.materialized} materializations, {len(outcome.failed_task_ids)} failed, "
            f"{len(outcome.skipped_task_ids)} skipped"
        )
        for failure in self.failures:
            self.console.print(
                f"\n[red]{failure.task_id}[/] failed:\n{failure.error.stack.rstrip()}"
            )
