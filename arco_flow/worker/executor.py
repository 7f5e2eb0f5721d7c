"""Executes one `TaskRequest`: load inputs, run the body, store outputs, report events.

The worker side of the execution protocol (DESIGN.md §4). It runs user code and talks to
IO managers and resources; it never touches the store: everything it learns goes out as
events through `emit`, and the attempt's end as a `TaskOutcome`.
"""

from __future__ import annotations

import datetime
import inspect
import resource
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arco_flow.core.errors import ArcoError, DefinitionError, ExecutionError
from arco_flow.core.events import (
    AssetCheckEvaluated,
    AssetMaterialized,
    AssetQuarantined,
    ErrorInfo,
    Event,
    LogRecorded,
    TaskStarted,
    TaskUsage,
)
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.core.messages import TaskOutcome, TaskRequest
from arco_flow.core.plan import PlanPartition
from arco_flow.sdk.assets import AssetsDefinition, InputBinding, OutputBinding
from arco_flow.sdk.checks import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    resolve_check_results,
    results_of,
)
from arco_flow.sdk.config import resolve_op_config
from arco_flow.sdk.context import AssetExecutionContext
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.dynamic_partitions import DynamicPartitionsSnapshot
from arco_flow.sdk.io_managers import (
    InputContext,
    IOManager,
    OutputContext,
    supports_quarantine,
)
from arco_flow.sdk.metadata import metadata_to_data, normalize_metadata
from arco_flow.sdk.partition_scope import PartitionScope
from arco_flow.sdk.results import Failure, MaterializeResult, Output, RetryRequested

if TYPE_CHECKING:
    from arco_flow.core.partitions import PartitionsSubset

__all__ = ["OutputCapture", "WorkerSession", "execute_task"]

Emit = Callable[[Event], None]
OutputCapture = dict[tuple[str, str], Any]
"""(node name, output name) -> value, kept by in-process runs for their result."""


@dataclass(frozen=True, slots=True)
class _Produced:
    output: OutputBinding
    value: Any
    has_value: bool
    metadata: Mapping[str, Any]
    data_version: str | None


class WorkerSession:
    """A loaded code location and the run's resources, shared by the tasks of a run.

    Args:
        definitions: The loaded code location.
        resources: The run's resources, by key.
        output_capture: Keeps returned values, for in-process results.
        instance: What ``context.instance`` gives user code.
        dynamic_partitions: The run's snapshot of its dynamic partition keys, when the
            control plane hands it over whole (in process); a pool worker learns it from
            its task requests instead.
    """

    def __init__(
        self,
        definitions: Definitions,
        resources: Mapping[str, Any],
        *,
        output_capture: OutputCapture | None = None,
        instance: Any = None,
        dynamic_partitions: DynamicPartitionsSnapshot | None = None,
    ) -> None:
        self.definitions = definitions
        self.resources = dict(resources)
        self.output_capture = output_capture
        self.instance = instance
        self._dynamic = dynamic_partitions or DynamicPartitionsSnapshot()
        self._by_node = definitions.assets_defs_by_node
        self._checks_by_node = definitions.checks_defs_by_node
        self._output_by_key = {
            output.key: (definition, output)
            for definition in self._by_node.values()
            for output in definition.outputs
        }

    def assets_def(self, node: str) -> AssetsDefinition:
        """The definition of compute node `node`."""
        try:
            return self._by_node[node]
        except KeyError:
            raise ExecutionError(
                f"the code location has no compute node {node!r}; was it renamed since "
                "the run was planned? Re-plan the run."
            ) from None

    def checks_def(self, node: str) -> AssetChecksDefinition | None:
        """The standalone check definition of compute node `node`; None for an asset node."""
        return self._checks_by_node.get(node)

    def partitions_def_of(self, key: AssetKey) -> Any:
        """The partitions definition of asset `key` (None: unpartitioned or external)."""
        found = self._output_by_key.get(key)
        return found[0].specs_by_key[key].partitions_def if found is not None else None

    def io_manager(self, key: str) -> IOManager:
        """The IO manager bound to resource key `key`."""
        manager = self.resources.get(key)
        if not isinstance(manager, IOManager):
            raise ExecutionError(
                f"resource {key!r} is used as an IO manager but is "
                f"{type(manager).__name__}; bind an IOManager to it"
            )
        return manager

    def dynamic_partitions(self, request: TaskRequest) -> DynamicPartitionsSnapshot:
        """The run's dynamic partition keys, with those `request` carries.

        A run's requests all carry the same snapshot, so the first copy of a definition's
        keys is kept: later tasks reuse its key index instead of building it again.
        """
        if request.dynamic_partitions:
            self._dynamic = self._dynamic.merged(request.dynamic_partitions)
        return self._dynamic

    def upstream_partitions(
        self,
        definition: AssetsDefinition,
        binding: InputBinding,
        scope: PartitionScope | None,
        dynamic_partitions: DynamicPartitionsSnapshot | None = None,
    ) -> PartitionsSubset | None:
        """The partitions of the upstream asset an input loads, for a run of `scope`.

        None when the upstream is unpartitioned (loaded whole); otherwise the subset the
        input's partition mapping (or Dagster's default between the two definitions) maps
        the run's partitions (one key, or a whole range at once) to. Dynamic partitions
        are read from `dynamic_partitions` (the run's snapshot).

        Raises:
            ExecutionError: the mapping needs upstream partitions that do not exist, or the
                run is unpartitioned while the upstream is partitioned.
        """
        upstream_def = self.partitions_def_of(binding.key)
        if upstream_def is None:
            return None
        where = f"input {binding.name!r} of {definition.node_name!r}"
        own_def = next(
            (spec.partitions_def for spec in definition.specs if spec.partitions_def), None
        )
        if scope is None or own_def is None:
            raise ExecutionError(
                f"{where} reads the partitioned asset {binding.key.to_user_string()!r} from an "
                "unpartitioned run; loading every partition at once is not supported yet: "
                "partition the downstream asset too"
            )
        # Loaded only for partitioned runs.
        from arco_flow.core.partitions import infer_partition_mapping

        now = datetime.datetime.now(datetime.UTC)
        mapping = infer_partition_mapping(binding.partition_mapping, own_def, upstream_def)
        own = scope.subset
        store = dynamic_partitions if dynamic_partitions is not None else self._dynamic
        if own is None:
            own = own_def.subset_with_partition_keys([scope.key], now, store)
        result = mapping.get_upstream_mapped_partitions_result_for_partitions(
            own, own_def, upstream_def, now, store
        )
        missing = result.required_but_nonexistent_partition_keys
        if missing:
            raise ExecutionError(
                f"{where} needs partitions {', '.join(missing[:5])} of "
                f"{binding.key.to_user_string()!r}, which do not exist; pick another partition, "
                "or allow it with TimeWindowPartitionMapping(allow_nonexistent_upstream_"
                "partitions=True)"
            )
        subset: PartitionsSubset = result.partitions_subset
        if subset.is_empty:
            key_range = scope.partition_key_range()
            which = (
                f"partition {scope.key!r}"
                if scope.key is not None
                else f"partitions {key_range.start!r}...{key_range.end!r}"
            )
            raise ExecutionError(
                f"{where} maps {which} to no partition of "
                f"{binding.key.to_user_string()!r} (before its first one, or past its last); "
                "pick a later partition, or map this one to an existing upstream partition"
            )
        return subset

    def upstream_output(self, key: AssetKey) -> tuple[str, str]:
        """(output name, IO manager key) of the output that stores `key`."""
        found = self._output_by_key.get(key)
        if found is None:
            return "result", "io_manager"
        return found[1].name, found[1].io_manager_key


def execute_task(request: TaskRequest, session: WorkerSession, emit: Emit) -> TaskOutcome:
    """Runs one attempt of one task and reports what happened.

    Every event (start, logs, materializations) goes out through `emit` as it happens.
    User exceptions do not escape: they become a failed `TaskOutcome` that keeps the
    exception object for in-process callers.
    """
    started_wall = time.perf_counter()
    started_cpu = time.process_time()
    emit(TaskStarted(run_id=request.run_id, task_id=request.task_id, attempt=request.attempt))
    try:
        if request.promoted_asset_keys:
            raise ExecutionError(
                f"task {request.task_id!r} promotes held values, which happens in the control "
                "plane (it reads what the run recorded); route promotion tasks to it"
            )
        checks = session.checks_def(request.node)
        if checks is not None:
            blocked = _run_check_body(request, session, checks, emit)
        else:
            blocked = _run_body(request, session, emit)
    except Exception as error:  # noqa: BLE001  # any failure of user code becomes an event
        return _failed(request, error, _usage(started_wall, started_cpu))
    return TaskOutcome(
        request=request,
        succeeded=True,
        usage=_usage(started_wall, started_cpu),
        failed_blocking_checks=tuple(key.to_user_string() for key in blocked),
    )


def _usage(started_wall: float, started_cpu: float) -> TaskUsage:
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return TaskUsage(
        wall_s=time.perf_counter() - started_wall,
        cpu_s=time.process_time() - started_cpu,
        peak_rss_mb=peak_kb / 1024.0,
    )


def _failed(request: TaskRequest, error: Exception, usage: TaskUsage) -> TaskOutcome:
    # The user reads their own frames: drop the worker's frames above the body.
    frames = error.__traceback__
    while frames is not None and frames.tb_frame.f_code.co_filename == __file__:
        frames = frames.tb_next
    if frames is not None:
        error = error.with_traceback(frames)
    allow = not (isinstance(error, Failure) and not error.allow_retries)
    retry = (
        (error.max_retries, float(error.seconds_to_wait))
        if isinstance(error, RetryRequested)
        else None
    )
    return TaskOutcome(
        request=request,
        succeeded=False,
        error=ErrorInfo.from_exception(error),
        allow_retries=allow,
        retry_requested=retry,
        usage=usage,
        exception=error,
    )


def _run_body(request: TaskRequest, session: WorkerSession, emit: Emit) -> list[AssetCheckKey]:
    """Runs an asset body; returns the blocking checks that failed in it."""
    definition = session.assets_def(request.node)
    signature = definition.signature
    run_id, task_id = request.run_id, request.task_id

    def log_sink(level: str, message: str) -> None:
        emit(LogRecorded(run_id=run_id, task_id=task_id, level=level, message=message))

    config = resolve_op_config(
        node_name=definition.node_name,
        config_type=signature.config_type,
        config_schema=definition.config_schema,
        run_config=request.run_config,
    )
    resources = session.resources
    needed = {key: resources[key] for key in definition.required_resource_keys if key in resources}
    own_def = next((s.partitions_def for s in definition.specs if s.partitions_def), None)
    dynamic = session.dynamic_partitions(request)
    scope = _partition_scope(request.partition, own_def, dynamic)
    input_subsets = {
        binding.name: session.upstream_partitions(definition, binding, scope, dynamic)
        for binding in definition.inputs
    }
    context = AssetExecutionContext(
        run_id=run_id,
        node_name=definition.node_name,
        asset_keys=[spec.key for spec in definition.specs],
        selected_asset_keys=request.asset_keys,
        output_names_by_key={o.key: o.name for o in definition.outputs},
        op_config=config,
        resources=needed,
        log_sink=log_sink,
        retry_number=request.attempt - 1,
        job_name=request.job_name,
        run_tags=request.tags,
        instance=session.instance,
        partitions_def=own_def,
        partition_scope=scope,
        input_partitions={
            name: subset for name, subset in input_subsets.items() if subset is not None
        },
        selected_asset_check_keys=_selected_checks(request),
    )
    kwargs: dict[str, Any] = {}
    if signature.context_param is not None:
        kwargs[signature.context_param] = context
    if signature.config_param is not None:
        kwargs[signature.config_param] = config
    for parameter, resource_key in signature.resource_params.items():
        kwargs[parameter] = resources[resource_key]
    for binding in definition.inputs:
        output_name, manager_key = session.upstream_output(binding.key)
        manager = session.io_manager(binding.input_manager_key or manager_key)
        upstream = input_subsets[binding.name]

        loading = (manager, binding, output_name, run_id, needed, context, False)
        if upstream is None:
            kwargs[binding.name] = _load_input(*loading, None)
            continue
        upstream_keys = upstream.get_partition_keys()
        if len(upstream_keys) == 1:
            kwargs[binding.name] = _load_input(*loading, upstream_keys[0])
        else:
            # Several upstream partitions: a dict by partition key, as Dagster's IO managers.
            kwargs[binding.name] = {key: _load_input(*loading, key) for key in upstream_keys}

    assert definition.compute_fn is not None  # external assets are never planned
    returned = definition.compute_fn(**kwargs)
    selected = set(request.asset_keys)
    event_keys: Sequence[str | None] = scope.keys() if scope is not None else (None,)
    check_results: list[Any] = []
    outputs = list(_collect_outputs(definition, returned, context, selected, check_results))
    specs: Sequence[AssetCheckSpec] = definition.check_specs
    if not specs and check_results:
        raise DefinitionError(
            f"asset {definition.node_name!r} produced an AssetCheckResult but declares no "
            "checks; declare them with @asset(check_specs=[AssetCheckSpec(...)])"
        )
    pairs = (
        resolve_check_results(
            specs,
            context.selected_asset_check_keys,
            check_results,
            f"asset {definition.node_name!r}",
        )
        if specs
        else []
    )
    # The body's checks are decided before its values are stored: a value whose blocking
    # check failed goes straight to quarantine, never to the normal location.
    failed = _failed_blocking(pairs)
    held = set(request.held_asset_keys)
    for produced in outputs:
        store = (request, session, definition, context, scope, event_keys)
        key = produced.output.key
        quarantined = _quarantined_checks(definition, key, failed)
        pending = key in held and not quarantined
        if pending:
            # Standalone blocking checks decide on it later in the run: it waits apart.
            quarantined = _standalone_blocking_checks(session, key)
        _store_output(*store, produced, needed, emit, quarantined, pending=pending)
    return _emit_evaluations(request, pairs, event_keys, request.run_id, emit)


def _failed_blocking(
    pairs: Sequence[tuple[AssetCheckSpec, AssetCheckResult]],
) -> list[AssetCheckKey]:
    return [
        spec.key
        for spec, result in pairs
        if spec.blocking and not result.passed and result.severity is AssetCheckSeverity.ERROR
    ]


def _quarantined_checks(
    definition: AssetsDefinition, key: AssetKey, failed: Sequence[AssetCheckKey]
) -> tuple[str, ...]:
    """The failed blocking checks that send `key`'s value to quarantine (none: stored)."""
    if not definition.specs_by_key[key].quarantine_on_failed_check:
        return ()
    return tuple(sorted(check.name for check in failed if check.asset_key == key))


def _standalone_blocking_checks(session: WorkerSession, key: AssetKey) -> tuple[str, ...]:
    """The names of the standalone blocking checks of `key` (what a held value waits for)."""
    names = {
        spec.name
        for definition in session.definitions.asset_checks
        for spec in definition.specs
        if spec.asset_key == key and spec.blocking
    }
    return tuple(sorted(names)) or ("(standalone checks)",)


def _selected_checks(request: TaskRequest) -> list[AssetCheckKey]:
    return [AssetCheckKey.from_user_string(name) for name in request.check_names]


def _emit_evaluations(
    request: TaskRequest,
    pairs: Sequence[tuple[AssetCheckSpec, AssetCheckResult]],
    event_keys: Sequence[str | None],
    target_run_id: str | None,
    emit: Emit,
    held: Collection[AssetKey] = (),
) -> list[AssetCheckKey]:
    """Emits one evaluation per result (and partition); returns the failed blocking checks.

    A check of a `held` asset evaluated this run's value, still in quarantine.
    """
    for spec, result in pairs:
        try:
            metadata = (
                metadata_to_data(normalize_metadata(result.metadata)) if result.metadata else {}
            )
        except ArcoError as error:
            raise DefinitionError(
                f"metadata of asset check {spec.key.to_user_string()!r}: {error}"
            ) from error
        for partition_key in event_keys:
            emit(
                AssetCheckEvaluated(
                    run_id=request.run_id,
                    task_id=request.task_id,
                    asset_key=spec.asset_key,
                    check_name=spec.name,
                    passed=result.passed,
                    severity=result.severity.value,
                    blocking=spec.blocking,
                    partition_key=partition_key,
                    metadata=metadata,
                    description=result.description or spec.description,
                    target_run_id=request.run_id if spec.asset_key in held else target_run_id,
                )
            )
    return _failed_blocking(pairs)


def _run_check_body(
    request: TaskRequest, session: WorkerSession, definition: AssetChecksDefinition, emit: Emit
) -> list[AssetCheckKey]:
    """Runs a standalone check body; returns the blocking checks that failed in it."""
    signature = definition.signature
    run_id, task_id = request.run_id, request.task_id
    selected = _selected_checks(request) or [spec.key for spec in definition.specs]
    chosen = set(selected)
    specs = [spec for spec in definition.specs if spec.key in chosen]

    def log_sink(level: str, message: str) -> None:
        emit(LogRecorded(run_id=run_id, task_id=task_id, level=level, message=message))

    config = resolve_op_config(
        node_name=definition.node_name,
        config_type=signature.config_type,
        config_schema=definition.config_schema,
        run_config=request.run_config,
    )
    resources = session.resources
    needed = {key: resources[key] for key in definition.required_resource_keys if key in resources}
    checked = sorted({spec.asset_key for spec in specs}, key=lambda key: key.path)
    own_def = next((d for d in map(session.partitions_def_of, checked) if d is not None), None)
    scope = _partition_scope(request.partition, own_def, session.dynamic_partitions(request))
    context = AssetCheckExecutionContext(
        check_specs=specs,
        run_id=run_id,
        node_name=definition.node_name,
        asset_keys=checked,
        op_config=config,
        resources=needed,
        log_sink=log_sink,
        retry_number=request.attempt - 1,
        job_name=request.job_name,
        run_tags=request.tags,
        instance=session.instance,
        partitions_def=own_def,
        partition_scope=scope,
    )
    kwargs: dict[str, Any] = {}
    if signature.context_param is not None:
        kwargs[signature.context_param] = context
    if signature.config_param is not None:
        kwargs[signature.config_param] = config
    for parameter, resource_key in signature.resource_params.items():
        kwargs[parameter] = resources[resource_key]
    event_keys: Sequence[str | None] = scope.keys() if scope is not None else (None,)
    held = set(request.held_asset_keys)
    for binding in definition.inputs:
        output_name, manager_key = session.upstream_output(binding.key)
        manager = session.io_manager(binding.input_manager_key or manager_key)
        # A held value of this run is read where it waits: in quarantine.
        loading = (manager, binding, output_name, run_id, needed, context, binding.key in held)
        if scope is None or session.partitions_def_of(binding.key) is None:
            kwargs[binding.name] = _load_input(*loading, None)
        elif len(event_keys) == 1:
            kwargs[binding.name] = _load_input(*loading, event_keys[0])
        else:
            keys = [key for key in event_keys if key is not None]
            kwargs[binding.name] = {key: _load_input(*loading, key) for key in keys}
    returned = definition.compute_fn(**kwargs)
    where = f"asset check {definition.node_name!r}"
    pairs = resolve_check_results(definition.specs, chosen, results_of(returned), where)
    return _emit_evaluations(request, pairs, event_keys, None, emit, held)


def _partition_scope(
    partition: PlanPartition | None, own_def: Any, dynamic: DynamicPartitionsSnapshot
) -> PartitionScope | None:
    if partition is None:
        return None
    if partition.key is not None:
        return PartitionScope(own_def, key=partition.key)
    if own_def is None:
        raise ExecutionError(
            f"the task runs for partitions {partition.range_start!r}...{partition.range_end!r}, "
            "but its assets are not partitioned; re-plan the run without a partition range"
        )
    from arco_flow.core.partitions import PartitionKeyRange

    assert partition.range_start is not None
    assert partition.range_end is not None
    key_range = PartitionKeyRange(partition.range_start, partition.range_end)
    return PartitionScope.for_range(
        own_def,
        key_range,
        current_time=datetime.datetime.now(datetime.UTC),
        dynamic_partitions_store=dynamic,
    )


def _load_input(
    manager: IOManager,
    binding: InputBinding,
    output_name: str,
    run_id: str,
    resources: Mapping[str, Any],
    context: AssetExecutionContext,
    quarantined: bool,
    partition_key: str | None,
) -> Any:
    upstream = OutputContext(
        asset_key=binding.key,
        name=output_name,
        run_id=run_id,
        partition_key=partition_key,
        resources=resources,
        log=context.log,
        quarantine=quarantined,
    )
    return manager.load_input(
        InputContext(
            name=binding.name,
            asset_key=binding.key,
            upstream_output=upstream,
            definition_metadata=binding.metadata,
            partition_key=partition_key,
            resources=resources,
            log=context.log,
        )
    )


def _collect_outputs(
    definition: AssetsDefinition,
    returned: Any,
    context: AssetExecutionContext,
    selected: set[AssetKey],
    check_results: list[Any],
) -> Iterator[_Produced]:
    """The outputs the body produced; its `AssetCheckResult`s go to `check_results`."""
    outputs = [o for o in definition.outputs if o.key in selected]
    by_name = {o.name: o for o in definition.outputs}
    by_key = {o.key: o for o in definition.outputs}
    if inspect.isgenerator(returned):
        items = list(returned)
        check_results.extend(item for item in items if isinstance(item, AssetCheckResult))
        items = [item for item in items if not isinstance(item, AssetCheckResult)]
    elif isinstance(returned, AssetCheckResult) and definition.check_specs:
        # Only check results: the body stored its data itself (Dagster allows this).
        check_results.append(returned)
        items = [None] if len(definition.outputs) == 1 else []
    elif len(definition.outputs) == 1:
        items = [returned]
    elif isinstance(returned, tuple) and len(returned) == len(outputs):
        items = [
            item if isinstance(item, Output | MaterializeResult) else Output(item, o.name)
            for item, o in zip(returned, outputs, strict=True)
        ]
    elif returned is None and all(not o.is_required for o in outputs):
        items = []
    else:
        raise DefinitionError(
            f"multi-asset {definition.node_name!r} must return a tuple of {len(outputs)} "
            f"values (one per selected output: {', '.join(o.name for o in outputs)}) or "
            f"yield Output(value, output_name=...) for each; it returned "
            f"{type(returned).__name__}"
        )
    seen: set[str] = set()
    single = len(definition.outputs) == 1
    for item in items:
        if isinstance(item, Output):
            output = by_name.get(item.output_name) or (definition.outputs[0] if single else None)
            if output is None:
                raise DefinitionError(
                    f"{definition.node_name!r} yielded Output(output_name="
                    f"{item.output_name!r}), which is not one of its outputs "
                    f"({', '.join(by_name)})"
                )
            produced = _Produced(
                output,
                item.value,
                True,
                item.metadata or {},
                item.data_version.value if item.data_version else None,
            )
        elif isinstance(item, MaterializeResult):
            check_results.extend(item.check_results)
            key = item.resolved_asset_key
            if key is None and not single:
                raise DefinitionError(
                    f"multi-asset {definition.node_name!r} returned a MaterializeResult "
                    "without asset_key; set asset_key= to say which asset it is for"
                )
            output = by_key.get(key) if key is not None else definition.outputs[0]
            if output is None:
                raise DefinitionError(
                    f"{definition.node_name!r} returned a MaterializeResult for "
                    f"{key!r}, which it does not materialize"
                )
            produced = _Produced(
                output,
                item.value,
                item.value is not None,
                item.metadata or {},
                item.data_version.value if item.data_version else None,
            )
        else:
            output = definition.outputs[0]
            has_value = not (item is None and definition.signature.returns_nothing)
            produced = _Produced(output, item, has_value, {}, None)
        if produced.output.key not in selected:
            raise DefinitionError(
                f"{definition.node_name!r} produced {produced.output.name!r}, which this run "
                "did not select; check context.selected_output_names before yielding"
            )
        seen.add(produced.output.name)
        extra = context.get_output_metadata(produced.output.name)
        if extra:
            produced = _Produced(
                produced.output,
                produced.value,
                produced.has_value,
                {**produced.metadata, **extra},
                produced.data_version,
            )
        yield produced
    missing = [o.name for o in outputs if o.is_required and o.name not in seen]
    if missing:
        raise DefinitionError(
            f"{definition.node_name!r} did not produce required output(s) "
            f"{', '.join(missing)}; return or yield a value for each selected output"
        )


def _store_output(
    request: TaskRequest,
    session: WorkerSession,
    definition: AssetsDefinition,
    context: AssetExecutionContext,
    scope: PartitionScope | None,
    event_keys: Sequence[str | None],
    produced: _Produced,
    resources: Mapping[str, Any],
    emit: Emit,
    quarantined_by: tuple[str, ...] = (),
    *,
    pending: bool = False,
) -> None:
    """Stores a produced value and records it: materialized, or quarantined by checks.

    `pending`: the value is held in quarantine for `quarantined_by`, checks still to run.
    """
    output = produced.output
    metadata = dict(produced.metadata)
    if produced.has_value:
        spec = definition.specs_by_key[output.key]
        output_context = OutputContext(
            asset_key=output.key,
            name=output.name,
            run_id=request.run_id,
            node_name=definition.node_name,
            definition_metadata=spec.metadata,
            resources=resources,
            log=context.log,
            partition_scope=scope,
            quarantine=bool(quarantined_by),
        )
        manager = session.io_manager(output.io_manager_key)
        if quarantined_by and not supports_quarantine(manager):
            raise ExecutionError(
                f"asset {output.key.to_user_string()!r} must go to quarantine (blocking "
                f"check {', '.join(quarantined_by)} {'pending' if pending else 'failed'}), "
                "but its IO manager "
                f"{output.io_manager_key!r} ({type(manager).__name__}) cannot keep values in "
                "quarantine; implement QuarantiningIOManager or use FilesystemIOManager"
            )
        manager.handle_output(output_context, produced.value)
        metadata.update(output_context.consume_added_metadata())
        if session.output_capture is not None:
            session.output_capture[(definition.node_name, output.name)] = produced.value
    try:
        metadata_data = metadata_to_data(normalize_metadata(metadata)) if metadata else {}
    except ArcoError as error:
        raise DefinitionError(
            f"metadata of asset {output.key.to_user_string()!r}: {error}"
        ) from error
    spec = definition.specs_by_key[output.key]
    # One materialization per partition, as Dagster records them; metadata is shared.
    run_id, task_id, key = request.run_id, request.task_id, output.key
    data_version, code_version = produced.data_version, spec.code_version
    if quarantined_by:
        for partition_key in event_keys:
            emit(
                AssetQuarantined(
                    run_id=run_id,
                    task_id=task_id,
                    asset_key=key,
                    partition_key=partition_key,
                    check_names=quarantined_by,
                    metadata=metadata_data,
                    data_version=data_version,
                    code_version=code_version,
                    has_value=produced.has_value,
                    pending=pending,
                )
            )
        return
    for partition_key in event_keys:
        emit(
            AssetMaterialized(
                run_id=run_id,
                task_id=task_id,
                asset_key=key,
                partition_key=partition_key,
                metadata=metadata_data,
                data_version=data_version,
                code_version=code_version,
            )
        )
