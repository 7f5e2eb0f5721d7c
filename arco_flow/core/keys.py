"""Asset and check keys: the names everything else is indexed by.

Pure. A key is a tuple of path parts; its user string joins them with ``/``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeAlias

from arco_flow.core.errors import DefinitionError

__all__ = ["AssetCheckKey", "AssetKey", "CoercibleToAssetKey", "is_valid_name"]

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-.]*$")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9_]+$")
# Parts already validated: graphs of 10,000+ assets repeat each part many times.
_VALID_PARTS: set[str] = set()
_VALID_PARTS_LIMIT = 1_000_000
_KEYS_BY_STRING: dict[str, AssetKey] = {}


def is_valid_name(name: str) -> bool:
    """Whether `name` is a valid asset, op, job or check name (``[A-Za-z0-9_]+``)."""
    return _IDENTIFIER_RE.match(name) is not None


class AssetKey(tuple[str, ...]):
    """The key of an asset: a non-empty sequence of path parts.

    ``AssetKey("orders")``, ``AssetKey(["warehouse", "orders"])``; the user string of the
    second is ``"warehouse/orders"``. A key is a tuple of its parts (as Dagster's once was),
    so that hashing, equality and ordering run in C: graphs of 10,000+ assets hash keys
    millions of times.
    """

    __slots__ = ()

    def __new__(cls, path: str | Sequence[str]) -> AssetKey:
        """Validates the parts of `path` (one string, or a sequence of strings)."""
        parts = (path,) if isinstance(path, str) else tuple(path)
        if not parts:
            raise DefinitionError("an asset key needs at least one part, got an empty path")
        for part in parts:
            if part.__class__ is str and part in _VALID_PARTS:
                continue
            if not isinstance(part, str) or not _NAME_RE.match(part):
                raise DefinitionError(
                    f"asset key part {part!r} of {list(parts)!r} is not valid: parts are "
                    "non-empty strings of letters, digits, '_', '-' and '.', and cannot "
                    "contain '/'. Use a list for a path, e.g. AssetKey(['raw', 'orders'])."
                )
            if len(_VALID_PARTS) < _VALID_PARTS_LIMIT:
                _VALID_PARTS.add(part)
        return tuple.__new__(cls, parts)

    @classmethod
    def _trusted(cls, parts: tuple[str, ...]) -> AssetKey:
        """Builds a key from parts already validated (hot paths of the planner)."""
        return tuple.__new__(cls, parts)

    @property
    def path(self) -> tuple[str, ...]:
        """The key's parts."""
        return self

    def __repr__(self) -> str:
        return f"AssetKey({list(self)!r})"

    def __str__(self) -> str:
        return self.to_user_string()

    def __reduce__(self) -> tuple[type[AssetKey], tuple[tuple[str, ...]]]:
        return (AssetKey, (tuple(self),))

    def to_user_string(self) -> str:
        """The ``"a/b"`` form users type and read."""
        return "/".join(self)

    def to_string(self) -> str:
        """The user string; kept for Dagster code that calls ``to_string()``."""
        return self.to_user_string()

    @staticmethod
    def from_user_string(value: str) -> AssetKey:
        """Parses the ``"a/b"`` form."""
        # Keys are immutable, so one object per string serves every dependency that names
        # it: fewer allocations on graphs where each key is named by several dependents.
        key = _KEYS_BY_STRING.get(value)
        if key is None:
            key = AssetKey(value.split("/"))
            if len(_KEYS_BY_STRING) < _VALID_PARTS_LIMIT:
                _KEYS_BY_STRING[value] = key
        return key

    @staticmethod
    def from_coercible(value: CoercibleToAssetKey) -> AssetKey:
        """Accepts an `AssetKey`, a ``"a/b"`` string or a sequence of parts."""
        if isinstance(value, AssetKey):
            return value
        if isinstance(value, str):
            return AssetKey(value.split("/"))
        if isinstance(value, Sequence):
            return AssetKey(value)
        raise DefinitionError(
            f"{value!r} is not an asset key: pass an AssetKey, a 'a/b' string or a list of parts"
        )

    def with_prefix(self, prefix: str | Sequence[str]) -> AssetKey:
        """A key with `prefix` parts put in front of this one's."""
        parts = (prefix,) if isinstance(prefix, str) else tuple(prefix)
        return AssetKey((*parts, *self.path))

    def has_prefix(self, prefix: Sequence[str]) -> bool:
        """Whether this key's path starts with `prefix`."""
        return self.path[: len(prefix)] == tuple(prefix)

    @property
    def parent(self) -> AssetKey:
        """The key without its last part (Dagster's ``AssetKey.parent``)."""
        if len(self.path) < 2:
            raise DefinitionError(f"asset key {self.to_user_string()!r} has no parent")
        return AssetKey._trusted(self.path[:-1])

    def with_name(self, name: str) -> AssetKey:
        """This key with its last part replaced."""
        return AssetKey((*self.path[:-1], name))


CoercibleToAssetKey: TypeAlias = AssetKey | str | Sequence[str]


class AssetCheckKey:
    """The key of an asset check: the asset it checks and the check's name."""

    __slots__ = ("_hash", "asset_key", "name")

    asset_key: AssetKey
    name: str
    _hash: int

    def __init__(self, asset_key: CoercibleToAssetKey, name: str) -> None:
        key = AssetKey.from_coercible(asset_key)
        if not is_valid_name(name):
            raise DefinitionError(
                f"check name {name!r} on asset {key.to_user_string()!r} is not valid: "
                "use letters, digits and '_'"
            )
        object.__setattr__(self, "asset_key", key)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_hash", hash((key, name)))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("AssetCheckKey is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetCheckKey):
            return NotImplemented
        return self.asset_key == other.asset_key and self.name == other.name

    def __hash__(self) -> int:
        return self._hash

    def __lt__(self, other: AssetCheckKey) -> bool:
        return (self.asset_key.path, self.name) < (other.asset_key.path, other.name)

    def __repr__(self) -> str:
        return f"AssetCheckKey(asset_key={self.asset_key!r}, name={self.name!r})"

    def __reduce__(self) -> tuple[type[AssetCheckKey], tuple[AssetKey, str]]:
        return (AssetCheckKey, (self.asset_key, self.name))

    def to_user_string(self) -> str:
        """The ``"a/b:check_name"`` form."""
        return f"{self.asset_key.to_user_string()}:{self.name}"

    def __str__(self) -> str:
        return self.to_user_string()

    @staticmethod
    def from_user_string(value: str) -> AssetCheckKey:
        """Parses the ``"a/b:check_name"`` form.

        Raises:
            DefinitionError: `value` has no ``:`` between the asset key and the name.
        """
        asset, separator, name = value.rpartition(":")
        if not separator or not asset:
            raise DefinitionError(
                f"{value!r} is not an asset check key: write 'asset/key:check_name', "
                "e.g. 'orders:no_nulls'"
            )
        return AssetCheckKey(AssetKey.from_user_string(asset), name)
