"""IO managers: how asset values are stored and loaded between tasks.

The protocol (`IOManager` with `handle_output` / `load_input`), its contexts, and two
implementations: `FilesystemIOManager` (pickles, one file per asset and partition, written
atomically so a crash never leaves half a file) and `InMemoryIOManager`. Nothing here does
I/O until the worker calls a method.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from arco_flow.core.errors import ArcoError, DefinitionError
from arco_flow.core.keys import AssetKey
from arco_flow.sdk.context import ContextLogger
from arco_flow.sdk.partition_scope import PartitionScope
from arco_flow.sdk.resource_map import Resources

if TYPE_CHECKING:
    from arco_flow.core.partitions import PartitionKeyRange, TimeWindow

__all__ = [
    "IOManager",
    "InMemoryIOManager",
    "InputContext",
    "OutputContext",
    "StoredValueNotFoundError",
    "values_by_partition",
]


class StoredValueNotFoundError(ArcoError, LookupError):
    """An input's upstream value was never stored by its IO manager."""

    code = "ARCO710"


class _IOContext:
    """What output and input contexts share: the asset, its partition, resources, log."""

    def __init__(
        self,
        *,
        asset_key: AssetKey,
        definition_metadata: Mapping[str, Any] | None,
        partition_key: str | None,
        resources: Mapping[str, Any] | None,
        log: ContextLogger | None,
        partition_scope: PartitionScope | None = None,
    ) -> None:
        self.asset_key = asset_key
        self.definition_metadata = dict(definition_metadata or {})
        if partition_scope is None and partition_key is not None:
            partition_scope = PartitionScope(key=partition_key)
        self._scope = partition_scope
        self._partition_key = partition_scope.key if partition_scope is not None else None
        self.resources = Resources(resources or {})
        self.log = log or ContextLogger()

    def _describe(self) -> str:
        return f"asset {self.asset_key.to_user_string()!r}"

    @property
    def metadata(self) -> dict[str, Any]:
        """The definition metadata (Dagster's older name)."""
        return self.definition_metadata

    @property
    def has_asset_key(self) -> bool:
        """Always True: every value here belongs to an asset."""
        return True

    @property
    def has_partition_key(self) -> bool:
        """Whether the value is for one partition (False for a range of several)."""
        return self._partition_key is not None

    @property
    def has_asset_partitions(self) -> bool:
        """Whether the value is for one partition or a range of them."""
        return self._scope is not None

    def _partition_scope(self) -> PartitionScope:
        if self._scope is None:
            raise ArcoError(f"{self._describe()} has no partition in this run")
        return self._scope

    @property
    def partition_key(self) -> str:
        """The partition being stored or loaded.

        Raises:
            ArcoError: the value has no partition, or is for a range of several.
        """
        scope = self._partition_scope()
        if scope.key is None:
            raise ArcoError(
                f"{self._describe()} covers {scope.count()} partitions in this run, so it has "
                "no single partition key; use asset_partition_keys or asset_partition_key_range"
            )
        return scope.key

    @property
    def asset_partition_key(self) -> str:
        """Dagster's name for `partition_key`."""
        return self.partition_key

    @property
    def asset_partition_keys(self) -> list[str]:
        """Every partition of the value, in order."""
        return self._partition_scope().keys()

    @property
    def asset_partition_key_range(self) -> PartitionKeyRange:
        """The partitions of the value as an inclusive key range."""
        return self._partition_scope().partition_key_range()

    @property
    def asset_partitions_time_window(self) -> TimeWindow:
        """From the start of the value's first partition to the end of its last."""
        return self._partition_scope().time_window(self._describe())


class OutputContext(_IOContext):
    """What an IO manager knows of an output it stores."""

    def __init__(
        self,
        *,
        asset_key: AssetKey,
        name: str = "result",
        run_id: str = "",
        node_name: str = "",
        definition_metadata: Mapping[str, Any] | None = None,
        partition_key: str | None = None,
        resources: Mapping[str, Any] | None = None,
        log: ContextLogger | None = None,
        partition_scope: PartitionScope | None = None,
    ) -> None:
        super().__init__(
            asset_key=asset_key,
            definition_metadata=definition_metadata,
            partition_key=partition_key,
            resources=resources,
            log=log,
            partition_scope=partition_scope,
        )
        self.name = name
        self.run_id = run_id
        self.step_key = node_name
        self._added: dict[str, Any] = {}

    def add_output_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Adds metadata to the materialization being recorded."""
        self._added.update(metadata)

    def consume_added_metadata(self) -> dict[str, Any]:
        """Metadata added by the IO manager (read by the worker)."""
        added, self._added = self._added, {}
        return added

    def get_asset_identifier(self) -> list[str]:
        """The key's parts, plus the partition when there is one.

        Raises:
            ArcoError: the value covers a range of partitions: it has one identifier per
                partition (see `values_by_partition`).
        """
        parts = list(self.asset_key.path)
        if self._partition_key is not None:
            return [*parts, self._partition_key]
        if self._scope is not None:
            raise ArcoError(
                f"{self._describe()} covers {self._scope.count()} partitions in this run, so "
                "it has one identifier per partition: store each value of "
                "values_by_partition(context, obj) under [*asset_key.path, partition_key]"
            )
        return parts


class InputContext(_IOContext):
    """What an IO manager knows of an input it loads."""

    def __init__(
        self,
        *,
        name: str,
        asset_key: AssetKey,
        upstream_output: OutputContext,
        definition_metadata: Mapping[str, Any] | None = None,
        partition_key: str | None = None,
        resources: Mapping[str, Any] | None = None,
        log: ContextLogger | None = None,
        partition_scope: PartitionScope | None = None,
    ) -> None:
        super().__init__(
            asset_key=asset_key,
            definition_metadata=definition_metadata,
            partition_key=partition_key,
            resources=resources,
            log=log,
            partition_scope=partition_scope,
        )
        self.name = name
        self.upstream_output = upstream_output

    def _describe(self) -> str:
        return f"input {self.name!r}"

    def get_asset_identifier(self) -> list[str]:
        """The upstream key's parts, plus the partition when there is one."""
        return self.upstream_output.get_asset_identifier()


def values_by_partition(context: OutputContext, obj: Any) -> dict[str, Any]:
    """The value of each partition an output covers.

    For one partition (or none) that is `obj` under its key (``""`` for none). For a range,
    `obj` must be a mapping from each partition key of the range to its value: Dagster's
    filesystem IO manager refuses such outputs; Arco Flow stores each key's value.

    Raises:
        DefinitionError: a range output is not a mapping, or its keys are not exactly the
            range's keys (the message names the missing and the extra ones).
    """
    scope = context._scope
    if scope is None or scope.key is not None:
        return {context._partition_key or "": obj}
    key_range = scope.partition_key_range()
    where = (
        f"asset {context.asset_key.to_user_string()!r} runs for partitions "
        f"{key_range.start!r}...{key_range.end!r}"
    )
    if not isinstance(obj, Mapping):
        raise DefinitionError(
            f"{where}, so its body must return a dict from each partition key to that "
            f"partition's value (got {type(obj).__name__}); or return MaterializeResult() "
            "when nothing is stored"
        )
    keys = scope.keys()
    if len(obj) == len(keys) and all(key in obj for key in keys):
        return {key: obj[key] for key in keys}
    wanted = set(keys)
    missing = [key for key in keys if key not in obj]
    extra = sorted(str(key) for key in obj if key not in wanted)
    problems = []
    if missing:
        problems.append(f"missing {len(missing)}: {', '.join(map(repr, missing[:5]))}")
    if extra:
        problems.append(f"extra {len(extra)}: {', '.join(map(repr, extra[:5]))}")
    raise DefinitionError(
        f"{where}, so its body must return a dict with exactly those {len(keys)} partition "
        f"keys; {'; '.join(problems)}"
    )


class IOManager(ABC):
    """Stores the values that asset bodies return and loads them for downstream bodies."""

    @abstractmethod
    def handle_output(self, context: OutputContext, obj: Any) -> None:
        """Stores `obj`, the value of `context.asset_key`."""

    @abstractmethod
    def load_input(self, context: InputContext) -> Any:
        """Loads the value of `context.asset_key` (the upstream asset)."""


class InMemoryIOManager(IOManager):
    """Keeps values in a dict; for tests and `materialize_to_memory`."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, ...], Any] = {}

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        """Keeps `obj` in memory (each partition's value apart, for a range)."""
        if not context.has_asset_partitions or context.has_partition_key:
            self.values[tuple(context.get_asset_identifier())] = obj
            return
        path = tuple(context.asset_key.path)
        for key, value in values_by_partition(context, obj).items():
            self.values[(*path, key)] = value

    def load_input(self, context: InputContext) -> Any:
        """Returns the kept value (a dict by partition key for a range of partitions)."""
        if context.has_asset_partitions and not context.has_partition_key:
            path = tuple(context.asset_key.path)
            return {key: self._load(context, (*path, key)) for key in context.asset_partition_keys}
        return self._load(context, tuple(context.get_asset_identifier()))

    def _load(self, context: InputContext, identifier: tuple[str, ...]) -> Any:
        try:
            return self.values[identifier]
        except KeyError:
            raise StoredValueNotFoundError(
                f"input {context.name!r} needs the value of asset "
                f"{context.asset_key.to_user_string()!r}, which this in-memory IO manager "
                "does not hold: select the upstream asset in the same run"
            ) from None
