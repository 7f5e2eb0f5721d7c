"""A schedule's or sensor's state and tick history, folded from its ``instigator:<name>`` stream.

Pure. The stream is the source of truth; `InstigatorState.apply` is the only place its
rules live, and the daemon and the instance's queries both fold the same events, so what
`arco-flow schedules list` shows is what the daemon acts on. Rules:

- `InstigatorStarted` / `InstigatorStopped` set the status a user chose; until the first
  of them the definition's `default_status` applies.
- `TickStarted` adds a tick (STARTED); a schedule's `last_scheduled_time` is the latest
  scheduled time ticked. The requests appended with it join the tick; a request with a
  run key is indexed by (instigator, run key) in `run_keys` (the log holds one per key).
- `TickCompleted` (SUCCESS), `TickSkipped` (SKIPPED) and `TickFailed` (FAILURE) end a
  tick; completion and skip set the sensor's cursor. An end of an unknown tick is ignored.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from arco_flow.core.events import (
    ErrorInfo,
    EventRecord,
    InstigatorStarted,
    InstigatorStopped,
    TickCompleted,
    TickDynamicPartitionsRequested,
    TickFailed,
    TickRunRequested,
    TickSkipped,
    TickStarted,
)

__all__ = [
    "InstigatorState",
    "InstigatorStatus",
    "TickRecord",
    "TickStatus",
    "instigator_stream",
    "restore_instigator_state",
]


def instigator_stream(name: str) -> str:
    """The stream of the schedule or sensor called `name`."""
    return f"instigator:{name}"


class InstigatorStatus(enum.Enum):
    """Whether a schedule or sensor ticks (Dagster's `InstigatorStatus`)."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class TickStatus(enum.Enum):
    """Where a tick is (Dagster's `TickStatus`)."""

    STARTED = "STARTED"
    SKIPPED = "SKIPPED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


@dataclass(frozen=True, slots=True, kw_only=True)
class TickRecord:
    """One tick of a schedule or sensor, as its history shows it."""

    instigator_name: str
    tick_id: str
    status: TickStatus
    timestamp: float
    """When the evaluation began (POSIX seconds)."""
    event_id: int
    """The `TickStarted` event."""
    scheduled_time: float | None = None
    cursor_before: str | None = None
    cursor_after: str | None = None
    run_requests: tuple[TickRunRequested, ...] = ()
    """What the tick asked for, in order (requests whose run key an earlier tick had are
    not among them)."""
    partition_requests: tuple[TickDynamicPartitionsRequested, ...] = ()
    end_timestamp: float | None = None
    run_ids: tuple[str, ...] = ()
    """The runs the tick launched (set when it completes)."""
    skip_reason: str | None = None
    skipped_run_keys: tuple[str, ...] = ()
    error: ErrorInfo | None = None

    @property
    def is_finished(self) -> bool:
        """Whether the tick ended (completed, skipped or failed)."""
        return self.status is not TickStatus.STARTED


@dataclass(slots=True)
class InstigatorState:
    """Everything the stream of one schedule or sensor says, in memory."""

    name: str
    user_status: InstigatorStatus | None = None
    """The status a user set; None while the definition's `default_status` applies."""
    status_changed_time: float | None = None
    """When the user last started or stopped it (POSIX seconds)."""
    cursor: str | None = None
    """The sensor's cursor after its last finished tick."""
    last_scheduled_time: float | None = None
    """The latest fire time a tick was recorded for (schedules)."""
    last_tick_time: float | None = None
    last_completion_time: float | None = None
    run_keys: dict[str, str] = field(default_factory=dict)
    """Run key -> run id: every keyed run the instigator ever requested."""
    ticks: dict[str, TickRecord] = field(default_factory=dict)
    """By tick id, oldest first."""
    seen_sequence: int = 0
    """The stream position folded so far (read on from here)."""
    keep_finished_ticks: bool = True
    """Whether a tick stays in `ticks` once it ended (False: a daemon's live state, which
    needs only the unfinished ones and must not grow with every tick)."""

    def status(self, *, default_running: bool) -> InstigatorStatus:
        """The status in force: the user's, else the definition's default."""
        if self.user_status is not None:
            return self.user_status
        return InstigatorStatus.RUNNING if default_running else InstigatorStatus.STOPPED

    def unfinished_ticks(self) -> list[TickRecord]:
        """Ticks that were recorded but did not end (a daemon died in them), oldest first."""
        return [tick for tick in self.ticks.values() if not tick.is_finished]

    def history(self, limit: int | None = None) -> list[TickRecord]:
        """Ticks, newest first."""
        ticks = list(reversed(self.ticks.values()))
        return ticks if limit is None else ticks[:limit]

    def apply(self, record: EventRecord) -> None:
        """Folds one record of this instigator's stream (in stream order)."""
        event = record.event
        self.seen_sequence = record.stream_sequence
        match event:
            case InstigatorStarted() | InstigatorStopped():
                running = isinstance(event, InstigatorStarted)
                self.user_status = InstigatorStatus.RUNNING if running else InstigatorStatus.STOPPED
                self.status_changed_time = record.timestamp
            case TickStarted():
                self._tick_started(record, event)
            case TickRunRequested():
                self._tick_requested(event)
            case TickDynamicPartitionsRequested():
                tick = self.ticks.get(event.tick_id)
                if tick is not None:
                    requests = (*tick.partition_requests, event)
                    self.ticks[event.tick_id] = replace(tick, partition_requests=requests)
            case TickCompleted() | TickSkipped() | TickFailed():
                self._tick_ended(record, event)

    def _tick_started(self, record: EventRecord, event: TickStarted) -> None:
        if event.tick_id in self.ticks:
            return
        self.ticks[event.tick_id] = TickRecord(
            instigator_name=event.instigator_name,
            tick_id=event.tick_id,
            status=TickStatus.STARTED,
            timestamp=event.timestamp,
            event_id=record.event_id,
            scheduled_time=event.scheduled_time,
            cursor_before=event.cursor_before,
            cursor_after=event.cursor_after,
        )
        self.last_tick_time = event.timestamp
        if event.scheduled_time is not None:
            last = self.last_scheduled_time
            self.last_scheduled_time = (
                event.scheduled_time if last is None else max(last, event.scheduled_time)
            )

    def _tick_requested(self, event: TickRunRequested) -> None:
        if event.run_key is not None:
            self.run_keys.setdefault(event.run_key, event.run_id)
        tick = self.ticks.get(event.tick_id)
        if tick is not None:
            self.ticks[event.tick_id] = replace(tick, run_requests=(*tick.run_requests, event))

    def _tick_ended(
        self, record: EventRecord, event: TickCompleted | TickSkipped | TickFailed
    ) -> None:
        tick = self.ticks.get(event.tick_id)
        if tick is None or tick.is_finished:
            return
        now = record.timestamp
        if isinstance(event, TickCompleted):
            tick = replace(
                tick,
                status=TickStatus.SUCCESS,
                end_timestamp=now,
                run_ids=event.run_ids,
                cursor_after=event.cursor,
                skipped_run_keys=event.skipped_run_keys,
            )
            self.cursor = event.cursor
        elif isinstance(event, TickSkipped):
            tick = replace(
                tick,
                status=TickStatus.SKIPPED,
                end_timestamp=now,
                skip_reason=event.reason,
                cursor_after=event.cursor,
            )
            self.cursor = event.cursor
        else:
            tick = replace(tick, status=TickStatus.FAILURE, end_timestamp=now, error=event.error)
        if self.keep_finished_ticks:
            self.ticks[event.tick_id] = tick
        else:
            del self.ticks[event.tick_id]
        self.last_completion_time = now


def restore_instigator_state(name: str, records: Iterable[EventRecord]) -> InstigatorState:
    """The state of the instigator called `name` after `records` (its stream, in order)."""
    state = InstigatorState(name=name)
    for record in records:
        state.apply(record)
    return state
