"""What a built-in check targets: asset keys and partitions, from what the user passed.

Shared by the check factories: resolving ``assets=[...]`` to keys (rejecting duplicates, as
Dagster does), finding an asset's partitions definition, and validating a severity.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from arco_flow.core.errors import DefinitionError
from arco_flow.core.keys import AssetKey
from arco_flow.sdk.asset_spec import AssetSpec
from arco_flow.sdk.assets import AssetsDefinition
from arco_flow.sdk.checks import AssetCheckSeverity

__all__ = ["asset_keys_of", "partitions_def_of", "single_asset_key", "validated_severity"]


def _keys_of(asset: Any, where: str) -> list[AssetKey]:
    if isinstance(asset, AssetsDefinition):
        return [spec.key for spec in asset.specs]
    if isinstance(asset, AssetSpec):
        return [asset.key]
    try:
        return [AssetKey.from_coercible(asset)]
    except (DefinitionError, TypeError, ValueError) as error:
        raise DefinitionError(
            f"{where}: {asset!r} is not an asset; pass an asset definition, an AssetSpec, "
            f"an AssetKey or a 'path/to/asset' string ({error})"
        ) from None


def asset_keys_of(assets: Sequence[Any], where: str) -> list[AssetKey]:
    """The keys of every asset in `assets`, in order.

    Raises:
        DefinitionError: `assets` is not a list, an item is not an asset, or a key repeats.
    """
    if isinstance(assets, str | AssetKey) or not isinstance(assets, Sequence):
        raise DefinitionError(
            f"{where}: assets must be a list of assets, got {assets!r}; write assets=[...]"
        )
    keys = [key for asset in assets for key in _keys_of(asset, where)]
    counts = Counter(keys)
    repeated = sorted(key.to_user_string() for key, count in counts.items() if count > 1)
    if repeated:
        raise DefinitionError(
            f"{where}: assets lists {', '.join(map(repr, repeated))} more than once; "
            "list each asset once"
        )
    return keys


def single_asset_key(asset: Any, where: str) -> AssetKey:
    """The key of the one asset `asset` names.

    Raises:
        DefinitionError: `asset` is not an asset or is a definition of several assets.
    """
    keys = _keys_of(asset, where)
    if len(keys) != 1:
        raise DefinitionError(
            f"{where}: {asset!r} materializes {len(keys)} assets; pass the AssetKey of the "
            "one to check"
        )
    return keys[0]


def partitions_def_of(asset: Any, key: AssetKey) -> Any:
    """The partitions definition `asset` declares for `key`, or None if it declares none."""
    if isinstance(asset, AssetsDefinition):
        spec = asset.specs_by_key.get(key)
        found = spec.partitions_def if spec is not None else None
        return found if found is not None else asset.partitions_def
    if isinstance(asset, AssetSpec):
        return asset.partitions_def
    return None


def validated_severity(severity: object, where: str) -> AssetCheckSeverity:
    """`severity` if it is an `AssetCheckSeverity`.

    Raises:
        DefinitionError: it is not.
    """
    if not isinstance(severity, AssetCheckSeverity):
        raise DefinitionError(
            f"{where}: severity={severity!r} is not a severity; use AssetCheckSeverity.WARN "
            "or AssetCheckSeverity.ERROR"
        )
    return severity
