"""The projector: how each event changes the runs, tasks and asset projections.

Pure, and the only place these rules live. A backend holds (or loads) the rows a batch
needs (`required_rows` says which), calls `project`, and persists what `ProjectionChanges`
names. The projector reads only rows `required_rows` asks for, so a backend that loads just
those gets the same result as one that holds every row: that is what makes the projections
rebuildable from the log and comparable with a rebuild (`verify`).

Rules worth knowing:

- The first `RunStarted` of a run defines it; a later one changes nothing. It creates a
  PENDING task for every task of its plan that has no row yet.
- A `RunQueued` creates a QUEUED run with no plan (an empty plan id); the `RunStarted` of
  its launch, under the same run id, fills in the plan and turns it STARTED (a run
  canceled meanwhile stays CANCELING). `RunMonitorActed` changes no row.
- A `RunClaimed` of a run still QUEUED without a plan sets its coordinator to the claimer
  (the run stays QUEUED): the queue counts such a run as starting while its claimer lives
  and does not start it again. On any other run it changes nothing.
- A cancel request turns a QUEUED or STARTED run CANCELING; a resume turns it STARTED again
  only from those statuses. `RunSucceeded`, `RunFailed` and `RunCanceled` set the final
  status and end time.
- A task's status and times follow its latest attempt; events of an older attempt only add
  their usage. Usage adds up over attempts (wall and CPU seconds summed, peak RSS the max).
- Events for a run with no `RunStarted` still create their task and asset rows.
- A final `TaskFailed` (no retry) of a run whose plan has a partition key or range records
  one failure row per asset of the task over those partitions; a later final failure of
  the same task replaces it. A run with no `RunStarted` or no partition records none.
- Dynamic partition changes are kept as ordered operations (insert a key where missing,
  delete a key): applying them needs no row, so a million keys cost no load.
- A check's evaluation adds a history row and supersedes the latest evaluation of its
  check's partition (`check_projection`); it reads no row.
- A quarantined value adds a quarantine row; its release or discard sets the row's
  status by key (`quarantine_projection`); neither reads a row.
- An event of an ``instigator:<name>`` stream changes the instigator's state row and the
  row of the tick it is about, by the fold's own rules (`instigator_projection`); it reads
  those two rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias

from arco_flow.core.events import (
    BACKFILL_EVENT_TYPES,
    INSTIGATOR_EVENT_TYPES,
    QUARANTINE_EVENT_TYPES,
    AssetCheckEvaluated,
    AssetMaterialized,
    AssetObserved,
    AssetQuarantined,
    DynamicPartitionsAdded,
    DynamicPartitionsDeleted,
    EventRecord,
    LogRecorded,
    RunCanceled,
    RunCancelRequested,
    RunClaimed,
    RunFailed,
    RunMonitorActed,
    RunQueued,
    RunResumed,
    RunStarted,
    RunSucceeded,
    TaskFailed,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
    TaskUsage,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.run_state import TaskStatus
from arco_flow.storage.backfill_projection import apply_backfill_event
from arco_flow.storage.check_projection import (
    CheckPartitionKey,
    check_evaluation,
    check_partition_key,
)
from arco_flow.storage.instigator_projection import (
    InstigatorKey,
    InstigatorState,
    TickKey,
    TickRecord,
    project_instigator_event,
)
from arco_flow.storage.partition_status import PartitionFailure
from arco_flow.storage.quarantine_projection import (
    QuarantineChange,
    QuarantineKey,
    QuarantineResolution,
    quarantine_key,
    quarantine_record,
    quarantine_resolution,
    resolved,
)
from arco_flow.storage.records import (
    AssetCheckEvaluationRecord,
    BackfillRecord,
    MaterializationRecord,
    ObservationRecord,
    QuarantineRecord,
    RunRecord,
    RunStatus,
    TaskRecord,
)

__all__ = [
    "AssetRowKey",
    "BackfillKey",
    "AssetSummary",
    "DynamicPartitionsChange",
    "FailureKey",
    "PartitionRowKey",
    "ProjectionChanges",
    "ProjectionState",
    "RequiredRows",
    "RunAssetKey",
    "RunKey",
    "TaskKey",
    "planned_partition",
    "project",
    "required_rows",
]

RunKey: TypeAlias = tuple[str, str, str]
"""(tenant_id, workspace_id, run_id)."""
TaskKey: TypeAlias = tuple[str, str, str, str]
"""(tenant_id, workspace_id, run_id, task_id)."""
AssetRowKey: TypeAlias = tuple[str, str, AssetKey]
"""(tenant_id, workspace_id, asset_key)."""
PartitionRowKey: TypeAlias = tuple[str, str, AssetKey, str | None]
"""(tenant_id, workspace_id, asset_key, partition_key)."""
RunAssetKey: TypeAlias = tuple[str, str, str, AssetKey]
"""(tenant_id, workspace_id, run_id, asset_key): the run planned or materialized the asset."""
BackfillKey: TypeAlias = tuple[str, str, str]
"""(tenant_id, workspace_id, backfill_id)."""
FailureKey: TypeAlias = tuple[str, str, str, str, str]
"""(tenant_id, workspace_id, asset key user string, run_id, task_id)."""

_RESUMABLE = frozenset({RunStatus.QUEUED, RunStatus.STARTED})


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetSummary:
    """The asset_records row of an asset: counts and the ids of its latest events.

    Queries join it with the materializations and observations it points at to make an
    `AssetRecord`; the projector needs only this, so a batch loads one small row per asset.
    """

    asset_key: AssetKey
    tenant_id: str
    workspace_id: str
    materialization_count: int = 0
    last_materialization_event_id: int | None = None
    last_run_id: str | None = None
    last_materialization_time: float | None = None
    observation_count: int = 0
    last_observation_event_id: int | None = None
    last_observation_time: float | None = None


@dataclass(slots=True)
class ProjectionState:
    """Projection rows by key: all of them, or those a batch needs."""

    runs: dict[RunKey, RunRecord] = field(default_factory=dict)
    tasks: dict[TaskKey, TaskRecord] = field(default_factory=dict)
    assets: dict[AssetRowKey, AssetSummary] = field(default_factory=dict)
    latest: dict[PartitionRowKey, MaterializationRecord] = field(default_factory=dict)
    """The newest materialization of each partition (None: unpartitioned)."""
    run_assets: set[RunAssetKey] = field(default_factory=set)
    failures: dict[FailureKey, PartitionFailure] = field(default_factory=dict)
    """Final task failures over partitions; written, never read, by the projector."""
    backfills: dict[BackfillKey, BackfillRecord] = field(default_factory=dict)
    latest_checks: dict[CheckPartitionKey, AssetCheckEvaluationRecord] = field(default_factory=dict)
    """The newest evaluation of each check's partition; written, never read, by the projector."""
    quarantines: dict[QuarantineKey, QuarantineRecord] = field(default_factory=dict)
    """Quarantined values; written, never read, by the projector (a backend applies
    `ProjectionChanges.quarantines` by key)."""
    instigators: dict[InstigatorKey, InstigatorState] = field(default_factory=dict)
    """Each schedule's or sensor's state row (its `ticks` empty)."""
    ticks: dict[TickKey, TickRecord] = field(default_factory=dict)
    """Each tick's row."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DynamicPartitionsChange:
    """Keys added to (inserted where missing) or deleted from a dynamic definition."""

    tenant_id: str
    workspace_id: str
    partitions_def_name: str
    partition_keys: tuple[str, ...]
    added: bool
    event_id: int
    """The event; an added key's position is (event_id, index in `partition_keys`)."""


@dataclass(slots=True)
class ProjectionChanges:
    """What `project` changed: the keys to write back and the rows to insert."""

    new_runs: set[RunKey] = field(default_factory=set)
    updated_runs: set[RunKey] = field(default_factory=set)
    """Runs that existed before the batch and changed."""
    tasks: set[TaskKey] = field(default_factory=set)
    assets: set[AssetRowKey] = field(default_factory=set)
    latest: set[PartitionRowKey] = field(default_factory=set)
    run_assets: set[RunAssetKey] = field(default_factory=set)
    materializations: list[MaterializationRecord] = field(default_factory=list)
    observations: list[ObservationRecord] = field(default_factory=list)
    failures: set[FailureKey] = field(default_factory=set)
    dynamic_partitions: list[DynamicPartitionsChange] = field(default_factory=list)
    """In log order: a backend applies them in this order."""
    backfills: set[BackfillKey] = field(default_factory=set)
    check_evaluations: list[AssetCheckEvaluationRecord] = field(default_factory=list)
    latest_checks: set[CheckPartitionKey] = field(default_factory=set)
    quarantines: list[QuarantineChange] = field(default_factory=list)
    """In log order: rows to add and statuses to set."""
    instigators: set[InstigatorKey] = field(default_factory=set)
    ticks: set[TickKey] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class RequiredRows:
    """The rows `project` reads for a batch; a backend loads these before calling it."""

    runs: frozenset[RunKey]
    task_runs: frozenset[RunKey]
    """Runs whose every task row is needed (a `RunStarted` creates its plan's tasks)."""
    tasks: frozenset[TaskKey]
    assets: frozenset[AssetRowKey]
    backfills: frozenset[BackfillKey] = frozenset()
    instigators: frozenset[InstigatorKey] = frozenset()
    ticks: frozenset[TickKey] = frozenset()


_RUN_EVENTS = (RunResumed, RunCancelRequested, RunSucceeded, RunFailed, RunCanceled)
_TASK_EVENTS = (TaskStarted, TaskSucceeded, TaskFailed, TaskSkipped)


def required_rows(records: Iterable[EventRecord]) -> RequiredRows:
    """The rows that projecting `records` reads."""
    runs: set[RunKey] = set()
    task_runs: set[RunKey] = set()
    tasks: set[TaskKey] = set()
    assets: set[AssetRowKey] = set()
    backfills: set[BackfillKey] = set()
    instigators: set[InstigatorKey] = set()
    ticks: set[TickKey] = set()
    for record in records:
        event = record.event
        scope = (record.tenant_id, record.workspace_id)
        if isinstance(event, RunQueued | RunClaimed):
            runs.add((*scope, event.run_id))
        elif isinstance(event, RunStarted):
            run_key = (*scope, event.run_id)
            runs.add(run_key)
            task_runs.add(run_key)
        elif isinstance(event, _RUN_EVENTS):
            runs.add((*scope, event.run_id))
        elif isinstance(event, _TASK_EVENTS):
            tasks.add((*scope, event.run_id, event.task_id))
            if isinstance(event, TaskFailed) and event.retry_in_s is None:
                runs.add((*scope, event.run_id))  # its plan says which partitions failed
        elif isinstance(event, AssetMaterialized | AssetObserved):
            assets.add((*scope, event.asset_key))
        elif isinstance(event, BACKFILL_EVENT_TYPES):
            backfills.add((*scope, event.backfill_id))
        elif isinstance(event, INSTIGATOR_EVENT_TYPES):
            instigators.add((*scope, event.instigator_name))
            tick_id = getattr(event, "tick_id", None)
            if tick_id is not None:
                ticks.add((*scope, event.instigator_name, tick_id))
    return RequiredRows(
        runs=frozenset(runs),
        task_runs=frozenset(task_runs),
        tasks=frozenset(tasks),
        assets=frozenset(assets),
        backfills=frozenset(backfills),
        instigators=frozenset(instigators),
        ticks=frozenset(ticks),
    )


def project(state: ProjectionState, records: Sequence[EventRecord]) -> ProjectionChanges:
    """Applies `records`, in order, to `state`.

    Args:
        state: The rows `required_rows(records)` names (at least); changed in place.
        records: New records in event id order.

    Returns:
        What changed, for the backend to persist.
    """
    changes = ProjectionChanges()
    for record in records:
        _apply(state, changes, record)
    return changes


def _apply(state: ProjectionState, changes: ProjectionChanges, record: EventRecord) -> None:
    event = record.event
    if isinstance(event, BACKFILL_EVENT_TYPES):
        key = (record.tenant_id, record.workspace_id, event.backfill_id)
        row = apply_backfill_event(state.backfills.get(key), record, event)
        if row is not None:
            state.backfills[key] = row
            changes.backfills.add(key)
        return
    if isinstance(event, QUARANTINE_EVENT_TYPES):
        _quarantine_resolved(state, changes, quarantine_resolution(record, event))
        return
    if isinstance(event, INSTIGATOR_EVENT_TYPES):
        _instigator_event(state, changes, record, event.instigator_name)
        return
    match event:
        case TaskStarted() | TaskSucceeded() | TaskFailed() | TaskSkipped():
            _apply_task_event(state, changes, record, event)
            if isinstance(event, TaskFailed) and event.retry_in_s is None:
                _failed_for_good(state, changes, record, event)
        case AssetMaterialized():
            _materialized(state, changes, record, event)
        case AssetObserved():
            _observed(state, changes, record, event)
        case AssetCheckEvaluated():
            evaluation = check_evaluation(record, event)
            changes.check_evaluations.append(evaluation)
            latest_key = check_partition_key(evaluation)
            state.latest_checks[latest_key] = evaluation
            changes.latest_checks.add(latest_key)
        case AssetQuarantined():
            quarantined = quarantine_record(record, event)
            state.quarantines[quarantine_key(quarantined)] = quarantined
            changes.quarantines.append(quarantined)
        case RunStarted():
            _run_started(state, changes, record, event)
        case RunQueued():
            _run_queued(state, changes, record, event)
        case RunClaimed():
            _run_claimed(state, changes, record, event)
        case LogRecorded() | RunMonitorActed():
            pass
        case DynamicPartitionsAdded() | DynamicPartitionsDeleted():
            changes.dynamic_partitions.append(
                DynamicPartitionsChange(
                    tenant_id=record.tenant_id,
                    workspace_id=record.workspace_id,
                    partitions_def_name=event.partitions_def_name,
                    partition_keys=event.partition_keys,
                    added=isinstance(event, DynamicPartitionsAdded),
                    event_id=record.event_id,
                )
            )
        case RunResumed() | RunCancelRequested() | RunSucceeded() | RunFailed() | RunCanceled():
            _apply_run_event(state, changes, record, event)


def _instigator_event(
    state: ProjectionState, changes: ProjectionChanges, record: EventRecord, name: str
) -> None:
    key = (record.tenant_id, record.workspace_id, name)
    tick_id: str | None = getattr(record.event, "tick_id", None)
    tick_key = None if tick_id is None else (*key, tick_id)
    tick = None if tick_key is None else state.ticks.get(tick_key)
    row, new_tick = project_instigator_event(state.instigators.get(key), tick, record)
    state.instigators[key] = row
    changes.instigators.add(key)
    if tick_key is not None and new_tick is not None and new_tick is not tick:
        state.ticks[tick_key] = new_tick
        changes.ticks.add(tick_key)


def _quarantine_resolved(
    state: ProjectionState, changes: ProjectionChanges, resolution: QuarantineResolution
) -> None:
    row = state.quarantines.get(resolution.key)
    if row is not None:
        state.quarantines[resolution.key] = resolved(row, resolution)
    changes.quarantines.append(resolution)


def _run_started(
    state: ProjectionState, changes: ProjectionChanges, record: EventRecord, event: RunStarted
) -> None:
    tenant, workspace = record.tenant_id, record.workspace_id
    key = (tenant, workspace, event.run_id)
    queued = state.runs.get(key)
    if queued is not None:
        if queued.plan_id:
            return
        _queued_run_started(state, changes, record, event, queued)
        return
    state.runs[key] = RunRecord(
        run_id=event.run_id,
        job_name=event.job_name,
        plan_id=event.plan_id,
        status=RunStatus.STARTED,
        created_event_id=record.event_id,
        created_time=record.timestamp,
        updated_time=record.timestamp,
        started_time=record.timestamp,
        tags=dict(event.tags),
        asset_keys=tuple(event.asset_keys),
        parent_run_id=event.parent_run_id,
        plan=event.plan,
        run_config=event.run_config,
        code_location=event.code_location,
        executor=event.executor,
        max_concurrent=event.max_concurrent,
        coordinator=event.coordinator,
        tenant_id=tenant,
        workspace_id=workspace,
    )
    changes.new_runs.add(key)
    _add_planned_rows(state, changes, record, event)


def _run_queued(
    state: ProjectionState, changes: ProjectionChanges, record: EventRecord, event: RunQueued
) -> None:
    tenant, workspace = record.tenant_id, record.workspace_id
    key = (tenant, workspace, event.run_id)
    if key in state.runs:
        return
    state.runs[key] = RunRecord(
        run_id=event.run_id,
        job_name=event.job_name,
        plan_id="",
        status=RunStatus.QUEUED,
        created_event_id=record.event_id,
        created_time=record.timestamp,
        updated_time=record.timestamp,
        tags=dict(event.tags),
        parent_run_id=event.parent_run_id,
        run_config=event.run_config,
        code_location=event.code_location,
        executor=event.executor,
        max_concurrent=event.max_concurrent,
        tenant_id=tenant,
        workspace_id=workspace,
    )
    changes.new_runs.add(key)


def _run_claimed(
    state: ProjectionState, changes: ProjectionChanges, record: EventRecord, event: RunClaimed
) -> None:
    key = (record.tenant_id, record.workspace_id, event.run_id)
    run = state.runs.get(key)
    if run is None or run.plan_id or run.status is not RunStatus.QUEUED:
        return
    claimer = {**event.claimer, "claim_id": event.claim_id}
    state.runs[key] = replace(run, coordinator=claimer, updated_time=record.timestamp)
    if key not in changes.new_runs:
        changes.updated_runs.add(key)


def _queued_run_started(
    state: ProjectionState,
    changes: ProjectionChanges,
    record: EventRecord,
    event: RunStarted,
    queued: RunRecord,
) -> None:
    key = (record.tenant_id, record.workspace_id, event.run_id)
    status = RunStatus.STARTED if queued.status is RunStatus.QUEUED else queued.status
    state.runs[key] = replace(
        queued,
        plan_id=event.plan_id,
        status=status,
        updated_time=record.timestamp,
        started_time=record.timestamp,
        asset_keys=tuple(event.asset_keys),
        plan=event.plan,
        executor=event.executor,
        max_concurrent=event.max_concurrent,
        coordinator=event.coordinator,
    )
    if key not in changes.new_runs:
        changes.updated_runs.add(key)
    _add_planned_rows(state, changes, record, event)


def _add_planned_rows(
    state: ProjectionState, changes: ProjectionChanges, record: EventRecord, event: RunStarted
) -> None:
    """The run-asset rows and PENDING task rows of a started run's plan."""
    tenant, workspace = record.tenant_id, record.workspace_id
    for asset_key in event.asset_keys:
        _add_run_asset(state, changes, (tenant, workspace, event.run_id, asset_key))
    for task_id, node, stage in _planned_tasks(event.plan):
        task_key = (tenant, workspace, event.run_id, task_id)
        if task_key not in state.tasks:
            state.tasks[task_key] = TaskRecord(
                run_id=event.run_id,
                task_id=task_id,
                status=TaskStatus.PENDING,
                node=node,
                stage=stage,
                tenant_id=tenant,
                workspace_id=workspace,
            )
            changes.tasks.add(task_key)


def _failed_for_good(
    state: ProjectionState, changes: ProjectionChanges, record: EventRecord, event: TaskFailed
) -> None:
    tenant, workspace = record.tenant_id, record.workspace_id
    run = state.runs.get((tenant, workspace, event.run_id))
    if run is None:
        return
    partition = _planned_partition(run.plan)
    if partition is None:
        return
    start, end = partition
    for asset_key in _planned_asset_keys(run.plan, event.task_id):
        key = (tenant, workspace, asset_key, event.run_id, event.task_id)
        state.failures[key] = PartitionFailure(
            tenant_id=tenant,
            workspace_id=workspace,
            asset_key=asset_key,
            run_id=event.run_id,
            task_id=event.task_id,
            range_start=start,
            range_end=end,
            event_id=record.event_id,
        )
        changes.failures.add(key)


def planned_partition(plan: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first and last partition key a plan's data form runs for (None: unpartitioned)."""
    return _planned_partition(plan)


def _planned_partition(plan: Mapping[str, Any]) -> tuple[str, str] | None:
    partition = plan.get("partition")
    if not partition:
        return None
    key, start, end = partition
    return (key, key) if key is not None else (start, end)


def _planned_asset_keys(plan: Mapping[str, Any], task_id: str) -> list[str]:
    """The user strings of the asset keys a plan's task materializes."""
    for entry in plan.get("tasks", ()):
        if isinstance(entry, Mapping):
            if entry.get("task_id") == task_id:
                return [_key_text(key) for key in entry.get("asset_keys", ())]
        elif entry[0] == task_id:
            return [_key_text(key) for key in (entry[2] if len(entry) > 2 else ())]
    return []


def _key_text(key: Any) -> str:
    return key if isinstance(key, str) else "/".join(key)


def _planned_tasks(plan: Mapping[str, Any]) -> Iterator[tuple[str, str | None, int | None]]:
    """(task_id, node, stage) of each task of a plan's data form (`plan_to_data`)."""
    for entry in plan.get("tasks", ()):
        if isinstance(entry, Mapping):
            yield str(entry["task_id"]), entry.get("node"), entry.get("stage")
        else:
            node = entry[1] if len(entry) > 1 else None
            stage = entry[4] if len(entry) > 4 else None
            yield str(entry[0]), node, stage


def _apply_run_event(
    state: ProjectionState,
    changes: ProjectionChanges,
    record: EventRecord,
    event: RunResumed | RunCancelRequested | RunSucceeded | RunFailed | RunCanceled,
) -> None:
    key = (record.tenant_id, record.workspace_id, event.run_id)
    run = state.runs.get(key)
    if run is None:
        return
    now = record.timestamp
    match event:
        case RunResumed():
            status = RunStatus.STARTED if run.status in _RESUMABLE else run.status
            run = replace(run, status=status, coordinator=event.coordinator, updated_time=now)
        case RunCancelRequested():
            if run.status not in _RESUMABLE:
                return
            run = replace(run, status=RunStatus.CANCELING, updated_time=now)
        case RunSucceeded():
            run = replace(run, status=RunStatus.SUCCESS, ended_time=now, updated_time=now)
        case RunFailed():
            run = replace(
                run, status=RunStatus.FAILURE, ended_time=now, updated_time=now, error=event.error
            )
        case RunCanceled():
            run = replace(run, status=RunStatus.CANCELED, ended_time=now, updated_time=now)
    state.runs[key] = run
    if key not in changes.new_runs:
        changes.updated_runs.add(key)


def _apply_task_event(
    state: ProjectionState,
    changes: ProjectionChanges,
    record: EventRecord,
    event: TaskStarted | TaskSucceeded | TaskFailed | TaskSkipped,
) -> None:
    key = (record.tenant_id, record.workspace_id, event.run_id, event.task_id)
    task = state.tasks.get(key) or TaskRecord(
        run_id=event.run_id,
        task_id=event.task_id,
        status=TaskStatus.PENDING,
        tenant_id=record.tenant_id,
        workspace_id=record.workspace_id,
    )
    now = record.timestamp
    if isinstance(event, TaskSkipped):
        task = replace(task, status=TaskStatus.SKIPPED, ended_time=now, skip_reason=event.reason)
    else:
        updates: dict[str, Any] = {}
        if not isinstance(event, TaskStarted) and event.usage is not None:
            updates.update(_usage_fields(task, event.usage))
        if event.attempt >= task.attempts:
            updates.update(_attempt_fields(event, now))
        if not updates:
            return
        task = replace(task, **updates)
    state.tasks[key] = task
    changes.tasks.add(key)


def _attempt_fields(event: TaskStarted | TaskSucceeded | TaskFailed, now: float) -> dict[str, Any]:
    """The fields an event of the latest attempt sets."""
    if isinstance(event, TaskStarted):
        return {
            "attempts": event.attempt,
            "status": TaskStatus.RUNNING,
            "started_time": now,
            "ended_time": None,
        }
    if isinstance(event, TaskSucceeded):
        return {"attempts": event.attempt, "status": TaskStatus.SUCCEEDED, "ended_time": now}
    status = TaskStatus.FAILED if event.retry_in_s is None else TaskStatus.WAITING_RETRY
    return {
        "attempts": event.attempt,
        "status": status,
        "ended_time": now,
        "last_error": event.error,
    }


def _usage_fields(task: TaskRecord, usage: TaskUsage) -> dict[str, Any]:
    """The usage fields after adding `usage` (summed seconds, the largest peak)."""
    peak = task.peak_rss_mb
    if usage.peak_rss_mb is not None:
        peak = usage.peak_rss_mb if peak is None else max(peak, usage.peak_rss_mb)
    return {
        "wall_s": task.wall_s + usage.wall_s,
        "cpu_s": task.cpu_s + usage.cpu_s,
        "peak_rss_mb": peak,
    }


def _materialized(
    state: ProjectionState,
    changes: ProjectionChanges,
    record: EventRecord,
    event: AssetMaterialized,
) -> None:
    tenant, workspace = record.tenant_id, record.workspace_id
    materialization = MaterializationRecord(
        event_id=record.event_id,
        asset_key=event.asset_key,
        run_id=event.run_id,
        task_id=event.task_id,
        timestamp=record.timestamp,
        partition_key=event.partition_key,
        data_version=event.data_version,
        code_version=event.code_version,
        description=event.description,
        metadata=event.metadata,
        tenant_id=tenant,
        workspace_id=workspace,
    )
    changes.materializations.append(materialization)
    latest_key = (tenant, workspace, event.asset_key, event.partition_key)
    state.latest[latest_key] = materialization
    changes.latest.add(latest_key)
    asset = _asset(state, changes, tenant, workspace, event.asset_key)
    state.assets[(tenant, workspace, event.asset_key)] = replace(
        asset,
        materialization_count=asset.materialization_count + 1,
        last_materialization_event_id=record.event_id,
        last_run_id=event.run_id,
        last_materialization_time=record.timestamp,
    )
    _add_run_asset(state, changes, (tenant, workspace, event.run_id, event.asset_key))


def _observed(
    state: ProjectionState, changes: ProjectionChanges, record: EventRecord, event: AssetObserved
) -> None:
    tenant, workspace = record.tenant_id, record.workspace_id
    observation = ObservationRecord(
        event_id=record.event_id,
        asset_key=event.asset_key,
        run_id=event.run_id,
        task_id=event.task_id,
        timestamp=record.timestamp,
        partition_key=event.partition_key,
        data_version=event.data_version,
        metadata=event.metadata,
        tenant_id=tenant,
        workspace_id=workspace,
    )
    changes.observations.append(observation)
    asset = _asset(state, changes, tenant, workspace, event.asset_key)
    state.assets[(tenant, workspace, event.asset_key)] = replace(
        asset,
        observation_count=asset.observation_count + 1,
        last_observation_event_id=record.event_id,
        last_observation_time=record.timestamp,
    )


def _asset(
    state: ProjectionState,
    changes: ProjectionChanges,
    tenant: str,
    workspace: str,
    asset_key: AssetKey,
) -> AssetSummary:
    key = (tenant, workspace, asset_key)
    changes.assets.add(key)
    return state.assets.get(key) or AssetSummary(
        asset_key=asset_key, tenant_id=tenant, workspace_id=workspace
    )


def _add_run_asset(state: ProjectionState, changes: ProjectionChanges, key: RunAssetKey) -> None:
    if key not in state.run_assets:
        state.run_assets.add(key)
        changes.run_assets.add(key)
