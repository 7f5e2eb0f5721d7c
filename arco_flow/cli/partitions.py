"""`arco-flow partitions …`: the keys of dynamic partitions, and an asset's partition status.

Every command reads or writes the embedded store under ARCO_HOME. Bad names, unknown keys
and unpartitioned assets are clear one-line errors (exit code 2) that change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

import click

from arco_flow.core.errors import ArcoError, DefinitionError, NotFoundError, did_you_mean
from arco_flow.core.keys import AssetKey
from arco_flow.storage.instance import ArcoInstance
from arco_flow.worker.code_location import load_definitions

if TYPE_CHECKING:
    from arco_flow.core.partitions import PartitionsSubset

__all__ = ["partitions"]

_RANGES_SHOWN = 10
"""Ranges printed per status before the rest are counted instead."""


def _instance() -> ArcoInstance:
    return ArcoInstance.get()


@click.group()
def partitions() -> None:
    """Add, delete and list dynamic partition keys; show an asset's partition status."""


@partitions.command("add")
@click.argument("name")
@click.argument("keys", nargs=-1)
@click.option(
    "--file",
    "key_file",
    type=click.File("r"),
    help="A file with one key per line ('-' reads standard input); blank lines are skipped.",
)
def partitions_add(name: str, keys: Sequence[str], key_file: IO[str] | None) -> None:
    """Add KEYS to the dynamic partitions definition NAME (keys it has stay where they are)."""
    wanted = list(keys)
    if key_file is not None:
        wanted.extend(line for line in key_file.read().splitlines() if line)
    if not wanted:
        raise ArcoError(
            f"no keys to add to {name!r}: pass them as arguments "
            f"(`arco-flow partitions add {name} KEY...`) or one per line with --file"
        )
    with _instance() as instance:
        before = len(instance.get_dynamic_partitions(name))
        instance.add_dynamic_partitions(name, wanted)
        after = len(instance.get_dynamic_partitions(name))
    added = after - before
    kept = f", {len(wanted) - added} already there" if added < len(wanted) else ""
    click.echo(f"added {added} key(s) to {name!r}{kept}; it has {after} key(s)")


@partitions.command("delete")
@click.argument("name")
@click.argument("key")
def partitions_delete(name: str, key: str) -> None:
    """Delete KEY from the dynamic partitions definition NAME."""
    with _instance() as instance:
        if not instance.has_dynamic_partition(name, key):
            keys = instance.get_dynamic_partitions(name)
            if not keys:
                raise NotFoundError(
                    f"dynamic partitions {name!r} has no keys, so none to delete; check the "
                    "name given to DynamicPartitionsDefinition(name=), and ARCO_HOME"
                )
            raise NotFoundError(
                f"dynamic partitions {name!r} has no key {key!r}.{did_you_mean(key, keys)} "
                f"`arco-flow partitions list {name}` shows its keys"
            )
        instance.delete_dynamic_partition(name, key)
        left = len(instance.get_dynamic_partitions(name))
    click.echo(f"deleted {key!r} from {name!r}; it has {left} key(s)")


@partitions.command("list")
@click.argument("name")
@click.option("--limit", type=click.IntRange(min=1), help="Print the first LIMIT keys only.")
def partitions_list(name: str, limit: int | None) -> None:
    """Print the keys of the dynamic partitions definition NAME, one per line, oldest first."""
    if not name:
        raise ArcoError(
            "a dynamic partitions definition is named by a non-empty string; pass the name "
            "given to DynamicPartitionsDefinition(name=)"
        )
    with _instance() as instance:
        keys = instance.get_dynamic_partitions(name)
    if not keys:
        click.echo(
            f"dynamic partitions {name!r} has no keys; add some with "
            f"`arco-flow partitions add {name} KEY...`",
            err=True,
        )
        return
    shown = keys if limit is None else keys[:limit]
    if shown:
        click.echo("\n".join(shown))
    if len(shown) < len(keys):
        click.echo(f"... {len(keys) - len(shown)} more key(s) ({len(keys)} in all)", err=True)


@partitions.command("status")
@click.argument("asset")
@click.option("-m", "--module", help="Python module holding the definitions.")
@click.option("-f", "--file", "file", help="Python file holding the definitions.")
@click.option("-a", "--attribute", help="Name of the Definitions object in the module.")
def partitions_status(
    asset: str, module: str | None, file: str | None, attribute: str | None
) -> None:
    """Print how many partitions of ASSET are materialized, failed, in progress and missing."""
    if module is None and file is None:
        raise ArcoError(
            "partitions status reads the asset's partitions definition from its code: "
            "pass -m MODULE or -f FILE"
        )
    definitions = load_definitions(module=module, file=file, attribute=attribute)
    key = AssetKey.from_user_string(asset)
    known = [k.to_user_string() for k in definitions.resolve_all_asset_keys()]
    if asset not in known:
        raise NotFoundError(
            f"asset {asset!r} is not in the code location.{did_you_mean(asset, known)} "
            "`arco-flow assets list` shows the keys"
        )
    spec = next(s for s in definitions.resolve_all_asset_specs() if s.key == key)
    if spec.partitions_def is None:
        raise DefinitionError(
            f"asset {asset!r} is not partitioned, so it has no partition status; "
            f"`arco-flow assets show {asset}` shows its materializations"
        )
    with _instance() as instance:
        status = instance.get_partition_status(key, spec.partitions_def)
    click.echo(f"asset {asset}: {status.num_partitions} partition(s)")
    for label, subset in (
        ("materialized", status.materialized),
        ("failed", status.failed),
        ("in progress", status.in_progress),
        ("missing", status.missing),
    ):
        click.echo(f"  {label:<13}{len(subset):>8}  {_ranges_text(subset)}".rstrip())


def _ranges_text(subset: PartitionsSubset) -> str:
    """The subset as ``start...end`` ranges (a lone key alone), the first few of them."""
    ranges = subset.get_partition_key_ranges()
    texts = [r.start if r.start == r.end else f"{r.start}...{r.end}" for r in ranges]
    more = len(texts) - _RANGES_SHOWN
    shown = ", ".join(texts[:_RANGES_SHOWN])
    return f"{shown}, and {more} more range(s)" if more > 0 else shown
