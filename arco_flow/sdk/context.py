"""`AssetExecutionContext`: what an asset body sees of the run it is part of.

The worker builds one per task attempt; `build_asset_context` builds one for calling a
body directly in a unit test. The context holds values only: it never reaches the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from arco_flow.core.errors import DefinitionError, ExecutionError
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.sdk.partition_scope import PartitionScope, subset_key_range, subset_time_window
from arco_flow.sdk.resource_map import Resources

if TYPE_CHECKING:
    from arco_flow.core.partitions import PartitionKeyRange, PartitionsSubset, TimeWindow

__all__ = [
    "AssetExecutionContext",
    "ContextLogger",
    "InstanceUnavailable",
    "OpExecutionContext",
    "build_asset_context",
]

LogSink = Callable[[str, str], None]

_user_logger = logging.getLogger("arco_flow.user")


class ContextLogger:
    """``context.log``: records each line as a run event and passes it to `logging`."""

    __slots__ = ("_extra", "_sink")

    def __init__(self, sink: LogSink | None = None, extra: Mapping[str, str] | None = None):
        self._sink = sink
        self._extra = dict(extra or {})

    def _log(self, level: int, name: str, message: object, *args: object) -> None:
        text = str(message) % args if args else str(message)
        if self._sink is not None:
            self._sink(name, text)
        if _user_logger.isEnabledFor(level):
            _user_logger.log(level, text, extra=self._extra)

    def debug(self, message: object, *args: object) -> None:
        """Logs at DEBUG."""
        self._log(logging.DEBUG, "DEBUG", message, *args)

    def info(self, message: object, *args: object) -> None:
        """Logs at INFO."""
        self._log(logging.INFO, "INFO", message, *args)

    def warning(self, message: object, *args: object) -> None:
        """Logs at WARNING."""
        self._log(logging.WARNING, "WARNING", message, *args)

    warn = warning

    def error(self, message: object, *args: object) -> None:
        """Logs at ERROR."""
        self._log(logging.ERROR, "ERROR", message, *args)

    def exception(self, message: object, *args: object) -> None:
        """Logs at ERROR (Dagster code calls ``exception`` inside ``except``)."""
        self._log(logging.ERROR, "ERROR", message, *args)

    def critical(self, message: object, *args: object) -> None:
        """Logs at CRITICAL."""
        self._log(logging.CRITICAL, "CRITICAL", message, *args)


class InstanceUnavailable:
    """Stands for the instance where user code cannot reach one.

    ``context.instance`` raises an `ExecutionError` with `reason` instead of handing out None.

    Args:
        reason: Why there is no instance, and what to do instead.
    """

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"InstanceUnavailable({self.reason!r})"


class AssetExecutionContext:
    """The context of one attempt of one task, as seen by an asset body."""

    def __init__(
        self,
        *,
        run_id: str,
        node_name: str,
        asset_keys: Iterable[AssetKey],
        selected_asset_keys: Iterable[AssetKey] | None = None,
        output_names_by_key: Mapping[AssetKey, str] | None = None,
        op_config: Any = None,
        resources: Mapping[str, Any] | None = None,
        log_sink: LogSink | None = None,
        retry_number: int = 0,
        job_name: str = "__asset_job",
        run_tags: Mapping[str, str] | None = None,
        partition_key: str | None = None,
        instance: Any = None,
        partitions_def: Any = None,
        partition_scope: PartitionScope | None = None,
        input_partitions: Mapping[str, PartitionsSubset] | None = None,
        selected_asset_check_keys: Iterable[AssetCheckKey] = (),
    ) -> None:
        self._run_id = run_id
        self._selected_checks = frozenset(selected_asset_check_keys)
        self._node_name = node_name
        self._asset_keys = tuple(asset_keys)
        self._selected = (
            frozenset(selected_asset_keys)
            if selected_asset_keys is not None
            else frozenset(self._asset_keys)
        )
        self._output_names = dict(output_names_by_key or {})
        self._op_config = op_config
        self._resources = Resources(resources or {})
        self._log = ContextLogger(log_sink, {"run_id": run_id, "node": node_name})
        self._retry_number = retry_number
        self._job_name = job_name
        self._run_tags = dict(run_tags or {})
        if partition_scope is None and partition_key is not None:
            partition_scope = PartitionScope(partitions_def, key=partition_key)
        self._scope = partition_scope
        self._partitions_def = partitions_def
        self._input_partitions = dict(input_partitions or {})
        self._instance = instance
        self._output_metadata: dict[str, dict[str, Any]] = {}

    # -- identity -------------------------------------------------------------------

    @property
    def run_id(self) -> str:
        """The id of the run."""
        return self._run_id

    @property
    def job_name(self) -> str:
        """The name of the job the run belongs to."""
        return self._job_name

    @property
    def run_tags(self) -> Mapping[str, str]:
        """The run's tags."""
        return self._run_tags

    @property
    def op_name(self) -> str:
        """The compute node's name."""
        return self._node_name

    @property
    def instance(self) -> Any:
        """The instance the run records to, when there is one.

        Raises:
            ExecutionError: The body runs where no instance can be reached (a process-pool
                worker, which holds no store credentials).
        """
        if isinstance(self._instance, InstanceUnavailable):
            raise ExecutionError(f"{self._node_name!r}: {self._instance.reason}")
        return self._instance

    @property
    def retry_number(self) -> int:
        """0 on the first attempt, 1 on the first retry, and so on."""
        return self._retry_number

    # -- assets ---------------------------------------------------------------------

    @property
    def asset_key(self) -> AssetKey:
        """The key being materialized, for a single-asset body."""
        if len(self._asset_keys) != 1:
            raise DefinitionError(
                f"{self._node_name!r} materializes {len(self._asset_keys)} assets; "
                "use context.selected_asset_keys"
            )
        return self._asset_keys[0]

    @property
    def assets_def_keys(self) -> tuple[AssetKey, ...]:
        """Every key of the definition, selected or not."""
        return self._asset_keys

    @property
    def selected_asset_keys(self) -> frozenset[AssetKey]:
        """The keys this run materializes (a subset for a subsettable multi-asset)."""
        return self._selected

    @property
    def selected_asset_check_keys(self) -> frozenset[AssetCheckKey]:
        """The asset checks this attempt evaluates (Dagster's name)."""
        return self._selected_checks

    @property
    def selected_output_names(self) -> frozenset[str]:
        """The output names of the selected keys."""
        return frozenset(self._output_names.get(key, "result") for key in self._selected)

    def asset_key_for_output(self, output_name: str = "result") -> AssetKey:
        """The key materialized by `output_name`."""
        for key, name in self._output_names.items():
            if name == output_name:
                return key
        raise DefinitionError(f"{self._node_name!r} has no output named {output_name!r}")

    def output_for_asset_key(self, asset_key: AssetKey) -> str:
        """The output name that materializes `asset_key`."""
        return self._output_names.get(asset_key, "result")

    # -- config and resources -------------------------------------------------------

    @property
    def op_config(self) -> Any:
        """The node's validated config: a dict for legacy schemas."""
        return self._op_config

    @property
    def resources(self) -> Resources:
        """The run's resources."""
        return self._resources

    @property
    def log(self) -> ContextLogger:
        """A logger whose lines are recorded as run events."""
        return self._log

    # -- partitions (filled in by the partitions layer) -----------------------------

    @property
    def has_partition_key(self) -> bool:
        """Whether the run is for one partition (False for a range of several)."""
        return self._scope is not None and not self._scope.is_range

    @property
    def has_partition_key_range(self) -> bool:
        """Whether the run is for a range of several partitions."""
        return self._scope is not None and self._scope.is_range

    @property
    def partition_key(self) -> str:
        """The partition being materialized.

        Raises:
            DefinitionError: the run is unpartitioned, or for a range of several partitions.
        """
        scope = self._partition_scope()
        if scope.key is None:
            assert scope.key_range is not None
            raise DefinitionError(
                f"{self._node_name!r} runs for the partition range "
                f"{scope.key_range.start!r}...{scope.key_range.end!r}, so it has no single "
                "partition key; use context.partition_key_range or context.partition_keys "
                "(check context.has_partition_key first)"
            )
        return scope.key

    @property
    def partition_keys(self) -> list[str]:
        """The partitions being materialized, in order (one, in a run of one partition)."""
        return self._partition_scope().keys()

    @property
    def partition_key_range(self) -> PartitionKeyRange:
        """The partitions being materialized, as a `PartitionKeyRange`."""
        return self._partition_scope().partition_key_range()

    @property
    def partition_time_window(self) -> TimeWindow:
        """The time window of the run's partitions: from the first's start to the last's end."""
        return self._partition_scope().time_window(repr(self._node_name))

    @property
    def partitions_def(self) -> Any:
        """The partitions definition of the assets being materialized, if any."""
        return self._partitions_def

    def _partition_scope(self) -> PartitionScope:
        if self._scope is None:
            raise DefinitionError(
                f"{self._node_name!r} is not running for a partition; "
                "check context.has_partition_key first"
            )
        return self._scope

    def _check_output(self, output_name: str) -> None:
        # Every output of a task shares its partitions; a wrong name is still a mistake.
        if (
            output_name != "result"
            and self._output_names
            and output_name not in self._output_names.values()
        ):
            outputs = ", ".join(sorted(self._output_names.values()))
            raise DefinitionError(
                f"{self._node_name!r} has no output named {output_name!r} (outputs: {outputs})"
            )

    def asset_partition_key_for_output(self, output_name: str = "result") -> str:
        """The partition an output is stored for (a run of one partition)."""
        self._check_output(output_name)
        return self.partition_key

    def asset_partition_keys_for_output(self, output_name: str = "result") -> list[str]:
        """The partitions an output is stored for."""
        self._check_output(output_name)
        return self.partition_keys

    def asset_partition_key_range_for_output(
        self, output_name: str = "result"
    ) -> PartitionKeyRange:
        """The partitions an output is stored for, as a key range."""
        self._check_output(output_name)
        return self.partition_key_range

    def asset_partitions_time_window_for_output(self, output_name: str = "result") -> TimeWindow:
        """The time window of the partitions an output is stored for."""
        self._check_output(output_name)
        return self.partition_time_window

    def _input_subset(self, input_name: str) -> PartitionsSubset:
        try:
            return self._input_partitions[input_name]
        except KeyError:
            known = ", ".join(sorted(self._input_partitions)) or "none"
            raise DefinitionError(
                f"input {input_name!r} of {self._node_name!r} loads no partitions in this run "
                f"(partitioned inputs: {known})"
            ) from None

    def asset_partition_keys_for_input(self, input_name: str) -> list[str]:
        """The upstream partitions an input loads (its partition mapping applied)."""
        return self._input_subset(input_name).get_partition_keys()

    def asset_partition_key_for_input(self, input_name: str) -> str:
        """The one upstream partition an input loads."""
        subset = self._input_subset(input_name)
        if len(subset) != 1:
            raise DefinitionError(
                f"input {input_name!r} of {self._node_name!r} loads {len(subset)} partitions; "
                "use asset_partition_keys_for_input or asset_partition_key_range_for_input"
            )
        return subset.get_partition_keys()[0]

    def asset_partition_key_range_for_input(self, input_name: str) -> PartitionKeyRange:
        """The upstream partitions an input loads, from the first to the last."""
        return subset_key_range(self._input_subset(input_name))

    def asset_partitions_time_window_for_input(self, input_name: str) -> TimeWindow:
        """The time window of the upstream partitions an input loads."""
        return subset_time_window(self._input_subset(input_name))

    # -- output metadata ------------------------------------------------------------

    def add_output_metadata(
        self, metadata: Mapping[str, Any], output_name: str | None = None
    ) -> None:
        """Adds metadata to the materialization of `output_name` (the only output if None)."""
        name = output_name or self._default_output_name()
        self._output_metadata.setdefault(name, {}).update(metadata)

    def add_asset_metadata(
        self, metadata: Mapping[str, Any], asset_key: AssetKey | None = None
    ) -> None:
        """Adds metadata to the materialization of `asset_key` (the only asset if None)."""
        name = self._output_names.get(asset_key) if asset_key is not None else None
        self.add_output_metadata(metadata, name)

    def get_output_metadata(self, output_name: str) -> dict[str, Any]:
        """Metadata added so far for `output_name`."""
        return dict(self._output_metadata.get(output_name, {}))

    def _default_output_name(self) -> str:
        if len(self._output_names) > 1:
            raise DefinitionError(
                f"{self._node_name!r} has several outputs; pass output_name= to add_output_metadata"
            )
        return next(iter(self._output_names.values()), "result")

    # Dagster's AssetExecutionContext wraps an OpExecutionContext; both are this class.
    @property
    def op_execution_context(self) -> AssetExecutionContext:
        """This context (Dagster code reaches the op context through it)."""
        return self


OpExecutionContext = AssetExecutionContext


def build_asset_context(
    *,
    resources: Mapping[str, Any] | None = None,
    asset_config: Any = None,
    partition_key: str | None = None,
    run_tags: Mapping[str, str] | None = None,
    instance: Any = None,
    asset_key: AssetKey | None = None,
    partition_key_range: PartitionKeyRange | None = None,
    partitions_def: Any = None,
) -> AssetExecutionContext:
    """A context for calling an asset body directly in a unit test.

    Resources are used as given: a `ConfigurableResource` is not set up, as in Dagster's
    direct invocation.

    Args:
        resources: resource key -> resource.
        asset_config: the node's config.
        partition_key: the partition the body runs for.
        run_tags: the run's tags.
        instance: handed on as ``context.instance``.
        asset_key: the key being materialized.
        partition_key_range: a range of partitions the body runs for, instead of one key.
        partitions_def: the definition of the partitions; needed to list a range's keys
            and for time windows.

    Raises:
        DefinitionError: both a partition key and a range are given, or a range of
            several keys without its partitions definition.
    """
    keys = (asset_key,) if asset_key is not None else ()
    scope = None
    if partition_key_range is not None:
        if partition_key is not None:
            raise DefinitionError(
                "build_asset_context takes partition_key= or partition_key_range=, not both"
            )
        if partitions_def is None and partition_key_range.start != partition_key_range.end:
            raise DefinitionError(
                "build_asset_context needs partitions_def= to list the keys of "
                f"partition_key_range {partition_key_range.start!r}..."
                f"{partition_key_range.end!r}"
            )
        # The instance, if any, holds the keys of a dynamic definition.
        scope = PartitionScope.for_range(
            partitions_def, partition_key_range, dynamic_partitions_store=instance
        )
    return AssetExecutionContext(
        run_id="direct-invocation",
        node_name=asset_key.to_user_string() if asset_key else "direct_invocation",
        asset_keys=keys,
        output_names_by_key={asset_key: "result"} if asset_key else {},
        op_config=asset_config,
        resources=resources,
        run_tags=run_tags,
        partition_key=partition_key,
        instance=instance,
        partitions_def=partitions_def,
        partition_scope=scope,
    )
