"""`arco-flow freshness list`: each asset's freshness state as the daemon last recorded it.

Reads the embedded store under ARCO_HOME and changes nothing. The daemon's freshness loop
(`daemon.freshness`) records states; an asset it never evaluated is not listed (name it
with ``--asset`` to be told so).
"""

from __future__ import annotations

import datetime
import json

import click

from arco_flow.core.freshness import seconds_in_words
from arco_flow.core.keys import AssetKey
from arco_flow.storage.freshness_projection import FreshnessStateRecord
from arco_flow.storage.instance import ArcoInstance

__all__ = ["freshness"]


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _lag(seconds: float | None) -> str:
    return "-" if seconds is None else seconds_in_words(seconds)


def _as_data(record: FreshnessStateRecord) -> dict[str, object]:
    return {
        "asset": record.asset_key.to_user_string(),
        "state": record.state,
        "lag_seconds": record.lag_seconds,
        "deadline": record.deadline,
        "since": record.since,
        "partition_key": record.partition_key,
        "description": record.description,
        "remediation_run_ids": dict(record.remediation_run_ids),
    }


@click.group()
def freshness() -> None:
    """Freshness policies: the state the daemon recorded for each asset."""


@freshness.command("list")
@click.option(
    "--asset", "assets", multiple=True, help="Only this asset (its key, e.g. warehouse/orders)."
)
@click.option("--state", "states", multiple=True, help="Only assets in this state (PASS, WARN, …).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("-m", "--module", help="Also list this module's assets with a freshness policy.")
@click.option("-f", "--file", "file", help="Also list this file's assets with a freshness policy.")
@click.option("-a", "--attribute", help="Name of the Definitions object in the module.")
def freshness_list(
    assets: tuple[str, ...],
    states: tuple[str, ...],
    as_json: bool,
    module: str | None,
    file: str | None,
    attribute: str | None,
) -> None:
    """Asset, state, lag, deadline and since when, for every asset with a recorded state.

    With a code location (-m/-f), assets with a policy but no recorded state are listed too.
    """
    wanted = {state.upper() for state in states}
    with ArcoInstance.get() as instance:
        keys = [AssetKey.from_user_string(a) for a in assets] or instance.get_asset_keys()
        with_policy: list[AssetKey] = []
        if module is not None or file is not None:
            from arco_flow.worker.code_location import load_definitions

            defs = load_definitions(module=module, file=file, attribute=attribute)
            with_policy = [a.key for a in defs.manifest.assets if a.freshness_policy is not None]
            keys = sorted(set(keys) | set(with_policy)) if not assets else keys
        found = {key: instance.get_freshness_state(key) for key in keys}
    for key in with_policy:
        if key in found and found[key] is None and not wanted:
            click.echo(f"{key.to_user_string()}  no state yet: the daemon has not evaluated it")
    for key, record in sorted(found.items(), key=lambda item: item[0].to_user_string()):
        if record is None:
            if assets:
                click.echo(
                    f"{key.to_user_string()}: no freshness state recorded; the daemon records "
                    "one for assets with a freshness_policy (run `arco-flow daemon -m MODULE`)",
                    err=True,
                )
            continue
        if wanted and record.state not in wanted:
            continue
        if as_json:
            click.echo(json.dumps(_as_data(record), sort_keys=True))
            continue
        partition = f" [{record.partition_key}]" if record.partition_key else ""
        click.echo(
            f"{key.to_user_string()}{partition}  {record.state}  lag {_lag(record.lag_seconds)}"
            f"  deadline {_when(record.deadline)}  since {_when(record.since)}"
        )
