"""Requests to change the keys of a dynamic partitions definition, as sensors return them.

Pure values: the sensor daemon (or a test) applies them to the instance. Dagster's names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from arco_flow.core.errors import DefinitionError

__all__ = ["AddDynamicPartitionsRequest", "DeleteDynamicPartitionsRequest"]


def _check(kind: str, name: object, keys: object) -> tuple[str, ...]:
    if not isinstance(name, str) or not name:
        raise DefinitionError(
            f"{kind} needs the name of a dynamic partitions definition, got {name!r}"
        )
    if isinstance(keys, str) or not isinstance(keys, Sequence):
        raise DefinitionError(
            f"{kind} for {name!r} takes a list of partition keys, got {keys!r}; write e.g. "
            f"{kind}({name!r}, ['a', 'b'])"
        )
    bad = [key for key in keys if not isinstance(key, str)]
    if bad:
        raise DefinitionError(f"{kind} for {name!r}: partition keys must be strings, got {bad!r}")
    return tuple(keys)


@dataclass(frozen=True, slots=True)
class AddDynamicPartitionsRequest:
    """Add keys to a dynamic partitions definition (Dagster's name).

    Raises:
        DefinitionError: The name is empty or the keys are not a list of strings.
    """

    partitions_def_name: str
    partition_keys: Sequence[str]

    def __post_init__(self) -> None:
        keys = _check(type(self).__name__, self.partitions_def_name, self.partition_keys)
        object.__setattr__(self, "partition_keys", keys)


@dataclass(frozen=True, slots=True)
class DeleteDynamicPartitionsRequest:
    """Delete keys from a dynamic partitions definition (Dagster's name).

    Raises:
        DefinitionError: The name is empty or the keys are not a list of strings.
    """

    partitions_def_name: str
    partition_keys: Sequence[str]

    def __post_init__(self) -> None:
        keys = _check(type(self).__name__, self.partitions_def_name, self.partition_keys)
        object.__setattr__(self, "partition_keys", keys)
