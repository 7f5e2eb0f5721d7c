"""`StaticPartitionMapping`: an explicit table from upstream keys to downstream keys.

Pure. The table is checked against both definitions' keys, and then used in both
directions on key lists (static definitions are small).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from datetime import datetime

from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions._definition import PartitionsDefinition
from arco_flow.core.partitions._mapping import (
    PartitionMapping,
    UpstreamPartitionsResult,
    check_subset,
    incompatible_error,
)
from arco_flow.core.partitions._space import closest_key
from arco_flow.core.partitions._static import StaticPartitionsDefinition
from arco_flow.core.partitions._subset import PartitionsSubset
from arco_flow.core.partitions._values import DynamicPartitionsStore

__all__ = ["StaticPartitionMapping"]


class StaticPartitionMapping(PartitionMapping):
    """Maps partitions between two static definitions by an explicit table.

    Args:
        downstream_partition_keys_by_upstream_partition_key: For each upstream key, the
            downstream key or keys that depend on it.

    Raises:
        PartitionError: The table is not a mapping of key strings to keys.
    """

    __slots__ = ("_downstream", "_upstream")
    _downstream: dict[str, frozenset[str]]
    _upstream: dict[str, frozenset[str]]

    def __init__(
        self,
        downstream_partition_keys_by_upstream_partition_key: Mapping[str, str | Collection[str]],
    ) -> None:
        table = downstream_partition_keys_by_upstream_partition_key
        if not isinstance(table, Mapping):
            raise PartitionError(
                "StaticPartitionMapping takes a mapping of upstream keys to downstream keys, "
                f"got {table!r}"
            )
        downstream: dict[str, frozenset[str]] = {}
        for up_key, down_keys in table.items():
            targets = frozenset([down_keys] if isinstance(down_keys, str) else down_keys)
            if not isinstance(up_key, str) or not all(isinstance(k, str) for k in targets):
                raise PartitionError(
                    f"StaticPartitionMapping: {up_key!r} -> {down_keys!r} is not key strings"
                )
            downstream[up_key] = targets
        upstream: dict[str, set[str]] = {}
        for up_key, targets in downstream.items():
            for down_key in targets:
                upstream.setdefault(down_key, set()).add(up_key)
        object.__setattr__(self, "_downstream", downstream)
        object.__setattr__(self, "_upstream", {k: frozenset(v) for k, v in upstream.items()})

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("StaticPartitionMapping is immutable")

    @property
    def downstream_partition_keys_by_upstream_partition_key(self) -> dict[str, frozenset[str]]:
        """The table, every value a set of downstream keys."""
        return dict(self._downstream)

    def _identity(self) -> Hashable:
        return tuple(sorted((k, tuple(sorted(v))) for k, v in self._downstream.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StaticPartitionMapping) and other._identity() == self._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        shown = {k: sorted(v) for k, v in sorted(self._downstream.items())[:5]}
        more = f" ({len(self._downstream)} upstream keys)" if len(self._downstream) > 5 else ""
        return f"StaticPartitionMapping({shown}{more})"

    def validate_partition_mapping(
        self,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> None:
        if not isinstance(upstream_partitions_def, StaticPartitionsDefinition) or not isinstance(
            downstream_partitions_def, StaticPartitionsDefinition
        ):
            raise incompatible_error(
                self,
                upstream_partitions_def,
                downstream_partitions_def,
                "both must be StaticPartitionsDefinitions",
            )
        problems = _unknown(self._downstream, upstream_partitions_def, "upstream")
        problems += _unknown(self._upstream, downstream_partitions_def, "downstream")
        if problems:
            raise incompatible_error(
                self, upstream_partitions_def, downstream_partitions_def, "; ".join(problems)
            )

    def get_upstream_mapped_partitions_result_for_partitions(
        self,
        downstream_partitions_subset: PartitionsSubset | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> UpstreamPartitionsResult:
        self.validate_partition_mapping(upstream_partitions_def, downstream_partitions_def)
        check_subset(self, downstream_partitions_subset, downstream_partitions_def, "downstream")
        up = upstream_partitions_def.resolve(current_time)
        keys = {
            up_key
            for down_key in (downstream_partitions_subset or ())
            for up_key in self._upstream.get(down_key, ())
        }
        return UpstreamPartitionsResult(
            PartitionsSubset(up, up.ranges_of(keys)), PartitionsSubset(up)
        )

    def get_downstream_partitions_for_partitions(
        self,
        upstream_partitions_subset: PartitionsSubset,
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsStore | None = None,
    ) -> PartitionsSubset:
        self.validate_partition_mapping(upstream_partitions_def, downstream_partitions_def)
        check_subset(self, upstream_partitions_subset, upstream_partitions_def, "upstream")
        down = downstream_partitions_def.resolve(current_time)
        keys = {
            down_key
            for up_key in upstream_partitions_subset
            for down_key in self._downstream.get(up_key, ())
        }
        return PartitionsSubset(down, down.ranges_of(keys))


def _unknown(
    table: Mapping[str, Collection[str]], definition: StaticPartitionsDefinition, side: str
) -> list[str]:
    known = set(definition.partition_keys)
    problems = []
    for key in sorted(set(table) - known):
        hint = closest_key(key, definition.partition_keys)
        problems.append(
            f"{key!r} is not a key of the {side} definition"
            + (f" (did you mean {hint!r}?)" if hint else "")
        )
    return problems
