"""`materialize`, `materialize_to_memory` and `execute_in_process`: runs in this process.

The composition root of an in-process run: it builds the definitions, plans the
selection, starts the run's resources, and drives a `RunCoordinator` over an
`InProcessDispatcher`. The result answers Dagster's questions (`success`, `asset_value`,
`output_for_node`, materialization events) from the run's events and captured outputs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from arco_flow.core.errors import ArcoError, DefinitionError
from arco_flow.core.events import (
    AssetCheckEvaluated,
    AssetMaterialized,
    Event,
    EventRecord,
    TaskFailed,
)
from arco_flow.core.keys import AssetCheckKey, AssetKey, CoercibleToAssetKey
from arco_flow.core.plan import Plan
from arco_flow.execution.coordinator import RunOutcome, blocking_checks_error
from arco_flow.execution.launcher import prepare_run, run_prepared
from arco_flow.execution.recorder import EventSink
from arco_flow.sdk.asset_spec import AssetSpec
from arco_flow.sdk.assets import DEFAULT_IO_MANAGER_KEY, AssetsDefinition
from arco_flow.sdk.checks import AssetCheckFailedError, AssetChecksDefinition, AssetCheckSeverity
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.fs_io_manager import FilesystemIOManager
from arco_flow.sdk.io_managers import InMemoryIOManager, IOManager
from arco_flow.sdk.jobs import JobDefinition
from arco_flow.sdk.metadata import MetadataValue, metadata_from_data
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.memory_store import MemoryEventStore
from arco_flow.worker.executor import OutputCapture

if TYPE_CHECKING:
    from arco_flow.core.partitions import PartitionKeyRange

__all__ = [
    "AssetCheckEvaluation",
    "AssetMaterialization",
    "ExecuteInProcessResult",
    "MaterializationEvent",
    "execute_job_in_process",
    "materialize",
    "materialize_to_memory",
]


_FROM_INSTANCE: Any = object()
"""`execute_job_in_process` reads dynamic partition keys from its instance."""


class AssetMaterialization:
    """A recorded materialization, with its metadata as `MetadataValue`s (Dagster's shape)."""

    __slots__ = ("_event", "_metadata")

    def __init__(self, event: AssetMaterialized) -> None:
        self._event = event
        self._metadata: dict[str, MetadataValue[Any]] | None = None

    @property
    def asset_key(self) -> AssetKey:
        """The materialized asset."""
        return self._event.asset_key

    @property
    def partition(self) -> str | None:
        """The partition materialized, if any."""
        return self._event.partition_key

    @property
    def description(self) -> str | None:
        """The materialization's description."""
        return self._event.description

    @property
    def metadata(self) -> dict[str, MetadataValue[Any]]:
        """Metadata values by name (``metadata["rows"].value``)."""
        if self._metadata is None:
            self._metadata = metadata_from_data(self._event.metadata)
        return self._metadata

    @property
    def data_version(self) -> str | None:
        """The data version recorded with the materialization."""
        return self._event.data_version


class MaterializationEvent:
    """A materialization event of a run, as Dagster's result methods return them."""

    __slots__ = ("event", "materialization")

    def __init__(self, event: AssetMaterialized) -> None:
        self.event = event
        """The recorded event itself."""
        self.materialization = AssetMaterialization(event)

    @property
    def asset_key(self) -> AssetKey:
        """The materialized asset."""
        return self.event.asset_key

    @property
    def step_key(self) -> str:
        """The task that materialized it (Dagster calls tasks steps)."""
        return self.event.task_id

    @property
    def run_id(self) -> str:
        """The run it belongs to."""
        return self.event.run_id

    @property
    def partition(self) -> str | None:
        """The partition materialized, if any."""
        return self.event.partition_key

    def __repr__(self) -> str:
        return f"<MaterializationEvent {self.asset_key.to_user_string()} run={self.run_id}>"


class AssetCheckEvaluation:
    """A recorded check evaluation of a run (Dagster's shape), metadata as `MetadataValue`s."""

    __slots__ = ("_metadata", "event")

    def __init__(self, event: AssetCheckEvaluated) -> None:
        self.event = event
        """The recorded event itself."""
        self._metadata: dict[str, MetadataValue[Any]] | None = None

    @property
    def asset_key(self) -> AssetKey:
        """The checked asset."""
        return self.event.asset_key

    @property
    def check_name(self) -> str:
        """The check's name."""
        return self.event.check_name

    @property
    def asset_check_key(self) -> AssetCheckKey:
        """The check's key."""
        return AssetCheckKey(self.event.asset_key, self.event.check_name)

    @property
    def passed(self) -> bool:
        """Whether the check passed."""
        return self.event.passed

    @property
    def severity(self) -> AssetCheckSeverity:
        """How bad a failure is."""
        return AssetCheckSeverity(self.event.severity)

    @property
    def blocking(self) -> bool:
        """Whether a failure stops the asset's downstream."""
        return self.event.blocking

    @property
    def partition(self) -> str | None:
        """The partition checked, if any."""
        return self.event.partition_key

    @property
    def description(self) -> str | None:
        """The result's description."""
        return self.event.description

    @property
    def metadata(self) -> dict[str, MetadataValue[Any]]:
        """Metadata values by name."""
        if self._metadata is None:
            self._metadata = metadata_from_data(self.event.metadata)
        return self._metadata

    @property
    def target_run_id(self) -> str | None:
        """The run of the materialization checked, when known."""
        return self.event.target_run_id

    def __repr__(self) -> str:
        state = "passed" if self.passed else f"failed ({self.event.severity})"
        return f"<AssetCheckEvaluation {self.asset_check_key.to_user_string()} {state}>"


class ExecuteInProcessResult:
    """The result of a run in this process (Dagster's name and members)."""

    def __init__(
        self,
        *,
        run_id: str,
        job_name: str,
        plan: Plan,
        outcome: RunOutcome,
        records: list[EventRecord],
        definitions: Definitions,
        output_capture: OutputCapture,
    ) -> None:
        self.run_id = run_id
        self.job_name = job_name
        self.plan = plan
        self._outcome = outcome
        self._records = records
        self._definitions = definitions
        self._outputs = output_capture

    @property
    def success(self) -> bool:
        """Whether every task succeeded."""
        return self._outcome.succeeded

    @property
    def all_events(self) -> list[Event]:
        """Every event of the run, in order."""
        return [record.event for record in self._records]

    @property
    def event_records(self) -> list[EventRecord]:
        """Every event of the run with its sequence number and time."""
        return list(self._records)

    @property
    def failed_task_ids(self) -> list[str]:
        """Tasks that failed for good."""
        return list(self._outcome.failed_task_ids)

    @property
    def skipped_task_ids(self) -> list[str]:
        """Tasks skipped because upstream tasks failed."""
        return list(self._outcome.skipped_task_ids)

    def output_for_node(self, node_str: str, output_name: str = "result") -> Any:
        """The value `output_name` of compute node `node_str` returned in this run."""
        try:
            return self._outputs[(node_str, output_name)]
        except KeyError:
            nodes = sorted({node for node, _ in self._outputs})
            raise DefinitionError(
                f"no output {output_name!r} of node {node_str!r} was produced in run "
                f"{self.run_id}; nodes with outputs: {', '.join(nodes) or 'none'}"
            ) from None

    def asset_value(self, asset_key: CoercibleToAssetKey) -> Any:
        """The value the run produced for `asset_key`."""
        key = AssetKey.from_coercible(asset_key)
        definition = self._definitions.get_assets_def(key)
        return self.output_for_node(
            definition.node_name, definition.get_output_name_for_asset_key(key)
        )

    def get_asset_materialization_events(self) -> list[MaterializationEvent]:
        """Every materialization of the run, in order."""
        return [
            MaterializationEvent(e) for e in self.all_events if isinstance(e, AssetMaterialized)
        ]

    def asset_materializations_for_node(self, node_name: str) -> list[AssetMaterialization]:
        """The materializations made by compute node `node_name`."""
        task_ids = {t.task_id for t in self.plan.tasks if t.node == node_name}
        return [
            AssetMaterialization(e)
            for e in self.all_events
            if isinstance(e, AssetMaterialized) and e.task_id in task_ids
        ]

    def get_asset_check_evaluations(self) -> list[AssetCheckEvaluation]:
        """Every check evaluation of the run, in order (Dagster's name)."""
        return [
            AssetCheckEvaluation(e) for e in self.all_events if isinstance(e, AssetCheckEvaluated)
        ]

    @property
    def asset_check_evaluations(self) -> list[AssetCheckEvaluation]:
        """Every check evaluation of the run, in order."""
        return self.get_asset_check_evaluations()

    def get_task_failure_events(self) -> list[TaskFailed]:
        """Every failed attempt, in order (retried ones included)."""
        return [e for e in self.all_events if isinstance(e, TaskFailed)]

    def events_for_node(self, node_name: str) -> list[Event]:
        """Events of the tasks of compute node `node_name`."""
        task_ids = {t.task_id for t in self.plan.tasks if t.node == node_name}
        return [e for e in self.all_events if getattr(e, "task_id", None) in task_ids]


def materialize(
    assets: Iterable[AssetsDefinition | AssetSpec | AssetChecksDefinition],
    run_config: Any = None,
    instance: ArcoInstance | None = None,
    resources: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    selection: Any = None,
    partition_key_range: PartitionKeyRange | None = None,
) -> ExecuteInProcessResult:
    """Materializes assets in this process (Dagster's ``materialize``).

    Values are stored by the default filesystem IO manager, in the instance's storage
    folder, or in a temporary folder removed after the run when there is no instance.

    Args:
        assets: the assets to run, plus any upstream assets or specs they load from, and
            asset checks (`@asset_check`), evaluated after their assets.
        run_config: config of the run: a dict or a `RunConfig`.
        instance: where the run's events are recorded, besides the result.
        resources: resource key -> resource, for this run.
        partition_key: the partition to materialize.
        raise_on_error: re-raise the user's own exception when a task fails for good.
        tags: tags of the run; Dagster's partition tags choose the partitions too.
        selection: the subset of `assets` to run; all of them by default.
        partition_key_range: an inclusive range of partitions, all materialized in this
            one run; excludes `partition_key`.

    Returns:
        The run's result.
    """
    resources = dict(resources or {})
    owned = instance is None
    active = ArcoInstance.ephemeral() if instance is None else instance
    try:
        if DEFAULT_IO_MANAGER_KEY not in resources:
            base = active.storage_dir
            if base is None:
                raise DefinitionError(
                    "the instance has no storage folder for the default IO manager; bind "
                    "an IO manager to 'io_manager' in resources"
                )
            resources[DEFAULT_IO_MANAGER_KEY] = FilesystemIOManager(base_dir=base)
        definitions = _definitions(assets, resources)
        job = definitions.resolve_implicit_global_asset_job_def()
        return execute_job_in_process(
            job,
            run_config=run_config,
            instance=active,
            raise_on_error=raise_on_error,
            tags=tags,
            asset_selection=selection,
            partition_key=partition_key,
            partition_key_range=partition_key_range,
            # The ephemeral instance made for this call holds no dynamic keys: read them
            # from the caller's instance only, so a missing one says to pass instance=.
            dynamic_partitions_store=instance,
        )
    finally:
        if owned:
            active.dispose()


def materialize_to_memory(
    assets: Iterable[AssetsDefinition | AssetSpec | AssetChecksDefinition],
    run_config: Any = None,
    instance: ArcoInstance | None = None,
    resources: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    selection: Any = None,
    partition_key_range: PartitionKeyRange | None = None,
) -> ExecuteInProcessResult:
    """Like `materialize`, but every IO manager keeps values in memory.

    Raises:
        DefinitionError: `resources` binds an IO manager; values would not stay in memory.
    """
    resources = dict(resources or {})
    bound = sorted(k for k, v in resources.items() if isinstance(v, IOManager))
    if bound and not all(isinstance(resources[k], InMemoryIOManager) for k in bound):
        raise DefinitionError(
            f"materialize_to_memory keeps every value in memory, but resources bind IO "
            f"manager(s) {', '.join(bound)}; remove them, or use materialize()"
        )
    definitions = _definitions(assets, resources)
    keys = {
        output.io_manager_key
        for definition in definitions.assets_defs_by_node.values()
        for output in definition.outputs
    } | {DEFAULT_IO_MANAGER_KEY}
    memory = InMemoryIOManager()
    for key in keys:
        resources.setdefault(key, memory)
    return materialize(
        assets,
        run_config=run_config,
        instance=instance,
        resources=resources,
        partition_key=partition_key,
        raise_on_error=raise_on_error,
        tags=tags,
        selection=selection,
        partition_key_range=partition_key_range,
    )


def execute_job_in_process(
    job: JobDefinition,
    *,
    run_config: Any = None,
    instance: ArcoInstance | None = None,
    resources: Mapping[str, Any] | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    asset_selection: Any = None,
    partition_key: str | None = None,
    partition_key_range: PartitionKeyRange | None = None,
    run_id: str | None = None,
    on_event: Callable[[EventRecord], None] | None = None,
    on_planned: Callable[[Plan], None] | None = None,
    dynamic_partitions_store: Any = _FROM_INSTANCE,
) -> ExecuteInProcessResult:
    """Runs `job` (or `asset_selection` within it) in this process.

    As in Dagster, values stay in memory unless an IO manager is bound to ``io_manager``.
    `on_planned` sees the plan before the run starts, and `on_event` every event as it
    is recorded (the CLI draws progress from them). The keys of dynamic partitions are
    read from `dynamic_partitions_store` (the instance by default) once, as the run is
    planned.
    """
    overrides = dict(resources or {})
    if DEFAULT_IO_MANAGER_KEY not in job.definitions.resources:
        overrides.setdefault(DEFAULT_IO_MANAGER_KEY, InMemoryIOManager())
    prepared = prepare_run(
        job,
        run_config=run_config,
        resources=overrides,
        asset_selection=asset_selection,
        partition_key=partition_key,
        partition_key_range=partition_key_range,
        tags=tags,
        dynamic_partitions_store=(
            instance if dynamic_partitions_store is _FROM_INSTANCE else dynamic_partitions_store
        ),
    )
    if on_planned is not None:
        on_planned(prepared.plan)
    run_id = run_id or str(uuid.uuid4())
    # Without an instance, the run is recorded in a store of its own, in memory.
    memory = MemoryEventStore()
    sink: EventSink = instance if instance is not None else memory
    capture: OutputCapture = {}
    outcome = run_prepared(
        prepared,
        sink=sink,
        run_id=run_id,
        tags=tags,
        on_record=on_event,
        output_capture=capture,
        instance=instance,
    )
    records = instance.all_logs(run_id) if instance is not None else memory.read_all()
    result = ExecuteInProcessResult(
        run_id=run_id,
        job_name=job.name,
        plan=prepared.plan,
        outcome=outcome,
        records=records,
        definitions=prepared.definitions,
        output_capture=capture,
    )
    if raise_on_error and outcome.first_failure is not None:
        error = outcome.first_failure.exception
        if error is not None:
            raise error
        raise ArcoError(f"run {run_id} failed: {outcome.first_failure.error}")
    if raise_on_error and outcome.failed_blocking_checks:
        # As Dagster: a failed blocking ERROR check fails the run and raises; other failed
        # checks are results, read with get_asset_check_evaluations().
        raise AssetCheckFailedError(
            f"run {run_id}: {blocking_checks_error(outcome.failed_blocking_checks).message}"
        )
    return result


def _definitions(
    items: Iterable[AssetsDefinition | AssetSpec | AssetChecksDefinition],
    resources: Mapping[str, Any],
) -> Definitions:
    listed = list(items)
    return Definitions(
        assets=[item for item in listed if not isinstance(item, AssetChecksDefinition)],
        asset_checks=[item for item in listed if isinstance(item, AssetChecksDefinition)],
        resources=resources,
    )
