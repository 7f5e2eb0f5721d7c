"""The `arco-flow` command: plan, validate and materialize a code location.

The composition root of every local command. Errors raised as `ArcoError` are printed as
one clear message (exit code 2); a run that fails exits with 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from arco_flow.cli.automation import automation
from arco_flow.cli.backfill import backfill
from arco_flow.cli.checks import checks
from arco_flow.cli.daemon import register_daemon_commands
from arco_flow.cli.freshness import freshness
from arco_flow.cli.partitions import partitions
from arco_flow.cli.runs import runs, store
from arco_flow.core.errors import (
    ArcoError,
    DefinitionsValidationError,
    NotFoundError,
    SelectionError,
    did_you_mean,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.plan import Plan, build_plan, plan_json
from arco_flow.sdk.definitions import Definitions, resolve_asset_selection
from arco_flow.worker.code_location import load_definitions

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])


def _location_options(fn: F) -> F:
    fn = click.option("-a", "--attribute", help="Name of the Definitions object in the module.")(fn)
    fn = click.option("-f", "--file", "file", help="Python file holding the definitions.")(fn)
    fn = click.option("-m", "--module", help="Python module holding the definitions.")(fn)
    return fn


def _load(module: str | None, file: str | None, attribute: str | None) -> Definitions:
    return load_definitions(module=module, file=file, attribute=attribute)


def _plan(defs: Definitions, select: str | None, run_config: dict[str, Any]) -> Plan:
    graph = defs.resolve_asset_graph()
    keys = resolve_asset_selection(select, graph)
    if not keys:
        raise SelectionError(
            f"the selection {select!r} matches no asset; `arco-flow assets list` shows the keys"
        )
    return build_plan(defs.manifest, graph, keys, run_config=run_config)


def _read_config(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    text = Path(path).read_text()
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml  # optional: only for YAML config files
        except ImportError as error:
            raise ArcoError(
                f"{path} is YAML, but PyYAML is not installed; pip install pyyaml, or "
                "pass the config as JSON"
            ) from error
        value = yaml.safe_load(text) or {}
    else:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise ArcoError(f"config file {path} is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise ArcoError(f"config file {path} must hold a mapping with ops: and resources:")
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="arco-flow")
def cli() -> None:
    """Arco Flow: plan, validate and run data assets."""


@cli.command()
@_location_options
@click.option("--select", "select", help="Asset selection, e.g. 'group:sales+' or 'key:orders'.")
@click.option("--config", "config_path", help="Run config file (JSON or YAML).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as canonical JSON.")
def plan(
    module: str | None,
    file: str | None,
    attribute: str | None,
    select: str | None,
    config_path: str | None,
    as_json: bool,
) -> None:
    """Print the plan of a selection: stages, tasks and plan_id. Runs nothing."""
    defs = _load(module, file, attribute)
    the_plan = _plan(defs, select, _read_config(config_path))
    if as_json:
        click.echo(plan_json(the_plan))
        return
    click.echo(f"plan_id   {the_plan.plan_id}")
    click.echo(f"manifest  {the_plan.manifest_fingerprint}")
    click.echo(f"tasks     {len(the_plan.tasks)} in {len(the_plan.stages)} stage(s)")
    for number, stage in enumerate(the_plan.stages):
        click.echo(f"stage {number}:")
        for task in stage:
            keys = ", ".join(k.to_user_string() for k in task.asset_keys)
            after = f"  (after {', '.join(task.deps)})" if task.deps else ""
            click.echo(f"  {task.task_id}: {keys}{after}")


@cli.command()
@_location_options
@click.option("--dry-run", is_flag=True, help="Validate and print the manifest summary only.")
def deploy(module: str | None, file: str | None, attribute: str | None, dry_run: bool) -> None:
    """Validate a code location and (with --dry-run) report every problem with its fix."""
    if not dry_run:
        raise ArcoError(
            "deploying to a control plane needs the Arco Flow server, which this version "
            "does not include yet; use --dry-run to validate"
        )
    defs = _load(module, file, attribute)
    problems = defs.problems()
    if problems:
        click.echo(f"{len(problems)} problem(s) found:", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    manifest = defs.manifest
    click.echo(
        f"ok: {len(manifest.assets)} assets, {len(manifest.jobs)} jobs, "
        f"{len(manifest.resources)} resources"
    )
    click.echo(f"manifest fingerprint {manifest.fingerprint}")


@cli.command()
@_location_options
@click.option("--select", "select", help="Asset selection; every asset by default.")
@click.option("--job", "job_name", help="Run this job instead of a selection.")
@click.option("--config", "config_path", help="Run config file (JSON or YAML).")
@click.option(
    "--executor",
    type=click.Choice(["process_pool", "in_process"]),
    default="process_pool",
    show_default=True,
    help="process_pool: long-lived worker processes; in_process: this process, one by one.",
)
@click.option(
    "--max-concurrent", type=click.IntRange(min=1), help="Tasks at once (default: CPU count)."
)
@click.option("--partition", "partition_key", help="The partition of partitioned assets.")
@click.option(
    "--partition-range",
    "partition_range",
    metavar="START...END",
    help="Every partition from START to END (both included), in one run.",
)
def materialize(
    module: str | None,
    file: str | None,
    attribute: str | None,
    select: str | None,
    job_name: str | None,
    config_path: str | None,
    executor: str,
    max_concurrent: int | None,
    partition_key: str | None,
    partition_range: str | None,
) -> None:
    """Materialize assets of a code location, with live progress."""
    # Loaded here: rich, the engine and the store are for this command only.
    from arco_flow.cli.progress import RunProgress
    from arco_flow.execution.run_operations import launch_into_instance
    from arco_flow.storage.instance import ArcoInstance

    if partition_key is not None and partition_range is not None:
        raise ArcoError("pass --partition or --partition-range, not both")
    key_range = _partition_range(partition_range) if partition_range is not None else None
    defs = _load(module, file, attribute)
    if job_name is not None and select is not None:
        raise ArcoError("pass --job or --select, not both")
    job = (
        defs.resolve_job_def(job_name) if job_name else defs.resolve_implicit_global_asset_job_def()
    )
    with ArcoInstance.get() as instance, RunProgress() as progress:
        try:
            outcome = launch_into_instance(
                job,
                instance,
                code_location=_code_location(module, file, attribute),
                executor="process_pool" if executor == "process_pool" else "in_process",
                run_config=_read_config(config_path) or None,
                asset_selection=select,
                max_concurrent=max_concurrent,
                partition_key=partition_key,
                partition_key_range=key_range,
                on_planned=lambda prepared: progress.start(prepared.plan),
                on_record=progress.on_record,
            )
        except KeyboardInterrupt:
            progress.summary_interrupted()
            sys.exit(130)
        progress.summary(outcome, len(instance.get_tasks(outcome.run_id)))
    sys.exit(0 if outcome.succeeded else 1)


def _partition_range(text: str) -> Any:
    """``START...END`` as a `PartitionKeyRange`."""
    from arco_flow.core.partitions import PartitionKeyRange

    start, dots, end = text.partition("...")
    if not dots or not start or not end:
        raise ArcoError(
            f"--partition-range {text!r} is not START...END; write the first and the last "
            "partition with three dots between, e.g. 2024-01-01...2024-01-31"
        )
    return PartitionKeyRange(start, end)


def _code_location(module: str | None, file: str | None, attribute: str | None) -> dict[str, str]:
    """How worker processes find the definitions: the same module or file, absolute."""
    location = {"module": module} if module else {"file": str(Path(str(file)).resolve())}
    if attribute:
        location["attribute"] = attribute
    return location


@cli.group()
def assets() -> None:
    """Inspect the assets of a code location."""


@assets.command("list")
@_location_options
@click.option("--select", "select", help="Only assets in this selection.")
def assets_list(
    module: str | None, file: str | None, attribute: str | None, select: str | None
) -> None:
    """Print every asset key, one per line (of a code location, or else of the store)."""
    if module is None and file is None:
        from arco_flow.storage.instance import ArcoInstance

        with ArcoInstance.get() as instance:
            for record in instance.get_asset_records():
                last = record.last_materialization
                run = f"  last run {last.run_id}" if last else ""
                click.echo(f"{record.asset_key.to_user_string()}{run}")
        return
    defs = _load(module, file, attribute)
    graph = defs.resolve_asset_graph()
    keys = resolve_asset_selection(select, graph) if select else set(graph.keys)
    click.echo("\n".join(k.to_user_string() for k in sorted(keys)))


@assets.command("show")
@click.argument("key")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True)
def assets_show(key: str, limit: int) -> None:
    """An asset's latest materialization and its history, from the embedded store."""
    from arco_flow.storage.instance import ArcoInstance

    asset_key = AssetKey.from_user_string(key)
    with ArcoInstance.get() as instance:
        history = instance.get_materialization_history(asset_key, limit=limit)
        if not history:
            known = [k.to_user_string() for k in instance.get_asset_keys()]
            raise NotFoundError(
                f"asset {key!r} has no materialization in this store.{did_you_mean(key, known)} "
                "Materialize it first, or check ARCO_HOME."
            )
        click.echo(f"asset {key}: {len(history)} latest materialization(s), newest first")
        for record in history:
            partition = f" [{record.partition_key}]" if record.partition_key else ""
            meta = ", ".join(
                f"{name}={value.get('value') if isinstance(value, dict) else value}"
                for name, value in sorted(record.metadata.items())
            )
            click.echo(f"  run {record.run_id} task {record.task_id}{partition}  {meta[:120]}")


cli.add_command(backfill)
cli.add_command(runs)
cli.add_command(store)
cli.add_command(partitions)
cli.add_command(checks)
cli.add_command(automation)
cli.add_command(freshness)
register_daemon_commands(cli)


def main() -> None:
    """Entry point of the `arco-flow` command."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except DefinitionsValidationError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    except ArcoError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
