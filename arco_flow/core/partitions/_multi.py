"""Multi-partitions: the product of two partitions definitions, and its keys.

Pure. A key names one key per dimension, joined by ``|`` in dimension-name order
(``"2024-01-01|eu"`` for dimensions ``date`` and ``region``), as in Dagster. Subsets index
the product with the time dimension outermost (the other one when there is no single time
dimension), so that "a range of days times every region" is one range, and a range over
the product keeps its meaning as days pass.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar, SupportsIndex, cast, overload

from arco_flow.core.errors import DefinitionError, PartitionError
from arco_flow.core.partitions._definition import PartitionsDefinition
from arco_flow.core.partitions._multi_space import (
    MULTIPARTITION_KEY_DELIMITER,
    MultiKeySpace,
    malformed_key_error,
)
from arco_flow.core.partitions._static import (
    DynamicPartitionsDefinition,
    StaticPartitionsDefinition,
)
from arco_flow.core.partitions._time_window import TimeWindowPartitionsDefinition
from arco_flow.core.partitions._values import DynamicPartitionsStore, TimeWindow

__all__ = [
    "MultiPartitionKey",
    "MultiPartitionKeyList",
    "MultiPartitionsDefinition",
    "PartitionDimensionDefinition",
]

_INVALID_KEY_CHARACTERS = frozenset("|,[]")


class MultiPartitionKey(str):
    """A multi-dimensional partition key: a string that knows its value in each dimension.

    ``MultiPartitionKey({"region": "eu", "date": "2024-01-01"}) == "2024-01-01|eu"``.
    """

    __slots__ = ()
    _dimension_names: ClassVar[tuple[str, ...]] = ()

    def __new__(cls, keys_by_dimension: Mapping[str, str]) -> MultiPartitionKey:
        """Builds the key from each dimension's key."""
        names = tuple(sorted(keys_by_dimension))
        values = [keys_by_dimension[name] for name in names]
        if any(not isinstance(v, str) or MULTIPARTITION_KEY_DELIMITER in v for v in values):
            raise PartitionError(
                f"a MultiPartitionKey maps dimension names to key strings without '|', got "
                f"{dict(keys_by_dimension)!r}"
            )
        return str.__new__(key_class(names), MULTIPARTITION_KEY_DELIMITER.join(values))

    @property
    def keys_by_dimension(self) -> dict[str, str]:
        """Each dimension's key, by dimension name."""
        return dict(
            zip(self._dimension_names, self.split(MULTIPARTITION_KEY_DELIMITER), strict=True)
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (MultiPartitionKey, (self.keys_by_dimension,))


@lru_cache(maxsize=256)
def key_class(names: tuple[str, ...]) -> type[MultiPartitionKey]:
    """The `MultiPartitionKey` subclass that knows `names`.

    A str subclass cannot have slots of its own, and an instance dictionary would double
    the cost of writing 70,000 keys; the dimension names live on a class per name tuple
    instead, whose constructor is `str`'s own.
    """
    namespace = {
        "__slots__": (),
        "__new__": str.__new__,
        "__module__": MultiPartitionKey.__module__,
        "__qualname__": "MultiPartitionKey",
        "_dimension_names": names,
    }
    return type("MultiPartitionKey", (MultiPartitionKey,), namespace)


class MultiPartitionKeyList(list[str]):
    """Multi-partition keys held as their canonical strings, read as `MultiPartitionKey`s.

    Indexing and iteration give `MultiPartitionKey` objects, as Dagster's lists hold;
    equality, membership, ``json`` and sorting see the strings. A str subclass costs a
    second allocation and a copy per key, three times the cost of writing the key
    itself, so the objects are made when read, not when 70,000 keys are listed.
    """

    __slots__ = ("_make",)
    _make: Callable[[str], MultiPartitionKey]

    def __init__(self, keys: list[str], make: Callable[[str], MultiPartitionKey]) -> None:
        super().__init__(keys)
        self._make = make

    @overload
    def __getitem__(self, index: SupportsIndex) -> MultiPartitionKey: ...

    @overload
    def __getitem__(self, index: slice) -> MultiPartitionKeyList: ...

    def __getitem__(
        self, index: SupportsIndex | slice
    ) -> MultiPartitionKey | MultiPartitionKeyList:
        if isinstance(index, slice):
            return MultiPartitionKeyList(list.__getitem__(self, index), self._make)
        return self._make(list.__getitem__(self, index))

    def __iter__(self) -> Iterator[MultiPartitionKey]:
        return map(self._make, list.__iter__(self))


@dataclass(frozen=True, slots=True)
class PartitionDimensionDefinition:
    """One dimension of a `MultiPartitionsDefinition`."""

    name: str
    partitions_def: PartitionsDefinition


class MultiPartitionsDefinition(PartitionsDefinition):
    """The cross product of two partitions definitions (Dagster's).

    Args:
        partitions_defs: Two dimensions by name, each static, time-window or a named
            dynamic definition.

    Raises:
        DefinitionError: Not two dimensions, a dimension of another kind, or static keys
            with ``|``, ``,``, ``[`` or ``]``.
    """

    __slots__ = ("_dimensions",)
    _dimensions: tuple[PartitionDimensionDefinition, ...]

    def __init__(self, partitions_defs: Mapping[str, PartitionsDefinition]) -> None:
        if not isinstance(partitions_defs, Mapping) or len(partitions_defs) != 2:
            raise DefinitionError(
                "MultiPartitionsDefinition takes exactly two dimensions by name, e.g. "
                "{'date': DailyPartitionsDefinition(...), 'region': StaticPartitionsDefinition"
                f"([...])}}, got {partitions_defs!r}"
            )
        problems = []
        for name, definition in partitions_defs.items():
            if not isinstance(name, str) or not name or MULTIPARTITION_KEY_DELIMITER in name:
                problems.append(f"dimension name {name!r} is not a non-empty string without '|'")
            elif not isinstance(
                definition,
                StaticPartitionsDefinition
                | TimeWindowPartitionsDefinition
                | DynamicPartitionsDefinition,
            ):
                problems.append(
                    f"dimension {name!r} is {definition!r}; a dimension is a static, "
                    "time-window or dynamic partitions definition"
                )
            elif isinstance(definition, StaticPartitionsDefinition):
                bad = [k for k in definition.partition_keys if _INVALID_KEY_CHARACTERS & set(k)]
                if bad:
                    problems.append(
                        f"dimension {name!r} has keys with '|', ',', '[' or ']': {bad[:5]!r}"
                    )
        if problems:
            raise DefinitionError("MultiPartitionsDefinition: " + "; ".join(problems))
        dimensions = sorted(partitions_defs.items())
        self._set("_dimensions", tuple(PartitionDimensionDefinition(n, d) for n, d in dimensions))

    @property
    def partitions_defs(self) -> list[PartitionDimensionDefinition]:
        """The dimensions, in name order."""
        return list(self._dimensions)

    @property
    def partition_dimension_names(self) -> list[str]:
        """The dimension names, sorted."""
        return [dimension.name for dimension in self._dimensions]

    def get_partitions_def_for_dimension(self, dimension_name: str) -> PartitionsDefinition:
        """The definition of the named dimension.

        Raises:
            PartitionError: There is no such dimension.
        """
        for dimension in self._dimensions:
            if dimension.name == dimension_name:
                return dimension.partitions_def
        raise PartitionError(
            f"{self!r} has no dimension {dimension_name!r}; its dimensions are "
            f"{self.partition_dimension_names!r}"
        )

    @property
    def time_window_dimension(self) -> PartitionDimensionDefinition:
        """The one time-window dimension.

        Raises:
            PartitionError: There is not exactly one.
        """
        found = [
            d
            for d in self._dimensions
            if isinstance(d.partitions_def, TimeWindowPartitionsDefinition)
        ]
        if len(found) != 1:
            raise PartitionError(f"{self!r} does not have exactly one time-window dimension")
        return found[0]

    def _identity(self) -> tuple[Hashable, ...]:
        return ("multi", tuple((d.name, d.partitions_def) for d in self._dimensions))

    def __repr__(self) -> str:
        dims = ", ".join(f"{d.name!r}: {d.partitions_def!r}" for d in self._dimensions)
        return f"MultiPartitionsDefinition({{{dims}}})"

    def resolve(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> MultiKeySpace:
        """Both dimensions resolved as of `current_time`, indexed as their product."""
        spaces = tuple(
            d.partitions_def.resolve(current_time, dynamic_partitions_store)
            for d in self._dimensions
        )
        times = [
            isinstance(d.partitions_def, TimeWindowPartitionsDefinition) for d in self._dimensions
        ]
        outer = 1 if times == [False, True] else 0
        return MultiKeySpace(self, current_time, spaces, outer)

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> list[str]:
        """Every key, first dimension (by name) outermost, as Dagster lists them.

        The list holds the canonical key strings; its items read as `MultiPartitionKey`s.
        """
        spaces = [
            d.partitions_def.resolve(current_time, dynamic_partitions_store)
            for d in self._dimensions
        ]
        first, second = (space.keys_in(space.all_ranges()) for space in spaces)
        suffixes = [MULTIPARTITION_KEY_DELIMITER + key for key in second]
        keys: list[str] = []
        for key in first:
            keys.extend(map(key.__add__, suffixes))
        # The class's constructor is str's own (see `key_class`): it takes the key string.
        make = cast(
            "Callable[[str], MultiPartitionKey]", key_class(tuple(self.partition_dimension_names))
        )
        return MultiPartitionKeyList(keys, make)

    def get_partition_key_from_str(self, partition_key_str: str) -> MultiPartitionKey:
        """The `MultiPartitionKey` a key string stands for (not checked against the keys).

        Raises:
            PartitionError: The string does not have one key per dimension.
        """
        parts = partition_key_str.split(MULTIPARTITION_KEY_DELIMITER)
        if len(parts) != len(self._dimensions):
            raise malformed_key_error(self, partition_key_str)
        return MultiPartitionKey(dict(zip(self.partition_dimension_names, parts, strict=True)))

    def time_window_for_partition_key(self, partition_key: str) -> TimeWindow:
        """The window of the time dimension's key in `partition_key`."""
        dimension = self.time_window_dimension
        key = self.get_partition_key_from_str(partition_key).keys_by_dimension[dimension.name]
        assert isinstance(dimension.partitions_def, TimeWindowPartitionsDefinition)
        return dimension.partitions_def.time_window_for_partition_key(key)
