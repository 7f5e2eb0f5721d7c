"""`arco-flow backfill …`: create, list, show, pause, resume, cancel and retry backfills.

`create`, `resume` and `retry` drive the backfill in this process with a progress bar
(pass --no-wait to only record it); Ctrl-C leaves it as it is, and `resume` picks it up.
A backfill recorded with --no-wait is driven by the daemon if one runs: its chunk runs go
through the run queue, and `resume` and `retry` then leave the driving to the daemon.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from arco_flow.core.errors import ArcoError
from arco_flow.storage.instance import ArcoInstance

__all__ = ["backfill"]

F = TypeVar("F", bound=Callable[..., Any])


def _drive_options(fn: F) -> F:
    fn = click.option(
        "--no-wait", is_flag=True, help="Only record the change; drive it later with resume."
    )(fn)
    return fn


@click.group()
def backfill() -> None:
    """Backfill partitions of assets, in chunks of runs, upstream first."""


@backfill.command("create")
@click.option("-m", "--module", help="Python module holding the definitions.")
@click.option("-f", "--file", "file", help="Python file holding the definitions.")
@click.option("-a", "--attribute", help="Name of the Definitions object in the module.")
@click.option("--select", "select", help="Asset selection; every partitioned asset by default.")
@click.option("--from", "start", help="First partition key of a range (with --to).")
@click.option("--to", "end", help="Last partition key of a range, inclusive (with --from).")
@click.option("--partitions", "keys", help="Comma-separated partition keys.")
@click.option("--all", "all_", is_flag=True, help="Every partition.")
@click.option("--missing", is_flag=True, help="Partitions never materialized.")
@click.option("--failed", is_flag=True, help="Partitions whose latest run failed.")
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    help="Partitions per run for every asset (default: each asset's BackfillPolicy).",
)
@click.option(
    "--executor",
    type=click.Choice(["process_pool", "in_process"]),
    default="in_process",
    show_default=True,
)
@click.option("--max-concurrent", type=click.IntRange(min=1), help="Tasks at once in a run.")
@click.option("--id", "backfill_id", help="The backfill's id (a new one by default).")
@_drive_options
def create(
    module: str | None,
    file: str | None,
    attribute: str | None,
    select: str | None,
    start: str | None,
    end: str | None,
    keys: str | None,
    all_: bool,
    missing: bool,
    failed: bool,
    chunk_size: int | None,
    executor: str,
    max_concurrent: int | None,
    backfill_id: str | None,
    no_wait: bool,
) -> None:
    """Plan a backfill, record it, and drive it (unless --no-wait)."""
    from arco_flow.cli.main import _code_location, _load
    from arco_flow.daemon.backfills import create_backfill

    request = _request(start, end, keys, all_, missing, failed)
    defs = _load(module, file, attribute)
    with ArcoInstance.get() as instance:
        state = create_backfill(
            instance,
            defs,
            selection=select,
            partitions=request,
            code_location=_code_location(module, file, attribute),
            executor="process_pool" if executor == "process_pool" else "in_process",
            max_concurrent=max_concurrent,
            max_partitions_per_run=chunk_size,
            backfill_id=backfill_id,
            driven_here=not no_wait,
        )
        plan = state.plan
        click.echo(
            f"backfill {state.backfill_id}: {plan.partition_count} asset-partitions of "
            f"{len(plan.asset_keys)} asset(s) in {len(plan.chunks)} run(s)"
        )
        if no_wait:
            click.echo(
                "recorded; a running `arco-flow daemon` drives it through its run queue, or "
                f"`arco-flow backfill resume {state.backfill_id}` runs it here"
            )
            return
        _drive(instance, state.backfill_id, definitions=defs)


def _request(
    start: str | None,
    end: str | None,
    keys: str | None,
    all_: bool,
    missing: bool,
    failed: bool,
) -> Any:
    from arco_flow.daemon.backfills import PartitionsRequest

    chosen = [
        name
        for name, given in (
            ("--from/--to", start is not None or end is not None),
            ("--partitions", keys is not None),
            ("--all", all_),
            ("--missing", missing),
            ("--failed", failed),
        )
        if given
    ]
    if len(chosen) != 1:
        raise ArcoError(
            "choose the partitions with exactly one of --from A --to B, --partitions K1,K2, "
            f"--all, --missing or --failed (given: {', '.join(chosen) or 'none'})"
        )
    if chosen[0] == "--from/--to":
        if start is None or end is None:
            raise ArcoError("a range needs both --from and --to (both inclusive)")
        return PartitionsRequest(kind="range", start=start, end=end)
    if keys is not None:
        listed = tuple(k.strip() for k in keys.split(",") if k.strip())
        if not listed:
            raise ArcoError("--partitions needs at least one key, e.g. --partitions 2024-01-01")
        return PartitionsRequest(kind="keys", keys=listed)
    return PartitionsRequest(kind="all" if all_ else "missing" if missing else "failed")


def _drive(instance: ArcoInstance, backfill_id: str, force: bool = False, **kwargs: Any) -> None:
    from arco_flow.daemon.backfills import is_driven_by_daemon, load_backfill

    if not force and is_driven_by_daemon(load_backfill(instance, backfill_id)):
        click.echo(
            f"backfill {backfill_id} is driven by the daemon, which queues its runs; "
            f"`arco-flow backfill show {backfill_id}` follows it (--force drives it here)"
        )
        return
    _drive_here(instance, backfill_id, force=force, **kwargs)


def _drive_here(instance: ArcoInstance, backfill_id: str, **kwargs: Any) -> None:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from arco_flow.core.backfill_state import BackfillState, BackfillStatus, ChunkStatus
    from arco_flow.daemon.backfills import drive_backfill

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]partitions"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    bar = progress.add_task("partitions", total=None)
    reported: set[tuple[int, int]] = set()

    def on_progress(state: BackfillState) -> None:
        counts = state.partition_counts()
        done = counts[ChunkStatus.SUCCEEDED] + counts[ChunkStatus.FAILED]
        progress.update(bar, total=state.plan.partition_count, completed=done)
        for chunk_id, status in enumerate(state.chunk_status):
            mark = (chunk_id, state.attempts[chunk_id])
            if status is ChunkStatus.FAILED and mark not in reported:
                reported.add(mark)
                run_id = state.run_ids[chunk_id]
                progress.console.print(
                    f"[red]✗[/] chunk {chunk_id} ({_chunk_label(state, chunk_id)}) failed: "
                    f"{_why(instance, run_id)} (run {run_id})"
                )

    progress.start()
    try:
        state = drive_backfill(instance, backfill_id, on_progress=on_progress, **kwargs)
    except KeyboardInterrupt:
        progress.stop()
        console.print(
            f"[yellow]interrupted[/]: `arco-flow backfill resume {backfill_id}` goes on "
            "where it stopped"
        )
        sys.exit(130)
    finally:
        progress.stop()
    counts = state.partition_counts()
    color = {BackfillStatus.COMPLETED: "green", BackfillStatus.PAUSED: "yellow"}.get(
        state.status, "red"
    )
    console.print(
        f"backfill {backfill_id} [{color}]{state.status.value}[/]: "
        f"{counts[ChunkStatus.SUCCEEDED]} of {state.plan.partition_count} asset-partitions "
        f"done, {counts[ChunkStatus.FAILED]} failed"
    )
    if state.status is BackfillStatus.FAILED:
        console.print(f"`arco-flow backfill retry {backfill_id}` runs the failed chunks again")
    sys.exit(0 if state.status in (BackfillStatus.COMPLETED, BackfillStatus.PAUSED) else 1)


def _why(instance: ArcoInstance, run_id: str | None) -> str:
    """The first line of the first task error of a failed run."""
    if run_id is None:
        return "no run"
    try:
        tasks = instance.get_tasks(run_id)
    except ArcoError:
        return "its run never started"
    for task in tasks:
        if task.last_error is not None:
            lines = task.last_error.message.splitlines()
            return f"{task.task_id}: {task.last_error.class_name}: {lines[0] if lines else ''}"
    return "see `arco-flow runs show`"


def _chunk_label(state: Any, chunk_id: int) -> str:
    chunk = state.plan.chunks[chunk_id]
    partition = chunk.partition
    where = (
        partition.key
        if partition.key is not None
        else f"{partition.range_start}...{partition.range_end}"
    )
    return f"{', '.join(k.to_user_string() for k in chunk.asset_keys)} [{where}]"


@backfill.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
def list_(limit: int) -> None:
    """The newest backfills first."""
    from arco_flow.cli.runs import _when

    with ArcoInstance.get() as instance:
        found = instance.get_backfills(limit=limit)
        if not found:
            click.echo("no backfills")
            return
        for record in found:
            click.echo(
                f"{record.backfill_id}  {record.status:<9}  {_when(record.created_time)}  "
                f"{record.partitions_done}/{record.partition_count} done, "
                f"{record.partitions_failed} failed  "
                f"{', '.join(k.to_user_string() for k in record.asset_keys)[:60]}"
            )


@backfill.command("show")
@click.argument("backfill_id")
def show(backfill_id: str) -> None:
    """A backfill's request, progress and every chunk that did not succeed."""
    from arco_flow.core.backfill_state import ChunkStatus
    from arco_flow.daemon.backfills import load_backfill

    with ArcoInstance.get() as instance:
        state = load_backfill(instance, backfill_id)
    created = state.created
    counts, partitions = state.counts(), state.partition_counts()
    click.echo(f"backfill  {backfill_id}")
    click.echo(f"status    {state.status.value}")
    click.echo(f"assets    {', '.join(k.to_user_string() for k in created.asset_keys)}")
    click.echo(f"request   {dict(created.request.get('partitions', {}))}")
    click.echo(
        f"chunks    {len(state.plan.chunks)}: "
        + ", ".join(f"{counts[s]} {s.value.lower()}" for s in ChunkStatus if counts[s])
    )
    click.echo(
        f"partitions {state.plan.partition_count}: "
        + ", ".join(f"{partitions[s]} {s.value.lower()}" for s in ChunkStatus if partitions[s])
    )
    for chunk_id, status in enumerate(state.chunk_status):
        if status in (ChunkStatus.SUCCEEDED, ChunkStatus.PENDING):
            continue
        click.echo(
            f"  chunk {chunk_id} {status.value.lower()}: {_chunk_label(state, chunk_id)} "
            f"run {state.run_ids[chunk_id]} attempt {state.attempts[chunk_id]}"
        )
    blocked = state.blocked_chunks()
    if blocked:
        click.echo(f"  {len(blocked)} chunk(s) wait on chunks that did not succeed")


@backfill.command("pause")
@click.argument("backfill_id")
def pause(backfill_id: str) -> None:
    """Start no new run; the run in flight finishes."""
    from arco_flow.daemon.backfills import pause_backfill

    with ArcoInstance.get() as instance:
        pause_backfill(instance, backfill_id)
    click.echo(f"backfill {backfill_id} paused; `arco-flow backfill resume {backfill_id}` goes on")


@backfill.command("resume")
@click.argument("backfill_id")
@click.option("--force", is_flag=True, help="Take over from a driver that seems alive but stuck.")
@_drive_options
def resume(backfill_id: str, force: bool, no_wait: bool) -> None:
    """Resume a paused backfill (or one whose driver stopped) and drive it."""
    from arco_flow.daemon.backfills import resume_backfill

    with ArcoInstance.get() as instance:
        resume_backfill(instance, backfill_id)
        if no_wait:
            click.echo(f"backfill {backfill_id} resumed")
            return
        _drive(instance, backfill_id, force=force)


@backfill.command("cancel")
@click.argument("backfill_id")
def cancel(backfill_id: str) -> None:
    """Cancel the run in flight and start no other."""
    from arco_flow.daemon.backfills import cancel_backfill

    with ArcoInstance.get() as instance:
        state = cancel_backfill(instance, backfill_id)
    click.echo(f"backfill {backfill_id} {state.status.value.lower()}")


@backfill.command("retry")
@click.argument("backfill_id")
@_drive_options
def retry(backfill_id: str, no_wait: bool) -> None:
    """Run the failed and canceled chunks again (and those they held back)."""
    from arco_flow.daemon.backfills import retry_backfill

    with ArcoInstance.get() as instance:
        state = retry_backfill(instance, backfill_id)
        click.echo(f"backfill {backfill_id}: {len(state.ready_chunks())} chunk(s) to run again")
        if no_wait:
            return
        _drive(instance, backfill_id)
