"""`arco-flow runs …` and `arco-flow store …`: inspect, cancel, resume and re-execute runs.

Every command reads the embedded store under ARCO_HOME. Unknown run ids, malformed
selections and runs in the wrong state are clear one-line errors that change nothing.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Sequence

import click

from arco_flow.core.canonical_json import canonical_json
from arco_flow.core.errors import ArcoError
from arco_flow.core.events import event_to_data
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunRecord, RunStatus

__all__ = ["runs", "store"]


def _instance() -> ArcoInstance:
    return ArcoInstance.get()


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _duration(start: float | None, end: float | None) -> str:
    if start is None or end is None:
        return "-"
    return f"{end - start:.2f}s"


def _parse_tags(values: Sequence[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for value in values:
        key, sep, tag_value = value.partition("=")
        if not sep or not key:
            raise ArcoError(f"--tag {value!r} is not KEY=VALUE, e.g. --tag team=data")
        tags[key] = tag_value
    return tags


@click.group()
def runs() -> None:
    """List, inspect, cancel, resume and re-execute runs."""


@runs.command("list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([status.value for status in RunStatus], case_sensitive=False),
    help="Only runs in this status (repeatable).",
)
@click.option("--tag", "tags", multiple=True, help="Only runs with this tag, KEY=VALUE.")
@click.option("--asset", "asset", help="Only runs that planned or materialized this asset.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
def runs_list(statuses: Sequence[str], tags: Sequence[str], asset: str | None, limit: int) -> None:
    """The newest runs first."""
    with _instance() as instance:
        found = instance.get_runs(
            statuses=[RunStatus(s.upper()) for s in statuses],
            tags=_parse_tags(tags),
            asset_key=asset,
            limit=limit,
        )
        if not found:
            click.echo("no runs")
            return
        for run in found:
            click.echo(
                f"{run.run_id}  {run.status.value:<9} {_when(run.created_time)}  "
                f"{_duration(run.started_time, run.ended_time):>8}  {run.job_name}  "
                f"{len(run.asset_keys)} assets"
            )


@runs.command("show")
@click.argument("run_id", required=False)
def runs_show(run_id: str | None) -> None:
    """A run's status and its tasks (attempts, status, timing, usage, errors).

    Without RUN_ID, the newest run.
    """
    with _instance() as instance:
        if run_id is None:
            newest = instance.get_runs(limit=1)
            if not newest:
                raise ArcoError("there are no runs yet; start one with `arco-flow materialize`")
            run_id = newest[0].run_id
        run = instance.get_run(run_id)
        _print_run(run)
        for task in instance.get_tasks(run_id):
            usage = f"cpu {task.cpu_s:.2f}s" + (
                f" rss {task.peak_rss_mb:.0f}MB" if task.peak_rss_mb is not None else ""
            )
            click.echo(
                f"  {task.task_id:<40} {task.status.value:<13} attempts {task.attempts}  "
                f"{_duration(task.started_time, task.ended_time):>8}  {usage}"
            )
            if task.last_error is not None and task.status.value == "FAILED":
                click.echo(f"      {task.last_error.class_name}: {task.last_error.message}")


def _print_run(run: RunRecord) -> None:
    click.echo(f"run       {run.run_id}")
    click.echo(f"status    {run.status.value}")
    click.echo(f"job       {run.job_name}")
    click.echo(f"plan      {run.plan_id}")
    click.echo(f"created   {_when(run.created_time)}")
    click.echo(f"duration  {_duration(run.started_time, run.ended_time)}")
    if run.parent_run_id:
        click.echo(f"parent    {run.parent_run_id}")
    if run.tags:
        click.echo("tags      " + ", ".join(f"{k}={v}" for k, v in sorted(run.tags.items())))
    if run.error is not None:
        click.echo(f"error     {run.error.class_name}: {run.error.message}")


@runs.command("events")
@click.argument("run_id")
@click.option("--type", "event_types", multiple=True, help="Only events of this type.")
@click.option("--json", "as_json", is_flag=True, help="One canonical JSON object per line.")
def runs_events(run_id: str, event_types: Sequence[str], as_json: bool) -> None:
    """A run's events, in order."""
    with _instance() as instance:
        records = instance.all_logs(run_id, event_types=event_types or None)
        for record in records:
            data = event_to_data(record.event)
            if as_json:
                click.echo(canonical_json({"event_id": record.event_id, **data}))
                continue
            body = {k: v for k, v in data["data"].items() if k not in ("run_id", "plan")}
            click.echo(
                f"{record.event_id:>6} {_when(record.timestamp)} {data['type']:<24} "
                f"{json.dumps(body, default=str)[:160]}"
            )


@runs.command("cancel")
@click.argument("run_id")
def runs_cancel(run_id: str) -> None:
    """Ask a run's coordinator to stop it (running tasks get a grace period)."""
    with _instance() as instance:
        from arco_flow.execution.run_queue import cancel_queued_run

        run = cancel_queued_run(instance, run_id, reason="requested from the command line")
        if run.status is RunStatus.CANCELED:
            click.echo(f"run {run_id} canceled while queued")
        else:
            click.echo(f"cancel requested for run {run_id}")


@runs.command("resume")
@click.argument("run_id")
@click.option("--force", is_flag=True, help="Resume even if the recorded coordinator runs.")
def runs_resume(run_id: str, force: bool) -> None:
    """Take over a run whose coordinator stopped (after a crash) and finish it."""
    from arco_flow.cli.progress import RunProgress
    from arco_flow.execution.run_operations import resume_run

    with _instance() as instance, RunProgress() as progress:
        outcome = resume_run(instance, run_id, force=force, on_record=progress.on_record)
        tasks = len(instance.get_tasks(run_id))
        progress.summary(outcome, tasks)
    sys.exit(0 if outcome.succeeded else 1)


@runs.command("reexecute")
@click.argument("run_id")
@click.option("--from-failure", is_flag=True, help="Only the tasks that failed or never ran.")
@click.option("--select", "selection", help="An asset selection within the run's job.")
@click.option("--task", "task_id", help="One task of the run, alone.")
@click.option(
    "--executor", type=click.Choice(["process_pool", "in_process"]), help="Default: the run's."
)
def runs_reexecute(
    run_id: str,
    from_failure: bool,
    selection: str | None,
    task_id: str | None,
    executor: str | None,
) -> None:
    """Run part of a finished run again, as a new run linked to it."""
    from arco_flow.cli.progress import RunProgress
    from arco_flow.execution.run_operations import reexecute_run

    with _instance() as instance, RunProgress() as progress:
        planned: list[int] = []

        def on_planned(prepared: object) -> None:
            tasks = prepared.plan.tasks  # type: ignore[attr-defined]  # a PreparedRun
            planned.append(len(tasks))
            progress.start(prepared.plan)  # type: ignore[attr-defined]  # a PreparedRun

        outcome = reexecute_run(
            instance,
            run_id,
            from_failure=from_failure,
            selection=selection,
            task_id=task_id,
            executor="process_pool"
            if executor == "process_pool"
            else ("in_process" if executor == "in_process" else None),
            on_planned=on_planned,
            on_record=progress.on_record,
        )
        progress.summary(outcome, planned[0] if planned else 0)
        click.echo(f"re-executed {run_id} as run {outcome.run_id}", err=True)
    sys.exit(0 if outcome.succeeded else 1)


@click.group()
def store() -> None:
    """Maintain the embedded store: rebuild projections, verify them."""


@store.command("rebuild")
def store_rebuild() -> None:
    """Recreate every projection from the event log."""
    with _instance() as instance:
        count = instance.rebuild_projections()
        click.echo(f"rebuilt the projections from {count} events")


@store.command("verify")
def store_verify() -> None:
    """Compare the live projections with ones rebuilt from the log; exit 1 on a difference."""
    with _instance() as instance:
        differences = instance.verify()
    if differences:
        click.echo(f"{len(differences)} difference(s):", err=True)
        for line in differences:
            click.echo(f"  - {line}", err=True)
        sys.exit(1)
    click.echo("ok: the projections match the event log")


@runs.command("queue")
@click.option(
    "--max-concurrent-runs",
    type=click.IntRange(min=0),
    default=None,
    help="Explain waits against this limit of running runs (default: the daemon's).",
)
@click.option(
    "--tag-limit",
    "tag_limits",
    multiple=True,
    help="Explain waits against these tag limits, KEY=VALUE:N or KEY:N (repeatable; "
    "default: the daemon's).",
)
def runs_queue(max_concurrent_runs: int | None, tag_limits: Sequence[str]) -> None:
    """Queued runs in launch order, and why each waits.

    Under the limits the latest daemon recorded, or those given.
    """
    from arco_flow.daemon.queue import explain_queue
    from arco_flow.execution.run_queue import (
        QueueLimits,
        parse_tag_limit,
        recorded_queue_limits,
        tag_limit_text,
    )

    with _instance() as instance:
        limits: QueueLimits | None = None
        if max_concurrent_runs is not None or tag_limits:
            limits = QueueLimits(
                max_concurrent_runs=max_concurrent_runs,
                tag_limits=tuple(parse_tag_limit(text) for text in tag_limits),
            )
            source = "as given"
        else:
            limits = recorded_queue_limits(instance)
            source = "the daemon's"
        if limits is None:
            limits = QueueLimits()
            click.echo(
                "limits: none (no daemon has run on this store; --max-concurrent-runs and "
                "--tag-limit explain waits against other limits)"
            )
        else:
            most = limits.max_concurrent_runs
            tags = ", ".join(tag_limit_text(limit) for limit in limits.tag_limits)
            click.echo(
                f"limits ({source}): {'no limit' if most is None else most} running at once"
                + (f"; tags {tags}" if tags else "")
            )
        decisions = explain_queue(instance, limits)
        if not decisions:
            click.echo("no queued runs")
            return
        jobs = {run.run_id: run.job_name for run in instance.get_runs(statuses=[RunStatus.QUEUED])}
        for position, decision in enumerate(decisions, start=1):
            why = "launches next" if decision.launch else f"waits: {decision.reason}"
            click.echo(
                f"{position:>3}  {decision.run_id}  {jobs.get(decision.run_id, '-'):<20} "
                f"priority {decision.priority:>3}  {why}"
            )
