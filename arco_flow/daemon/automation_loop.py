"""The automation loop of the daemon: declarative automation, tick after tick.

`AutomationDaemon.tick` evaluates every asset's automation condition incrementally: it
keeps the prepared `AutomationGraph`, each asset's state and the cursor in memory; each
tick it reads only the events appended since the last one (`changed`: the assets of runs
that were queued, started, ended or materialized something, and the partitioned assets
when dynamic partitions changed) and re-reads the state of those assets alone.

A tick that evaluated something is recorded on the stream of the reserved instigator
``automation`` (`instigator:automation`), in one append with its run requests, before any
run is launched (`daemon.ticks.record_evaluation`, then `finish_tick`: runs are launched
once, whichever daemon finishes the tick). The tick carries the change it made to the
cursor (`core.automation.cursor_change_to_data`), so a restarted daemon folds the stream
back into the cursor and requests nothing twice; the same data is each asset's
evaluation record (`automation_evaluations`). An idle tick (nothing to evaluate) records
nothing.

The stream stays cheap to restart from: every `snapshot_every_ticks` recorded ticks, or
once their changes pass `snapshot_every_bytes`, the daemon appends the whole cursor
(`AutomationCursorSnapshotted`). A restart starts from the latest snapshot and folds only
the changes of later evaluations (by evaluation id, so a tick another daemon recorded
before the snapshot landed is not lost), which gives the same cursor as folding them all.

Requests become runs of the implicit asset job: the unpartitioned assets of a tick share
one run, and the partitioned ones one run per (partitions definition, partition key).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from arco_flow.core.automation import (
    AssetState,
    AutomationCondition,
    AutomationCursor,
    EvaluationRecord,
    GraphState,
    Status,
    TickResult,
    apply_cursor_change,
    cursor_change_to_data,
    evaluate,
)
from arco_flow.core.errors import ConfigError, NotFoundError
from arco_flow.core.events import (
    AssetMaterialized,
    AutomationCursorSnapshotted,
    DynamicPartitionsAdded,
    DynamicPartitionsDeleted,
    EventRecord,
    NewEvent,
    RunCanceled,
    RunFailed,
    RunQueued,
    RunResumed,
    RunStarted,
    RunSucceeded,
    TaskFailed,
    TaskSkipped,
    TickRunRequested,
    TickSkipped,
    TickStarted,
    idempotency_key,
)
from arco_flow.core.keys import AssetKey, CoercibleToAssetKey
from arco_flow.core.manifest_view import AssetDefinitionsView
from arco_flow.core.partitions import PartitionsDefinition, PartitionsSubset
from arco_flow.daemon.automation import asset_states, build_automation_graph
from arco_flow.daemon.heap import QuietHeap
from arco_flow.daemon.ticks import (
    InstigatorStates,
    RunLauncher,
    TickOutcome,
    finish_tick,
    record_evaluation,
)
from arco_flow.sdk.jobs import IMPLICIT_JOB_NAME
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import TickRecord, TickStatus, instigator_stream

__all__ = [
    "AUTOMATION_INSTIGATOR",
    "AUTOMATION_TICK_TAG",
    "SNAPSHOT_EVERY_BYTES",
    "SNAPSHOT_EVERY_TICKS",
    "AutomationDaemon",
    "automation_evaluations",
    "load_automation_cursor",
    "snapshot_event",
]

AUTOMATION_INSTIGATOR = "automation"
"""The reserved instigator name of declarative automation (stream `instigator:automation`)."""
AUTOMATION_TICK_TAG = "arco/automation_tick"
"""Tag of the runs automation requested: the id of the tick that requested them."""

_RUN_EVENTS = (
    RunQueued,
    RunStarted,
    RunResumed,
    RunSucceeded,
    RunFailed,
    RunCanceled,
    AssetMaterialized,
    TaskFailed,
    TaskSkipped,
)
"""Run events that change what the evaluator reads of the run's assets."""
_FOLLOWED_TYPES = frozenset(
    event.EVENT_TYPE for event in (*_RUN_EVENTS, DynamicPartitionsAdded, DynamicPartitionsDeleted)
)
"""What a tick reads of the log: nothing else (its own multi-megabyte records) is decoded."""
SNAPSHOT_EVERY_TICKS = 100
"""Recorded ticks between two cursor snapshots (at most)."""
SNAPSHOT_EVERY_BYTES = 16 * 1024 * 1024
"""Bytes of recorded cursor changes between two cursor snapshots (at most, plus one tick)."""


class AutomationDaemon:
    """Ticks declarative automation against one store, keeping its state in memory.

    Args:
        instance: Where ticks, runs and materializations are recorded.
        definitions: The assets and their automation conditions.
        launcher: Starts the runs ticks request.
        conditions: Conditions by asset on top of the definitions' own (tests).
        snapshot_every_ticks: Recorded ticks after which the whole cursor is snapshotted.
        snapshot_every_bytes: Bytes of recorded changes after which it is snapshotted.

    Raises:
        DefinitionError: a condition names an unknown asset, or an edge's partition
            mapping cannot join its two definitions.
    """

    def __init__(
        self,
        instance: ArcoInstance,
        definitions: AssetDefinitionsView,
        *,
        launcher: RunLauncher,
        conditions: Mapping[CoercibleToAssetKey, AutomationCondition] | None = None,
        snapshot_every_ticks: int = SNAPSHOT_EVERY_TICKS,
        snapshot_every_bytes: int = SNAPSHOT_EVERY_BYTES,
    ) -> None:
        if snapshot_every_ticks < 1 or snapshot_every_bytes < 1:
            raise ConfigError(
                f"AutomationDaemon: snapshot_every_ticks ({snapshot_every_ticks}) and "
                f"snapshot_every_bytes ({snapshot_every_bytes}) must be at least 1: "
                "pass positive thresholds"
            )
        self._instance, self._launcher = instance, launcher
        self._snapshot_every = (snapshot_every_ticks, snapshot_every_bytes)
        self._since_snapshot = (0, 0)
        """Ticks and bytes recorded since the latest snapshot."""
        self._graph, self._partitions_defs = build_automation_graph(definitions, conditions)
        keys = self._graph.graph.keys
        self._read_keys = tuple(keys[p] for p in sorted(self._graph.watchers))
        """The assets some condition reads; only their state is kept."""
        self._partitioned = frozenset(
            key for key in self._read_keys if self._partitions_defs.get(key) is not None
        )
        self._states = InstigatorStates(instance)
        self._heap = QuietHeap()
        self._cursor: AutomationCursor | None = None
        self._restored = False
        self._assets: dict[AssetKey, AssetState] | None = None
        self._last_event_id = 0
        self._run_keys: dict[str, frozenset[AssetKey]] = {}
        self._own: set[str] = set()

    @property
    def cursor(self) -> AutomationCursor | None:
        """The cursor after the last tick (None before the first)."""
        return self._cursor

    def tick(self, now: float) -> list[TickOutcome]:
        """Finishes unfinished automation ticks, then evaluates one tick at `now`."""
        if not self._graph.order:
            return []  # no asset has an automation condition
        with self._heap.tick():
            outcomes, evaluated = self._tick(now)
        if not evaluated:
            self._heap.collect_if_due()
        return outcomes

    def _tick(self, now: float) -> tuple[list[TickOutcome], bool]:
        outcomes = self.finish_unfinished()
        if self._states.get(AUTOMATION_INSTIGATOR).unfinished_ticks():
            return outcomes, False  # its runs are not all recorded yet: evaluate after
        if not self._restored:
            self._cursor, self._since_snapshot = _restore(self._instance, self._partitions_defs.get)
            self._restored = True
        time = datetime.fromtimestamp(now, UTC)
        try:
            result = evaluate(self._graph, self._state(time), self._cursor, time)
            if result.evaluations:
                outcome = self._record(now, self._cursor, result)
                if outcome is not None:
                    outcomes.append(outcome)
        except BaseException:
            self._forget()  # what was read may be half applied: rebuild from the store
            raise
        if self._restored:
            self._cursor = result.cursor
        return outcomes, bool(result.evaluations)

    def finish_unfinished(self) -> list[TickOutcome]:
        """Finishes the recorded ticks not ended yet.

        A tick stays unfinished while one of its runs is not recorded, or when a dead
        daemon left it.
        """
        return [
            outcome
            for tick in self._states.get(AUTOMATION_INSTIGATOR).unfinished_ticks()
            if (outcome := self._finish(tick, resumed=tick.tick_id not in self._own)) is not None
        ]

    def _forget(self) -> None:
        self._cursor, self._restored, self._assets = None, False, None

    # -- state -----------------------------------------------------------------------------

    def _state(self, time: datetime) -> GraphState:
        instance = self._instance
        seen = self._cursor.latest_event_ids if self._cursor is not None else None
        if self._assets is None:
            self._last_event_id = instance.storage.last_event_id(
                tenant_id=instance.tenant_id, workspace_id=instance.workspace_id
            )
            read = {key: self._partitions_defs.get(key) for key in self._read_keys}
            self._assets = asset_states(instance, read, time, seen=seen)
            return GraphState(assets=self._assets, changed=None, dynamic_partitions_store=instance)
        changed = self._changed_keys()
        if changed:
            read = {key: self._partitions_defs.get(key) for key in changed}
            self._assets.update(asset_states(instance, read, time, seen=seen))
        return GraphState(
            assets=self._assets, changed=frozenset(changed), dynamic_partitions_store=instance
        )

    def _changed_keys(self) -> set[AssetKey]:
        """The assets read by some condition that events since the last tick touched."""
        touched: set[AssetKey] = set()
        for record in _read_after(self._instance, self._last_event_id):
            self._last_event_id = record.event_id
            touched |= self._touched_by(record)
        read = self._assets or {}
        return {key for key in touched if key in read}

    def _touched_by(self, record: EventRecord) -> frozenset[AssetKey]:
        event = record.event
        if isinstance(event, DynamicPartitionsAdded | DynamicPartitionsDeleted):
            return self._partitioned
        if not isinstance(event, _RUN_EVENTS):
            return frozenset()
        if isinstance(event, RunStarted):
            keys = self._run_keys[event.run_id] = frozenset(event.asset_keys)
        else:
            keys = self._run_asset_keys(event.run_id)
        if isinstance(event, AssetMaterialized):
            keys = keys | {event.asset_key}
        if isinstance(event, RunSucceeded | RunFailed | RunCanceled):
            self._run_keys.pop(event.run_id, None)
        return keys

    def _run_asset_keys(self, run_id: str) -> frozenset[AssetKey]:
        keys = self._run_keys.get(run_id)
        if keys is None:
            try:
                keys = frozenset(self._instance.get_run(run_id).asset_keys)
            except NotFoundError:  # queued, not started: its RunStarted names the assets
                keys = frozenset()
        return keys

    # -- recording and launching -------------------------------------------------------------

    def _record(
        self, now: float, previous: AutomationCursor | None, result: TickResult
    ) -> TickOutcome | None:
        cursor, evaluated = result.cursor, result.evaluations
        tick_id = f"e{cursor.evaluation_id}"
        change = cursor_change_to_data(previous, cursor, evaluated)
        started = TickStarted(
            instigator_name=AUTOMATION_INSTIGATOR,
            tick_id=tick_id,
            instigator_type=AUTOMATION_INSTIGATOR,
            timestamp=now,
            cursor_after=json.dumps(change, separators=(",", ":")),
        )
        runs = run_requests(tick_id, result.requests)
        end = None
        if not runs:
            end = TickSkipped(
                instigator_name=AUTOMATION_INSTIGATOR,
                tick_id=tick_id,
                reason=f"no asset requested ({len(evaluated)} evaluated)",
            )
        recorded = record_evaluation(self._instance, started, runs, end=end, states=self._states)
        if recorded is None:  # another daemon recorded this evaluation: read the log again
            self._forget()
            return None
        size = len(started.cursor_after or "")
        if end is not None:
            self._after_recorded(cursor, size)
            return TickOutcome(
                instigator_name=AUTOMATION_INSTIGATOR,
                instigator_type=AUTOMATION_INSTIGATOR,
                tick_id=tick_id,
                status=TickStatus.SKIPPED,
                skip_reason=end.reason,
            )
        self._own.add(tick_id)
        tick = TickRecord(
            instigator_name=AUTOMATION_INSTIGATOR,
            tick_id=tick_id,
            status=TickStatus.STARTED,
            timestamp=now,
            event_id=0,
            run_requests=tuple(recorded[0]),
        )
        outcome = self._finish(tick, resumed=False)
        self._after_recorded(cursor, size)  # after the launches: a snapshot delays no run
        return outcome

    def _after_recorded(self, cursor: AutomationCursor, size: int) -> None:
        ticks, size = self._since_snapshot[0] + 1, self._since_snapshot[1] + size
        if ticks < self._snapshot_every[0] and size < self._snapshot_every[1]:
            self._since_snapshot = (ticks, size)
            return
        snapshot = snapshot_event(cursor)
        # Keyed by evaluation: two daemons snapshotting the same cursor record it once.
        key = idempotency_key(snapshot, cursor.evaluation_id)
        appended = [NewEvent(event=snapshot, idempotency_key=key, actor="daemon")]
        self._states.note(self._instance.append(appended))
        self._since_snapshot = (0, 0)

    def _finish(self, tick: TickRecord, *, resumed: bool) -> TickOutcome | None:
        # The cursor change stays on the TickStarted; the end need not repeat it.
        return finish_tick(
            self._instance,
            self._launcher,
            replace(tick, cursor_after=None),
            instigator_type=AUTOMATION_INSTIGATOR,
            resumed=resumed,
            states=self._states,
        )


def run_requests(tick_id: str, requests: Mapping[AssetKey, Status]) -> list[TickRunRequested]:
    """The runs of one tick's requests.

    The unpartitioned assets share one run; the partitioned ones share one run per
    (partitions definition, partition key).
    """
    groups: dict[tuple[PartitionsDefinition | None, str | None], list[AssetKey]] = {}
    for key, status in requests.items():
        if isinstance(status, PartitionsSubset):
            for partition_key in status.get_partition_keys():
                groups.setdefault((status.partitions_def, partition_key), []).append(key)
        elif status:
            groups.setdefault((None, None), []).append(key)
    return [
        TickRunRequested(
            instigator_name=AUTOMATION_INSTIGATOR,
            tick_id=tick_id,
            run_id=str(uuid.uuid4()),
            run_key=None,
            request={
                "job_name": IMPLICIT_JOB_NAME,
                "run_config": None,
                "tags": {AUTOMATION_TICK_TAG: tick_id},
                "partition_key": partition_key,
                "asset_selection": [list(key.path) for key in sorted(keys)],
            },
        )
        for (_, partition_key), keys in groups.items()
    ]


def snapshot_event(cursor: AutomationCursor) -> AutomationCursorSnapshotted:
    """The whole of `cursor` as one event: a change from nothing to it."""
    change = cursor_change_to_data(None, cursor, cursor.assets)
    return AutomationCursorSnapshotted(
        instigator_name=AUTOMATION_INSTIGATOR,
        evaluation_id=cursor.evaluation_id,
        cursor=json.dumps(change, separators=(",", ":")),
    )


def _recorded_changes(instance: ArcoInstance) -> Iterable[tuple[str, dict[str, Any]]]:
    for record in instance.read_stream(instigator_stream(AUTOMATION_INSTIGATOR)):
        event = record.event
        if isinstance(event, TickStarted) and event.cursor_after:
            yield event.tick_id, json.loads(event.cursor_after)


def _evaluation_id(tick_id: str) -> int:
    return int(tick_id[1:])  # the daemon's tick ids are ``e<evaluation id>``


def _restore(
    instance: ArcoInstance, partitions_def_of: Any
) -> tuple[AutomationCursor | None, tuple[int, int]]:
    """The cursor the stream leaves, and the ticks and bytes recorded after its snapshot.

    Only the stream from the snapshot before the latest one is read, and of that only
    the latest snapshot and the changes of later evaluations are decoded.
    """
    snapshot: AutomationCursorSnapshotted | None = None
    changes: list[TickStarted] = []
    stream = instigator_stream(AUTOMATION_INSTIGATOR)
    # Read from the snapshot before the latest: the stream grows without end, and the
    # window between the two (100 recorded ticks at least) holds any tick a racing
    # daemon recorded before the latest snapshot landed.
    snapshots = instance.storage.latest_sequences(
        stream,
        event_types=[AutomationCursorSnapshotted.EVENT_TYPE],
        limit=2,
        tenant_id=instance.tenant_id,
        workspace_id=instance.workspace_id,
    )
    start = snapshots[-1] - 1 if snapshots else 0
    for record in instance.read_stream(stream, after_sequence=start):
        event = record.event
        if isinstance(event, AutomationCursorSnapshotted):
            if snapshot is None or event.evaluation_id > snapshot.evaluation_id:
                snapshot = event
        elif isinstance(event, TickStarted) and event.cursor_after:
            changes.append(event)
    cursor: AutomationCursor | None = None
    after = 0
    if snapshot is not None:
        change = json.loads(snapshot.cursor)
        cursor = apply_cursor_change(None, change, partitions_def_of, instance)
        after = snapshot.evaluation_id
    pending = [event for event in changes if _evaluation_id(event.tick_id) > after]
    for event in pending:
        change = json.loads(event.cursor_after or "{}")
        cursor = apply_cursor_change(cursor, change, partitions_def_of, instance)
    size = sum(len(event.cursor_after or "") for event in pending)
    return cursor, (len(pending), size)


def load_automation_cursor(
    instance: ArcoInstance,
    partitions_def_of: Any,
    cursor: AutomationCursor | None = None,
) -> AutomationCursor | None:
    """The cursor the recorded automation ticks of `instance` leave (None: no tick yet).

    Args:
        instance: The store.
        partitions_def_of: An asset key -> its partitions definition in the current code.
        cursor: Where to start from, folding every recorded tick onto it (None: from the
            latest cursor snapshot and the ticks after it).
    """
    if cursor is None:
        return _restore(instance, partitions_def_of)[0]
    for _tick_id, change in _recorded_changes(instance):
        cursor = apply_cursor_change(cursor, change, partitions_def_of, instance)
    return cursor


def automation_evaluations(
    instance: ArcoInstance, asset_key: CoercibleToAssetKey, *, limit: int | None = None
) -> list[EvaluationRecord]:
    """Why `asset_key` was or was not requested, newest first.

    One record per recorded tick that evaluated the asset (an idle tick records nothing);
    `ArcoInstance.get_automation_evaluations` answers, from its per-asset projection.
    """
    return instance.get_automation_evaluations(asset_key, limit=limit)


def _read_after(instance: ArcoInstance, after: int) -> Sequence[EventRecord]:
    return instance.storage.read_all(
        after_event_id=after,
        event_types=_FOLLOWED_TYPES,
        tenant_id=instance.tenant_id,
        workspace_id=instance.workspace_id,
    )
