"""The state of a backfill, replayed from its events: which chunk may run next.

Pure. A backfill's stream (``backfill:<id>``) is the record of it: the plan of chunks
when it was created, each run launched for a chunk and how it ended, pauses, resumes,
cancel requests and retries. `BackfillState` applies those events in order, so a
process that drives a backfill after another one crashed knows exactly where it was.
Readiness is kept incrementally (a count of unmet dependencies per chunk), so a backfill
of 10,000 chunks costs O(1) per chunk event, never a rescan.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from arco_flow.core.backfill import BackfillPlan, backfill_plan_from_data
from arco_flow.core.errors import ArcoError
from arco_flow.core.events import (
    BackfillCancelRequested,
    BackfillChunkFinished,
    BackfillChunkLaunched,
    BackfillCreated,
    BackfillDriverStarted,
    BackfillEnded,
    BackfillPaused,
    BackfillResumed,
    BackfillRetried,
    Event,
)

__all__ = [
    "BackfillState",
    "BackfillStatus",
    "ChunkStatus",
    "restore_backfill_state",
]


class BackfillStatus(enum.StrEnum):
    """Where a backfill is: running (or waiting to be driven), paused, or ended."""

    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        """Whether nothing more will run."""
        return self in _TERMINAL


_TERMINAL = frozenset({BackfillStatus.CANCELED, BackfillStatus.COMPLETED, BackfillStatus.FAILED})

_ENDED = {
    "completed": BackfillStatus.COMPLETED,
    "failed": BackfillStatus.FAILED,
    "canceled": BackfillStatus.CANCELED,
}


class ChunkStatus(enum.StrEnum):
    """Where one chunk is."""

    PENDING = "PENDING"
    LAUNCHED = "LAUNCHED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


_FINISHED = {
    "succeeded": ChunkStatus.SUCCEEDED,
    "failed": ChunkStatus.FAILED,
    "canceled": ChunkStatus.CANCELED,
}


@dataclass(slots=True)
class BackfillState:
    """A backfill as its events left it."""

    created: BackfillCreated
    plan: BackfillPlan
    status: BackfillStatus = BackfillStatus.RUNNING
    chunk_status: list[ChunkStatus] = field(default_factory=list)
    run_ids: list[str | None] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)
    driver: Mapping[str, Any] = field(default_factory=dict)
    _unmet: list[int] = field(default_factory=list)
    _children: list[list[int]] = field(default_factory=list)
    _ready: set[int] = field(default_factory=set)

    @staticmethod
    def from_created(created: BackfillCreated) -> BackfillState:
        """The state right after `created`: every chunk pending."""
        plan = backfill_plan_from_data(created.plan)
        count = len(plan.chunks)
        children: list[list[int]] = [[] for _ in range(count)]
        unmet = [0] * count
        for chunk in plan.chunks:
            unmet[chunk.chunk_id] = len(chunk.deps)
            for dep in chunk.deps:
                children[dep].append(chunk.chunk_id)
        return BackfillState(
            created=created,
            plan=plan,
            chunk_status=[ChunkStatus.PENDING] * count,
            run_ids=[None] * count,
            attempts=[0] * count,
            _unmet=unmet,
            _children=children,
            _ready={index for index in range(count) if unmet[index] == 0},
        )

    @property
    def backfill_id(self) -> str:
        """The backfill's id."""
        return self.created.backfill_id

    def apply(self, event: Event) -> None:
        """Applies one event of the backfill's stream."""
        if isinstance(event, BackfillChunkLaunched):
            self._launched(event)
        elif isinstance(event, BackfillChunkFinished):
            self._finished(event)
        elif isinstance(event, BackfillPaused):
            if self.status is BackfillStatus.RUNNING:
                self.status = BackfillStatus.PAUSED
        elif isinstance(event, BackfillResumed):
            if self.status is BackfillStatus.PAUSED:
                self.status = BackfillStatus.RUNNING
        elif isinstance(event, BackfillCancelRequested):
            if not self.status.is_terminal:
                self.status = BackfillStatus.CANCELING
        elif isinstance(event, BackfillRetried):
            self._retried(event.chunk_ids)
        elif isinstance(event, BackfillEnded):
            self.status = _ENDED[event.status]
        elif isinstance(event, BackfillDriverStarted):
            self.driver = dict(event.driver)

    def _launched(self, event: BackfillChunkLaunched) -> None:
        chunk = event.chunk_id
        if event.attempt < self.attempts[chunk]:
            return
        self.attempts[chunk] = event.attempt
        self.run_ids[chunk] = event.run_id
        self.chunk_status[chunk] = ChunkStatus.LAUNCHED
        self._ready.discard(chunk)

    def _finished(self, event: BackfillChunkFinished) -> None:
        chunk = event.chunk_id
        if event.attempt != self.attempts[chunk]:
            return  # an older attempt's end: its chunk was retried since
        before = self.chunk_status[chunk]
        after = _FINISHED[event.status]
        self.chunk_status[chunk] = after
        self._ready.discard(chunk)
        if after is ChunkStatus.SUCCEEDED and before is not ChunkStatus.SUCCEEDED:
            for child in self._children[chunk]:
                self._unmet[child] -= 1
                if self._unmet[child] == 0 and self.chunk_status[child] is ChunkStatus.PENDING:
                    self._ready.add(child)

    def _retried(self, chunk_ids: Iterable[int]) -> None:
        for chunk in chunk_ids:
            if self.chunk_status[chunk] in (ChunkStatus.FAILED, ChunkStatus.CANCELED):
                self.chunk_status[chunk] = ChunkStatus.PENDING
                if self._unmet[chunk] == 0:
                    self._ready.add(chunk)
        if self.status.is_terminal or self.status is BackfillStatus.CANCELING:
            self.status = BackfillStatus.RUNNING

    def ready_chunks(self) -> list[int]:
        """Pending chunks whose dependencies all succeeded, lowest id first."""
        return sorted(self._ready)

    def launched_chunks(self) -> list[int]:
        """Chunks with a run assigned that has not been seen to end."""
        return [i for i, s in enumerate(self.chunk_status) if s is ChunkStatus.LAUNCHED]

    def retryable_chunks(self) -> list[int]:
        """Chunks that failed or were canceled."""
        return [
            index
            for index, status in enumerate(self.chunk_status)
            if status in (ChunkStatus.FAILED, ChunkStatus.CANCELED)
        ]

    def blocked_chunks(self) -> list[int]:
        """Pending chunks that cannot run because a chunk they need did not succeed."""
        return [
            index
            for index, status in enumerate(self.chunk_status)
            if status is ChunkStatus.PENDING and self._unmet[index] > 0
        ]

    def counts(self) -> dict[ChunkStatus, int]:
        """How many chunks are in each status."""
        found = dict.fromkeys(ChunkStatus, 0)
        for status in self.chunk_status:
            found[status] += 1
        return found

    def partition_counts(self) -> dict[ChunkStatus, int]:
        """How many asset-partitions are in each chunk status."""
        found = dict.fromkeys(ChunkStatus, 0)
        for chunk, status in zip(self.plan.chunks, self.chunk_status, strict=True):
            found[status] += chunk.partition_count * len(chunk.asset_keys)
        return found

    def outcome_when_idle(self) -> BackfillStatus:
        """How the backfill ends once nothing runs and nothing is ready."""
        if self.status is BackfillStatus.CANCELING:
            return BackfillStatus.CANCELED
        if all(status is ChunkStatus.SUCCEEDED for status in self.chunk_status):
            return BackfillStatus.COMPLETED
        return BackfillStatus.FAILED


def restore_backfill_state(events: Iterable[Event]) -> BackfillState:
    """Replays a backfill's stream, which starts with its `BackfillCreated`.

    Raises:
        ArcoError: the stream does not start with a `BackfillCreated`.
    """
    iterator = iter(events)
    first = next(iterator, None)
    if not isinstance(first, BackfillCreated):
        raise ArcoError("a backfill's events start with its creation; the stream is damaged")
    state = BackfillState.from_created(first)
    for event in iterator:
        state.apply(event)
    return state
