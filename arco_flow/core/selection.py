"""The asset selection algebra: which assets a job, a run or a command works on.

Pure. An `AssetSelection` is an immutable expression tree, one small frozen dataclass per
operation, with Dagster's names and semantics: build it with the constructors
(`AssetSelection.assets`, `groups`, `tag` ...), combine it with ``|``, ``&`` and ``-`` and
the lineage methods (`upstream`, `downstream`, `roots`, `sinks` ...), and turn it into keys
with `resolve(graph)`. `selection_syntax` parses the string form that `to_selection_str`
writes.

Invariants: resolving depends only on the graph, never on hash or insertion order, and
returns a fresh `set` the caller owns. As in Dagster, `all()`, `groups`, `tag`, `kind`,
`key_prefixes`, `key_substring` and `upstream` keep only executable assets unless told to
include sources (external assets), while keys, owners and `downstream` keep them too.

Asset checks, as in Dagster: each node has ``_resolve_checks`` beside ``_resolve``; by
default a selection picks the checks of the assets it resolves to (so `all()` and `assets()`
carry their checks), union, intersection and difference combine checks as they combine
assets, and three leaves select checks only (`checks_for_assets`, `checks`,
`all_asset_checks`); `without_checks()` is ``self - all_asset_checks()``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, reduce
from typing import Any, Protocol, TypeAlias

from arco_flow.core.errors import ArcoError, SelectionError, did_you_mean
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.core.manifest import ManifestAsset

__all__ = [
    "AllAssetCheckSelection",
    "AllSelection",
    "AssetCheckKeysSelection",
    "AssetChecksForAssetKeysSelection",
    "AndAssetSelection",
    "AssetSelection",
    "CoercibleToAssetSelection",
    "DownstreamAssetSelection",
    "GroupWildCardAssetSelection",
    "GroupsAssetSelection",
    "IsAttributeAssetSelection",
    "KeyPrefixesAssetSelection",
    "KeySubstringAssetSelection",
    "KeyWildCardAssetSelection",
    "KeysAssetSelection",
    "KindAssetSelection",
    "OrAssetSelection",
    "OwnerAssetSelection",
    "RequiredNeighborsAssetSelection",
    "RootsAssetSelection",
    "SinksAssetSelection",
    "SubtractAssetSelection",
    "SupportsAssetGraph",
    "TagAssetSelection",
    "UpstreamAssetSelection",
    "resolve_selection",
]

_IS_VALUES = ("external", "materializable")
_MAX_SUGGESTED = 5  # did-you-mean costs a scan of every key; suggest for the first few only


class SupportsAssetGraph(Protocol):
    """Anything that can produce the asset graph to resolve against (the SDK's `Definitions`)."""

    def resolve_asset_graph(self) -> AssetGraph:
        """The asset graph of these definitions."""
        ...


CoercibleToAssetSelection: TypeAlias = "str | Sequence[Any] | AssetSelection"


_CACHE_LIMIT = 256
"""Resolved selections kept per graph."""


class _Resolution:
    """One resolve call: the graph plus indexes built lazily and shared by all nodes."""

    __slots__ = ("_companions", "_external", "allow_missing", "graph")

    def __init__(self, graph: AssetGraph, allow_missing: bool) -> None:
        self.graph = graph
        self.allow_missing = allow_missing
        self._external: frozenset[AssetKey] | None = None
        self._companions: dict[AssetKey, list[AssetKey]] | None = None

    def external(self) -> frozenset[AssetKey]:
        """Keys of the non-executable (external, source) assets."""
        if self._external is None:
            self._external = frozenset(a.key for a in self.graph.assets if not a.is_executable)
        return self._external

    def companions(self) -> dict[AssetKey, list[AssetKey]]:
        """For each asset whose node cannot run a subset: every key of that node."""
        if self._companions is None:
            by_node: dict[str, list[AssetKey]] = {}
            for asset in self.graph.assets:
                by_node.setdefault(asset.node, []).append(asset.key)
            self._companions = {
                asset.key: by_node[asset.node]
                for asset in self.graph.assets
                if not asset.can_subset and len(by_node[asset.node]) > 1
            }
        return self._companions


class AssetSelection(ABC):
    """A query over the assets of a graph, resolved to a set of keys by `resolve`.

    Combine selections with ``|`` (union), ``&`` (intersection) and ``-`` (difference);
    there is no ``~`` (as in Dagster: write ``AssetSelection.all() - selection``).
    """

    __slots__ = ()

    # -- constructors ----------------------------------------------------------------

    @staticmethod
    def all(include_sources: bool = False) -> AllSelection:
        """Every executable asset, and external assets too if `include_sources`."""
        return AllSelection(include_sources=include_sources)

    @staticmethod
    def assets(*assets_defs: object) -> KeysAssetSelection:
        """The given assets: `AssetKey`s, ``"a/b"`` strings, lists of parts, or definitions.

        A definition is any object with a ``keys`` attribute (asset and multi-asset
        definitions) or an ``AssetKey`` ``key`` attribute (specs). Resolving raises
        `SelectionError` for a key the graph does not define.
        """
        return KeysAssetSelection(selected_keys=_keys_from(assets_defs))

    keys = assets  # Dagster's older name

    @staticmethod
    def all_asset_checks() -> AllAssetCheckSelection:
        """Every asset check, and no asset."""
        return AllAssetCheckSelection()

    @staticmethod
    def checks_for_assets(*assets_defs: object) -> AssetChecksForAssetKeysSelection:
        """The checks of the given assets (keys, strings or definitions), and no asset."""
        return AssetChecksForAssetKeysSelection(selected_asset_keys=_keys_from(assets_defs))

    @staticmethod
    def checks(*assets_checks: object) -> AssetCheckKeysSelection:
        """The given checks: `AssetCheckKey`s or check definitions, and no asset.

        A definition is any object with a ``check_keys`` attribute (`AssetChecksDefinition`).
        Resolving raises `SelectionError` for a check the graph does not define.
        """
        return AssetCheckKeysSelection(selected_asset_check_keys=_check_keys_from(assets_checks))

    def without_checks(self) -> SubtractAssetSelection:
        """This selection's assets, without any asset check."""
        return self - AllAssetCheckSelection()

    @staticmethod
    def key_prefixes(
        *key_prefixes: str | Sequence[str] | AssetKey, include_sources: bool = False
    ) -> KeyPrefixesAssetSelection:
        """Assets whose key starts with any of the prefixes (``"a/b"``, ``["a", "b"]``)."""
        prefixes: list[tuple[str, ...]] = []
        for prefix in key_prefixes:
            if isinstance(prefix, AssetKey):
                prefixes.append(prefix.path)
            elif isinstance(prefix, str):
                prefixes.append(tuple(prefix.split("/")))
            else:
                prefixes.append(tuple(prefix))
        return KeyPrefixesAssetSelection(
            selected_key_prefixes=tuple(prefixes), include_sources=include_sources
        )

    @staticmethod
    def key_substring(
        key_substring: str, include_sources: bool = False
    ) -> KeySubstringAssetSelection:
        """Assets whose ``"a/b"`` key string contains `key_substring`."""
        return KeySubstringAssetSelection(
            selected_key_substring=key_substring, include_sources=include_sources
        )

    @staticmethod
    def groups(*group_strs: str, include_sources: bool = False) -> GroupsAssetSelection:
        """Assets in any of the groups."""
        return GroupsAssetSelection(selected_groups=group_strs, include_sources=include_sources)

    @staticmethod
    def tag(key: str, value: str, include_sources: bool = False) -> TagAssetSelection:
        """Assets whose tag `key` equals `value` (``""`` for a tag used as a label)."""
        return TagAssetSelection(key=key, value=value, include_sources=include_sources)

    @staticmethod
    def tag_string(string: str, include_sources: bool = False) -> TagAssetSelection:
        """Assets with the tag written as ``"key=value"``, or ``"key"`` for an empty value.

        Raises:
            SelectionError: the string has more than one ``=``.
        """
        parts = string.split("=")
        if len(parts) > 2:
            raise SelectionError(
                f"tag selection {string!r} has more than one '=': write key=value, "
                'e.g. "team=data"'
            )
        return TagAssetSelection(
            key=parts[0], value=parts[1] if len(parts) == 2 else "", include_sources=include_sources
        )

    @staticmethod
    def owner(owner: str | None) -> OwnerAssetSelection:
        """Assets owned by `owner` (a user e-mail or ``"team:name"``); None: no owners."""
        return OwnerAssetSelection(selected_owner=owner)

    @staticmethod
    def kind(kind: str | None, include_sources: bool = False) -> KindAssetSelection:
        """Assets of kind `kind` (``"python"``, ``"dbt"`` ...); None: assets with no kind."""
        return KindAssetSelection(kind_str=kind, include_sources=include_sources)

    @classmethod
    def from_string(cls, string: str, include_sources: bool = False) -> AssetSelection:
        """Parses the selection syntax, e.g. ``'key:"raw/orders"+ and not tag:pii'``.

        `include_sources` makes ``*``, ``not`` and attribute filters include external assets.

        Raises:
            SelectionError: the string is not valid; the message points at the problem.
        """
        from arco_flow.core.selection_syntax import parse_selection  # see to_selection_str

        return parse_selection(string, include_sources=include_sources)

    @classmethod
    def from_coercible(cls, selection: CoercibleToAssetSelection) -> AssetSelection:
        """A selection from a string (the syntax), keys, definitions, or a selection.

        A sequence of strings is the union of each parsed as a selection string, as in
        Dagster; a sequence of keys or definitions selects those assets.

        Raises:
            SelectionError: the value cannot be turned into a selection.
        """
        if isinstance(selection, AssetSelection):
            return selection
        if isinstance(selection, str):
            return cls.from_string(selection)
        if isinstance(selection, Sequence):
            if not selection:
                return KeysAssetSelection(selected_keys=())
            parts = [
                cls.from_string(item) if isinstance(item, str) else cls.assets(item)
                for item in selection
            ]
            return reduce(lambda left, right: left | right, parts)
        return cls.assets(selection)  # one definition; anything else raises

    # -- lineage and set operations ---------------------------------------------------

    def upstream(
        self, depth: int | None = None, include_self: bool = True
    ) -> UpstreamAssetSelection:
        """This selection and the executable assets up to `depth` steps upstream (None: all)."""
        return UpstreamAssetSelection(child=self, depth=depth, include_self=include_self)

    def downstream(
        self, depth: int | None = None, include_self: bool = True
    ) -> DownstreamAssetSelection:
        """This selection and the assets up to `depth` steps downstream (None: all)."""
        return DownstreamAssetSelection(child=self, depth=depth, include_self=include_self)

    def roots(self) -> RootsAssetSelection:
        """The selected assets with no ancestor, however distant, inside the selection."""
        return RootsAssetSelection(child=self)

    sources = roots  # Dagster's older name

    def sinks(self) -> SinksAssetSelection:
        """The selected assets with no descendant, however distant, inside the selection."""
        return SinksAssetSelection(child=self)

    def required_multi_asset_neighbors(self) -> RequiredNeighborsAssetSelection:
        """Adds the assets that must run with a selected one.

        Those are the other assets of its node, when that node (a multi-asset) cannot run a
        subset of its assets.
        """
        return RequiredNeighborsAssetSelection(child=self)

    def __or__(self, other: AssetSelection) -> OrAssetSelection:
        if not isinstance(other, AssetSelection):
            return NotImplemented
        left = self.operands if isinstance(self, OrAssetSelection) else (self,)
        right = other.operands if isinstance(other, OrAssetSelection) else (other,)
        return OrAssetSelection(operands=(*left, *right))

    def __and__(self, other: AssetSelection) -> AndAssetSelection:
        if not isinstance(other, AssetSelection):
            return NotImplemented
        left = self.operands if isinstance(self, AndAssetSelection) else (self,)
        right = other.operands if isinstance(other, AndAssetSelection) else (other,)
        return AndAssetSelection(operands=(*left, *right))

    def __sub__(self, other: AssetSelection) -> SubtractAssetSelection:
        if not isinstance(other, AssetSelection):
            return NotImplemented
        return SubtractAssetSelection(left=self, right=other)

    # -- resolution and string form ---------------------------------------------------

    def resolve(
        self, graph: AssetGraph | SupportsAssetGraph, *, allow_missing: bool = False
    ) -> set[AssetKey]:
        """The keys of `graph` this selection picks.

        Args:
            graph: an `AssetGraph`, or an object with ``resolve_asset_graph()`` such as
                `Definitions`.
            allow_missing: skip selected keys the graph does not define, instead of raising.

        Raises:
            SelectionError: a selected key is not defined (unless `allow_missing`).
        """
        resolved_graph = _graph_of(graph)
        # Selections and graphs are immutable, so a resolution can be reused; the caller
        # gets a fresh set each time and may change it.
        cache = resolved_graph.selection_cache
        cache_key = (self, allow_missing)
        cached = cache.get(cache_key)
        if cached is not None:
            return set(cached)
        resolved = self._resolve(_Resolution(resolved_graph, allow_missing))
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[cache_key] = frozenset(resolved)
        return resolved  # a fresh set: the cache keeps its own frozen copy

    def resolve_checks(
        self, graph: AssetGraph | SupportsAssetGraph, *, allow_missing: bool = False
    ) -> set[AssetCheckKey]:
        """The asset checks of `graph` this selection picks.

        Raises:
            SelectionError: a selected key or check is not defined (unless `allow_missing`).
        """
        resolved_graph = _graph_of(graph)
        if not resolved_graph.checks:
            return set()
        cache = resolved_graph.selection_cache
        cache_key = (self, allow_missing, "checks")
        cached = cache.get(cache_key)
        if cached is not None:
            return set(cached)
        resolved = self._resolve_checks(_Resolution(resolved_graph, allow_missing))
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[cache_key] = frozenset(resolved)
        return resolved

    def _resolve_checks(self, resolution: _Resolution) -> set[AssetCheckKey]:
        """The selected checks: by default those of the selected assets."""
        by_asset = resolution.graph.check_keys_by_asset
        if not by_asset:
            return set()
        return {check for key in self._resolve(resolution) for check in by_asset.get(key, ())}

    def to_selection_str(self) -> str:
        """The string form, which `from_string` parses back to an equivalent selection.

        A difference is written ``a and not b``, and ``not`` ranges over executable assets
        (as in Dagster), so external assets picked by the left side of a difference (or by
        ``downstream(include_self=False)``) drop out of the string form.

        Raises:
            SelectionError: the syntax cannot express this selection (key prefixes,
                multi-asset neighbours, ``include_sources=True`` filters).
        """
        # Imported here: the syntax module builds these node classes, so it imports this one.
        from arco_flow.core.selection_syntax import format_selection

        return format_selection(self)

    def __str__(self) -> str:
        try:
            return self.to_selection_str()
        except SelectionError:
            return repr(self)

    @abstractmethod
    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        """The selected keys, as a fresh set the caller may change."""


# -- leaves ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AllSelection(AssetSelection):
    """Every executable asset (``*``)."""

    include_sources: bool = False
    """Also select external assets."""

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        keys = set(resolution.graph.keys)
        if not self.include_sources:
            keys.difference_update(resolution.external())
        return keys


@dataclass(frozen=True, slots=True, kw_only=True)
class KeysAssetSelection(AssetSelection):
    """The assets with these keys; an undefined key is an error when resolving."""

    selected_keys: tuple[AssetKey, ...]

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        has = resolution.graph.has
        if not resolution.allow_missing:
            missing = sorted({key for key in self.selected_keys if not has(key)})
            if missing:
                raise SelectionError(_unknown_keys_message(resolution.graph, missing))
        return {key for key in self.selected_keys if has(key)}


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyPrefixesAssetSelection(AssetSelection):
    """Assets whose key path starts with any of the prefixes."""

    selected_key_prefixes: tuple[tuple[str, ...], ...]
    include_sources: bool = False

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        prefixes = self.selected_key_prefixes
        return _filter(
            resolution,
            self.include_sources,
            lambda a: any(a.key.path[: len(p)] == p for p in prefixes),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class KeySubstringAssetSelection(AssetSelection):
    """Assets whose ``"a/b"`` key string contains a substring."""

    selected_key_substring: str
    include_sources: bool = False

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        part = self.selected_key_substring
        return _filter(resolution, self.include_sources, lambda a: part in a.key.to_user_string())


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyWildCardAssetSelection(AssetSelection):
    """Assets whose ``"a/b"`` key string matches a pattern, ``*`` matching any characters."""

    selected_key_wildcard: str

    def __post_init__(self) -> None:
        if "*" not in self.selected_key_wildcard:
            raise SelectionError(
                f"key pattern {self.selected_key_wildcard!r} has no '*'; select one key with "
                "AssetSelection.assets(...)"
            )

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        match = _wildcard_pattern(self.selected_key_wildcard).fullmatch
        return {key for key in resolution.graph.keys if match(key.to_user_string())}


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupsAssetSelection(AssetSelection):
    """Assets in any of the groups."""

    selected_groups: tuple[str, ...]
    include_sources: bool = False

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        groups = frozenset(self.selected_groups)
        return _filter(resolution, self.include_sources, lambda a: a.group in groups)


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupWildCardAssetSelection(AssetSelection):
    """Assets whose group name matches a pattern, ``*`` matching any characters."""

    selected_group_wildcard: str
    include_sources: bool = False

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        match = _wildcard_pattern(self.selected_group_wildcard).fullmatch
        return _filter(resolution, self.include_sources, lambda a: match(a.group) is not None)


@dataclass(frozen=True, slots=True, kw_only=True)
class TagAssetSelection(AssetSelection):
    """Assets whose tag `key` has exactly `value`."""

    key: str
    value: str
    include_sources: bool = False

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        key, value = self.key, self.value
        return _filter(resolution, self.include_sources, lambda a: a.tags.get(key) == value)


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerAssetSelection(AssetSelection):
    """Assets (external ones too) with an owner."""

    selected_owner: str | None
    """The owner; None selects the assets that have no owner."""

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        owner = self.selected_owner
        if owner is None:
            return {a.key for a in resolution.graph.assets if not a.owners}
        return {a.key for a in resolution.graph.assets if owner in a.owners}


@dataclass(frozen=True, slots=True, kw_only=True)
class KindAssetSelection(AssetSelection):
    """Assets of a kind."""

    kind_str: str | None
    """The kind; None selects the assets that have no kind."""
    include_sources: bool = False

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        kind = self.kind_str
        if kind is None:
            return _filter(resolution, self.include_sources, lambda a: not a.kinds)
        return _filter(resolution, self.include_sources, lambda a: kind in a.kinds)


@dataclass(frozen=True, slots=True, kw_only=True)
class IsAttributeAssetSelection(AssetSelection):
    """Assets by kind of definition: ``"external"`` or ``"materializable"`` (executable)."""

    attribute: str

    def __post_init__(self) -> None:
        if self.attribute not in _IS_VALUES:
            raise SelectionError(
                f"is:{self.attribute} is not supported: use is:external or is:materializable"
            )

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        wanted = self.attribute == "materializable"
        return {a.key for a in resolution.graph.assets if a.is_executable is wanted}


@dataclass(frozen=True, slots=True, kw_only=True)
class AllAssetCheckSelection(AssetSelection):
    """Every asset check, and no asset."""

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        return set()

    def _resolve_checks(self, resolution: _Resolution) -> set[AssetCheckKey]:
        return set(resolution.graph.asset_check_keys)


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetChecksForAssetKeysSelection(AssetSelection):
    """The checks of some assets, and no asset."""

    selected_asset_keys: tuple[AssetKey, ...]

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        return set()

    def _resolve_checks(self, resolution: _Resolution) -> set[AssetCheckKey]:
        by_asset = resolution.graph.check_keys_by_asset
        return {check for key in self.selected_asset_keys for check in by_asset.get(key, ())}


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetCheckKeysSelection(AssetSelection):
    """Some checks by key, and no asset; an undefined check is an error when resolving."""

    selected_asset_check_keys: tuple[AssetCheckKey, ...]

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        return set()

    def _resolve_checks(self, resolution: _Resolution) -> set[AssetCheckKey]:
        defined = resolution.graph.asset_check_keys
        missing = sorted({key for key in self.selected_asset_check_keys if key not in defined})
        if missing and not resolution.allow_missing:
            raise SelectionError(_unknown_checks_message(resolution.graph, missing))
        return {key for key in self.selected_asset_check_keys if key in defined}


# -- operations -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OrAssetSelection(AssetSelection):
    """The union of the operands (``a | b``)."""

    operands: tuple[AssetSelection, ...]

    def __post_init__(self) -> None:
        if not self.operands:
            raise SelectionError("a union needs at least one operand")

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        result: set[AssetKey] = set()
        for operand in self.operands:
            result |= operand._resolve(resolution)
        return result

    def _resolve_checks(self, resolution: _Resolution) -> set[AssetCheckKey]:
        result: set[AssetCheckKey] = set()
        for operand in self.operands:
            result |= operand._resolve_checks(resolution)
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class AndAssetSelection(AssetSelection):
    """The intersection of the operands (``a & b``)."""

    operands: tuple[AssetSelection, ...]

    def __post_init__(self) -> None:
        if not self.operands:
            raise SelectionError("an intersection needs at least one operand")

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        first, *rest = self.operands
        result = first._resolve(resolution)
        for operand in rest:
            if not result:
                break
            result &= operand._resolve(resolution)
        return result

    def _resolve_checks(self, resolution: _Resolution) -> set[AssetCheckKey]:
        first, *rest = self.operands
        result = first._resolve_checks(resolution)
        for operand in rest:
            if not result:
                break
            result &= operand._resolve_checks(resolution)
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class SubtractAssetSelection(AssetSelection):
    """The assets of `left` that are not in `right` (``a - b``)."""

    left: AssetSelection
    right: AssetSelection

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        result = self.left._resolve(resolution)
        if result:
            result -= self.right._resolve(resolution)
        return result

    def _resolve_checks(self, resolution: _Resolution) -> set[AssetCheckKey]:
        result = self.left._resolve_checks(resolution)
        if result:
            result -= self.right._resolve_checks(resolution)
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class UpstreamAssetSelection(AssetSelection):
    """The child's assets and the executable assets upstream of them."""

    child: AssetSelection
    depth: int | None = None
    """How many steps to walk; None walks to the roots."""
    include_self: bool = True
    """Keep the child's own assets (an asset upstream of another selected one always stays)."""

    def __post_init__(self) -> None:
        _check_depth(self.depth)

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        selected = self.child._resolve(resolution)
        if not selected:
            return selected
        result = resolution.graph.upstream(selected, self.depth, include_self=self.include_self)
        result.difference_update(resolution.external())
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class DownstreamAssetSelection(AssetSelection):
    """The child's assets and the assets downstream of them."""

    child: AssetSelection
    depth: int | None = None
    """How many steps to walk; None walks to the sinks."""
    include_self: bool = True
    """Keep the child's own assets (an asset downstream of another selected one always stays)."""

    def __post_init__(self) -> None:
        _check_depth(self.depth)

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        selected = self.child._resolve(resolution)
        return resolution.graph.downstream(selected, self.depth, include_self=self.include_self)


@dataclass(frozen=True, slots=True, kw_only=True)
class RootsAssetSelection(AssetSelection):
    """The child's assets with no ancestor inside the child's selection."""

    child: AssetSelection

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        selected = self.child._resolve(resolution)
        graph = resolution.graph
        # A selected asset has a selected ancestor exactly when one of its parents is
        # selected or downstream of the selection.
        index_of, parents = graph.index_of, graph.parent_indices
        reached = bytearray(len(graph))
        for key in graph.downstream(selected, include_self=False) | selected:
            reached[index_of(key)] = 1
        is_reached = reached.__getitem__
        return {key for key in selected if not any(map(is_reached, parents(index_of(key))))}


@dataclass(frozen=True, slots=True, kw_only=True)
class SinksAssetSelection(AssetSelection):
    """The child's assets with no descendant inside the child's selection."""

    child: AssetSelection

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        selected = self.child._resolve(resolution)
        graph = resolution.graph
        keys, parents, index_of = graph.keys, graph.parent_indices, graph.index_of
        above = {keys[parent] for key in selected for parent in parents(index_of(key))}
        selected -= graph.upstream(above)
        return selected


@dataclass(frozen=True, slots=True, kw_only=True)
class RequiredNeighborsAssetSelection(AssetSelection):
    """The child's assets plus the other assets of each node that cannot run a subset."""

    child: AssetSelection

    def _resolve(self, resolution: _Resolution) -> set[AssetKey]:
        selected = self.child._resolve(resolution)
        companions = resolution.companions()
        for key in [key for key in selected if key in companions]:
            selected.update(companions[key])
        return selected


# -- functions ------------------------------------------------------------------------


def resolve_selection(
    selection: CoercibleToAssetSelection | None,
    graph: AssetGraph | SupportsAssetGraph,
    *,
    allow_missing: bool = False,
) -> set[AssetKey]:
    """The keys `selection` picks from `graph`; None selects every executable asset.

    Raises:
        SelectionError: the selection does not parse, or names an undefined key.
    """
    chosen = AssetSelection.all() if selection is None else AssetSelection.from_coercible(selection)
    return chosen.resolve(graph, allow_missing=allow_missing)


def _graph_of(value: object) -> AssetGraph:
    if isinstance(value, AssetGraph):
        return value
    method = getattr(value, "resolve_asset_graph", None)
    graph = method() if callable(method) else None
    if isinstance(graph, AssetGraph):
        return graph
    raise SelectionError(
        f"cannot resolve an asset selection against {type(value).__name__}: pass an AssetGraph "
        "or an object with resolve_asset_graph(), such as Definitions"
    )


def _keys_from(values: Iterable[object]) -> tuple[AssetKey, ...]:
    keys: list[AssetKey] = []
    for value in values:
        keys.extend(_keys_of(value))
    return tuple(dict.fromkeys(keys))


def _keys_of(value: object) -> list[AssetKey]:
    if isinstance(value, AssetKey):
        return [value]
    defined = getattr(value, "keys", None)
    if defined is not None and not callable(defined) and not isinstance(value, str):
        keys = list(defined)
        if not all(isinstance(key, AssetKey) for key in keys):
            raise SelectionError(f"the keys of {value!r} are not all AssetKeys")
        # A definition's keys may be an unordered set: sort them for a stable order.
        return keys if isinstance(defined, Sequence) else sorted(keys)
    single = getattr(value, "key", None)
    if isinstance(single, AssetKey):
        return [single]
    if isinstance(value, str | Sequence):
        try:
            return [AssetKey.from_coercible(value)]
        except ArcoError as error:
            raise SelectionError(f"cannot select {value!r}: {error}") from error
    raise SelectionError(
        f"cannot select {value!r}: pass an AssetKey, a 'a/b' string, a list of key parts or an "
        "asset definition"
    )


def _check_keys_from(values: Iterable[object]) -> tuple[AssetCheckKey, ...]:
    keys: list[AssetCheckKey] = []
    for value in values:
        if isinstance(value, AssetCheckKey):
            keys.append(value)
            continue
        defined = getattr(value, "check_keys", None)
        if defined is None or callable(defined):
            raise SelectionError(
                f"cannot select {value!r} as an asset check: pass an AssetCheckKey or a check "
                "definition (@asset_check, @multi_asset_check)"
            )
        keys.extend(sorted(defined))
    return tuple(dict.fromkeys(keys))


def _unknown_checks_message(graph: AssetGraph, missing: Sequence[AssetCheckKey]) -> str:
    known = [key.to_user_string() for key in sorted(graph.asset_check_keys)]
    lines = [
        f"no asset check has key {key.to_user_string()!r}."
        + did_you_mean(key.to_user_string(), known)
        for key in missing
    ]
    return (
        "the selection names undefined asset checks: "
        + " ".join(lines)
        + " Check the spelling, or add the check to Definitions(asset_checks=[...])."
    )


def _unknown_keys_message(graph: AssetGraph, missing: Sequence[AssetKey]) -> str:
    lines = [graph.unknown_key_message(key) for key in missing[:_MAX_SUGGESTED]]
    lines += [f"no asset has key {key.to_user_string()!r}." for key in missing[_MAX_SUGGESTED:]]
    fix = "Check the spelling, or add the asset to Definitions(assets=[...])."
    if len(lines) == 1:
        return f"the asset selection names an undefined key: {lines[0]} {fix}"
    listed = "\n".join(f"  - {line}" for line in lines)
    return f"the asset selection names {len(lines)} undefined keys:\n{listed}\n{fix}"


def _filter(
    resolution: _Resolution, include_sources: bool, keep: Callable[[ManifestAsset], bool]
) -> set[AssetKey]:
    return {
        asset.key
        for asset in resolution.graph.assets
        if (include_sources or asset.is_executable) and keep(asset)
    }


def _check_depth(depth: int | None) -> None:
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise SelectionError(
            f"traversal depth {depth!r} is not valid: pass a whole number >= 0, or None for all"
        )


@lru_cache(maxsize=512)
def _wildcard_pattern(pattern: str) -> re.Pattern[str]:
    """Compiles a ``*`` wildcard once; ``*`` matches any characters, ``/`` included."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


# The syntax module builds the node classes above, so it is imported once they exist:
# loading it here (not on the first `from_string`) keeps that first call fast.
