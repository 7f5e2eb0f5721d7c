"""`arco-flow checks …`: the latest status of every asset check, and one check's history.

Every command reads the embedded store under ARCO_HOME and changes nothing. An unknown
asset, check or partition is a clear one-line error (exit code 2) that suggests a close
name; the store knows a check once it has recorded an evaluation of it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import click

from arco_flow.core.errors import NotFoundError, did_you_mean
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import AssetCheckEvaluationRecord

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
    _print_table(header, rows)


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
