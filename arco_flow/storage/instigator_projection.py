"""A schedule's or sensor's state and tick history, folded from its ``instigator:<name>`` stream.

Pure. The stream is the source of truth; `InstigatorState.apply` is the only place its
rules live, and the daemon and the instance's queries both fold the same events, so what
`arco-flow schedules list` shows is what the daemon acts on. Rules:

- `InstigatorStarted` / `InstigatorStopped` set the status a user chose; until the first
  of them the definition's `default_status` applies.
- `TickStarted` adds a tick (STARTED); a schedule's `last_scheduled_time` is the latest
  scheduled time ticked. The requests appended with it join the tick; a request with a
  run key is indexed by (instigator, run key) in `run_keys` (the log holds one per key),
  except in a daemon's live state, which must not grow with every keyed run.
- `TickCompleted` (SUCCESS), `TickSkipped` (SKIPPED) and `TickFailed` (FAILURE) end a
  tick; completion and skip set the sensor's cursor. An end of an unknown tick is ignored.

The same fold also keeps the SQL projection (`instigator_states`, `instigator_ticks`):
`project_instigator_event` applies one record to a state row and a tick row through
`InstigatorState.apply`, then drops what a projection must not copy. A tick row's
`cursor_after` is only the cursor its end recorded (a `TickStarted` carries the cursor the
evaluation returned, which for the automation instigator is megabytes: it stays in the
log, and a daemon resuming a tick reads it from there), and the reserved `automation`
instigator keeps no cursor at all.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeAlias

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
    "AUTOMATION_INSTIGATOR_NAME",
    "InstigatorKey",
    "InstigatorState",
    "InstigatorStatus",
    "RunKeyIndex",
    "TickKey",
    "TickRecord",
    "TickStatus",
    "instigator_stream",
    "project_instigator_event",
    "restore_instigator_state",
]

AUTOMATION_INSTIGATOR_NAME = "automation"
"""The reserved instigator of declarative automation, whose cursor the projection never keeps."""

InstigatorKey: TypeAlias = tuple[str, str, str]
"""(tenant_id, workspace_id, instigator_name)."""
TickKey: TypeAlias = tuple[str, str, str, str]
"""(tenant_id, workspace_id, instigator_name, tick_id)."""


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
    started_sequence: int = 0
    """The stream sequence of the `TickStarted` (a daemon resuming the tick reads from it)."""

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
    run_keys: Mapping[str, str] = field(default_factory=dict)
    """Run key -> run id: every keyed run the instigator ever requested (a daemon's live
    state keeps none; the instance's state looks keys up in the log: `RunKeyIndex`)."""
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
            started_sequence=record.stream_sequence,
        )
        self.last_tick_time = event.timestamp
        if event.scheduled_time is not None:
            last = self.last_scheduled_time
            self.last_scheduled_time = (
                event.scheduled_time if last is None else max(last, event.scheduled_time)
            )

    def _tick_requested(self, event: TickRunRequested) -> None:
        keys = self.run_keys
        if event.run_key is not None and self.keep_finished_ticks and isinstance(keys, dict):
            keys.setdefault(event.run_key, event.run_id)
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


class RunKeyIndex(Mapping[str, str]):
    """Run key -> run id of one instigator, read from the store on use, never held whole.

    Args:
        lookup: The run id requested under one run key (None: never requested); the log's
            idempotency index answers it in one read.
        listing: Every (run key, run id), oldest first; read only when the index is
            iterated or compared.
    """

    __slots__ = ("_listing", "_lookup")

    def __init__(
        self,
        lookup: Callable[[str], str | None],
        listing: Callable[[], Iterable[tuple[str, str]]],
    ) -> None:
        self._lookup, self._listing = lookup, listing

    def __getitem__(self, run_key: str) -> str:
        run_id = self._lookup(run_key)
        if run_id is None:
            raise KeyError(run_key)
        return run_id

    def __contains__(self, run_key: object) -> bool:
        return isinstance(run_key, str) and self._lookup(run_key) is not None

    def _all(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for run_key, run_id in self._listing():
            found.setdefault(run_key, run_id)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return f"RunKeyIndex({self._all()!r})"


def project_instigator_event(
    row: InstigatorState | None, tick: TickRecord | None, record: EventRecord
) -> tuple[InstigatorState, TickRecord | None]:
    """The state row and tick row after `record`, by the fold's own rules.

    Args:
        row: The instigator's projected state (no ticks), or None before its first event.
        tick: The row of the tick `record` is about, if it has one (None for status events).
        record: One event of the instigator's stream.

    Returns:
        The new state row (its `ticks` empty) and the new row of the tick `record` is about
        (None when it has none).
    """
    event = record.event
    name: str = getattr(event, "instigator_name")  # noqa: B009  # every instigator event has it
    state = InstigatorState(name=name) if row is None else replace(row, ticks={}, run_keys={})
    tick_id: str | None = getattr(event, "tick_id", None)
    if tick is not None and tick_id is not None:
        state.ticks[tick_id] = tick
    state.apply(record)
    projected = state.ticks.get(tick_id) if tick_id is not None else None
    if projected is not None:
        projected = _projected_tick(projected)
    if name == AUTOMATION_INSTIGATOR_NAME:
        state.cursor = None
    state.ticks = {}
    state.run_keys = {}
    return state, projected


def _projected_tick(tick: TickRecord) -> TickRecord:
    """`tick` without the cursors the projection must not copy from its `TickStarted`."""
    if tick.instigator_name == AUTOMATION_INSTIGATOR_NAME:
        if tick.cursor_before is None and tick.cursor_after is None:
            return tick
        return replace(tick, cursor_before=None, cursor_after=None)
    if tick.status in (TickStatus.STARTED, TickStatus.FAILURE) and tick.cursor_after is not None:
        return replace(tick, cursor_after=None)  # the evaluation's, not an end's
    return tick
