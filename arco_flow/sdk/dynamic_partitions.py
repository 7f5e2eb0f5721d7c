"""The dynamic partition keys a run sees: which definitions it uses, and its snapshot of them.

A run reads the keys of each dynamic partitions definition its assets (and their
partitioned inputs) use once, when it is planned, and every task of the run answers from
that snapshot: a run sees one key set even while keys are added or deleted, and workers
never reach the store. Pure; nothing here is loaded unless an asset is partitioned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from arco_flow.core.errors import NotFoundError, PartitionError

if TYPE_CHECKING:
    from arco_flow.core.partitions import DynamicPartitionsStore
    from arco_flow.sdk.assets import AssetsDefinition
    from arco_flow.sdk.definitions import Definitions

__all__ = [
    "DynamicPartitionsSnapshot",
    "dynamic_names_by_node",
    "dynamic_partitions_names",
    "read_dynamic_partitions",
    "unknown_dynamic_keys",
]


class DynamicPartitionsSnapshot:
    """The keys of some dynamic partitions definitions, fixed: a read-only store.

    Satisfies `DynamicPartitionsStore`. It hands out the same key tuple on every call, so a
    definition resolved twice against it reuses its index of the keys.

    Args:
        keys_by_name: Definition name -> its keys, in the order they were added.
    """

    __slots__ = ("_keys", "_sets")

    def __init__(self, keys_by_name: Mapping[str, Sequence[str]] | None = None) -> None:
        self._keys: dict[str, tuple[str, ...]] = {
            name: keys if isinstance(keys, tuple) else tuple(keys)
            for name, keys in (keys_by_name or {}).items()
        }
        self._sets: dict[str, frozenset[str]] = {}

    @property
    def keys_by_name(self) -> dict[str, tuple[str, ...]]:
        """Definition name -> its keys (a copy of the mapping; the tuples are shared)."""
        return dict(self._keys)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def get_dynamic_partitions(self, partitions_def_name: str) -> Sequence[str]:
        """The keys of the named definition, as the run read them.

        Raises:
            PartitionError: The run did not read this definition's keys when it was planned.
        """
        try:
            return self._keys[partitions_def_name]
        except KeyError:
            known = ", ".join(repr(name) for name in sorted(self._keys)) or "none"
            raise PartitionError(
                f"the run did not read the keys of dynamic partitions {partitions_def_name!r} "
                f"when it was planned (it read: {known}); the code changed since: launch a new "
                "run"
            ) from None

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        """Whether the named definition had `partition_key` when the run was planned."""
        found = self._sets.get(partitions_def_name)
        if found is None:
            found = frozenset(self.get_dynamic_partitions(partitions_def_name))
            self._sets[partitions_def_name] = found
        return partition_key in found

    def merged(self, keys_by_name: Mapping[str, Sequence[str]]) -> DynamicPartitionsSnapshot:
        """This snapshot plus the names it lacks from `keys_by_name` (its own keys win)."""
        missing = {name: keys for name, keys in keys_by_name.items() if name not in self._keys}
        if not missing:
            return self
        return DynamicPartitionsSnapshot({**self._keys, **missing})

    def __repr__(self) -> str:
        counts = ", ".join(
            f"{name!r}: {len(keys)} keys" for name, keys in sorted(self._keys.items())
        )
        return f"DynamicPartitionsSnapshot({{{counts}}})"


def dynamic_partitions_names(partitions_def: Any) -> tuple[str, ...]:
    """The names of the dynamic definitions in `partitions_def` (itself, or a dimension)."""
    if partitions_def is None:
        return ()
    # Loaded only when a definition exists, by which time the package is loaded already.
    from arco_flow.core.partitions import DynamicPartitionsDefinition, MultiPartitionsDefinition

    if isinstance(partitions_def, DynamicPartitionsDefinition):
        return (partitions_def.name,)
    if isinstance(partitions_def, MultiPartitionsDefinition):
        return tuple(
            dimension.partitions_def.name
            for dimension in partitions_def.partitions_defs
            if isinstance(dimension.partitions_def, DynamicPartitionsDefinition)
        )
    return ()


def _node_names(definitions: Definitions, definition: AssetsDefinition) -> tuple[str, ...]:
    owned = [spec.partitions_def for spec in definition.specs if spec.partitions_def is not None]
    if not owned:
        # An unpartitioned task maps no input partitions (the worker refuses partitioned
        # inputs there), so it needs no keys: unpartitioned runs stop here.
        return ()
    names = [name for partitions_def in owned for name in dynamic_partitions_names(partitions_def)]
    for binding in definition.inputs:
        try:
            upstream = definitions.get_assets_def(binding.key).specs_by_key[binding.key]
        except NotFoundError:
            continue  # an external spec: loaded whole, as the worker does
        names.extend(dynamic_partitions_names(upstream.partitions_def))
    return tuple(sorted(set(names)))


def dynamic_names_by_node(
    definitions: Definitions, nodes: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """Compute node -> the dynamic definitions its assets and its inputs' assets use.

    Nodes that use none are left out, so an empty result means no snapshot is needed.
    """
    by_node = definitions.assets_defs_by_node
    checks = definitions.checks_defs_by_node
    found: dict[str, tuple[str, ...]] = {}
    for node in nodes:
        check = checks.get(node)
        if check is not None:
            # A check runs for the partitions of the assets it checks.
            names = tuple(
                sorted(
                    {
                        name
                        for key in check.asset_keys
                        for name in _node_names(definitions, definitions.get_assets_def(key))
                    }
                )
            )
        else:
            names = _node_names(definitions, by_node[node])
        if names:
            found[node] = names
    return found


def read_dynamic_partitions(
    store: DynamicPartitionsStore, names: Iterable[str]
) -> DynamicPartitionsSnapshot:
    """The snapshot of the keys `store` holds now for each of `names`."""
    return DynamicPartitionsSnapshot(
        {name: tuple(store.get_dynamic_partitions(name)) for name in sorted(set(names))}
    )


def unknown_dynamic_keys(
    partitions_def: Any, partition_key: str, store: DynamicPartitionsStore
) -> list[tuple[str, str]]:
    """(definition name, key) for each dynamic key in `partition_key` that `store` lacks.

    For a multi-partitions definition, each dynamic dimension's part of the key is checked;
    a key that does not split into one part per dimension has no unknown dynamic key.
    """
    from arco_flow.core.partitions import DynamicPartitionsDefinition, MultiPartitionsDefinition

    if isinstance(partitions_def, DynamicPartitionsDefinition):
        if store.has_dynamic_partition(partitions_def.name, partition_key):
            return []
        return [(partitions_def.name, partition_key)]
    if not isinstance(partitions_def, MultiPartitionsDefinition):
        return []
    dimensions = partitions_def.partitions_defs
    parts = partition_key.split("|")
    if len(parts) != len(dimensions):
        return []
    return [
        (dimension.partitions_def.name, part)
        for dimension, part in zip(dimensions, parts, strict=True)
        if isinstance(dimension.partitions_def, DynamicPartitionsDefinition)
        and not store.has_dynamic_partition(dimension.partitions_def.name, part)
    ]
