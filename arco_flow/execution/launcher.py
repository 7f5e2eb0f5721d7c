"""Launching runs: plan a job's selection, then carry the plan out with a dispatcher.

The composition root shared by `materialize`, `execute_in_process`, the CLI and
re-execution. `prepare_run` validates and plans (no side effects); `run_prepared` starts
the right dispatcher (in this process, or a pool of worker processes), drives a
`RunCoordinator`, and records every event into the given sink.
"""

from __future__ import annotations

import datetime
import os
import socket
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from arco_flow.core.errors import ConfigError, PartitionError, SelectionError
from arco_flow.core.events import EventRecord
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.core.plan import Plan, PlanPartition, build_plan
from arco_flow.core.run_state import RunState
from arco_flow.execution.coordinator import RunCoordinator, RunOutcome
from arco_flow.execution.dispatcher import Dispatcher, InProcessDispatcher, RoutingDispatcher
from arco_flow.execution.promotion import Promoter, PromotingDispatcher, held_lookup
from arco_flow.execution.recorder import EventSink, MaterializationLookup, RunRecorder
from arco_flow.sdk.assets import DEFAULT_IO_MANAGER_KEY
from arco_flow.sdk.config import normalize_run_config, validate_run_config_keys
from arco_flow.sdk.definitions import (
    Definitions,
    NodeDefinition,
    resolve_asset_selection,
    resolve_check_selection,
)
from arco_flow.sdk.dynamic_partitions import (
    DynamicPartitionsSnapshot,
    dynamic_names_by_node,
    read_dynamic_partitions,
    unknown_dynamic_keys,
)
from arco_flow.sdk.jobs import JobDefinition
from arco_flow.sdk.resources import ResourceScope
from arco_flow.worker.executor import OutputCapture, WorkerSession

if TYPE_CHECKING:
    from arco_flow.core.partitions import (
        DynamicPartitionsStore,
        PartitionKeyRange,
        PartitionsDefinition,
    )

__all__ = [
    "EXECUTORS",
    "PARTITION_RANGE_END_TAG",
    "PARTITION_RANGE_START_TAG",
    "PARTITION_TAG",
    "Executor",
    "PreparedRun",
    "coordinator_info",
    "dynamic_partitions_for_plan",
    "prepare_run",
    "required_resource_keys",
    "resolve_run_partition",
    "run_prepared",
]

PARTITION_TAG = "dagster/partition"
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"

Executor = Literal["in_process", "process_pool"]
EXECUTORS: tuple[Executor, ...] = ("in_process", "process_pool")


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedRun:
    """A validated, planned run, ready to be carried out."""

    definitions: Definitions
    job: JobDefinition
    plan: Plan
    run_config: dict[str, Any] = field(default_factory=dict)
    dynamic_partitions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Definition name -> keys: the run's one snapshot of the dynamic partitions it uses
    (empty when it uses none); validation, the tasks and a resume all read it."""


def prepare_run(
    job: JobDefinition,
    *,
    run_config: Any = None,
    resources: Mapping[str, Any] | None = None,
    asset_selection: Any = None,
    partition_key: str | None = None,
    partition_key_range: PartitionKeyRange | None = None,
    tags: Mapping[str, str] | None = None,
    dynamic_partitions_store: DynamicPartitionsStore | None = None,
) -> PreparedRun:
    """Validates the definitions, the run config and the partitions, and plans the selection.

    When the selected assets or their partitioned inputs use dynamic partitions, the keys
    of each such definition are read from `dynamic_partitions_store` here, once: the run
    validates against and runs on that snapshot, whatever changes in the store meanwhile.

    Args:
        job: the job to run; its definitions are validated whole.
        run_config: config of the run: a dict or a `RunConfig`.
        resources: resources that replace the definitions' ones of the same key.
        asset_selection: a subset of the job's assets.
        partition_key: the partition every task runs for.
        partition_key_range: the inclusive range of partitions every task runs for, in one
            run (a one-key range is planned as that key); excludes `partition_key`.
        tags: the run's tags; Dagster's ``dagster/partition`` and
            ``dagster/asset_partition_range_start``/``_end`` choose the partitions too.
        dynamic_partitions_store: where the keys of dynamic partitions are read (the
            instance); needed only when a selected asset uses dynamic partitions.

    Raises:
        DefinitionsValidationError: the definitions have problems (all are listed).
        SelectionError: the selection matches no asset, or assets outside the job.
        ConfigError: the run config names an unknown node or resource, or is invalid.
        PartitionError: the partition key or range is missing, unknown, reversed, given
            twice, or given for unpartitioned assets; or the assets use dynamic
            partitions and no store was given.
    """
    partition_key, partition_key_range = resolve_run_partition(
        partition_key, partition_key_range, tags
    )
    definitions = job.definitions
    if resources:
        definitions = definitions.with_resources(resources)
        job = definitions.resolve_job_def(job.name)
    definitions.validate()
    graph = definitions.resolve_asset_graph()
    keys: set[AssetKey] = set(job.asset_keys)
    checks: set[AssetCheckKey] = set(job.check_keys)
    if asset_selection is not None:
        chosen = resolve_asset_selection(asset_selection, graph)
        chosen_checks = resolve_check_selection(asset_selection, graph)
        outside = sorted(k.to_user_string() for k in chosen - keys)
        if outside:
            raise SelectionError(
                f"asset_selection names assets outside job {job.name!r}: {', '.join(outside)}"
            )
        # Checks the job leaves out (e.g. its selection said without_checks()) stay out.
        keys, checks = chosen, chosen_checks & checks
    if not keys and not checks:
        raise SelectionError(
            f"the selection {asset_selection!r} matches no asset and no check; "
            "`arco-flow assets list` shows the keys, groups are set with group_name="
        )
    # A check run alone runs for its assets' partitions: they decide the run's partition.
    partitioned_keys = keys or {key.asset_key for key in checks}
    snapshot = _read_snapshot(definitions, partitioned_keys, dynamic_partitions_store)
    partition = _plan_partition(
        definitions, partitioned_keys, partition_key, partition_key_range, snapshot
    )
    _check_partitions_match(definitions, checks, partition)
    config = normalize_run_config(run_config)
    validate_run_config_keys(config, list(definitions.nodes_by_name), list(definitions.resources))
    plan = build_plan(
        definitions.manifest, graph, keys, run_config=config, partition=partition, checks=checks
    )
    return PreparedRun(
        definitions=definitions,
        job=job,
        plan=plan,
        run_config=config,
        dynamic_partitions=snapshot.keys_by_name if snapshot is not None else {},
    )


def _read_snapshot(
    definitions: Definitions, keys: Iterable[AssetKey], store: DynamicPartitionsStore | None
) -> DynamicPartitionsSnapshot | None:
    """The keys of the dynamic partitions the selection uses, read now; None if it uses none."""
    nodes = {definitions.get_assets_def(key).node_name for key in keys}
    by_node = dynamic_names_by_node(definitions, nodes)
    if not by_node:
        return None
    names = sorted({name for node_names in by_node.values() for name in node_names})
    if store is None:
        shown = ", ".join(repr(name) for name in names)
        raise PartitionError(
            f"compute nodes {', '.join(sorted(by_node))} use dynamic partitions {shown}, whose "
            "keys live in an instance: pass instance= (an ArcoInstance holding the keys, "
            f"added with instance.add_dynamic_partitions({names[0]!r}, [...])) to "
            "materialize or execute_in_process"
        )
    return read_dynamic_partitions(store, names)


def dynamic_partitions_for_plan(
    definitions: Definitions, plan: Plan, snapshot: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """Compute node -> the names of `snapshot` its tasks use; empty without a snapshot."""
    if not snapshot:
        return {}
    return dynamic_names_by_node(definitions, {task.node for task in plan.tasks})


def run_prepared(
    prepared: PreparedRun,
    *,
    sink: EventSink,
    executor: Executor = "in_process",
    code_location: Mapping[str, str] | None = None,
    storage_dir: str | None = None,
    max_concurrent: int | None = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    on_record: Callable[[EventRecord], None] | None = None,
    output_capture: OutputCapture | None = None,
    instance: Any = None,
    cancel_requested: Callable[[], bool] | None = None,
    restored: RunState | None = None,
) -> RunOutcome:
    """Carries out a prepared run and records it into `sink`.

    Args:
        prepared: what `prepare_run` returned.
        sink: where the run's events are appended (an event store, or a list).
        executor: ``in_process`` (this process, one task at a time) or ``process_pool``
            (long-lived worker processes, `max_concurrent` at once).
        code_location: how worker processes load the definitions (``{"module": ...}`` or
            ``{"file": ...}``); required for ``process_pool``.
        storage_dir: where worker processes store values when no IO manager is bound.
        max_concurrent: tasks running at once; the CPU count by default for a pool.
        run_id: the run's id; a new one by default.
        parent_run_id: the run this one re-executes.
        tags: tags of the run, added to the job's.
        on_record: sees every event record as it is appended.
        output_capture: keeps returned values, for in-process results.
        instance: handed to asset contexts as ``context.instance``.
        cancel_requested: polled while the run goes; True cancels it.
        restored: the state of a run being resumed (the plan must be the run's).

    Returns:
        How the run ended.
    """
    definitions, job, plan = prepared.definitions, prepared.job, prepared.plan
    run_id = run_id or str(uuid.uuid4())
    recorder = RunRecorder(
        sink,
        on_record=on_record,
        latest_materialization=_materialization_lookup(instance if instance is not None else sink),
    )
    by_node = definitions.nodes_by_name
    run_tags = {**job.tags, **(tags or {})}
    common: dict[str, Any] = {
        "run_id": run_id,
        "plan": plan,
        "recorder": recorder,
        "retry_policies": {
            node: definition.retry_policy or job.op_retry_policy
            for node, definition in by_node.items()
        },
        "timeouts": {node: definition.timeout_s for node, definition in by_node.items()},
        "job_name": job.name,
        "run_config": prepared.run_config,
        "tags": run_tags,
        "max_concurrent": max_concurrent,
        "parent_run_id": parent_run_id,
        "code_location": dict(code_location or {}),
        "executor": executor,
        "coordinator_info": coordinator_info(),
        "restored": restored,
        "cancel_requested": cancel_requested,
        "dynamic_partitions": prepared.dynamic_partitions,
        "dynamic_names_by_node": dynamic_partitions_for_plan(
            definitions, plan, prepared.dynamic_partitions
        ),
    }
    if executor == "process_pool":
        if not code_location:
            raise ConfigError(
                "the process_pool executor loads the definitions in worker processes, so it "
                "needs a code location (-m MODULE or -f FILE); use in_process for "
                "definitions built in this process"
            )
        return _run_in_pool(
            common, prepared, code_location, storage_dir, max_concurrent, instance=instance
        )
    if executor != "in_process":
        raise ConfigError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    planned = [by_node[task.node] for task in plan.tasks]
    required = required_resource_keys(definitions, planned)
    resources_config = prepared.run_config.get("resources", {})
    with ResourceScope(definitions.resources, resources_config, required) as scope:
        session = WorkerSession(
            definitions,
            scope.as_dict(),
            output_capture=output_capture,
            instance=instance,
            dynamic_partitions=DynamicPartitionsSnapshot(prepared.dynamic_partitions),
        )
        dispatcher: Dispatcher = InProcessDispatcher(session, recorder.record)
        if any(task.promotes for task in plan.tasks):
            promoter = Promoter(
                definitions, session.resources, held_lookup(instance), recorder.record
            )
            dispatcher = PromotingDispatcher(dispatcher, promoter)
        return RunCoordinator(dispatcher=dispatcher, **common).run()


def _run_in_pool(
    common: dict[str, Any],
    prepared: PreparedRun,
    code_location: Mapping[str, str],
    storage_dir: str | None,
    max_concurrent: int | None,
    *,
    instance: Any,
) -> RunOutcome:
    # Loaded here: the pool module starts processes, which an in-process run never needs.
    from arco_flow.execution.process_pool import (
        ProcessPoolDispatcher,
        check_process_pool_compatible,
    )

    definitions = prepared.definitions
    check_process_pool_compatible(definitions)
    if DEFAULT_IO_MANAGER_KEY not in definitions.resources and storage_dir is None:
        raise ConfigError(
            "worker processes exchange values through storage: bind an IO manager to "
            "'io_manager', or pass a storage folder (the CLI uses ARCO_HOME/storage)"
        )
    recorder: RunRecorder = common["recorder"]
    # Checks that only read the store run here, in the coordinator's process: workers
    # never hold store credentials.
    checks = definitions.checks_defs_by_node
    local = frozenset(
        task.node
        for task in prepared.plan.tasks
        if task.node in checks and checks[task.node].runs_on_control_plane
    )
    # Held values are promoted here too (see `execution.promotion`): through the IO
    # managers of the promoted assets, set up in this process.
    promoted = sorted({key for task in prepared.plan.tasks for key in task.promotes})
    with ProcessPoolDispatcher(
        code_location,
        emit=recorder.record,
        max_workers=max_concurrent or os.cpu_count() or 2,
        storage_dir=storage_dir,
    ) as pool:
        if not local and not promoted:
            return RunCoordinator(dispatcher=pool, **common).run()
        resources = dict(definitions.resources)
        if DEFAULT_IO_MANAGER_KEY not in resources and storage_dir is not None:
            from arco_flow.sdk.fs_io_manager import FilesystemIOManager

            resources[DEFAULT_IO_MANAGER_KEY] = FilesystemIOManager(base_dir=storage_dir)
        required = required_resource_keys(definitions, [checks[node] for node in local])
        required.update(
            output.io_manager_key
            for key in promoted
            for output in definitions.get_assets_def(key).outputs
            if output.key == key
        )
        config = prepared.run_config.get("resources", {})
        with ResourceScope(resources, config, required) as scope:
            dispatcher: Dispatcher = pool
            if local:
                session = WorkerSession(
                    definitions,
                    scope.as_dict(),
                    instance=instance,
                    dynamic_partitions=DynamicPartitionsSnapshot(prepared.dynamic_partitions),
                )
                in_process = InProcessDispatcher(session, recorder.record)
                dispatcher = RoutingDispatcher(pool, in_process, local)
            if promoted:
                promoter = Promoter(
                    definitions, scope.as_dict(), held_lookup(instance), recorder.record
                )
                dispatcher = PromotingDispatcher(dispatcher, promoter)
            return RunCoordinator(dispatcher=dispatcher, **common).run()


def _materialization_lookup(source: Any) -> MaterializationLookup | None:
    """The latest stored materialization of an asset (and partition), from an instance."""
    latest = getattr(source, "get_latest_materialization_event", None)
    if not callable(latest):
        return None

    def lookup(key: AssetKey, partition_key: str | None) -> tuple[str, int] | None:
        record = latest(key)
        if record is None or record.partition_key != partition_key:
            return None
        return (record.run_id, record.event_id)

    return lookup


def resolve_run_partition(
    partition_key: str | None,
    partition_key_range: PartitionKeyRange | None,
    tags: Mapping[str, str] | None,
) -> tuple[str | None, PartitionKeyRange | None]:
    """The run's partition key or range, from the arguments and Dagster's run tags.

    Returns:
        (key, None), (None, range) or (None, None).

    Raises:
        PartitionError: a key and a range are both given, an argument and a tag disagree,
            or only one end of a range is tagged.
    """
    tags = tags or {}
    tagged_key = tags.get(PARTITION_TAG)
    start, end = tags.get(PARTITION_RANGE_START_TAG), tags.get(PARTITION_RANGE_END_TAG)
    if (start is None) != (end is None):
        raise PartitionError(
            f"a partition range needs both tags {PARTITION_RANGE_START_TAG!r} and "
            f"{PARTITION_RANGE_END_TAG!r}; only one was given"
        )
    if tagged_key is not None:
        if partition_key is not None and partition_key != tagged_key:
            raise PartitionError(
                f"partition_key={partition_key!r} disagrees with tag {PARTITION_TAG}="
                f"{tagged_key!r}; give the partition once"
            )
        partition_key = tagged_key
    if start is not None and end is not None:
        from arco_flow.core.partitions import PartitionKeyRange

        tagged_range = PartitionKeyRange(start, end)
        if partition_key_range is not None and partition_key_range != tagged_range:
            raise PartitionError(
                f"partition_key_range {partition_key_range.start!r}...{partition_key_range.end!r}"
                f" disagrees with the range tags ({start!r}...{end!r}); give the range once"
            )
        partition_key_range = tagged_range
    if partition_key is not None and partition_key_range is not None:
        raise PartitionError(
            f"both a partition key ({partition_key!r}) and a partition range "
            f"({partition_key_range.start!r}...{partition_key_range.end!r}) were given; a run "
            "covers one key or one range: pass partition_key= or partition_key_range=, not both"
        )
    return partition_key, partition_key_range


def _check_partitions_match(
    definitions: Definitions, checks: Iterable[AssetCheckKey], partition: PlanPartition | None
) -> None:
    """Every check of the run checks an asset partitioned as the run is, or none of them.

    Raises:
        PartitionError: listing each check of a partitioned asset in an unpartitioned run,
            and each check of an unpartitioned asset in a partitioned one.
    """
    problems: list[str] = []
    for key in sorted(checks):
        spec = definitions.get_assets_def(key.asset_key).specs_by_key[key.asset_key]
        shown, asset = key.to_user_string(), key.asset_key.to_user_string()
        if spec.partitions_def is not None and partition is None:
            problems.append(
                f"check {shown!r} checks the partitioned asset {asset!r}, but the run has no "
                "partition (its selected assets are unpartitioned): run the check in a run of "
                f"{asset!r} for a partition key or range, or leave it out of this selection "
                "(AssetSelection.without_checks())"
            )
        elif spec.partitions_def is None and partition is not None:
            which = partition.key or f"{partition.range_start}...{partition.range_end}"
            problems.append(
                f"check {shown!r} checks the unpartitioned asset {asset!r}, but the run is for "
                f"partition {which!r}: run the check in a run without a partition (select "
                f"{asset!r} or the check alone), or leave it out of this selection "
                "(AssetSelection.without_checks())"
            )
    if problems:
        raise PartitionError("cannot plan the checks:\n  - " + "\n  - ".join(problems))


def _plan_partition(
    definitions: Definitions,
    keys: Iterable[AssetKey],
    partition_key: str | None,
    partition_key_range: PartitionKeyRange | None,
    snapshot: DynamicPartitionsSnapshot | None,
) -> PlanPartition | None:
    """The run's partition, checked against the selected assets' shared partitioning."""
    specs = {key: definitions.get_assets_def(key).specs_by_key[key] for key in keys}
    partitioned = {key: spec.partitions_def for key, spec in specs.items() if spec.partitions_def}
    if not partitioned:
        if partition_key is not None:
            raise PartitionError(
                f"partition key {partition_key!r} was given, but none of the selected assets "
                "is partitioned; leave the partition key out"
            )
        if partition_key_range is not None:
            raise PartitionError(
                f"partition range {partition_key_range.start!r}...{partition_key_range.end!r} "
                "was given, but none of the selected assets is partitioned; leave the range out"
            )
        return None
    names = ", ".join(sorted(k.to_user_string() for k in partitioned))
    unpartitioned = sorted(k.to_user_string() for k in specs if k not in partitioned)
    if unpartitioned:
        raise PartitionError(
            f"the selection mixes partitioned assets ({names}) with unpartitioned ones "
            f"({', '.join(unpartitioned)}); materialize them in separate runs"
        )
    # Loaded only for partitioned runs.
    from arco_flow.core.canonical_json import canonical_json
    from arco_flow.core.partitions import partitions_def_to_data

    shapes = {canonical_json(partitions_def_to_data(d)) for d in partitioned.values()}
    if len(shapes) > 1:
        raise PartitionError(
            f"the selected assets {names} are partitioned differently; one run covers one "
            "partitioning, so materialize each group of equally partitioned assets apart"
        )
    partitions_def = next(iter(partitioned.values()))
    now = datetime.datetime.now(datetime.UTC)
    if partition_key_range is not None:
        return _range_partition(partitions_def, partition_key_range, names, now, snapshot)
    if partition_key is None:
        last = partitions_def.get_last_partition_key(now, snapshot)
        example = f", e.g. {last!r}" if last is not None else ""
        raise PartitionError(
            f"assets {names} are partitioned: choose a partition with partition_key= "
            f"(the CLI's --partition), or a range with partition_key_range= (--partition-range)"
            f"{example}"
        )
    try:
        partitions_def.validate_partition_key(partition_key, now, snapshot)
    except PartitionError:
        subject = f"partition key {partition_key!r} of assets {names}"
        _raise_if_unknown_dynamic(partitions_def, partition_key, subject, snapshot)
        raise
    return PlanPartition(key=partition_key)


def _raise_if_unknown_dynamic(
    partitions_def: PartitionsDefinition,
    key: str,
    subject: str,
    snapshot: DynamicPartitionsSnapshot | None,
) -> None:
    """Raises a `PartitionError` that says how to add `key`'s unknown dynamic key, if any.

    `subject` names the key in the message (which key of which assets).
    """
    if snapshot is None:
        return
    unknown = unknown_dynamic_keys(partitions_def, key, snapshot)
    if not unknown:
        return
    name, missing = unknown[0]
    part = "" if missing == key else f": its part {missing!r}"
    count = len(snapshot.get_dynamic_partitions(name))
    raise PartitionError(
        f"{subject}{part} is not a key of dynamic partitions {name!r} "
        f"({count} keys when the run was planned); add it with instance.add_dynamic_partitions"
        f"({name!r}, [{missing!r}]) or `arco-flow partitions add {name} {missing}`, then "
        "launch the run again"
    ) from None


def _range_partition(
    partitions_def: PartitionsDefinition,
    key_range: PartitionKeyRange,
    names: str,
    now: datetime.datetime,
    snapshot: DynamicPartitionsSnapshot | None,
) -> PlanPartition:
    """A range's plan partition once both ends exist and the range runs forward."""
    space = partitions_def.resolve(now, snapshot)
    for end_name, key in (("start", key_range.start), ("end", key_range.end)):
        try:
            space.index_of(key)
        except PartitionError as error:
            subject = (
                f"the {end_name} {key!r} of partition range {key_range.start!r}..."
                f"{key_range.end!r} of assets {names}"
            )
            _raise_if_unknown_dynamic(partitions_def, key, subject, snapshot)
            ranges = space.all_ranges()
            bounds = (
                f" (partitions run from {space.key_at(ranges[0][0])!r} to "
                f"{space.key_at(ranges[-1][1] - 1)!r})"
                if ranges and "run from" not in str(error)
                else ""
            )
            raise PartitionError(
                f"the {end_name} of partition range {key_range.start!r}...{key_range.end!r} "
                f"of assets {names} is not a partition: {error}{bounds}"
            ) from None
    try:
        ranges = space.ranges_for_key_range(key_range)
    except PartitionError:
        # Both ends exist (checked above): the range runs backwards, in some dimension.
        raise PartitionError(
            f"partition range {key_range.start!r}...{key_range.end!r} of assets {names} ends "
            f"before it starts; did you mean {key_range.end!r}...{key_range.start!r}?"
        ) from None
    if key_range.start == key_range.end:
        return PlanPartition(key=key_range.start)
    if not ranges:
        raise PartitionError(
            f"partition range {key_range.start!r}...{key_range.end!r} of assets {names} holds "
            "no partition (every window in it is excluded); choose a wider range"
        )
    return PlanPartition(range_start=key_range.start, range_end=key_range.end)


def coordinator_info() -> dict[str, Any]:
    """Who coordinates a run: host and process id, recorded so a resume can check it."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def required_resource_keys(definitions: Definitions, planned: Iterable[NodeDefinition]) -> set[str]:
    """Resource keys the planned definitions need: their own, and their IO managers'."""
    required: set[str] = set()
    output_managers = {
        output.key: output.io_manager_key
        for definition in definitions.assets_defs_by_node.values()
        for output in definition.outputs
    }
    for definition in planned:
        required.update(definition.required_resource_keys)
        required.update(output.io_manager_key for output in definition.outputs)
        for binding in definition.inputs:
            required.add(
                binding.input_manager_key
                or output_managers.get(binding.key, DEFAULT_IO_MANAGER_KEY)
            )
    return required
