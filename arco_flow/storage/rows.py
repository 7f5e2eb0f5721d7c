"""The row codec: records to table rows (plain dicts) and back.

Pure. Every backend's rows have this shape: the SQL backends write and read them, and
`verify` compares projections as rows, so a difference in any column shows. JSON columns
hold canonical JSON text, so equal values give equal text in every backend. Asset keys are
stored as their user string (``a/b``), and an unpartitioned row has the partition key ``""``
(key columns cannot be NULL).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from arco_flow.core.canonical_json import canonical_json, loads
from arco_flow.core.errors import CanonicalJsonError
from arco_flow.core.events import (
    ErrorInfo,
    EventRecord,
    TickDynamicPartitionsRequested,
    TickRunRequested,
    event_from_data,
    event_to_data,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.run_state import TaskStatus
from arco_flow.storage.check_projection import CheckPartitionKey
from arco_flow.storage.instigator_projection import (
    InstigatorKey,
    InstigatorState,
    InstigatorStatus,
    TickKey,
    TickRecord,
    TickStatus,
)
from arco_flow.storage.partition_status import PartitionFailure
from arco_flow.storage.projector import (
    AssetSummary,
    PartitionRowKey,
    ProjectionState,
    RunAssetKey,
)
from arco_flow.storage.quarantine_projection import QuarantineResolution
from arco_flow.storage.records import (
    AssetCheckEvaluationRecord,
    AssetRecord,
    BackfillRecord,
    MaterializationRecord,
    ObservationRecord,
    QuarantineRecord,
    QuarantineStatus,
    RunRecord,
    RunStatus,
    TaskRecord,
)

__all__ = [
    "NO_PARTITION",
    "PRIMARY_KEYS",
    "PROJECTION_TABLES",
    "Row",
    "TableRows",
    "asset_from_row",
    "asset_key_from_column",
    "asset_row",
    "asset_summary_from_row",
    "backfill_from_row",
    "backfill_row",
    "check_evaluation_from_row",
    "check_evaluation_row",
    "dynamic_partition_rows",
    "failure_row",
    "event_from_row",
    "instigator_state_from_row",
    "instigator_state_row",
    "event_row",
    "keyed_rows",
    "latest_check_row",
    "latest_row",
    "materialization_from_row",
    "materialization_row",
    "observation_from_row",
    "observation_row",
    "partition_from_column",
    "projection_rows",
    "quarantine_from_row",
    "quarantine_resolution_values",
    "quarantine_row",
    "run_asset_row",
    "run_from_row",
    "run_row",
    "run_tag_rows",
    "task_from_row",
    "task_row",
    "tick_from_row",
    "tick_row",
]

Row: TypeAlias = dict[str, Any]
TableRows: TypeAlias = dict[str, dict[tuple[Any, ...], Row]]
"""Rows of each projection table by primary key."""

NO_PARTITION = ""
"""The partition key column of an unpartitioned row."""

PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "runs": ("tenant_id", "workspace_id", "run_id"),
    "run_tags": ("tenant_id", "workspace_id", "run_id", "tag_key"),
    "run_assets": ("tenant_id", "workspace_id", "run_id", "asset_key"),
    "tasks": ("tenant_id", "workspace_id", "run_id", "task_id"),
    "materializations": ("event_id",),
    "observations": ("event_id",),
    "latest_materializations": ("tenant_id", "workspace_id", "asset_key", "partition_key"),
    "asset_records": ("tenant_id", "workspace_id", "asset_key"),
    "partition_failures": ("tenant_id", "workspace_id", "asset_key", "run_id", "task_id"),
    "dynamic_partitions": ("tenant_id", "workspace_id", "partitions_def_name", "partition_key"),
    "backfills": ("tenant_id", "workspace_id", "backfill_id"),
    "asset_check_evaluations": ("event_id",),
    "latest_asset_check_evaluations": (
        "tenant_id",
        "workspace_id",
        "asset_key",
        "check_name",
        "partition_key",
    ),
    "asset_quarantines": ("tenant_id", "workspace_id", "asset_key", "partition_key", "run_id"),
    "instigator_states": ("tenant_id", "workspace_id", "instigator_name"),
    "instigator_ticks": ("tenant_id", "workspace_id", "instigator_name", "tick_id"),
}
"""The projection tables (everything but the event log) and their primary keys."""

PROJECTION_TABLES = tuple(PRIMARY_KEYS)


def _json(value: Any) -> str:
    return canonical_json(value)


def _json_or_none(value: Any) -> str | None:
    return None if value is None else canonical_json(value)


def asset_key_from_column(text: str) -> AssetKey:
    """The key whose user string is `text`."""
    return AssetKey(text.split("/"))


def partition_from_column(text: str) -> str | None:
    """The partition key of a partition key column (None for ``""``)."""
    return text or None


def event_row(record: EventRecord) -> Row:
    """The events-table row of `record`, its payload the canonical JSON of the event.

    Raises:
        CanonicalJsonError: The event holds a value with no canonical JSON form.
    """
    return {
        "event_id": record.event_id,
        "tenant_id": record.tenant_id,
        "workspace_id": record.workspace_id,
        "stream": record.stream,
        "stream_sequence": record.stream_sequence,
        "event_type": record.event.EVENT_TYPE,
        "idempotency_key": record.idempotency_key,
        "actor": record.actor,
        "timestamp": record.timestamp,
        "trace_context": _json(dict(record.trace_context)) if record.trace_context else "{}",
        "payload": _payload(record),
    }


def _payload(record: EventRecord) -> str:
    text = canonical_json(event_to_data(record.event))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise CanonicalJsonError(
                f"event {record.idempotency_key!r} holds a string that is not valid Unicode "
                f"(a lone surrogate): {error}. Clean the string before recording it."
            ) from error
    return text


def event_from_row(row: Mapping[Any, Any]) -> EventRecord:
    """Inverse of `event_row`."""
    return EventRecord(
        event_id=row["event_id"],
        stream=row["stream"],
        stream_sequence=row["stream_sequence"],
        timestamp=row["timestamp"],
        event=event_from_data(loads(row["payload"])),
        idempotency_key=row["idempotency_key"],
        tenant_id=row["tenant_id"],
        workspace_id=row["workspace_id"],
        actor=row["actor"],
        trace_context=loads(row["trace_context"]),
    )


def run_row(run: RunRecord) -> Row:
    """The runs-table row of `run`."""
    return {
        "tenant_id": run.tenant_id,
        "workspace_id": run.workspace_id,
        "run_id": run.run_id,
        "job_name": run.job_name,
        "plan_id": run.plan_id,
        "status": run.status.value,
        "created_event_id": run.created_event_id,
        "created_time": run.created_time,
        "updated_time": run.updated_time,
        "started_time": run.started_time,
        "ended_time": run.ended_time,
        "tags": _json(dict(run.tags)),
        "asset_keys": _json([key.to_user_string() for key in run.asset_keys]),
        "parent_run_id": run.parent_run_id,
        "plan": _json(dict(run.plan)),
        "run_config": _json(dict(run.run_config)),
        "code_location": _json(dict(run.code_location)),
        "executor": run.executor,
        "max_concurrent": run.max_concurrent,
        "coordinator": _json(dict(run.coordinator)),
        "error": _json_or_none(run.error.to_data() if run.error else None),
    }


def run_from_row(row: Mapping[Any, Any]) -> RunRecord:
    """Inverse of `run_row`."""
    error = row["error"]
    return RunRecord(
        run_id=row["run_id"],
        job_name=row["job_name"],
        plan_id=row["plan_id"],
        status=RunStatus(row["status"]),
        created_event_id=row["created_event_id"],
        created_time=row["created_time"],
        updated_time=row["updated_time"],
        started_time=row["started_time"],
        ended_time=row["ended_time"],
        tags=loads(row["tags"]),
        asset_keys=tuple(asset_key_from_column(text) for text in loads(row["asset_keys"])),
        parent_run_id=row["parent_run_id"],
        plan=loads(row["plan"]),
        run_config=loads(row["run_config"]),
        code_location=loads(row["code_location"]),
        executor=row["executor"],
        max_concurrent=row["max_concurrent"],
        coordinator=loads(row["coordinator"]),
        error=ErrorInfo.from_data(loads(error)) if error else None,
        tenant_id=row["tenant_id"],
        workspace_id=row["workspace_id"],
    )


def run_tag_rows(run: RunRecord) -> list[Row]:
    """The run_tags-table rows of `run`, one per tag."""
    return [
        {
            "tenant_id": run.tenant_id,
            "workspace_id": run.workspace_id,
            "run_id": run.run_id,
            "tag_key": key,
            "tag_value": value,
        }
        for key, value in run.tags.items()
    ]


def run_asset_row(key: RunAssetKey) -> Row:
    """The run_assets-table row saying run `key[2]` planned or materialized `key[3]`."""
    tenant, workspace, run_id, asset_key = key
    return {
        "tenant_id": tenant,
        "workspace_id": workspace,
        "run_id": run_id,
        "asset_key": asset_key.to_user_string(),
    }


def task_row(task: TaskRecord) -> Row:
    """The tasks-table row of `task`."""
    return {
        "tenant_id": task.tenant_id,
        "workspace_id": task.workspace_id,
        "run_id": task.run_id,
        "task_id": task.task_id,
        "node": task.node,
        "stage": task.stage,
        "status": task.status.value,
        "attempts": task.attempts,
        "started_time": task.started_time,
        "ended_time": task.ended_time,
        "wall_s": task.wall_s,
        "cpu_s": task.cpu_s,
        "peak_rss_mb": task.peak_rss_mb,
        "last_error": _json_or_none(task.last_error.to_data() if task.last_error else None),
        "skip_reason": task.skip_reason,
    }


def task_from_row(row: Mapping[Any, Any]) -> TaskRecord:
    """Inverse of `task_row`."""
    error = row["last_error"]
    return TaskRecord(
        run_id=row["run_id"],
        task_id=row["task_id"],
        status=TaskStatus(row["status"]),
        node=row["node"],
        stage=row["stage"],
        attempts=row["attempts"],
        started_time=row["started_time"],
        ended_time=row["ended_time"],
        wall_s=row["wall_s"],
        cpu_s=row["cpu_s"],
        peak_rss_mb=row["peak_rss_mb"],
        last_error=ErrorInfo.from_data(loads(error)) if error else None,
        skip_reason=row["skip_reason"],
        tenant_id=row["tenant_id"],
        workspace_id=row["workspace_id"],
    )


def materialization_row(record: MaterializationRecord) -> Row:
    """The materializations-table row of `record`."""
    return {
        "event_id": record.event_id,
        "tenant_id": record.tenant_id,
        "workspace_id": record.workspace_id,
        "asset_key": record.asset_key.to_user_string(),
        "partition_key": record.partition_key or NO_PARTITION,
        "run_id": record.run_id,
        "task_id": record.task_id,
        "timestamp": record.timestamp,
        "data_version": record.data_version,
        "code_version": record.code_version,
        "description": record.description,
        "metadata": _json(dict(record.metadata)),
    }


def materialization_from_row(row: Mapping[Any, Any]) -> MaterializationRecord:
    """Inverse of `materialization_row`."""
    return MaterializationRecord(
        event_id=row["event_id"],
        asset_key=asset_key_from_column(row["asset_key"]),
        run_id=row["run_id"],
        task_id=row["task_id"],
        timestamp=row["timestamp"],
        partition_key=partition_from_column(row["partition_key"]),
        data_version=row["data_version"],
        code_version=row["code_version"],
        description=row["description"],
        metadata=loads(row["metadata"]),
        tenant_id=row["tenant_id"],
        workspace_id=row["workspace_id"],
    )


def observation_row(record: ObservationRecord) -> Row:
    """The observations-table row of `record`."""
    return {
        "event_id": record.event_id,
        "tenant_id": record.tenant_id,
        "workspace_id": record.workspace_id,
        "asset_key": record.asset_key.to_user_string(),
        "partition_key": record.partition_key or NO_PARTITION,
        "run_id": record.run_id,
        "task_id": record.task_id,
        "timestamp": record.timestamp,
        "data_version": record.data_version,
        "metadata": _json(dict(record.metadata)),
    }


def observation_from_row(row: Mapping[Any, Any]) -> ObservationRecord:
    """Inverse of `observation_row`."""
    return ObservationRecord(
        event_id=row["event_id"],
        asset_key=asset_key_from_column(row["asset_key"]),
        run_id=row["run_id"],
        task_id=row["task_id"],
        timestamp=row["timestamp"],
        partition_key=partition_from_column(row["partition_key"]),
        data_version=row["data_version"],
        metadata=loads(row["metadata"]),
        tenant_id=row["tenant_id"],
        workspace_id=row["workspace_id"],
    )


def latest_row(key: PartitionRowKey, record: MaterializationRecord) -> Row:
    """The latest_materializations-table row pointing partition `key` at `record`."""
    tenant, workspace, asset_key, partition_key = key
    return {
        "tenant_id": tenant,
        "workspace_id": workspace,
        "asset_key": asset_key.to_user_string(),
        "partition_key": partition_key or NO_PARTITION,
        "event_id": record.event_id,
    }


def asset_row(summary: AssetSummary) -> Row:
    """The asset_records-table row of `summary`."""
    return {
        "tenant_id": summary.tenant_id,
        "workspace_id": summary.workspace_id,
        "asset_key": summary.asset_key.to_user_string(),
        "last_materialization_event_id": summary.last_materialization_event_id,
        "last_run_id": summary.last_run_id,
        "last_materialization_time": summary.last_materialization_time,
        "materialization_count": summary.materialization_count,
        "last_observation_event_id": summary.last_observation_event_id,
        "last_observation_time": summary.last_observation_time,
        "observation_count": summary.observation_count,
    }


def asset_summary_from_row(row: Mapping[Any, Any]) -> AssetSummary:
    """Inverse of `asset_row`."""
    return AssetSummary(
        asset_key=asset_key_from_column(row["asset_key"]),
        tenant_id=row["tenant_id"],
        workspace_id=row["workspace_id"],
        materialization_count=row["materialization_count"],
        last_materialization_event_id=row["last_materialization_event_id"],
        last_run_id=row["last_run_id"],
        last_materialization_time=row["last_materialization_time"],
        observation_count=row["observation_count"],
        last_observation_event_id=row["last_observation_event_id"],
        last_observation_time=row["last_observation_time"],
    )


def asset_from_row(
    row: Mapping[Any, Any],
    last_materialization: MaterializationRecord | None,
    last_observation: ObservationRecord | None,
) -> AssetRecord:
    """The record of an asset_records row, given the events its ids point at."""
    return AssetRecord(
        asset_key=asset_key_from_column(row["asset_key"]),
        last_materialization=last_materialization,
        last_observation=last_observation,
        materialization_count=row["materialization_count"],
        observation_count=row["observation_count"],
        tenant_id=row["tenant_id"],
        workspace_id=row["workspace_id"],
    )


def failure_row(failure: PartitionFailure) -> Row:
    """The partition_failures-table row of `failure`."""
    return {
        "tenant_id": failure.tenant_id,
        "workspace_id": failure.workspace_id,
        "asset_key": failure.asset_key,
        "run_id": failure.run_id,
        "task_id": failure.task_id,
        "range_start": failure.range_start,
        "range_end": failure.range_end,
        "event_id": failure.event_id,
    }


def backfill_row(backfill: BackfillRecord) -> Row:
    """The backfills-table row of `backfill`."""
    return {
        "tenant_id": backfill.tenant_id,
        "workspace_id": backfill.workspace_id,
        "backfill_id": backfill.backfill_id,
        "status": backfill.status,
        "job_name": backfill.job_name,
        "created_event_id": backfill.created_event_id,
        "created_time": backfill.created_time,
        "updated_time": backfill.updated_time,
        "asset_keys": _json([key.to_user_string() for key in backfill.asset_keys]),
        "request": _json(dict(backfill.request)),
        "chunk_count": backfill.chunk_count,
        "partition_count": backfill.partition_count,
        "chunks_done": backfill.chunks_done,
        "chunks_failed": backfill.chunks_failed,
        "partitions_done": backfill.partitions_done,
        "partitions_failed": backfill.partitions_failed,
        "tags": _json(dict(backfill.tags)),
    }


def backfill_from_row(row: Mapping[Any, Any]) -> BackfillRecord:
    """Inverse of `backfill_row`."""
    return BackfillRecord(
        backfill_id=row["backfill_id"],
        status=row["status"],
        job_name=row["job_name"],
        created_event_id=row["created_event_id"],
        created_time=row["created_time"],
        updated_time=row["updated_time"],
        asset_keys=tuple(asset_key_from_column(text) for text in loads(row["asset_keys"])),
        request=loads(row["request"]),
        chunk_count=row["chunk_count"],
        partition_count=row["partition_count"],
        chunks_done=row["chunks_done"],
        chunks_failed=row["chunks_failed"],
        partitions_done=row["partitions_done"],
        partitions_failed=row["partitions_failed"],
        tags=loads(row["tags"]),
        tenant_id=row["tenant_id"],
        workspace_id=row["workspace_id"],
    )


def check_evaluation_row(record: AssetCheckEvaluationRecord) -> Row:
    """The asset_check_evaluations-table row of `record`."""
    return {
        "event_id": record.event_id,
        "tenant_id": record.tenant_id,
        "workspace_id": record.workspace_id,
        "asset_key": record.asset_key.to_user_string(),
        "check_name": record.check_name,
        "partition_key": record.partition_key or NO_PARTITION,
        "run_id": record.run_id,
        "task_id": record.task_id,
        "timestamp": record.timestamp,
        "passed": record.passed,
        "severity": record.severity,
        "blocking": record.blocking,
        "metadata": _json(dict(record.metadata)),
        "description": record.description,
        "target_run_id": record.target_run_id,
        "target_event_id": record.target_event_id,
    }


def check_evaluation_from_row(row: Mapping[Any, Any]) -> AssetCheckEvaluationRecord:
    """Inverse of `check_evaluation_row`."""
    return AssetCheckEvaluationRecord(
        event_id=row["event_id"],
        asset_key=asset_key_from_column(row["asset_key"]),
        check_name=row["check_name"],
        run_id=row["run_id"],
        task_id=row["task_id"],
        timestamp=row["timestamp"],
        passed=bool(row["passed"]),
        severity=row["severity"],
        blocking=bool(row["blocking"]),
        partition_key=partition_from_column(row["partition_key"]),
        metadata=loads(row["metadata"]),
        description=row["description"],
        target_run_id=row["target_run_id"],
        target_event_id=row["target_event_id"],
        tenant_id=row["tenant_id"],
        workspace_id=row["workspace_id"],
    )


def latest_check_row(key: CheckPartitionKey, record: AssetCheckEvaluationRecord) -> Row:
    """The latest_asset_check_evaluations-table row pointing a check's partition at `record`."""
    tenant, workspace, asset_key, check_name, partition_key = key
    return {
        "tenant_id": tenant,
        "workspace_id": workspace,
        "asset_key": asset_key.to_user_string(),
        "check_name": check_name,
        "partition_key": partition_key or NO_PARTITION,
        "event_id": record.event_id,
    }


def dynamic_partition_rows(
    tenant_id: str,
    workspace_id: str,
    partitions_def_name: str,
    positions: Mapping[str, tuple[int, int]],
) -> list[Row]:
    """The dynamic_partitions-table rows of one definition's keys and their positions.

    Args:
        tenant_id: The tenant of the definition's keys.
        workspace_id: The workspace of the definition's keys.
        partitions_def_name: The dynamic definition.
        positions: Each key's (event id, index in its event) that added it.
    """
    return [
        {
            "tenant_id": tenant_id,
            "workspace_id": workspace_id,
            "partitions_def_name": partitions_def_name,
            "partition_key": key,
            "event_id": event_id,
            "ordinal": ordinal,
        }
        for key, (event_id, ordinal) in positions.items()
    ]


def projection_rows(
    state: ProjectionState,
    materializations: Iterable[MaterializationRecord],
    observations: Iterable[ObservationRecord],
    dynamic_partitions: Mapping[tuple[str, str, str], Mapping[str, tuple[int, int]]] | None = None,
    check_evaluations: Iterable[AssetCheckEvaluationRecord] = (),
) -> TableRows:
    """Every projection row that a complete `state`, histories and key lists stand for."""
    tables: dict[str, list[Row]] = {
        "runs": [run_row(run) for run in state.runs.values()],
        "run_tags": [row for run in state.runs.values() for row in run_tag_rows(run)],
        "run_assets": [run_asset_row(key) for key in state.run_assets],
        "tasks": [task_row(task) for task in state.tasks.values()],
        "materializations": [materialization_row(item) for item in materializations],
        "observations": [observation_row(item) for item in observations],
        "latest_materializations": [
            latest_row(key, record) for key, record in state.latest.items()
        ],
        "asset_records": [asset_row(record) for record in state.assets.values()],
        "partition_failures": [failure_row(failure) for failure in state.failures.values()],
        "backfills": [backfill_row(backfill) for backfill in state.backfills.values()],
        "asset_check_evaluations": [check_evaluation_row(item) for item in check_evaluations],
        "latest_asset_check_evaluations": [
            latest_check_row(key, record) for key, record in state.latest_checks.items()
        ],
        "asset_quarantines": [quarantine_row(record) for record in state.quarantines.values()],
        "instigator_states": [
            instigator_state_row(key, row) for key, row in state.instigators.items()
        ],
        "instigator_ticks": [tick_row(key, tick) for key, tick in state.ticks.items()],
        "dynamic_partitions": [
            row
            for (tenant, workspace, name), positions in (dynamic_partitions or {}).items()
            for row in dynamic_partition_rows(tenant, workspace, name, positions)
        ],
    }
    return {name: keyed_rows(name, rows) for name, rows in tables.items()}


def keyed_rows(table: str, rows: Iterable[Mapping[str, Any]]) -> dict[tuple[Any, ...], Row]:
    """`rows` of `table` by primary key."""
    columns = PRIMARY_KEYS[table]
    return {tuple(row[name] for name in columns): dict(row) for row in rows}


def quarantine_row(record: QuarantineRecord) -> Row:
    """The asset_quarantines-table row of `record`."""
    return {
        "tenant_id": record.tenant_id,
        "workspace_id": record.workspace_id,
        "asset_key": record.asset_key.to_user_string(),
        "partition_key": record.partition_key or NO_PARTITION,
        "run_id": record.run_id,
        "task_id": record.task_id,
        "event_id": record.event_id,
        "timestamp": record.timestamp,
        "check_names": _json(list(record.check_names)),
        "status": record.status.value,
        "has_value": record.has_value,
        "metadata": _json(dict(record.metadata)),
        "data_version": record.data_version,
        "code_version": record.code_version,
        "resolved_event_id": record.resolved_event_id,
        "resolved_timestamp": record.resolved_timestamp,
    }


def quarantine_from_row(row: Mapping[Any, Any]) -> QuarantineRecord:
    """Inverse of `quarantine_row`."""
    return QuarantineRecord(
        asset_key=asset_key_from_column(row["asset_key"]),
        partition_key=partition_from_column(row["partition_key"]),
        run_id=row["run_id"],
        task_id=row["task_id"],
        event_id=row["event_id"],
        timestamp=row["timestamp"],
        check_names=tuple(loads(row["check_names"])),
        status=QuarantineStatus(row["status"]),
        has_value=bool(row["has_value"]),
        metadata=loads(row["metadata"]),
        data_version=row["data_version"],
        code_version=row["code_version"],
        resolved_event_id=row["resolved_event_id"],
        resolved_timestamp=row["resolved_timestamp"],
        tenant_id=row["tenant_id"],
        workspace_id=row["workspace_id"],
    )


def quarantine_resolution_values(resolution: QuarantineResolution) -> tuple[Row, Row]:
    """(key columns, columns to set) of the row `resolution` changes."""
    tenant, workspace, asset_key, partition_key, run_id = resolution.key
    key = {
        "tenant_id": tenant,
        "workspace_id": workspace,
        "asset_key": asset_key.to_user_string(),
        "partition_key": partition_key or NO_PARTITION,
        "run_id": run_id,
    }
    values = {
        "status": resolution.status.value,
        "resolved_event_id": resolution.event_id,
        "resolved_timestamp": resolution.timestamp,
    }
    return key, values


def instigator_state_row(key: InstigatorKey, state: InstigatorState) -> Row:
    """The instigator_states-table row of `state` (its ticks are rows of their own)."""
    return {
        "tenant_id": key[0],
        "workspace_id": key[1],
        "instigator_name": key[2],
        "user_status": None if state.user_status is None else state.user_status.value,
        "status_changed_time": state.status_changed_time,
        "cursor": state.cursor,
        "last_scheduled_time": state.last_scheduled_time,
        "last_tick_time": state.last_tick_time,
        "last_completion_time": state.last_completion_time,
        "seen_sequence": state.seen_sequence,
    }


def instigator_state_from_row(row: Mapping[Any, Any]) -> InstigatorState:
    """Inverse of `instigator_state_row` (no tick)."""
    status = row["user_status"]
    return InstigatorState(
        name=row["instigator_name"],
        user_status=None if status is None else InstigatorStatus(status),
        status_changed_time=row["status_changed_time"],
        cursor=row["cursor"],
        last_scheduled_time=row["last_scheduled_time"],
        last_tick_time=row["last_tick_time"],
        last_completion_time=row["last_completion_time"],
        seen_sequence=row["seen_sequence"],
    )


def tick_row(key: TickKey, tick: TickRecord) -> Row:
    """The instigator_ticks-table row of `tick`."""
    return {
        "tenant_id": key[0],
        "workspace_id": key[1],
        "instigator_name": key[2],
        "tick_id": key[3],
        "status": tick.status.value,
        "timestamp": tick.timestamp,
        "scheduled_time": tick.scheduled_time,
        "end_timestamp": tick.end_timestamp,
        "run_ids": _json(list(tick.run_ids)),
        "skip_reason": tick.skip_reason,
        "error": None if tick.error is None else _json(tick.error.to_data()),
        "skipped_run_keys": _json(list(tick.skipped_run_keys)),
        "run_requests": _json([event_to_data(item)["data"] for item in tick.run_requests]),
        "partition_requests": _json(
            [event_to_data(item)["data"] for item in tick.partition_requests]
        ),
        "cursor_before": tick.cursor_before,
        "cursor_after": tick.cursor_after,
        "event_id": tick.event_id,
        "started_sequence": tick.started_sequence,
    }


def tick_from_row(row: Mapping[Any, Any]) -> TickRecord:
    """Inverse of `tick_row`."""
    error = row["error"]
    run_type, partitions_type = (
        TickRunRequested.EVENT_TYPE,
        TickDynamicPartitionsRequested.EVENT_TYPE,
    )
    run_requests = tuple(
        event_from_data({"type": run_type, "data": item}) for item in loads(row["run_requests"])
    )
    partition_requests = tuple(
        event_from_data({"type": partitions_type, "data": item})
        for item in loads(row["partition_requests"])
    )
    return TickRecord(
        instigator_name=row["instigator_name"],
        tick_id=row["tick_id"],
        status=TickStatus(row["status"]),
        timestamp=row["timestamp"],
        event_id=row["event_id"],
        scheduled_time=row["scheduled_time"],
        cursor_before=row["cursor_before"],
        cursor_after=row["cursor_after"],
        run_requests=run_requests,  # type: ignore[arg-type]  # decoded by their type name
        partition_requests=partition_requests,  # type: ignore[arg-type]  # as above
        end_timestamp=row["end_timestamp"],
        run_ids=tuple(loads(row["run_ids"])),
        skip_reason=row["skip_reason"],
        skipped_run_keys=tuple(loads(row["skipped_run_keys"])),
        error=None if error is None else ErrorInfo.from_data(loads(error)),
        started_sequence=row["started_sequence"],
    )
