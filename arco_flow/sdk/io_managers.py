"""IO managers: how asset values are stored and loaded between tasks.

The protocol (`IOManager` with `handle_output` / `load_input`), its contexts, and two
implementations: `FilesystemIOManager` (pickles, one file per asset and partition, written
atomically so a crash never leaves half a file) and `InMemoryIOManager`. Nothing here does
I/O until the worker calls a method.

Quarantine: an output context with ``quarantine=True`` asks for the value to go to a
location apart from the normal one (``get_asset_identifier()`` starts with
``["_quarantine", run_id]``). An IO manager declares that it honours this, and can drop a
quarantined value, by implementing `QuarantiningIOManager` (``delete_quarantined``);
`promote_quarantined` moves a value from quarantine to the normal location through any such
manager.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from arco_flow.core.errors import ArcoError, DefinitionError
from arco_flow.core.keys import AssetKey
from arco_flow.sdk.context import ContextLogger
from arco_flow.sdk.partition_scope import PartitionScope
from arco_flow.sdk.resource_map import Resources

if TYPE_CHECKING:
    from arco_flow.core.partitions import PartitionKeyRange, TimeWindow

__all__ = [
    "QUARANTINE_FOLDER",
    "IOManager",
    "InMemoryIOManager",
    "InputContext",
    "OutputContext",
    "QuarantiningIOManager",
    "StoredValueNotFoundError",
    "promote_quarantined",
    "supports_quarantine",
    "values_by_partition",
]

QUARANTINE_FOLDER = "_quarantine"
"""The first part of a quarantined value's identifier: ``_quarantine/<run_id>/<key>...``."""


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
        quarantine: bool = False,
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
        self.quarantine = quarantine
        """Whether the value goes to (or comes from) quarantine rather than the normal
        location: a blocking check on it failed, or it waits for release or discard."""
        self._added: dict[str, Any] = {}

    def add_output_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Adds metadata to the materialization being recorded."""
        self._added.update(metadata)

    def consume_added_metadata(self) -> dict[str, Any]:
        """Metadata added by the IO manager (read by the worker)."""
        added, self._added = self._added, {}
        return added

    def get_asset_location(self) -> list[str]:
        """The key's parts, after ``_quarantine/<run_id>`` for a quarantined value.

        Under it each partition of a range has its own identifier (see `values_by_partition`).
        """
        if self.quarantine:
            return [QUARANTINE_FOLDER, self.run_id, *self.asset_key.path]
        return list(self.asset_key.path)

    def get_asset_identifier(self) -> list[str]:
        """The key's parts, plus the partition when there is one.

        A quarantined value's identifier starts with ``["_quarantine", run_id]``.

        Raises:
            ArcoError: the value covers a range of partitions: it has one identifier per
                partition (see `values_by_partition`).
        """
        parts = self.get_asset_location()
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


@runtime_checkable
class QuarantiningIOManager(Protocol):
    """An IO manager that can keep values in quarantine.

    Implementing `delete_quarantined` declares that `handle_output` and `load_input` honour
    ``context.quarantine`` (``upstream_output.quarantine`` for an input): a quarantined
    value is stored apart from the normal one, at its identifier (``get_asset_identifier``
    starts with ``_quarantine/<run_id>``), and never overwrites the normal value.
    """

    def delete_quarantined(self, context: OutputContext) -> None:
        """Drops the quarantined value `context` names (nothing when there is none)."""


def supports_quarantine(manager: Any) -> bool:
    """Whether `manager` is an IO manager that can keep values in quarantine."""
    return isinstance(manager, IOManager) and isinstance(manager, QuarantiningIOManager)


def promote_quarantined(manager: IOManager, context: OutputContext) -> dict[str, Any]:
    """Moves a quarantined value to its normal location, through `manager`.

    Loads the value from quarantine, stores it as a normal output, then drops the
    quarantined copy (a crash in between leaves both, and a second promotion redoes it).

    Args:
        manager: an IO manager that supports quarantine.
        context: the quarantined output (``quarantine=True``; one partition at most).

    Returns:
        The metadata the IO manager added while storing the value normally.

    Raises:
        StoredValueNotFoundError: the quarantine holds no such value.
    """
    assert context.quarantine
    assert isinstance(manager, QuarantiningIOManager)
    loading = InputContext(
        name=context.name,
        asset_key=context.asset_key,
        upstream_output=context,
        definition_metadata=context.definition_metadata,
        partition_key=context._partition_key,
        resources=context.resources,
        log=context.log,
    )
    value = manager.load_input(loading)
    target = OutputContext(
        asset_key=context.asset_key,
        name=context.name,
        run_id=context.run_id,
        node_name=context.step_key,
        definition_metadata=context.definition_metadata,
        partition_key=context._partition_key,
        resources=context.resources,
        log=context.log,
    )
    manager.handle_output(target, value)
    manager.delete_quarantined(context)
    return target.consume_added_metadata()


class InMemoryIOManager(IOManager):
    """Keeps values in a dict; for tests and `materialize_to_memory`.

    Supports quarantine: a quarantined value is kept under its own identifier.
    """

    def __init__(self) -> None:
        self.values: dict[tuple[str, ...], Any] = {}

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        """Keeps `obj` in memory (each partition's value apart, for a range)."""
        if not context.has_asset_partitions or context.has_partition_key:
            self.values[tuple(context.get_asset_identifier())] = obj
            return
        path = tuple(context.get_asset_location())
        for key, value in values_by_partition(context, obj).items():
            self.values[(*path, key)] = value

    def delete_quarantined(self, context: OutputContext) -> None:
        """Drops the quarantined value (each partition's, for a range)."""
        if not context.has_asset_partitions or context.has_partition_key:
            self.values.pop(tuple(context.get_asset_identifier()), None)
            return
        path = tuple(context.get_asset_location())
        for key in context.asset_partition_keys:
            self.values.pop((*path, key), None)

    def load_input(self, context: InputContext) -> Any:
        """Returns the kept value (a dict by partition key for a range of partitions)."""
        if context.has_asset_partitions and not context.has_partition_key:
            path = tuple(context.upstream_output.get_asset_location())
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
