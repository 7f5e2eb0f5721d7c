"""`arco-flow checks …`: check status and history, checks run alone, and quarantine.

`list`, `history` and `quarantined` read the embedded store under ARCO_HOME and change
nothing. `run` evaluates checks against the latest materializations; `release` and
`discard` decide about a value a failed blocking check sent to quarantine, through the IO
manager of the code location its run recorded. An unknown asset, check or partition is a
clear one-line error (exit code 2) that suggests a close name; the store knows a check once
it has recorded an evaluation of it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import click

from arco_flow.core.errors import NotFoundError, did_you_mean
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import AssetCheckEvaluationRecord, QuarantineRecord, QuarantineStatus

__all__ = ["checks"]

_DETAIL_WIDTH = 120
"""Characters of description and metadata shown per history line."""


def _instance() -> ArcoInstance:
    return ArcoInstance.get()


def _when(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _status(evaluation: AssetCheckEvaluationRecord) -> str:
    return "PASSED" if evaluation.passed else "FAILED"


@click.group()
def checks() -> None:
    """The latest status of asset checks, and the history of each check."""


@checks.command("list")
@click.option("--asset", help="Only the checks of this asset (its key, e.g. warehouse/orders).")
@click.option("--failed", is_flag=True, help="Only checks whose latest evaluation failed.")
def checks_list(asset: str | None, failed: bool) -> None:
    """The latest evaluation of every check in the store, by asset and check."""
    with _instance() as instance:
        if asset is None:
            found = instance.get_latest_asset_check_evaluations()
        else:
            found = _asset_checks(instance, asset, per_partition=False)
        quarantined = {record.asset_key for record in instance.get_quarantines(asset)}
    if failed:
        found = [evaluation for evaluation in found if not evaluation.passed]
    if not found:
        click.echo("no failed checks" if failed else "no check evaluations")
        return
    rows: list[tuple[str, ...]] = [
        (
            evaluation.asset_key.to_user_string(),
            evaluation.check_name,
            _status(evaluation),
            evaluation.severity,
            _when(evaluation.timestamp),
            evaluation.run_id,
            evaluation.partition_key or "",
        )
        for evaluation in found
    ]
    header: tuple[str, ...] = ("ASSET", "CHECK", "STATUS", "SEVERITY", "WHEN", "RUN", "PARTITION")
    if not any(row[-1] for row in rows):
        header, rows = header[:-1], [row[:-1] for row in rows]
    # An asset with a value waiting in quarantine is marked, whatever its checks say now.
    rows = [
        (f"{row[0]} [quarantined]", *row[1:])
        if AssetKey.from_user_string(row[0]) in quarantined
        else row
        for row in rows
    ]
    _print_table(header, rows)
    if quarantined:
        click.echo(
            f"{len(quarantined)} asset(s) have values in quarantine: "
            "`arco-flow checks quarantined` lists them"
        )


@checks.command("quarantined")
@click.option("--asset", help="Only the values of this asset.")
@click.option(
    "--all", "every", is_flag=True, help="Released and discarded values too, with their status."
)
def checks_quarantined(asset: str | None, every: bool) -> None:
    """Values that a failed blocking check sent to quarantine, oldest first."""
    with _instance() as instance:
        found = instance.get_quarantines(
            asset, status=None if every else QuarantineStatus.QUARANTINED
        )
    if not found:
        click.echo("no quarantined values" if not every else "no value was ever quarantined")
        return
    rows = [
        (
            record.asset_key.to_user_string(),
            record.partition_key or "",
            record.run_id,
            _when(record.timestamp),
            ", ".join(record.check_names),
            record.status.value,
        )
        for record in found
    ]
    _print_table(("ASSET", "PARTITION", "RUN", "WHEN", "FAILED CHECKS", "STATUS"), rows)


def _quarantine_options(fn: Any) -> Any:
    fn = click.option("--reason", default="", help="Why; kept in the recorded event.")(fn)
    fn = click.option("--run", "run_id", help="The run that quarantined the value.")(fn)
    fn = click.option("--partition", "partition_key", help="The partition of the value.")(fn)
    return click.argument("asset")(fn)


@checks.command("release")
@_quarantine_options
@click.option(
    "--run-downstream",
    is_flag=True,
    help="Then re-execute the quarantining run from failure: what it skipped runs now.",
)
def checks_release(
    asset: str, partition_key: str | None, run_id: str | None, reason: str, run_downstream: bool
) -> None:
    """Promote the quarantined value of ASSET to its normal location, as materialized."""
    from arco_flow.execution.quarantine import release_quarantine
    from arco_flow.execution.run_operations import reexecute_run

    with _instance() as instance:
        record = release_quarantine(
            instance, asset, partition_key=partition_key, run_id=run_id, reason=reason
        )
        click.echo(f"released {_describe(record)}: downstream now reads it")
        if not run_downstream:
            return
        outcome = reexecute_run(instance, record.run_id, from_failure=True)
    verdict = "succeeded" if outcome.succeeded else "failed"
    click.echo(f"downstream run {outcome.run_id} {verdict}")
    if not outcome.succeeded:
        raise SystemExit(1)


@checks.command("discard")
@_quarantine_options
def checks_discard(asset: str, partition_key: str | None, run_id: str | None, reason: str) -> None:
    """Drop the quarantined value of ASSET; its last good value stays the latest."""
    from arco_flow.execution.quarantine import discard_quarantine

    with _instance() as instance:
        record = discard_quarantine(
            instance, asset, partition_key=partition_key, run_id=run_id, reason=reason
        )
    click.echo(f"discarded {_describe(record)}")


def _describe(record: QuarantineRecord) -> str:
    partition = f" partition {record.partition_key}" if record.partition_key else ""
    return f"{record.asset_key.to_user_string()}{partition} of run {record.run_id}"


@checks.command("run")
@click.option("-m", "--module", help="Python module holding the definitions.")
@click.option("-f", "--file", "file", help="Python file holding the definitions.")
@click.option("-a", "--attribute", help="Name of the Definitions object in the module.")
@click.option("--select", help="Only the checks of these assets (selection syntax).")
@click.option(
    "--check", "check_names", multiple=True, help="One check, as ASSET:CHECK (repeatable)."
)
def checks_run(
    module: str | None,
    file: str | None,
    attribute: str | None,
    select: str | None,
    check_names: Sequence[str],
) -> None:
    """Run checks alone against the latest materializations; exit 1 if a blocking one failed."""
    from pathlib import Path

    from arco_flow.core.selection import AssetSelection
    from arco_flow.execution.run_operations import launch_into_instance
    from arco_flow.sdk.definitions import resolve_asset_selection
    from arco_flow.worker.code_location import load_definitions

    if (module is None) == (file is None):
        raise click.UsageError("give the definitions with exactly one of -m MODULE or -f FILE")
    definitions = load_definitions(module=module, file=file, attribute=attribute)
    location = {"module": module} if module else {"file": str(Path(str(file)).resolve())}
    if attribute:
        location["attribute"] = attribute
    selection: Any
    if check_names:
        selection = AssetSelection.checks(*map(AssetCheckKey.from_user_string, check_names))
    elif select is not None:
        keys = resolve_asset_selection(select, definitions.resolve_asset_graph())
        selection = AssetSelection.checks_for_assets(*sorted(keys))
    else:
        selection = AssetSelection.all_asset_checks()
    job = definitions.get_implicit_global_asset_job_def()
    with _instance() as instance:
        outcome = launch_into_instance(
            job, instance, code_location=location, executor="in_process", asset_selection=selection
        )
        evaluations = instance.get_run_asset_check_evaluations(outcome.run_id)
    for evaluation in evaluations:
        partition = f" [{evaluation.partition_key}]" if evaluation.partition_key else ""
        blocking = " blocking" if evaluation.blocking else ""
        click.echo(
            f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}{partition}  "
            f"{_status(evaluation)}  {evaluation.severity}{blocking}"
        )
        detail = _detail(evaluation.description, evaluation.metadata)
        if detail:
            click.echo(f"    {detail}")
    click.echo(f"run {outcome.run_id}: {len(evaluations)} evaluation(s)")
    if outcome.failed_blocking_checks or not outcome.succeeded:
        raise SystemExit(1)


@checks.command("history")
@click.argument("asset")
@click.argument("check")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--partition", "partition_key", help="Only the evaluations of this partition.")
def checks_history(asset: str, check: str, limit: int, partition_key: str | None) -> None:
    """The evaluations of the check CHECK of asset ASSET, newest first."""
    with _instance() as instance:
        latest = _asset_checks(instance, asset, per_partition=True)
        names = sorted({evaluation.check_name for evaluation in latest})
        if check not in names:
            raise NotFoundError(
                f"asset {asset!r} has no check {check!r} in this store."
                f"{did_you_mean(check, names)} Its checks: {', '.join(names)}."
            )
        if partition_key is not None:
            partitions = sorted(
                evaluation.partition_key
                for evaluation in latest
                if evaluation.check_name == check and evaluation.partition_key is not None
            )
            if partition_key not in partitions:
                raise NotFoundError(
                    f"check {check!r} of asset {asset!r} has no evaluation of partition "
                    f"{partition_key!r}.{did_you_mean(partition_key, partitions)} "
                    f"`arco-flow checks history {asset} {check}` shows every partition's."
                )
        check_key = AssetCheckKey(AssetKey.from_user_string(asset), check)
        history = instance.get_asset_check_execution_history(
            check_key, limit, partition_key=partition_key
        )
    where = f" of partition {partition_key}" if partition_key is not None else ""
    click.echo(
        f"check {check_key.to_user_string()}{where}: {len(history)} latest evaluation(s), "
        "newest first"
    )
    for evaluation in history:
        blocking = " blocking" if evaluation.blocking else ""
        partition = f" [{evaluation.partition_key}]" if evaluation.partition_key else ""
        click.echo(
            f"  {_when(evaluation.timestamp)}  {_status(evaluation)}  "
            f"{evaluation.severity}{blocking}  run {evaluation.run_id}{partition}"
        )
        detail = _detail(evaluation.description, evaluation.metadata)
        if detail:
            click.echo(f"      {detail}")


def _asset_checks(
    instance: ArcoInstance, asset: str, *, per_partition: bool
) -> list[AssetCheckEvaluationRecord]:
    """The latest evaluations of the checks of `asset`; NotFoundError when it has none."""
    found = instance.get_latest_asset_check_evaluations(
        AssetKey.from_user_string(asset), per_partition=per_partition
    )
    if found:
        return found
    known = sorted(
        {
            evaluation.asset_key.to_user_string()
            for evaluation in instance.get_latest_asset_check_evaluations()
        }
    )
    raise NotFoundError(
        f"asset {asset!r} has no check evaluation in this store.{did_you_mean(asset, known)} "
        "`arco-flow checks list` shows the checks that ran; check ARCO_HOME."
    )


def _detail(description: str | None, metadata: Mapping[str, Any]) -> str:
    """The description and the metadata values of an evaluation, on one short line."""
    values = ", ".join(
        f"{name}={value.get('value') if isinstance(value, dict) else value}"
        for name, value in sorted(metadata.items())
    )
    text = "  ".join(part for part in (description, values) if part)
    return text if len(text) <= _DETAIL_WIDTH else text[: _DETAIL_WIDTH - 3] + "..."


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())
