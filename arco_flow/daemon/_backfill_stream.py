"""Reading and appending a backfill's stream (``backfill:<id>``), shared by its two drivers.

`daemon.backfills` drives a backfill in its own process (chunk after chunk) and
`daemon.backfill_queue` through the run queue; both replay the stream into a
`BackfillState` and append to it only through these helpers, so every append carries the
stream position its writer saw (a racing duplicate collapses on its idempotency key).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

from arco_flow.core.backfill import BackfillChunk
from arco_flow.core.backfill_state import BackfillState, restore_backfill_state
from arco_flow.core.errors import ArcoError, NotFoundError
from arco_flow.core.events import BackfillCreated, Event, NewEvent, idempotency_key
from arco_flow.core.partitions import PartitionKeyRange
from arco_flow.execution.launcher import Executor
from arco_flow.execution.run_queue import BACKFILL_TAG, cancel_queued_run
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunRecord, RunStatus

__all__ = [
    "CHUNK_END_BY_RUN_STATUS",
    "RUN_QUEUE_DRIVER_MODE",
    "append_backfill_event",
    "asset_partitions",
    "backfill_stream",
    "cancel_chunk_run",
    "chunk_partition_key_range",
    "chunk_run_executor",
    "chunk_run_tags",
    "driver_info",
    "is_run_queue_driver",
    "load_backfill_with_sequence",
    "refresh_backfill",
]

CHUNK_END_BY_RUN_STATUS: Mapping[RunStatus, str] = {
    RunStatus.SUCCESS: "succeeded",
    RunStatus.FAILURE: "failed",
    RunStatus.CANCELED: "canceled",
}
"""How a chunk ends (`BackfillChunkFinished.status`) when its run ended so."""

RUN_QUEUE_DRIVER_MODE = "run_queue"
"""The ``mode`` of a driver that submits chunk runs to the queue (the daemon)."""


def backfill_stream(backfill_id: str) -> str:
    """The stream a backfill's events are appended to."""
    return f"backfill:{backfill_id}"


def append_backfill_event(instance: ArcoInstance, event: Event, ordinal: int = 0) -> None:
    """Appends one backfill event; `ordinal` is the stream position the writer saw."""
    instance.append([NewEvent(event=event, idempotency_key=idempotency_key(event, ordinal))])


def refresh_backfill(instance: ArcoInstance, state: BackfillState, seen: int) -> int:
    """Applies the events appended since `seen` (by any process); returns the new position."""
    for record in instance.read_stream(backfill_stream(state.backfill_id), after_sequence=seen):
        state.apply(record.event)
        seen = record.stream_sequence
    return seen


def load_backfill_with_sequence(
    instance: ArcoInstance, backfill_id: str
) -> tuple[BackfillState, int]:
    """The backfill's state and the stream position it was replayed to.

    Raises:
        NotFoundError: no backfill has that id.
    """
    records = instance.read_stream(backfill_stream(backfill_id))
    if not records:
        raise NotFoundError(
            f"no backfill {backfill_id!r} in this store; `arco-flow backfill list` shows them"
        )
    return restore_backfill_state(r.event for r in records), records[-1].stream_sequence


def driver_info(mode: str | None = None) -> dict[str, Any]:
    """Who drives a backfill from this process: host and pid (and how, if not in-process)."""
    info: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid()}
    if mode is not None:
        info["mode"] = mode
    return info


def is_run_queue_driver(driver: Mapping[str, Any]) -> bool:
    """Whether a recorded driver submits chunk runs to the queue instead of running them."""
    return driver.get("mode") == RUN_QUEUE_DRIVER_MODE


def asset_partitions(chunk: BackfillChunk) -> int:
    """The asset-partitions a chunk covers: its partitions times its assets."""
    return chunk.partition_count * len(chunk.asset_keys)


def cancel_chunk_run(instance: ArcoInstance, run: RunRecord, reason: str) -> bool:
    """Cancels a chunk's run: a queued one ends at once, a started one is asked to stop.

    A run already asked to stop (CANCELING) is not asked again.

    Returns:
        Whether anything was done (False: the run had ended, or was already canceling).
    """
    if run.status is RunStatus.STARTED:
        instance.request_cancel(run.run_id, reason=reason)
        return True
    if run.status is not RunStatus.QUEUED:
        return False
    try:
        cancel_queued_run(instance, run.run_id, reason=reason)
    except ArcoError:
        return False  # it ended since it was read: nothing left to cancel
    return True


def chunk_partition_key_range(chunk: BackfillChunk) -> PartitionKeyRange | None:
    """The range a chunk's run covers (None when it covers one key, `chunk.partition.key`)."""
    partition = chunk.partition
    if partition.key is not None:
        return None
    return PartitionKeyRange(str(partition.range_start), str(partition.range_end))


def chunk_run_tags(created: BackfillCreated) -> dict[str, str]:
    """The tags of every chunk run: the backfill's own, and its id under `BACKFILL_TAG`."""
    return {**created.tags, BACKFILL_TAG: created.backfill_id}


def chunk_run_executor(created: BackfillCreated) -> Executor:
    """How a chunk run's tasks execute, as the backfill recorded it."""
    return "process_pool" if created.executor == "process_pool" else "in_process"
