"""`arco-flow automation evaluations ASSET`: why declarative automation requested an asset.

Reads the evaluation records of the ticks the daemon's automation loop recorded in the
embedded store under ARCO_HOME (`ArcoInstance.get_automation_evaluations`: it first splits
the ticks recorded since the last query into per-asset records, and appends no event).
Each evaluation shows its condition tree, and for every node how many partitions (1 or 0
for an unpartitioned asset) it held for.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import click

from arco_flow.core.automation import EvaluationNode, EvaluationRecord
from arco_flow.core.keys import AssetKey
from arco_flow.storage.instance import ArcoInstance

__all__ = ["automation"]


@click.group()
def automation() -> None:
    """Declarative automation: what each tick requested, and why."""


@automation.command("evaluations")
@click.argument("asset")
@click.option("--limit", default=10, show_default=True, help="The newest evaluations shown.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of text.")
def evaluations(asset: str, limit: int, as_json: bool) -> None:
    """Why ASSET (its key, e.g. warehouse/orders) was or was not requested, newest first."""
    key = AssetKey.from_user_string(asset)
    with ArcoInstance.get() as instance:
        records = instance.get_automation_evaluations(key, limit=limit)
    if as_json:
        click.echo(json.dumps([_record_data(record) for record in records], indent=2))
        return
    if not records:
        click.echo(
            f"no automation evaluation of {asset!r} recorded: is it automated "
            "(automation_condition=) and the daemon running?"
        )
        return
    for record in records:
        when = datetime.datetime.fromtimestamp(record.timestamp, tz=datetime.UTC)
        click.echo(
            f"evaluation {record.evaluation_id} at {when:%Y-%m-%d %H:%M:%S}: "
            f"requested {record.num_requested}"
        )
        _echo_node(record.root, record.asset_key, depth=1)


def _echo_node(node: EvaluationNode, parent_key: AssetKey, depth: int) -> None:
    where = f" [{node.key.to_user_string()}]" if node.key != parent_key else ""
    click.echo(f"{'  ' * depth}{node.num_true:>6}  {node.label}{where}")
    for child in node.children:
        _echo_node(child, node.key, depth + 1)


def _record_data(record: EvaluationRecord) -> dict[str, Any]:
    return {
        "asset_key": record.asset_key.to_user_string(),
        "evaluation_id": record.evaluation_id,
        "timestamp": record.timestamp,
        "num_requested": record.num_requested,
        "root": _node_data(record.root),
    }


def _node_data(node: EvaluationNode) -> dict[str, Any]:
    return {
        "label": node.label,
        "asset_key": node.key.to_user_string(),
        "num_true": node.num_true,
        "children": [_node_data(child) for child in node.children],
    }
