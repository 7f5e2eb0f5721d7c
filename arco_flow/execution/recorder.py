"""The run recorder: turns a run's events into appends to an event sink.

It gives each event its idempotency key, batches events into one append per step of the
coordinator, and holds an attempt's materializations back until the attempt's outcome is
recorded, so that both land in one transaction: after a crash, an attempt is either
recorded whole (its outputs count) or not at all (it runs again), never half. Check
evaluations are held the same way; one that does not name the materialization it
checked gets the latest one of its asset and partition: of this run when the run
materialized it, else the store's (a check run alone).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from arco_flow.core.events import (
    AssetCheckEvaluated,
    AssetMaterialized,
    AssetObserved,
    AssetQuarantined,
    AssetQuarantineReleased,
    Event,
    EventRecord,
    LogRecorded,
    NewEvent,
    RunCancelRequested,
    RunResumed,
    TaskFailed,
    TaskSucceeded,
    idempotency_key,
)
from arco_flow.core.keys import AssetKey

__all__ = ["EventSink", "MaterializationLookup", "RunRecorder"]

MaterializationLookup = Callable[[AssetKey, str | None], tuple[str, int] | None]
"""(asset key, partition key) -> (run id, event id) of its latest materialization."""


class EventSink(Protocol):
    """Where recorded events go: an event store (SQLite, or memory for ephemeral runs)."""

    def append(self, events: Sequence[NewEvent]) -> list[EventRecord]:
        """Appends `events` in one transaction and returns their records."""


_HELD = (AssetMaterialized, AssetObserved, AssetCheckEvaluated, AssetQuarantined)
_COUNTED = (
    AssetMaterialized,
    AssetQuarantined,
    AssetObserved,
    AssetCheckEvaluated,
    LogRecorded,
    RunResumed,
    RunCancelRequested,
)


class RunRecorder:
    """Buffers the events of one run and appends them to a sink in batches.

    Args:
        sink: where events go.
        on_record: sees every record once appended (progress displays).
        actor: who the events are attributed to.
        latest_materialization: (asset key, partition key) -> (run id, event id) of the
            latest stored materialization, for checks that run without their asset.
    """

    def __init__(
        self,
        sink: EventSink,
        *,
        on_record: Callable[[EventRecord], None] | None = None,
        actor: str = "engine",
        latest_materialization: MaterializationLookup | None = None,
    ) -> None:
        self._lookup = latest_materialization
        self._materialized: dict[tuple[AssetKey, str | None], tuple[str, int]] = {}
        self._sink = sink
        self._on_record = on_record
        self._actor = actor
        self._pending: list[NewEvent] = []
        self._held: dict[tuple[str, int], list[NewEvent]] = {}
        self._attempt_of: dict[str, int] = {}
        self._ordinals: dict[tuple[str, str, str], int] = {}

    def record(self, event: Event) -> None:
        """Queues `event`; materializations wait for their attempt's outcome."""
        if isinstance(event, AssetCheckEvaluated) and event.target_run_id is None:
            event = self._with_target(event)
        new = NewEvent(event=event, idempotency_key=self._key(event), actor=self._actor)
        task_id = getattr(event, "task_id", None)
        if isinstance(event, _HELD) or (
            isinstance(event, AssetQuarantineReleased) and event.task_id is not None
        ):
            # A run's promotion lands with the materialization it records, or not at all.
            assert event.task_id is not None
            attempt = self._attempt_of.get(event.task_id, 0)
            self._held.setdefault((event.task_id, attempt), []).append(new)
            return
        if isinstance(event, TaskSucceeded | TaskFailed):
            self._pending.extend(self._held.pop((event.task_id, event.attempt), ()))
        elif task_id is not None and hasattr(event, "attempt"):
            self._attempt_of[task_id] = event.attempt
        self._pending.append(new)

    def flush(self) -> None:
        """Appends everything queued (except held materializations) in one batch."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        records = self._sink.append(batch)
        for record in records:
            if isinstance(record.event, AssetMaterialized):
                found = record.event
                where = (found.asset_key, found.partition_key)
                self._materialized[where] = (found.run_id, record.event_id)
        if self._on_record is not None:
            for record in records:
                self._on_record(record)

    def _with_target(self, event: AssetCheckEvaluated) -> AssetCheckEvaluated:
        where = (event.asset_key, event.partition_key)
        target = self._materialized.get(where)
        if target is None and self._lookup is not None:
            target = self._lookup(*where)
        if target is None:
            return event
        return replace(event, target_run_id=target[0], target_event_id=target[1])

    def _key(self, event: Event) -> str:
        if not isinstance(event, _COUNTED):
            return idempotency_key(event)
        # Repeatable events are numbered within their attempt (or run), so that a replay
        # of the same attempt yields the same keys and is de-duplicated by the store.
        task_id = getattr(event, "task_id", None) or ""
        scope = (task_id, str(self._attempt_of.get(task_id, 0)), event.EVENT_TYPE)
        ordinal = self._ordinals.get(scope, 0)
        self._ordinals[scope] = ordinal + 1
        return idempotency_key(event, ordinal) + f"@{scope[1]}"
