"""Operations on recorded runs: launch into an instance, resume, re-execute.

Each loads the run's code location again (it is recorded with the run), so a run started
by one process can be resumed or re-executed by another, after a crash included.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from arco_flow.core.errors import ArcoError, ExecutionError
from arco_flow.core.events import Event, EventRecord, RunStarted
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.core.plan import Plan, PlanPartition, Task, plan_from_data
from arco_flow.core.run_state import TaskStatus, restore_run_state
from arco_flow.execution.coordinator import RunOutcome
from arco_flow.execution.launcher import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    PARTITION_TAG,
    Executor,
    PreparedRun,
    prepare_run,
    run_prepared,
)
from arco_flow.sdk.assets import DEFAULT_IO_MANAGER_KEY
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.dynamic_partitions import (
    DynamicPartitionsSnapshot,
    dynamic_names_by_node,
    read_dynamic_partitions,
)
from arco_flow.sdk.fs_io_manager import FilesystemIOManager
from arco_flow.sdk.jobs import JobDefinition
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunRecord, RunStatus
from arco_flow.worker.code_location import load_definitions

if TYPE_CHECKING:
    from arco_flow.core.partitions import PartitionKeyRange

__all__ = [
    "Loader",
    "coordinator_is_alive",
    "launch_into_instance",
    "load_code_location",
    "reexecute_run",
    "resume_run",
]

_TERMINAL = frozenset({RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED})

PARTITION_TAGS = (PARTITION_TAG, PARTITION_RANGE_START_TAG, PARTITION_RANGE_END_TAG)

Loader = Callable[[Mapping[str, Any]], Definitions]


def load_code_location(code_location: Mapping[str, Any]) -> Definitions:
    """Loads the definitions a run or backfill recorded (``{"module"|"file": ...}``).

    Raises:
        ExecutionError: nothing was recorded: the definitions were built in a process.
    """
    if not code_location:
        raise ExecutionError(
            "the run was launched from definitions built in a Python process (no module or "
            "file was recorded), so no other process can load them; resume it from code"
        )
    return load_definitions(
        module=code_location.get("module"),
        file=code_location.get("file"),
        attribute=code_location.get("attribute"),
    )


def _in_process_resources(
    definitions: Definitions, executor: Executor, instance: ArcoInstance
) -> dict[str, Any]:
    if executor != "in_process" or DEFAULT_IO_MANAGER_KEY in definitions.resources:
        return {}
    if instance.storage_dir is None:
        raise ExecutionError(
            "the instance has no storage folder; bind an IO manager to 'io_manager'"
        )
    return {DEFAULT_IO_MANAGER_KEY: FilesystemIOManager(base_dir=instance.storage_dir)}


def launch_into_instance(
    job: JobDefinition,
    instance: ArcoInstance,
    *,
    code_location: Mapping[str, str] | None,
    executor: Executor = "process_pool",
    run_config: Any = None,
    asset_selection: Any = None,
    max_concurrent: int | None = None,
    tags: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
    run_id: str | None = None,
    on_planned: Callable[[PreparedRun], None] | None = None,
    on_record: Callable[[EventRecord], None] | None = None,
    partition_key: str | None = None,
    partition_key_range: PartitionKeyRange | None = None,
) -> RunOutcome:
    """Plans and runs `job` (or a selection of it), recording into `instance`.

    Values go to the instance's storage folder unless an IO manager is bound. The run
    can be canceled from another process (`ArcoInstance.request_cancel`). The run covers
    `partition_key`, or every partition of `partition_key_range` (or those Dagster's
    partition tags in `tags` name).
    """
    prepared = prepare_run(
        job,
        run_config=run_config,
        resources=_in_process_resources(job.definitions, executor, instance),
        asset_selection=asset_selection,
        partition_key=partition_key,
        partition_key_range=partition_key_range,
        tags=tags,
        dynamic_partitions_store=instance,
    )
    if on_planned is not None:
        on_planned(prepared)
    return _run(
        prepared,
        instance,
        executor=executor,
        code_location=code_location,
        max_concurrent=max_concurrent,
        tags=tags,
        parent_run_id=parent_run_id,
        run_id=run_id,
        on_record=on_record,
    )


def launch_requested_run(
    definitions: Definitions,
    instance: ArcoInstance,
    request: Mapping[str, Any],
    *,
    run_id: str,
    code_location: Mapping[str, str] | None,
    executor: Executor,
    on_planned: Callable[[], None],
) -> RunOutcome:
    """Runs what a tick requested (`TickRunRequested.request`) under `run_id`.

    Raises:
        NotFoundError: the request names a job `definitions` lack.
    """
    job = definitions.resolve_job_def(str(request["job_name"]))
    selection = request.get("asset_selection")
    return launch_into_instance(
        job,
        instance,
        code_location=code_location,
        executor=executor,
        run_config=request.get("run_config") or None,
        asset_selection=[AssetKey(path) for path in selection] if selection else None,
        tags=dict(request.get("tags") or {}),
        run_id=run_id,
        partition_key=request.get("partition_key"),
        on_planned=lambda _prepared: on_planned(),
    )


def _run(
    prepared: PreparedRun,
    instance: ArcoInstance,
    *,
    executor: Executor,
    code_location: Mapping[str, str] | None,
    max_concurrent: int | None,
    tags: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
    run_id: str | None = None,
    on_record: Callable[[EventRecord], None] | None = None,
    restored: Any = None,
) -> RunOutcome:
    holder: dict[str, str] = {}

    def on_any_record(record: EventRecord) -> None:
        if record.run_id is not None:
            holder.setdefault("run_id", record.run_id)
        if on_record is not None:
            on_record(record)

    def cancel_requested() -> bool:
        current = holder.get("run_id")
        return current is not None and instance.is_cancel_requested(current)

    return run_prepared(
        prepared,
        sink=instance,
        executor=executor,
        code_location=code_location,
        storage_dir=instance.storage_dir,
        max_concurrent=max_concurrent,
        run_id=run_id,
        parent_run_id=parent_run_id,
        tags=tags,
        on_record=on_any_record,
        instance=instance,
        cancel_requested=cancel_requested,
        restored=restored,
    )


def coordinator_is_alive(coordinator: Mapping[str, Any]) -> bool:
    """Whether a run's recorded coordinator process still runs (on this host)."""
    pid = coordinator.get("pid")
    if coordinator.get("host") != socket.gethostname() or not isinstance(pid, int):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _prepared_from_record(
    run: RunRecord,
    definitions: Definitions,
    executor: Executor,
    instance: ArcoInstance,
    events: Sequence[Event],
) -> PreparedRun:
    definitions = definitions.with_resources(_in_process_resources(definitions, executor, instance))
    job = definitions.resolve_job_def(run.job_name)
    plan = plan_from_data(run.plan)
    return PreparedRun(
        definitions=definitions,
        job=job,
        plan=plan,
        run_config=dict(run.run_config),
        dynamic_partitions=_recorded_dynamic_partitions(definitions, plan, events, instance),
    )


def _recorded_dynamic_partitions(
    definitions: Definitions, plan: Plan, events: Sequence[Event], instance: ArcoInstance
) -> dict[str, tuple[str, ...]]:
    """The dynamic partition keys a run started with, so that its resume sees the same.

    A name the start did not record (a run recorded before runs kept their keys, or code
    that changed since) is read from the instance now.
    """
    started = next((event for event in events if isinstance(event, RunStarted)), None)
    recorded = dict(started.dynamic_partitions) if started is not None else {}
    by_node = dynamic_names_by_node(definitions, {task.node for task in plan.tasks})
    needed = {name for names in by_node.values() for name in names}
    snapshot = DynamicPartitionsSnapshot(
        {name: keys for name, keys in recorded.items() if name in needed}
    )
    missing = needed - set(snapshot.keys_by_name)
    if missing:
        snapshot = snapshot.merged(read_dynamic_partitions(instance, missing).keys_by_name)
    return snapshot.keys_by_name


def resume_run(
    instance: ArcoInstance,
    run_id: str,
    *,
    force: bool = False,
    loader: Loader = load_code_location,
    on_planned: Callable[[PreparedRun], None] | None = None,
    on_record: Callable[[EventRecord], None] | None = None,
) -> RunOutcome:
    """Takes over a run whose coordinator stopped, and carries it to its end.

    Attempts that were running are failed as lost and retried by their policy; what
    succeeded is kept (its values are read back through the IO managers). `on_planned`
    sees the run once its recorded plan is loaded and checked, before anything runs.

    Raises:
        NotFoundError: no such run.
        ExecutionError: the run already ended, or its coordinator still runs (unless
            `force`).
    """
    run = instance.get_run(run_id)
    if run.status in _TERMINAL:
        raise ExecutionError(
            f"run {run_id} already ended ({run.status.value}); to run its tasks again use "
            f"`arco-flow runs reexecute {run_id} --from-failure`"
        )
    if not force and coordinator_is_alive(run.coordinator):
        raise ExecutionError(
            f"run {run_id} is still coordinated by process {run.coordinator.get('pid')} on "
            "this host; wait for it, cancel the run, or pass --force if that process is stuck"
        )
    executor: Executor = "process_pool" if run.executor == "process_pool" else "in_process"
    events = [record.event for record in instance.all_logs(run_id)]
    prepared = _prepared_from_record(run, loader(run.code_location), executor, instance, events)
    if prepared.plan.plan_id != run.plan_id:
        raise ExecutionError(f"run {run_id}'s recorded plan does not match its plan id")
    restored = restore_run_state(prepared.plan, events)
    if on_planned is not None:
        on_planned(prepared)
    return _run(
        prepared,
        instance,
        executor=executor,
        code_location=run.code_location,
        max_concurrent=run.max_concurrent,
        tags=run.tags,
        parent_run_id=run.parent_run_id,
        run_id=run_id,
        on_record=on_record,
        restored=restored,
    )


def reexecute_run(
    instance: ArcoInstance,
    run_id: str,
    *,
    from_failure: bool = False,
    selection: str | None = None,
    task_id: str | None = None,
    executor: Executor | None = None,
    max_concurrent: int | None = None,
    loader: Loader = load_code_location,
    on_planned: Callable[[PreparedRun], None] | None = None,
    on_record: Callable[[EventRecord], None] | None = None,
) -> RunOutcome:
    """Runs part of a finished run again, as a new run linked to it.

    Exactly one of: `from_failure` (the tasks that failed or never ran), `selection` (an
    asset selection within the run's job), or `task_id` (one task alone). Successful
    outputs of the parent are read back through the IO managers.

    Raises:
        NotFoundError: no such run or task.
        ArcoError: not exactly one mode was given, or nothing is left to run.
    """
    if sum((from_failure, selection is not None, task_id is not None)) != 1:
        raise ArcoError("re-execute with exactly one of --from-failure, --select or --task")
    parent = instance.get_run(run_id)
    if parent.status not in _TERMINAL:
        raise ExecutionError(
            f"run {run_id} has not ended ({parent.status.value}); re-execute it once it has, "
            f"or resume it with `arco-flow runs resume {run_id}`"
        )
    chosen_executor: Executor = executor or (
        "process_pool" if parent.executor == "process_pool" else "in_process"
    )
    definitions = loader(parent.code_location)
    job = definitions.resolve_job_def(parent.job_name)
    plan = plan_from_data(parent.plan)
    keys: list[AssetKey | AssetCheckKey] | str
    if from_failure:
        done = {
            task.task_id
            for task in instance.get_tasks(run_id)
            if task.status is TaskStatus.SUCCEEDED
        }
        keys = _task_keys(task for task in plan.tasks if task.task_id not in done)
        if not keys:
            raise ArcoError(f"every task of run {run_id} succeeded; nothing to re-execute")
    elif task_id is not None:
        keys = _task_keys([plan.task(task_id)])
    else:
        assert selection is not None
        keys = selection
    return launch_into_instance(
        job,
        instance,
        code_location=parent.code_location,
        executor=chosen_executor,
        run_config=parent.run_config,
        asset_selection=keys,
        max_concurrent=max_concurrent or parent.max_concurrent,
        tags=parent.tags,
        parent_run_id=run_id,
        on_planned=on_planned,
        on_record=on_record,
        **_partition_arguments(plan.partition, parent.tags),
    )


def _task_keys(tasks: Iterable[Task]) -> list[AssetKey | AssetCheckKey]:
    """The assets and the standalone checks of `tasks`, as a launch selection (sorted)."""
    listed = list(tasks)
    assets = sorted({key for task in listed for key in task.asset_keys})
    checks = sorted({key for task in listed if not task.asset_keys for key in task.check_keys})
    return [*assets, *checks]


def _partition_arguments(
    partition: PlanPartition | None, tags: Mapping[str, str]
) -> dict[str, Any]:
    """The partition of a parent run, for its re-execution (tags already carrying it win)."""
    if partition is None or any(tag in tags for tag in PARTITION_TAGS):
        return {}
    if partition.key is not None:
        return {"partition_key": partition.key}
    from arco_flow.core.partitions import PartitionKeyRange

    assert partition.range_start is not None
    assert partition.range_end is not None
    return {"partition_key_range": PartitionKeyRange(partition.range_start, partition.range_end)}
