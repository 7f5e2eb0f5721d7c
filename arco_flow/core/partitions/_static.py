"""Static and dynamic partitions: definitions whose partitions are a list of keys.

Pure. A static definition carries its keys; a dynamic one has only a name, and its keys are
read from a `DynamicPartitionsStore` passed in by the caller (the instance keeps them).
Both index their keys by position in the list.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime

from arco_flow.core.errors import DefinitionError, PartitionError
from arco_flow.core.partitions._definition import PartitionsDefinition
from arco_flow.core.partitions._requests import (
    AddDynamicPartitionsRequest,
    DeleteDynamicPartitionsRequest,
)
from arco_flow.core.partitions._space import KeySpace, ListKeySpace
from arco_flow.core.partitions._values import DynamicPartitionsStore

__all__ = ["DynamicPartitionsDefinition", "StaticPartitionsDefinition", "key_problems"]

# As Dagster: "..." separates the ends of a key range in the UI; control characters do not show.
_INVALID_SUBSTRINGS = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0")


def key_problems(partition_keys: Sequence[object]) -> list[str]:
    """Every problem of a list of partition keys: non-strings, bad substrings, duplicates."""
    problems = []
    seen: set[str] = set()
    duplicates: list[str] = []
    for key in partition_keys:
        if not isinstance(key, str):
            problems.append(f"{key!r} is not a string")
            continue
        bad = [s for s in _INVALID_SUBSTRINGS if s in key]
        if bad:
            problems.append(f"{key!r} contains {', '.join(repr(s) for s in bad)}")
        if key in seen and key not in duplicates:
            duplicates.append(key)
        seen.add(key)
    if duplicates:
        problems.append(f"duplicate keys {duplicates!r}; each key must appear once")
    return problems


class StaticPartitionsDefinition(PartitionsDefinition):
    """A fixed list of partition keys (Dagster's `StaticPartitionsDefinition`).

    Args:
        partition_keys: The keys, in order; unique strings without ``...`` or control
            characters.

    Raises:
        DefinitionError: The keys are not valid; every problem is listed.
    """

    __slots__ = ("_index", "_keys")
    _keys: tuple[str, ...]
    _index: dict[str, int]

    def __init__(self, partition_keys: Sequence[str]) -> None:
        if isinstance(partition_keys, str) or not isinstance(partition_keys, Sequence):
            raise DefinitionError(
                "StaticPartitionsDefinition takes a list of key strings, got "
                f"{partition_keys!r}; write e.g. StaticPartitionsDefinition(['a', 'b'])"
            )
        problems = key_problems(partition_keys)
        if problems:
            raise DefinitionError(
                "StaticPartitionsDefinition has invalid partition keys: " + "; ".join(problems)
            )
        self._set("_keys", tuple(partition_keys))
        self._set("_index", dict(zip(self._keys, range(len(self._keys)), strict=True)))

    @property
    def partition_keys(self) -> tuple[str, ...]:
        """The keys, in order."""
        return self._keys

    def _identity(self) -> tuple[Hashable, ...]:
        return ("static", self._keys)

    def __repr__(self) -> str:
        shown = ", ".join(repr(k) for k in self._keys[:5])
        more = f", ... {len(self._keys)} keys" if len(self._keys) > 5 else ""
        return f"StaticPartitionsDefinition([{shown}{more}])"

    def resolve(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> KeySpace:
        """This definition as a `KeySpace`; its keys do not depend on the time."""
        return ListKeySpace(self, current_time, self._keys, self._index)


class DynamicPartitionsDefinition(PartitionsDefinition):
    """Partitions whose keys are added and deleted at run time and kept by the instance.

    Args:
        partition_fn: Not supported (deprecated in Dagster); give a `name` instead.
        name: The name the instance keeps the keys under.

    Raises:
        DefinitionError: There is no name, or a `partition_fn` was given.
    """

    __slots__ = ("_last_space", "name")
    name: str
    _last_space: ListKeySpace | None

    def __init__(self, partition_fn: None = None, name: str | None = None) -> None:
        if partition_fn is not None:
            raise DefinitionError(
                "DynamicPartitionsDefinition(partition_fn=...) is not supported: give it a "
                "name and add keys with instance.add_dynamic_partitions(name, keys)"
            )
        if not isinstance(name, str) or not name:
            raise DefinitionError(
                f"DynamicPartitionsDefinition needs a name (a non-empty string), got {name!r}; "
                "write e.g. DynamicPartitionsDefinition(name='customers')"
            )
        self._set("name", name)
        self._set("_last_space", None)

    def _identity(self) -> tuple[Hashable, ...]:
        return ("dynamic", self.name)

    def __repr__(self) -> str:
        return f"DynamicPartitionsDefinition(name={self.name!r})"

    def build_add_request(self, partition_keys: Sequence[str]) -> AddDynamicPartitionsRequest:
        """A request that adds `partition_keys` to this definition (for a `SensorResult`).

        Raises:
            DefinitionError: The keys are not a list of strings.
        """
        return AddDynamicPartitionsRequest(self.name, partition_keys)

    def build_delete_request(self, partition_keys: Sequence[str]) -> DeleteDynamicPartitionsRequest:
        """A request that deletes `partition_keys` from this definition (for a `SensorResult`).

        Raises:
            DefinitionError: The keys are not a list of strings.
        """
        return DeleteDynamicPartitionsRequest(self.name, partition_keys)

    def resolve(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> KeySpace:
        """This definition with the keys `dynamic_partitions_store` holds for its name.

        Raises:
            PartitionError: No store was given.
        """
        if dynamic_partitions_store is None:
            raise PartitionError(
                f"{self!r} keeps its keys in the instance: pass dynamic_partitions_store= "
                "(the instance, or an InMemoryDynamicPartitionsStore)"
            )
        keys = dynamic_partitions_store.get_dynamic_partitions(self.name)
        last = self._last_space
        if last is not None and last.keys is keys:
            # The same key list again (stores hand out an unchanged list as is): keep its
            # index, which may have cost a tenth of a second to build for a million keys.
            return last
        fix = f" Add it first with instance.add_dynamic_partitions({self.name!r}, [key])."
        space = ListKeySpace(self, current_time, keys, fix=fix)
        self._set("_last_space", space)
        return space
