"""Small values of the partitions vocabulary: key ranges, time windows, the dynamic-key store.

Pure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from arco_flow.core.errors import PartitionError

__all__ = [
    "DynamicPartitionsStore",
    "InMemoryDynamicPartitionsStore",
    "PartitionKeyRange",
    "TimeWindow",
]


@dataclass(frozen=True, slots=True)
class PartitionKeyRange:
    """The partitions from `start` to `end`, both included (Dagster's `PartitionKeyRange`).

    For a multi-partitions definition the range is the rectangle of every key whose value in
    each dimension lies between that dimension's values in `start` and `end`, as in Dagster.
    """

    start: str
    end: str

    def __post_init__(self) -> None:
        if not isinstance(self.start, str) or not isinstance(self.end, str):
            raise PartitionError(
                f"a PartitionKeyRange is two partition key strings, got {self.start!r} "
                f"and {self.end!r}"
            )

    def __iter__(self) -> Iterator[str]:
        """``start, end = key_range``, as Dagster's named tuple allows."""
        return iter((self.start, self.end))


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """The time span ``[start, end)`` of a time-window partition, in its definition's zone."""

    start: datetime
    end: datetime

    def __iter__(self) -> Iterator[datetime]:
        """``start, end = window``, as Dagster's named tuple allows."""
        return iter((self.start, self.end))


@runtime_checkable
class DynamicPartitionsStore(Protocol):
    """Where the keys of dynamic partitions definitions are kept (the instance implements it)."""

    def get_dynamic_partitions(self, partitions_def_name: str) -> Sequence[str]:
        """The keys of the named definition, in the order they were added."""
        ...

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        """Whether the named definition has `partition_key`."""
        ...


class InMemoryDynamicPartitionsStore:
    """A `DynamicPartitionsStore` held in memory: for tests and for pure callers.

    Each name's keys are a tuple replaced on every change, so a key list already handed out
    never changes under its holder.

    Args:
        keys_by_name: The keys of each dynamic definition, in the order they were added.
    """

    def __init__(self, keys_by_name: Mapping[str, Sequence[str]] | None = None) -> None:
        self._keys: dict[str, tuple[str, ...]] = {
            name: tuple(dict.fromkeys(keys)) for name, keys in (keys_by_name or {}).items()
        }

    def get_dynamic_partitions(self, partitions_def_name: str) -> Sequence[str]:
        """The keys of the named definition, in the order they were added."""
        return self._keys.get(partitions_def_name, ())

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        """Whether the named definition has `partition_key`."""
        return partition_key in self._keys.get(partitions_def_name, ())

    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> None:
        """Adds keys to the named definition; keys it already has stay where they are."""
        keys = self._keys.get(partitions_def_name, ())
        known = set(keys)
        added = tuple(k for k in dict.fromkeys(partition_keys) if k not in known)
        self._keys[partitions_def_name] = keys + added

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        """Removes one key from the named definition, if it has it."""
        keys = self._keys.get(partitions_def_name, ())
        self._keys[partitions_def_name] = tuple(k for k in keys if k != partition_key)
