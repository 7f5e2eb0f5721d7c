"""How backfill events change a backfill's summary row.

Pure, and called by the projector only. The summary is what listing needs (status,
counts); the backfill's own stream holds every chunk's detail and is what a driver
replays (`core.backfill_state`). Rules:

- `BackfillCreated` defines the row; a later one changes nothing.
- A chunk's end adds its asset-partitions to done or failed (a canceled one to neither);
  a retry takes the retried chunks' failures back out and makes the backfill RUNNING.
- Pause only from RUNNING, resume only from PAUSED, cancel requests from any status that
  has not ended; `BackfillEnded` sets the final status.
"""

from __future__ import annotations

from dataclasses import replace

from arco_flow.core.events import (
    BackfillCancelRequested,
    BackfillChunkFinished,
    BackfillCreated,
    BackfillEnded,
    BackfillEvent,
    BackfillPaused,
    BackfillResumed,
    BackfillRetried,
    EventRecord,
)
from arco_flow.storage.records import BackfillRecord

__all__ = ["BACKFILL_TERMINAL_STATUSES", "apply_backfill_event"]

BACKFILL_TERMINAL_STATUSES = frozenset({"CANCELED", "COMPLETED", "FAILED"})


def apply_backfill_event(
    row: BackfillRecord | None, record: EventRecord, event: BackfillEvent
) -> BackfillRecord | None:
    """The summary after `event` (None while the backfill has no creation)."""
    now = record.timestamp
    if isinstance(event, BackfillCreated):
        if row is not None:
            return row
        plan = event.plan
        return BackfillRecord(
            backfill_id=event.backfill_id,
            status="RUNNING",
            job_name=event.job_name,
            created_event_id=record.event_id,
            created_time=now,
            updated_time=now,
            asset_keys=event.asset_keys,
            request=event.request,
            chunk_count=len(plan.get("chunks", ())),
            partition_count=int(plan.get("partition_count", 0)),
            tags=event.tags,
            tenant_id=record.tenant_id,
            workspace_id=record.workspace_id,
        )
    if row is None:
        return None
    status = row.status
    if isinstance(event, BackfillChunkFinished):
        if event.status == "succeeded":
            return replace(
                row,
                updated_time=now,
                chunks_done=row.chunks_done + 1,
                partitions_done=row.partitions_done + event.partition_count,
            )
        if event.status == "failed":
            return replace(
                row,
                updated_time=now,
                chunks_failed=row.chunks_failed + 1,
                partitions_failed=row.partitions_failed + event.partition_count,
            )
    elif isinstance(event, BackfillPaused):
        status = "PAUSED" if status == "RUNNING" else status
    elif isinstance(event, BackfillResumed):
        status = "RUNNING" if status == "PAUSED" else status
    elif isinstance(event, BackfillCancelRequested):
        status = status if status in BACKFILL_TERMINAL_STATUSES else "CANCELING"
    elif isinstance(event, BackfillRetried):
        return replace(
            row,
            status="RUNNING",
            updated_time=now,
            chunks_failed=row.chunks_failed - event.failed_chunk_count,
            partitions_failed=row.partitions_failed - event.partition_count,
        )
    elif isinstance(event, BackfillEnded):
        status = event.status.upper()
    return replace(row, status=status, updated_time=now)
