"""IO managers: how asset values are stored and loaded between tasks.

The protocol (`IOManager` with `handle_output` / `load_input`), its contexts, and two
implementations: `FilesystemIOManager` (pickles, one file per asset and partition, written
atomically so a crash never leaves half a file) and `InMemoryIOManager`. Nothing here does
I/O until the worker calls a method.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from arco_flow.core.errors import ArcoError
from arco_flow.core.keys import AssetKey
from arco_flow.sdk.context import ContextLogger
from arco_flow.sdk.resource_map import Resources

__all__ = [
    "IOManager",
    "InMemoryIOManager",
    "InputContext",
    "OutputContext",
    "StoredValueNotFoundError",
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
    ) -> None:
        self.asset_key = asset_key
        self.definition_metadata = dict(definition_metadata or {})
        self._partition_key = partition_key
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
        """Whether the value is for one partition."""
        return self._partition_key is not None

    @property
    def partition_key(self) -> str:
        """The partition being stored or loaded."""
        if self._partition_key is None:
            raise ArcoError(f"{self._describe()} has no partition in this run")
        return self._partition_key

    @property
    def asset_partition_key(self) -> str:
        """Dagster's name for `partition_key`."""
        return self.partition_key


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
    ) -> None:
        super().__init__(
            asset_key=asset_key,
            definition_metadata=definition_metadata,
            partition_key=partition_key,
            resources=resources,
            log=log,
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
        """The key's parts, plus the partition when there is one."""
        parts = list(self.asset_key.path)
        return [*parts, self._partition_key] if self._partition_key is not None else parts


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
    ) -> None:
        super().__init__(
            asset_key=asset_key,
            definition_metadata=definition_metadata,
            partition_key=partition_key,
            resources=resources,
            log=log,
        )
        self.name = name
        self.upstream_output = upstream_output

    def _describe(self) -> str:
        return f"input {self.name!r}"

    def get_asset_identifier(self) -> list[str]:
        """The upstream key's parts, plus the partition when there is one."""
        return self.upstream_output.get_asset_identifier()


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
        """Keeps `obj` in memory."""
        self.values[tuple(context.get_asset_identifier())] = obj

    def load_input(self, context: InputContext) -> Any:
        """Returns the kept value."""
        identifier = tuple(context.get_asset_identifier())
        try:
            return self.values[identifier]
        except KeyError:
            raise StoredValueNotFoundError(
                f"input {context.name!r} needs the value of asset "
                f"{context.asset_key.to_user_string()!r}, which this in-memory IO manager "
                "does not hold: select the upstream asset in the same run"
            ) from None
