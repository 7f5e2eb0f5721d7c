"""How an asset check's evaluation changes the check projections.

Pure, and called by the projector only. Two projections hold checks: the history (one row
per `AssetCheckEvaluated`, keyed by its event id) and the latest evaluation of each check's
partition (the partition None: unpartitioned). Rules:

- Every evaluation is a history row, passed or failed, whatever its severity.
- A later evaluation of the same check and partition supersedes the latest, whatever its
  result. Events are projected in event id order, so the newest is always the one being
  applied: the rule reads no row, and a batch loads nothing for it.
- The latest evaluation of a check over all its partitions is the newest of its partitions'
  latest ones; queries take it from the latest rows, so no third projection is kept.
"""

from __future__ import annotations

from typing import TypeAlias

from arco_flow.core.events import AssetCheckEvaluated, EventRecord
from arco_flow.core.keys import AssetKey
from arco_flow.storage.records import AssetCheckEvaluationRecord

__all__ = ["CheckPartitionKey", "CheckRowKey", "check_evaluation", "check_partition_key"]

CheckRowKey: TypeAlias = tuple[str, str, AssetKey, str]
"""(tenant_id, workspace_id, asset_key, check_name): one check."""
CheckPartitionKey: TypeAlias = tuple[str, str, AssetKey, str, str | None]
"""(tenant_id, workspace_id, asset_key, check_name, partition_key): a check's partition."""


def check_evaluation(record: EventRecord, event: AssetCheckEvaluated) -> AssetCheckEvaluationRecord:
    """The history row of the evaluation `record` holds."""
    return AssetCheckEvaluationRecord(
        event_id=record.event_id,
        asset_key=event.asset_key,
        check_name=event.check_name,
        run_id=event.run_id,
        task_id=event.task_id,
        timestamp=record.timestamp,
        passed=event.passed,
        severity=event.severity,
        blocking=event.blocking,
        partition_key=event.partition_key,
        metadata=event.metadata,
        description=event.description,
        target_run_id=event.target_run_id,
        target_event_id=event.target_event_id,
        tenant_id=record.tenant_id,
        workspace_id=record.workspace_id,
    )


def check_partition_key(evaluation: AssetCheckEvaluationRecord) -> CheckPartitionKey:
    """The key of the latest row `evaluation` supersedes."""
    return (
        evaluation.tenant_id,
        evaluation.workspace_id,
        evaluation.asset_key,
        evaluation.check_name,
        evaluation.partition_key,
    )
