"""A code location's definitions read from its manifest alone: what the daemon may know.

Pure. The daemon never imports user code (issue 6); it receives the `Manifest` from its
code server. `ManifestDefinitions` answers, from that data, the questions automation and
freshness ask of a `Definitions` (the asset graph, each asset's partitions definition, the
partition mapping it declares for a dep), with the same answers. `AssetDefinitionsView`
is the protocol both satisfy.

A partition mapping that is not a built-in one has no data form: the manifest records its
class name (`partition_mapping_data`), and asking this view for it raises
`DefinitionError`, since rebuilding it would take importing the user's code.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any, Protocol

from arco_flow.core.canonical_json import canonical_json
from arco_flow.core.errors import DefinitionError, DefinitionsValidationError, PartitionError
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import Manifest, ManifestAsset
from arco_flow.core.partitions import (
    PartitionMapping,
    PartitionsDefinition,
    partition_mapping_from_data,
    partition_mapping_to_data,
    partitions_def_from_data,
)

__all__ = [
    "CUSTOM_MAPPING_KIND",
    "AssetDefinitionsView",
    "ManifestDefinitions",
    "partition_mapping_data",
]

CUSTOM_MAPPING_KIND = "custom"
"""The ``kind`` of a mapping's data form when it is not a built-in mapping."""


class AssetDefinitionsView(Protocol):
    """What automation and freshness read of a code location's asset definitions.

    `Definitions` (in the process that imported the user's code) and `ManifestDefinitions`
    (anywhere, from the manifest) both satisfy it, with the same answers.
    """

    @property
    def manifest(self) -> Manifest:
        """The definitions as data."""
        ...

    def resolve_asset_graph(self) -> AssetGraph:
        """The validated asset graph."""
        ...

    def partitions_def_of(self, key: AssetKey) -> PartitionsDefinition | None:
        """The partitions definition of asset `key`; None if unpartitioned or unknown."""
        ...

    def partition_mapping_of(self, child: AssetKey, parent: AssetKey) -> PartitionMapping | None:
        """The partition mapping `child` declares for its dep `parent`; None if none."""
        ...


def partition_mapping_data(mapping: Any) -> dict[str, Any]:
    """The data form of a declared partition mapping, for `ManifestAsset.partition_mappings`.

    A built-in mapping gets its codec form (`partition_mapping_to_data`); any other gets
    ``{"kind": "custom", "class": "<module>.<qualified name>"}``, which names it but cannot
    rebuild it.
    """
    try:
        return partition_mapping_to_data(mapping)
    except PartitionError:
        # Not an error in the definitions: in-process runs apply the object itself. Only a
        # process that reads the manifest cannot, and `ManifestDefinitions` says so then.
        cls = type(mapping)
        return {"kind": CUSTOM_MAPPING_KIND, "class": f"{cls.__module__}.{cls.__qualname__}"}


class ManifestDefinitions:
    """A `Manifest` read as the asset definitions it describes (`AssetDefinitionsView`).

    Builds what it is asked for on first use and keeps it: the graph once, each distinct
    partitions definition once, each declared mapping once.

    Args:
        manifest: The code location's manifest (as its code server sends it).
    """

    def __init__(self, manifest: Manifest) -> None:
        self._manifest = manifest
        self._partitions_defs: dict[AssetKey, PartitionsDefinition | None] = {}
        self._partitions_defs_by_data: dict[str, PartitionsDefinition] = {}
        self._mappings: dict[tuple[AssetKey, AssetKey], PartitionMapping | None] = {}

    @property
    def manifest(self) -> Manifest:
        """The manifest this view reads."""
        return self._manifest

    @cached_property
    def _graph(self) -> AssetGraph:
        try:
            return AssetGraph.from_assets(self._manifest.assets, self._manifest.checks)
        except DefinitionError as error:
            raise DefinitionsValidationError(str(error).split("\n")) from None

    def resolve_asset_graph(self) -> AssetGraph:
        """The asset graph of the manifest's assets and checks (built once).

        Raises:
            DefinitionsValidationError: the manifest's assets do not form a valid graph
                (it was not built by `Definitions.manifest`, which validates).
        """
        return self._graph

    @cached_property
    def _assets_by_key(self) -> dict[AssetKey, ManifestAsset]:
        return {asset.key: asset for asset in self._manifest.assets}

    def partitions_def_of(self, key: AssetKey | str) -> PartitionsDefinition | None:
        """The partitions definition of asset `key`; None if unpartitioned or unknown."""
        asset_key = AssetKey.from_coercible(key)
        if asset_key in self._partitions_defs:
            return self._partitions_defs[asset_key]
        asset = self._assets_by_key.get(asset_key)
        definition = None
        if asset is not None and asset.partitions is not None:
            definition = self._partitions_def_from_data(asset.partitions)
        self._partitions_defs[asset_key] = definition
        return definition

    def _partitions_def_from_data(self, data: Mapping[str, Any]) -> PartitionsDefinition:
        # Assets mostly share a handful of definitions: build each distinct one once.
        text = canonical_json(data)
        definition = self._partitions_defs_by_data.get(text)
        if definition is None:
            definition = partitions_def_from_data(dict(data))
            self._partitions_defs_by_data[text] = definition
        return definition

    def partition_mapping_of(self, child: AssetKey, parent: AssetKey) -> PartitionMapping | None:
        """The partition mapping `child` declares for its dep `parent`.

        None when it declares none (or `child` is unknown): the default between the two
        definitions applies, as with `Definitions.partition_mapping_of`.

        Raises:
            DefinitionError: the declared mapping is not a built-in one, so it cannot be
                rebuilt from the manifest.
        """
        pair = (child, parent)
        if pair in self._mappings:
            return self._mappings[pair]
        asset = self._assets_by_key.get(child)
        data = None if asset is None else asset.partition_mappings.get(parent)
        mapping = None if data is None else _mapping_from_data(child, parent, data)
        self._mappings[pair] = mapping
        return mapping


def _mapping_from_data(
    child: AssetKey, parent: AssetKey, data: Mapping[str, Any]
) -> PartitionMapping:
    if data.get("kind") == CUSTOM_MAPPING_KIND:
        raise DefinitionError(
            f"asset {child.to_user_string()!r} declares partition mapping {data.get('class')} "
            f"for its dep {parent.to_user_string()!r}; it is not a built-in mapping, so the "
            "manifest cannot carry it and the daemon (which never imports user code) cannot "
            "apply it. Use a built-in mapping (TimeWindowPartitionMapping, "
            "StaticPartitionMapping, MultiPartitionMapping, ...) for this dep"
        )
    return partition_mapping_from_data(dict(data))
