"""How quarantine events change the quarantines projection.

Pure, and called by the projector only. One row per quarantined value, keyed by its asset,
partition and the run that quarantined it. Rules:

- `AssetQuarantined` adds the row, with the status ``quarantined``.
- `AssetQuarantineReleased` / `AssetQuarantineDiscarded` set the row's status and the
  event that resolved it. The change names the row by key and carries every column it
  sets, so a backend applies it without reading the row (SQL: one UPDATE); a resolution
  of a value never quarantined changes nothing.
- Rows are never deleted: released and discarded values stay listed as such.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeAlias

from arco_flow.core.events import (
    AssetQuarantined,
    AssetQuarantineReleased,
    EventRecord,
    QuarantineEvent,
)
from arco_flow.core.keys import AssetKey
from arco_flow.storage.records import QuarantineRecord, QuarantineStatus

__all__ = [
    "QuarantineChange",
    "QuarantineKey",
    "QuarantineResolution",
    "quarantine_key",
    "quarantine_record",
    "quarantine_resolution",
    "resolved",
]

QuarantineKey: TypeAlias = tuple[str, str, AssetKey, str | None, str]
"""(tenant_id, workspace_id, asset_key, partition_key, run_id): one quarantined value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineResolution:
    """A quarantined value was released or discarded."""

    key: QuarantineKey
    status: QuarantineStatus
    event_id: int
    timestamp: float


QuarantineChange: TypeAlias = QuarantineRecord | QuarantineResolution
"""A row to add, or a row's new status; a backend applies them in log order."""


def quarantine_key(record: QuarantineRecord) -> QuarantineKey:
    """The key of `record`'s row."""
    return (
        record.tenant_id,
        record.workspace_id,
        record.asset_key,
        record.partition_key,
        record.run_id,
    )


def quarantine_record(record: EventRecord, event: AssetQuarantined) -> QuarantineRecord:
    """The row `record` (an `AssetQuarantined`) adds."""
    return QuarantineRecord(
        asset_key=event.asset_key,
        partition_key=event.partition_key,
        run_id=event.run_id,
        task_id=event.task_id,
        event_id=record.event_id,
        timestamp=record.timestamp,
        check_names=tuple(event.check_names),
        has_value=event.has_value,
        metadata=event.metadata,
        data_version=event.data_version,
        code_version=event.code_version,
        tenant_id=record.tenant_id,
        workspace_id=record.workspace_id,
    )


def quarantine_resolution(record: EventRecord, event: QuarantineEvent) -> QuarantineResolution:
    """The status change `record` (a release or a discard) makes."""
    status = (
        QuarantineStatus.RELEASED
        if isinstance(event, AssetQuarantineReleased)
        else QuarantineStatus.DISCARDED
    )
    key = (record.tenant_id, record.workspace_id, event.asset_key, event.partition_key)
    return QuarantineResolution(
        key=(*key, event.run_id),
        status=status,
        event_id=record.event_id,
        timestamp=record.timestamp,
    )


def resolved(row: QuarantineRecord, resolution: QuarantineResolution) -> QuarantineRecord:
    """`row` once `resolution` applies."""
    return replace(
        row,
        status=resolution.status,
        resolved_event_id=resolution.event_id,
        resolved_timestamp=resolution.timestamp,
    )
