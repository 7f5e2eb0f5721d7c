"""Asset specs and the small values that wire assets together.

`AssetSpec` (what an asset is, without how to compute it), `AssetDep` (an ordering or
lineage dependency), `AssetIn` (a data dependency of a body parameter) and `AssetOut` (one
output of a multi-asset), with Dagster's names and semantics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from arco_flow.core.errors import DefinitionError
from arco_flow.core.keys import AssetKey, CoercibleToAssetKey

__all__ = [
    "AssetDep",
    "AssetIn",
    "AssetOut",
    "AssetSpec",
    "coerce_dep_keys",
    "coerce_deps",
    "validate_tags",
]


_NO_KINDS: frozenset[str] = frozenset()
# AssetDeps are immutable: one per key string serves every asset that names it.
_PLAIN_DEPS: dict[str, AssetDep] = {}
_PLAIN_DEPS_LIMIT = 1_000_000
EMPTY_MAPPING: Mapping[str, Any] = MappingProxyType({})
"""One shared empty mapping: 10,000 assets need not allocate 10,000 empty dicts."""


def validate_tags(tags: Mapping[str, Any] | None, where: str | AssetKey) -> Mapping[str, str]:
    """Tags are string to string; anything else is a `DefinitionError` naming `where`."""
    if not tags:
        return EMPTY_MAPPING
    if isinstance(where, AssetKey):
        where = f"asset {where.to_user_string()!r}"
    problems = [
        f"tag {key!r}={value!r} on {where} must map a string to a string"
        for key, value in tags.items()
        if not isinstance(key, str) or not isinstance(value, str)
    ]
    if problems:
        raise DefinitionError("; ".join(problems))
    return dict(tags)


@dataclass(frozen=True, slots=True, init=False)
class AssetDep:
    """A dependency on an asset whose value the body does not load.

    Args:
        asset: the upstream asset: a key, a "a/b" string, a spec or an asset definition.
        partition_mapping: how downstream partitions map to the upstream's.
    """

    asset_key: AssetKey
    partition_mapping: Any

    def __init__(self, asset: Any, *, partition_mapping: Any = None) -> None:
        if isinstance(asset, AssetKey):
            key = asset
        elif isinstance(asset, str):
            key = AssetKey.from_user_string(asset)
        else:
            keys = coerce_dep_keys([asset])
            if len(keys) != 1:
                raise DefinitionError(
                    f"AssetDep({asset!r}) names {len(keys)} assets; name exactly one key"
                )
            key = keys[0]
        object.__setattr__(self, "asset_key", key)
        object.__setattr__(self, "partition_mapping", partition_mapping)


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetIn:
    """A data dependency: which upstream asset a body parameter is loaded from.

    Args:
        key: the upstream key; defaults to the parameter's name.
        metadata: metadata the input manager sees.
        key_prefix: prefix of the upstream key when `key` is left out.
        input_manager_key: the resource key of the IO manager that loads it.
        partition_mapping: how downstream partitions map to the upstream's.
        dagster_type: accepted for Dagster code; types are checked by annotations.
    """

    key: CoercibleToAssetKey | None = None
    metadata: Mapping[str, Any] | None = None
    key_prefix: str | Sequence[str] | None = None
    input_manager_key: str | None = None
    partition_mapping: Any = None
    dagster_type: Any = None

    def __post_init__(self) -> None:
        if self.key is not None and self.key_prefix is not None:
            raise DefinitionError("AssetIn takes key or key_prefix, not both")

    def resolve_key(self, parameter: str) -> AssetKey:
        """The upstream key for a parameter named `parameter`."""
        if self.key is not None:
            return AssetKey.from_coercible(self.key)
        if self.key_prefix is not None:
            return AssetKey(parameter).with_prefix(self.key_prefix)
        return AssetKey(parameter)


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetOut:
    """One output of a `@multi_asset` and the asset it materializes."""

    key: CoercibleToAssetKey | None = None
    key_prefix: str | Sequence[str] | None = None
    description: str | None = None
    is_required: bool = True
    io_manager_key: str | None = None
    metadata: Mapping[str, Any] | None = None
    group_name: str | None = None
    code_version: str | None = None
    owners: Sequence[str] | None = None
    tags: Mapping[str, str] | None = None
    kinds: Iterable[str] | None = None
    dagster_type: Any = None
    quarantine_on_failed_check: bool = False
    """Store the value in quarantine when a blocking check of the asset fails (see
    `AssetSpec.quarantine_on_failed_check`)."""
    automation_condition: Any = None
    """When the asset materializes by itself (an `AutomationCondition`)."""
    freshness_policy: Any = None
    """How stale the asset may get (a `FreshnessPolicy`)."""

    def resolve_key(self, output_name: str) -> AssetKey:
        """The key of this output when its name in `outs` is `output_name`."""
        if self.key is not None:
            return AssetKey.from_coercible(self.key)
        key = AssetKey(output_name)
        return key.with_prefix(self.key_prefix) if self.key_prefix is not None else key


@dataclass(frozen=True, slots=True)
class AssetSpec:
    """What an asset is: key, dependencies, owners, tags and so on, without a body.

    A bare spec in `Definitions(assets=[...])` declares an external asset: it is part of
    the graph (others may depend on it) but is never materialized.

    `quarantine_on_failed_check` (Arco Flow's, not Dagster's): when a blocking check
    declared in the asset's body (``check_specs``) fails with ``ERROR``, the value is
    stored in quarantine through its IO manager instead of the normal location, recorded
    as `AssetQuarantined` rather than materialized (downstream keeps reading the last good
    value), and waits for ``arco-flow checks release`` or ``discard``.
    """

    key: AssetKey
    deps: tuple[AssetDep, ...] = ()
    description: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    skippable: bool = False
    group_name: str | None = None
    code_version: str | None = None
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    kinds: frozenset[str] = frozenset()
    partitions_def: Any = None
    automation_condition: Any = None
    freshness_policy: Any = None
    quarantine_on_failed_check: bool = False

    def __init__(
        self,
        key: CoercibleToAssetKey,
        *,
        deps: Iterable[Any] | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        skippable: bool = False,
        group_name: str | None = None,
        code_version: str | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        kinds: Iterable[str] | None = None,
        partitions_def: Any = None,
        automation_condition: Any = None,
        freshness_policy: Any = None,
        quarantine_on_failed_check: bool = False,
    ) -> None:
        set_ = object.__setattr__
        resolved = AssetKey.from_coercible(key)
        set_(self, "key", resolved)
        set_(self, "deps", coerce_deps(deps))
        set_(self, "description", description)
        set_(self, "metadata", dict(metadata) if metadata else EMPTY_MAPPING)
        set_(self, "skippable", skippable)
        set_(self, "group_name", group_name)
        set_(self, "code_version", code_version)
        set_(self, "owners", tuple(owners) if owners else ())
        set_(self, "tags", validate_tags(tags, resolved))
        set_(self, "kinds", frozenset(kinds) if kinds else _NO_KINDS)
        set_(self, "partitions_def", partitions_def)
        set_(self, "automation_condition", automation_condition)
        set_(self, "freshness_policy", freshness_policy)
        set_(self, "quarantine_on_failed_check", bool(quarantine_on_failed_check))

    @property
    def dependency_keys(self) -> set[AssetKey]:
        """The keys of every dependency."""
        return {dep.asset_key for dep in self.deps}

    def replace_attributes(self, **changes: Any) -> AssetSpec:
        """A copy with `changes` applied (Dagster's name)."""
        if "deps" in changes:
            changes["deps"] = coerce_deps(changes["deps"])
        if "key" in changes:
            changes["key"] = AssetKey.from_coercible(changes["key"])
        return replace(self, **changes)

    def merge_attributes(
        self,
        *,
        deps: Iterable[Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        kinds: Iterable[str] | None = None,
    ) -> AssetSpec:
        """A copy with the given collections added to the existing ones."""
        return replace(
            self,
            deps=self.deps + coerce_deps(deps),
            metadata={**self.metadata, **(metadata or {})},
            owners=self.owners + tuple(owners or ()),
            tags={**self.tags, **(tags or {})},
            kinds=self.kinds | frozenset(kinds or ()),
        )

    def with_io_manager_key(self, io_manager_key: str) -> AssetSpec:
        """A copy whose value is stored by the IO manager at `io_manager_key`."""
        return replace(self, metadata={**self.metadata, "arco/io_manager_key": io_manager_key})


def coerce_deps(deps: Iterable[Any] | None) -> tuple[AssetDep, ...]:
    """`AssetDep`s for dependency-like items: keys, strings, specs, deps and assets."""
    if deps is None:
        return ()
    if isinstance(deps, str | AssetKey):
        raise DefinitionError(
            f"deps={deps!r} must be a list of assets or keys, e.g. deps=[{deps!r}]"
        )
    result: list[AssetDep] = []
    for dep in deps:
        if isinstance(dep, AssetDep):
            result.append(dep)
        elif isinstance(dep, str):
            plain = _PLAIN_DEPS.get(dep)
            if plain is None:
                plain = AssetDep(dep)
                if len(_PLAIN_DEPS) < _PLAIN_DEPS_LIMIT:
                    _PLAIN_DEPS[dep] = plain
            result.append(plain)
        else:
            result.extend(AssetDep(key) for key in coerce_dep_keys([dep]))
    return tuple(result)


def coerce_dep_keys(items: Iterable[Any]) -> list[AssetKey]:
    """Keys of dependency-like items: keys, strings, specs, deps and asset definitions."""
    keys: list[AssetKey] = []
    for item in items:
        if isinstance(item, AssetKey):
            keys.append(item)
        elif isinstance(item, str):
            keys.append(AssetKey.from_user_string(item))
        elif isinstance(item, AssetSpec):
            keys.append(item.key)
        elif isinstance(item, AssetDep):
            keys.append(item.asset_key)
        elif hasattr(item, "keys") and not isinstance(item, Mapping | Sequence):
            # an asset definition: depend on every key it produces
            keys.extend(item.keys)
        elif isinstance(item, Sequence):
            keys.append(AssetKey(item))
        else:
            raise DefinitionError(
                f"{item!r} cannot be a dependency: use an asset, an AssetSpec, an AssetKey "
                "or a 'a/b' key string"
            )
    return keys
