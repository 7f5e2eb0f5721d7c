"""Event types: the closed union of everything the log records.

Pure. Each event is a small frozen class whose persisted name (`EVENT_TYPE`, with a
version) stays fixed when the class is renamed. Events are the source of truth; the
engine's projections are derived from them. `event_to_data` / `event_from_data` are the
only codec.

Every event belongs to one stream, named ``<STREAM_PREFIX>:<value of STREAM_FIELD>``:
``run:<run_id>`` for what happens to a run, ``partitions:<partitions_def_name>`` for the
keys of a dynamic partitions definition, ``quarantine:<run_id>`` for what operators
decide about the values a run quarantined. A new kind of stream is new classes with their
own prefix and field, added to the `Event` union and `EVENT_TYPES`; nothing else changes.
"""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, TypeAlias

from arco_flow.core.errors import ArcoError
from arco_flow.core.keys import AssetKey

__all__ = [
    "DAEMON_EVENT_TYPES",
    "FRESHNESS_EVENT_TYPES",
    "FreshnessEvent",
    "FreshnessRemediationRequested",
    "FreshnessStateChanged",
    "DaemonEvent",
    "DaemonHeartbeat",
    "DaemonLeaseAcquired",
    "DaemonLeaseReleased",
    "DaemonQueueLimitsSet",
    "INSTIGATOR_EVENT_TYPES",
    "AutomationCursorSnapshotted",
    "InstigatorEvent",
    "InstigatorStarted",
    "InstigatorStopped",
    "TickCompleted",
    "TickDynamicPartitionsRequested",
    "TickFailed",
    "TickRunRequested",
    "TickSkipped",
    "TickStarted",
    "AssetCheckEvaluated",
    "AssetQuarantineDiscarded",
    "AssetQuarantineReleased",
    "AssetQuarantined",
    "QUARANTINE_EVENT_TYPES",
    "QuarantineEvent",
    "BackfillRetried",
    "BackfillResumed",
    "BackfillPaused",
    "BackfillEvent",
    "BackfillEnded",
    "BackfillDriverStarted",
    "BackfillCreated",
    "BackfillChunkLaunched",
    "BackfillChunkFinished",
    "BackfillCancelRequested",
    "BACKFILL_EVENT_TYPES",
    "AssetMaterialized",
    "AssetObserved",
    "DynamicPartitionsAdded",
    "DynamicPartitionsDeleted",
    "ErrorInfo",
    "Event",
    "EventRecord",
    "LogRecorded",
    "NewEvent",
    "PartitionsEvent",
    "RUN_EVENT_TYPES",
    "RunCancelRequested",
    "RunCanceled",
    "RunClaimed",
    "RunEvent",
    "RunFailed",
    "RunMonitorActed",
    "RunQueued",
    "RunResumed",
    "RunStarted",
    "RunSucceeded",
    "TaskFailed",
    "TaskSkipped",
    "TaskStarted",
    "TaskSucceeded",
    "TaskUsage",
    "event_from_data",
    "event_to_data",
    "idempotency_key",
    "run_id_of",
    "stream_of",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorInfo:
    """A structured error: what was raised, where, and whether user code raised it."""

    class_name: str
    message: str
    stack: str = ""
    is_user_code: bool = True
    cause: ErrorInfo | None = None

    @staticmethod
    def from_exception(error: BaseException, *, is_user_code: bool = True) -> ErrorInfo:
        """Captures `error` with its traceback and its cause chain."""
        cause = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
        return ErrorInfo(
            class_name=type(error).__name__,
            message=str(error),
            stack="".join(traceback.format_exception(type(error), error, error.__traceback__)),
            is_user_code=is_user_code and not isinstance(error, ArcoError),
            cause=ErrorInfo.from_exception(cause, is_user_code=is_user_code) if cause else None,
        )

    def to_data(self) -> dict[str, Any]:
        """Plain data for canonical JSON."""
        return {
            "class_name": self.class_name,
            "message": self.message,
            "stack": self.stack,
            "is_user_code": self.is_user_code,
            "cause": self.cause.to_data() if self.cause else None,
        }

    @staticmethod
    def from_data(data: Mapping[str, Any]) -> ErrorInfo:
        """Inverse of `to_data`."""
        cause = data.get("cause")
        return ErrorInfo(
            class_name=data["class_name"],
            message=data["message"],
            stack=data.get("stack", ""),
            is_user_code=data.get("is_user_code", True),
            cause=ErrorInfo.from_data(cause) if cause else None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskUsage:
    """What a task attempt consumed, for cost attribution."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted:
    """A run began executing its plan.

    It carries everything a later coordinator needs to resume the run after a crash:
    the plan, the run config, where the code lives and how tasks are dispatched.
    """

    EVENT_TYPE: ClassVar[str] = "run.started/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    plan_id: str
    job_name: str
    asset_keys: tuple[AssetKey, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    parent_run_id: str | None = None
    plan: Mapping[str, Any] = field(default_factory=dict)
    """The plan in its data form (`plan_to_data`)."""
    run_config: Mapping[str, Any] = field(default_factory=dict)
    code_location: Mapping[str, Any] = field(default_factory=dict)
    """How to load the definitions again: ``{"module": ...}`` or ``{"file": ...}``."""
    executor: str = "in_process"
    max_concurrent: int | None = None
    coordinator: Mapping[str, Any] = field(default_factory=dict)
    """Who coordinates the run: ``{"host": ..., "pid": ...}``."""
    dynamic_partitions: Mapping[str, Any] = field(default_factory=dict)
    """Definition name -> list of keys: the snapshot of every dynamic partitions definition
    the run uses, read once when it was planned; a resumed run uses it again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResumed:
    """A new coordinator took over a run whose coordinator had stopped."""

    EVENT_TYPE: ClassVar[str] = "run.resumed/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    coordinator: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCancelRequested:
    """Somebody asked for the run to stop; its coordinator acts on it."""

    EVENT_TYPE: ClassVar[str] = "run.cancel_requested/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSucceeded:
    """Every task of the run succeeded."""

    EVENT_TYPE: ClassVar[str] = "run.succeeded/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFailed:
    """At least one task failed for good, or the engine could not go on."""

    EVENT_TYPE: ClassVar[str] = "run.failed/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    failed_task_ids: tuple[str, ...] = ()
    error: ErrorInfo | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCanceled:
    """The run was canceled before every task finished."""

    EVENT_TYPE: ClassVar[str] = "run.canceled/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunQueued:
    """A run was submitted to the run queue; the daemon's queue loop launches it later.

    It carries what launching needs; the launch records `RunStarted` under the same run id.
    """

    EVENT_TYPE: ClassVar[str] = "run.queued/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    job_name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    asset_selection: tuple[str, ...] | None = None
    """User strings of the selected asset (or check) keys; None: the whole job."""
    partition_key: str | None = None
    partition_range_start: str | None = None
    partition_range_end: str | None = None
    run_config: Mapping[str, Any] = field(default_factory=dict)
    code_location: Mapping[str, Any] = field(default_factory=dict)
    executor: str = "in_process"
    max_concurrent: int | None = None
    parent_run_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunMonitorActed:
    """The daemon's run monitor acted on a run: ``resume``, ``cancel`` or ``fail``."""

    EVENT_TYPE: ClassVar[str] = "run.monitor_acted/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    action: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunClaimed:
    """A process claimed a queued run to start it; no other process may start it meanwhile.

    Claims are numbered along the run's stream, and the number is the claim's idempotency
    key (`idempotency_key(event, ordinal)`, the ordinal being how many claims the run had
    before): of two processes racing for one number the log keeps the first claim and
    returns it to the second, which so learns that it lost. A later claim is taken only
    once the holder of the last one is gone (`arco_flow.execution.run_queue`).
    """

    EVENT_TYPE: ClassVar[str] = "run.claimed/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    claim_id: str
    """Unique per claim attempt: how a claimer recognizes its own claim in the log."""
    claimer: Mapping[str, Any] = field(default_factory=dict)
    """The process that holds the claim: ``{"host": ..., "pid": ...}`` and more."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskStarted:
    """An attempt of a task began in a worker."""

    EVENT_TYPE: ClassVar[str] = "task.started/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    task_id: str
    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetMaterialized:
    """A task stored a new value (or recorded a new state) of an asset."""

    EVENT_TYPE: ClassVar[str] = "asset.materialized/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    task_id: str
    asset_key: AssetKey
    partition_key: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Metadata values in their data form (see `arco_flow.sdk.metadata`)."""
    data_version: str | None = None
    code_version: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetObserved:
    """A task recorded the state of an asset without materializing it."""

    EVENT_TYPE: ClassVar[str] = "asset.observed/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    task_id: str
    asset_key: AssetKey
    partition_key: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    data_version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LogRecorded:
    """A log line from user code or the engine, tied to a run and maybe a task."""

    EVENT_TYPE: ClassVar[str] = "log.recorded/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    task_id: str | None
    level: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskSucceeded:
    """An attempt of a task finished and every output was stored."""

    EVENT_TYPE: ClassVar[str] = "task.succeeded/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    task_id: str
    attempt: int
    usage: TaskUsage | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskFailed:
    """An attempt of a task failed; `retry_in_s` is set when another attempt follows."""

    EVENT_TYPE: ClassVar[str] = "task.failed/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    task_id: str
    attempt: int
    error: ErrorInfo
    retry_in_s: float | None = None
    usage: TaskUsage | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskSkipped:
    """A task did not run because tasks it needs did not succeed."""

    EVENT_TYPE: ClassVar[str] = "task.skipped/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    task_id: str
    reason: str
    blocked_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetCheckEvaluated:
    """An asset check ran: whether it passed, how severe a failure is, what it saw.

    A failed check whose `severity` is ``ERROR`` and that is `blocking` stops the checked
    asset's downstream in the run. `target_run_id` and `target_event_id` name the
    materialization the check looked at (None when it had none to look at).
    """

    EVENT_TYPE: ClassVar[str] = "asset_check.evaluated/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    task_id: str
    asset_key: AssetKey
    check_name: str
    passed: bool
    severity: str = "ERROR"
    """``ERROR`` or ``WARN`` (`AssetCheckSeverity`)."""
    blocking: bool = False
    partition_key: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Metadata values in their data form (see `arco_flow.sdk.metadata`)."""
    description: str | None = None
    target_run_id: str | None = None
    target_event_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetQuarantined:
    """A task stored an asset's value in quarantine: a blocking check on it failed.

    Recorded instead of `AssetMaterialized`, so the asset's latest materialization does
    not move and downstream runs keep reading the last good value. The value waits under
    the IO manager's quarantine location until it is released (promoted, and then
    recorded as materialized) or discarded.
    """

    EVENT_TYPE: ClassVar[str] = "asset.quarantined/1"
    STREAM_PREFIX: ClassVar[str] = "run"
    STREAM_FIELD: ClassVar[str] = "run_id"
    run_id: str
    task_id: str
    asset_key: AssetKey
    partition_key: str | None = None
    check_names: tuple[str, ...] = ()
    """The blocking checks (of this asset) that failed, sorted."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Metadata values in their data form, as the materialization would have had them."""
    data_version: str | None = None
    code_version: str | None = None
    has_value: bool = True
    """Whether a value was stored in quarantine (False: the body stored nothing, e.g. a
    `MaterializeResult` without value; a release then only records the materialization)."""
    pending: bool = False
    """Whether the value waits for standalone blocking checks still to run in this run:
    the run promotes it (`AssetQuarantineReleased` with its promotion task) when they
    pass, and it stays in quarantine when one fails. `check_names` are those checks."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetQuarantineReleased:
    """A quarantined value was promoted to the asset's normal location.

    By an operator, or by the run that held it once its blocking checks passed.

    Appended with the `AssetMaterialized` that records the promoted value (in the stream
    of the run that produced it), in one transaction.
    """

    EVENT_TYPE: ClassVar[str] = "asset.quarantine_released/1"
    STREAM_PREFIX: ClassVar[str] = "quarantine"
    STREAM_FIELD: ClassVar[str] = "run_id"
    asset_key: AssetKey
    partition_key: str | None = None
    run_id: str
    """The run that quarantined the value."""
    reason: str = ""
    task_id: str | None = None
    """The run's promotion task, when the run promoted a held value whose blocking checks
    passed (recorded with that attempt's outcome); None when an operator released it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetQuarantineDiscarded:
    """An operator dropped a quarantined value; the asset's latest value stays as it was."""

    EVENT_TYPE: ClassVar[str] = "asset.quarantine_discarded/1"
    STREAM_PREFIX: ClassVar[str] = "quarantine"
    STREAM_FIELD: ClassVar[str] = "run_id"
    asset_key: AssetKey
    partition_key: str | None = None
    run_id: str
    """The run that quarantined the value."""
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DynamicPartitionsAdded:
    """Keys were added to a dynamic partitions definition; keys it had already stay put."""

    EVENT_TYPE: ClassVar[str] = "partitions.added/1"
    STREAM_PREFIX: ClassVar[str] = "partitions"
    STREAM_FIELD: ClassVar[str] = "partitions_def_name"
    partitions_def_name: str
    partition_keys: tuple[str, ...]
    """In the order they were added; their position among the definition's keys follows it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DynamicPartitionsDeleted:
    """Keys were removed from a dynamic partitions definition (unknown keys are ignored)."""

    EVENT_TYPE: ClassVar[str] = "partitions.deleted/1"
    STREAM_PREFIX: ClassVar[str] = "partitions"
    STREAM_FIELD: ClassVar[str] = "partitions_def_name"
    partitions_def_name: str
    partition_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillCreated:
    """A backfill was asked for: what it covers, its chunks, and how its runs go."""

    STREAM_PREFIX: ClassVar[str] = "backfill"
    STREAM_FIELD: ClassVar[str] = "backfill_id"
    EVENT_TYPE: ClassVar[str] = "backfill.created/1"
    backfill_id: str
    job_name: str
    asset_keys: tuple[AssetKey, ...] = ()
    plan: Mapping[str, Any] = field(default_factory=dict)
    """The chunks in their data form (`backfill_plan_to_data`)."""
    request: Mapping[str, Any] = field(default_factory=dict)
    """What was asked for, as given: selection and partitions (range, keys, all, missing…)."""
    run_config: Mapping[str, Any] = field(default_factory=dict)
    code_location: Mapping[str, Any] = field(default_factory=dict)
    executor: str = "in_process"
    max_concurrent: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillDriverStarted:
    """A process took over driving the backfill (on create, resume, or after a crash)."""

    STREAM_PREFIX: ClassVar[str] = "backfill"
    STREAM_FIELD: ClassVar[str] = "backfill_id"
    EVENT_TYPE: ClassVar[str] = "backfill.driver_started/1"
    backfill_id: str
    driver: Mapping[str, Any] = field(default_factory=dict)
    """Who drives it: ``{"host": ..., "pid": ...}``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillChunkLaunched:
    """A run was assigned to a chunk; written before the run starts."""

    STREAM_PREFIX: ClassVar[str] = "backfill"
    STREAM_FIELD: ClassVar[str] = "backfill_id"
    EVENT_TYPE: ClassVar[str] = "backfill.chunk_launched/1"
    backfill_id: str
    chunk_id: int
    run_id: str
    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillChunkFinished:
    """A chunk's run ended: ``succeeded``, ``failed`` or ``canceled``."""

    STREAM_PREFIX: ClassVar[str] = "backfill"
    STREAM_FIELD: ClassVar[str] = "backfill_id"
    EVENT_TYPE: ClassVar[str] = "backfill.chunk_finished/1"
    backfill_id: str
    chunk_id: int
    run_id: str
    attempt: int
    status: str
    partition_count: int = 0
    """Asset-partitions the chunk covers."""
    message: str = ""
    """Why a chunk failed before its run could start (its run then does not exist)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillPaused:
    """No new chunk starts until the backfill is resumed; running ones finish."""

    STREAM_PREFIX: ClassVar[str] = "backfill"
    STREAM_FIELD: ClassVar[str] = "backfill_id"
    EVENT_TYPE: ClassVar[str] = "backfill.paused/1"
    backfill_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillResumed:
    """A paused backfill may start chunks again."""

    STREAM_PREFIX: ClassVar[str] = "backfill"
    STREAM_FIELD: ClassVar[str] = "backfill_id"
    EVENT_TYPE: ClassVar[str] = "backfill.resumed/1"
    backfill_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillCancelRequested:
    """Somebody asked the backfill to stop: its running runs are canceled."""

    STREAM_PREFIX: ClassVar[str] = "backfill"
    STREAM_FIELD: ClassVar[str] = "backfill_id"
    EVENT_TYPE: ClassVar[str] = "backfill.cancel_requested/1"
    backfill_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillRetried:
    """Failed and canceled chunks (and those they held back) go back to pending."""

    STREAM_PREFIX: ClassVar[str] = "backfill"
    STREAM_FIELD: ClassVar[str] = "backfill_id"
    EVENT_TYPE: ClassVar[str] = "backfill.retried/1"
    backfill_id: str
    chunk_ids: tuple[int, ...] = ()
    partition_count: int = 0
    """Asset-partitions of the retried chunks that had failed (no longer counted failed)."""
    failed_chunk_count: int = 0
    """How many of the retried chunks had failed (the others were canceled)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillEnded:
    """Nothing more will run: ``completed``, ``failed`` or ``canceled``."""

    STREAM_PREFIX: ClassVar[str] = "backfill"
    STREAM_FIELD: ClassVar[str] = "backfill_id"
    EVENT_TYPE: ClassVar[str] = "backfill.ended/1"
    backfill_id: str
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InstigatorStarted:
    """A user started a schedule or sensor; its `default_status` no longer applies."""

    STREAM_PREFIX: ClassVar[str] = "instigator"
    STREAM_FIELD: ClassVar[str] = "instigator_name"
    EVENT_TYPE: ClassVar[str] = "instigator.started/1"
    instigator_name: str
    instigator_type: str
    """``schedule`` or ``sensor``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InstigatorStopped:
    """A user stopped a schedule or sensor; its `default_status` no longer applies."""

    STREAM_PREFIX: ClassVar[str] = "instigator"
    STREAM_FIELD: ClassVar[str] = "instigator_name"
    EVENT_TYPE: ClassVar[str] = "instigator.stopped/1"
    instigator_name: str
    instigator_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TickStarted:
    """A schedule or sensor tick was evaluated; appended with its requests in one batch.

    A tick is recorded only once its evaluation returned, together with every run and
    dynamic-partition request it made, so a daemon that dies mid-tick leaves either
    nothing (the tick is evaluated again) or the whole evaluation (the tick is resumed
    from it, never evaluated again).
    """

    STREAM_PREFIX: ClassVar[str] = "instigator"
    STREAM_FIELD: ClassVar[str] = "instigator_name"
    EVENT_TYPE: ClassVar[str] = "instigator.tick_started/1"
    instigator_name: str
    tick_id: str
    """A schedule's is its scheduled time (``s<POSIX seconds>``), so a time is ticked once."""
    instigator_type: str
    timestamp: float
    """When the evaluation began (POSIX seconds, the daemon's clock)."""
    scheduled_time: float | None = None
    """The fire time a schedule tick is for (POSIX seconds); None for a sensor."""
    cursor_before: str | None = None
    """The cursor the sensor evaluation started from."""
    cursor_after: str | None = None
    """The cursor the evaluation returned; it becomes the sensor's cursor when the tick ends."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TickRunRequested:
    """A tick asked for a run; recorded before the run is launched, under its run id."""

    STREAM_PREFIX: ClassVar[str] = "instigator"
    STREAM_FIELD: ClassVar[str] = "instigator_name"
    EVENT_TYPE: ClassVar[str] = "instigator.run_requested/1"
    instigator_name: str
    tick_id: str
    run_id: str
    run_key: str | None = None
    """Launched at most once per instigator: the idempotency key of this event holds it."""
    request: Mapping[str, Any] = field(default_factory=dict)
    """The request as data: job_name, run_config, tags, partition_key, asset_selection."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TickDynamicPartitionsRequested:
    """A sensor tick asked to add or delete keys of a dynamic partitions definition."""

    STREAM_PREFIX: ClassVar[str] = "instigator"
    STREAM_FIELD: ClassVar[str] = "instigator_name"
    EVENT_TYPE: ClassVar[str] = "instigator.partitions_requested/1"
    instigator_name: str
    tick_id: str
    ordinal: int
    """Position of the request in the tick's result; they apply in this order."""
    partitions_def_name: str
    partition_keys: tuple[str, ...]
    added: bool
    """True: add the keys; False: delete them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TickSkipped:
    """A tick requested nothing (a skip reason, or every run key was requested before)."""

    STREAM_PREFIX: ClassVar[str] = "instigator"
    STREAM_FIELD: ClassVar[str] = "instigator_name"
    EVENT_TYPE: ClassVar[str] = "instigator.tick_skipped/1"
    instigator_name: str
    tick_id: str
    reason: str = ""
    cursor: str | None = None
    """The sensor's cursor after the tick."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TickFailed:
    """A tick's evaluation raised (or its requests could not be applied)."""

    STREAM_PREFIX: ClassVar[str] = "instigator"
    STREAM_FIELD: ClassVar[str] = "instigator_name"
    EVENT_TYPE: ClassVar[str] = "instigator.tick_failed/1"
    instigator_name: str
    tick_id: str
    error: ErrorInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class TickCompleted:
    """Every run a tick requested was launched (or exists) and its partitions applied."""

    STREAM_PREFIX: ClassVar[str] = "instigator"
    STREAM_FIELD: ClassVar[str] = "instigator_name"
    EVENT_TYPE: ClassVar[str] = "instigator.tick_completed/1"
    instigator_name: str
    tick_id: str
    run_ids: tuple[str, ...] = ()
    cursor: str | None = None
    """The sensor's cursor after the tick."""
    skipped_run_keys: tuple[str, ...] = ()
    """Run keys the tick asked for that an earlier tick had already requested."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationCursorSnapshotted:
    """The whole automation cursor after one evaluation, so a restart need not fold every tick.

    A restarted daemon starts from the latest snapshot and applies only the recorded ticks
    of later evaluations (`arco_flow.daemon.automation_loop`).
    """

    STREAM_PREFIX: ClassVar[str] = "instigator"
    STREAM_FIELD: ClassVar[str] = "instigator_name"
    EVENT_TYPE: ClassVar[str] = "instigator.automation_cursor_snapshotted/1"
    instigator_name: str
    evaluation_id: int
    cursor: str
    """The cursor as one change from nothing (`cursor_change_to_data`), as JSON."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonLeaseAcquired:
    """A daemon took the store: it alone runs schedules, sensors and backfills."""

    STREAM_PREFIX: ClassVar[str] = "daemon"
    STREAM_FIELD: ClassVar[str] = "lease_name"
    EVENT_TYPE: ClassVar[str] = "daemon.lease_acquired/1"
    lease_name: str
    daemon_id: str
    host: str
    pid: int
    ttl_s: float
    """A lease whose last heartbeat is older than this is stale and may be taken."""
    stolen_from: str | None = None
    """The daemon whose stale lease was taken over."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonHeartbeat:
    """The daemon holding the lease is alive."""

    STREAM_PREFIX: ClassVar[str] = "daemon"
    STREAM_FIELD: ClassVar[str] = "lease_name"
    EVENT_TYPE: ClassVar[str] = "daemon.heartbeat/1"
    lease_name: str
    daemon_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonLeaseReleased:
    """The daemon holding the lease stopped cleanly; another may take the store at once."""

    STREAM_PREFIX: ClassVar[str] = "daemon"
    STREAM_FIELD: ClassVar[str] = "lease_name"
    EVENT_TYPE: ClassVar[str] = "daemon.lease_released/1"
    lease_name: str
    daemon_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonQueueLimitsSet:
    """The run queue limits a daemon runs under, recorded when it takes the store.

    So that `arco-flow runs queue` explains waits against the limits in force.
    """

    STREAM_PREFIX: ClassVar[str] = "daemon"
    STREAM_FIELD: ClassVar[str] = "lease_name"
    EVENT_TYPE: ClassVar[str] = "daemon.queue_limits_set/1"
    lease_name: str
    daemon_id: str
    max_concurrent_runs: int | None = None
    """The most runs running at once (None: no limit)."""
    tag_limits: tuple[str, ...] = ()
    """Each as ``KEY=VALUE:N`` or ``KEY:N`` (`execution.run_queue.parse_tag_limit`)."""


# -- freshness policies (issue 6, item 5) --
@dataclass(frozen=True, slots=True, kw_only=True)
class FreshnessStateChanged:
    """The daemon found an asset's freshness state changed (Dagster's `FreshnessStateChange`).

    Recorded only on a change, on the asset's ``freshness:<asset>`` stream.
    """

    STREAM_PREFIX: ClassVar[str] = "freshness"
    STREAM_FIELD: ClassVar[str] = "asset_name"
    EVENT_TYPE: ClassVar[str] = "freshness.state_changed/1"
    asset_name: str
    """The asset key as a user string (``a/b``): the stream's name."""
    asset_key: AssetKey
    new_state: str
    """``PASS``, ``WARN``, ``FAIL`` or ``UNKNOWN``."""
    previous_state: str | None
    timestamp: float
    """When the daemon evaluated the change (its clock, POSIX seconds)."""
    lag_seconds: float | None = None
    deadline: float | None = None
    partition_key: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FreshnessRemediationRequested:
    """The daemon requested a run of an overdue asset; one per (asset, overdue window)."""

    STREAM_PREFIX: ClassVar[str] = "freshness"
    STREAM_FIELD: ClassVar[str] = "asset_name"
    EVENT_TYPE: ClassVar[str] = "freshness.remediation_requested/1"
    asset_name: str
    asset_key: AssetKey
    window_key: str
    """What the asset was overdue for: the expected partition or the deadline."""
    run_id: str
    timestamp: float
    partition_key: str | None = None


FreshnessEvent: TypeAlias = FreshnessStateChanged | FreshnessRemediationRequested

FRESHNESS_EVENT_TYPES: tuple[type[FreshnessEvent], ...] = (
    FreshnessStateChanged,
    FreshnessRemediationRequested,
)
"""The events of the ``freshness:<asset>`` streams: freshness states and remediations."""
# -- end freshness policies --


RunEvent: TypeAlias = (
    RunStarted
    | RunResumed
    | RunCancelRequested
    | RunSucceeded
    | RunFailed
    | RunCanceled
    | TaskStarted
    | AssetMaterialized
    | AssetObserved
    | LogRecorded
    | TaskSucceeded
    | TaskFailed
    | TaskSkipped
    | AssetCheckEvaluated
    | AssetQuarantined
    | RunQueued
    | RunMonitorActed
    | RunClaimed
)
"""The events of the ``run:<run_id>`` streams."""

PartitionsEvent: TypeAlias = DynamicPartitionsAdded | DynamicPartitionsDeleted

BackfillEvent: TypeAlias = (
    BackfillCreated
    | BackfillDriverStarted
    | BackfillChunkLaunched
    | BackfillChunkFinished
    | BackfillPaused
    | BackfillResumed
    | BackfillCancelRequested
    | BackfillRetried
    | BackfillEnded
)

BACKFILL_EVENT_TYPES: tuple[type[BackfillEvent], ...] = (
    BackfillCreated,
    BackfillDriverStarted,
    BackfillChunkLaunched,
    BackfillChunkFinished,
    BackfillPaused,
    BackfillResumed,
    BackfillCancelRequested,
    BackfillRetried,
    BackfillEnded,
)
"""The events of the ``partitions:<partitions_def_name>`` streams."""

QuarantineEvent: TypeAlias = AssetQuarantineReleased | AssetQuarantineDiscarded

QUARANTINE_EVENT_TYPES: tuple[type[QuarantineEvent], ...] = (
    AssetQuarantineReleased,
    AssetQuarantineDiscarded,
)
"""The events of the ``quarantine:<run_id>`` streams: decisions on a run's quarantined values."""

InstigatorEvent: TypeAlias = (
    InstigatorStarted
    | InstigatorStopped
    | TickStarted
    | TickRunRequested
    | TickDynamicPartitionsRequested
    | TickSkipped
    | TickFailed
    | TickCompleted
    | AutomationCursorSnapshotted
)

INSTIGATOR_EVENT_TYPES: tuple[type[InstigatorEvent], ...] = (
    InstigatorStarted,
    InstigatorStopped,
    TickStarted,
    TickRunRequested,
    TickDynamicPartitionsRequested,
    TickSkipped,
    TickFailed,
    TickCompleted,
    AutomationCursorSnapshotted,
)
"""The events of the ``instigator:<name>`` streams: a schedule's or sensor's status and ticks."""

DaemonEvent: TypeAlias = (
    DaemonLeaseAcquired | DaemonHeartbeat | DaemonLeaseReleased | DaemonQueueLimitsSet
)

DAEMON_EVENT_TYPES: tuple[type[DaemonEvent], ...] = (
    DaemonLeaseAcquired,
    DaemonHeartbeat,
    DaemonLeaseReleased,
    DaemonQueueLimitsSet,
)
"""The events of the ``daemon:<lease_name>`` stream: which daemon owns the store."""

Event: TypeAlias = (
    RunEvent
    | PartitionsEvent
    | BackfillEvent
    | QuarantineEvent
    | InstigatorEvent
    | DaemonEvent
    | FreshnessEvent  # freshness policies (issue 6, item 5)
)

RUN_EVENT_TYPES: tuple[type[RunEvent], ...] = (
    RunStarted,
    RunResumed,
    RunCancelRequested,
    RunSucceeded,
    RunFailed,
    RunCanceled,
    TaskStarted,
    AssetMaterialized,
    AssetObserved,
    LogRecorded,
    TaskSucceeded,
    TaskFailed,
    TaskSkipped,
    AssetCheckEvaluated,
    AssetQuarantined,
    RunQueued,
    RunMonitorActed,
    RunClaimed,
)

EVENT_TYPES: dict[str, type[Any]] = {
    cls.EVENT_TYPE: cls
    for cls in (
        *RUN_EVENT_TYPES,
        DynamicPartitionsAdded,
        DynamicPartitionsDeleted,
        *BACKFILL_EVENT_TYPES,
        *QUARANTINE_EVENT_TYPES,
        *INSTIGATOR_EVENT_TYPES,
        *DAEMON_EVENT_TYPES,
        *FRESHNESS_EVENT_TYPES,  # freshness policies (issue 6, item 5)
    )
}


DEFAULT_TENANT = "default"
DEFAULT_WORKSPACE = "default"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEvent:
    """An event to append, with what the store needs to place and de-duplicate it."""

    event: Event
    idempotency_key: str
    """Unique in the log: appending a key twice returns the first event, changes nothing."""
    actor: str = "engine"
    trace_context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRecord:
    """An event with its place in the log (DESIGN.md §3)."""

    event_id: int
    """Position in the whole log: increasing, so events sort by it."""
    stream: str
    """What the event is about, e.g. ``run:<run_id>``."""
    stream_sequence: int
    """Position within its stream, from 1."""
    timestamp: float
    """Seconds since the epoch when it was appended."""
    event: Event
    idempotency_key: str
    tenant_id: str = DEFAULT_TENANT
    workspace_id: str = DEFAULT_WORKSPACE
    actor: str = "engine"
    trace_context: Mapping[str, str] = field(default_factory=dict)

    @property
    def event_type(self) -> str:
        """The persisted type name of the event."""
        return self.event.EVENT_TYPE

    @property
    def run_id(self) -> str | None:
        """The run the event belongs to; None for an event outside any run."""
        return run_id_of(self.event)


def run_id_of(event: Event) -> str | None:
    """The run `event` belongs to, or None when its stream is not a run's."""
    return event.run_id if isinstance(event, RUN_EVENT_TYPES) else None


def stream_of(event: Event) -> str:
    """The stream `event` belongs to: ``<STREAM_PREFIX>:<its STREAM_FIELD>``."""
    return f"{event.STREAM_PREFIX}:{getattr(event, event.STREAM_FIELD)}"


def idempotency_key(event: Event, ordinal: int | str = 0) -> str:
    """The natural de-duplication key of `event`.

    Events that can legitimately repeat (log lines, several materializations of one key in
    an attempt, repeated cancel requests) are told apart by `ordinal`. Changes to dynamic
    partitions can always repeat (add, delete, add the same key again): their key is the
    digest of the keys plus `ordinal`, which the caller makes unique per request (the
    instance passes a fresh UUID).
    """
    if isinstance(event, RUN_EVENT_TYPES):
        return _run_idempotency_key(event, ordinal)
    if isinstance(event, BACKFILL_EVENT_TYPES):
        return _backfill_idempotency_key(event, ordinal)
    if isinstance(event, QUARANTINE_EVENT_TYPES):
        # One decision per quarantined value: a second release or discard collapses.
        where = f"{'/'.join(event.asset_key.path)}/{event.partition_key or ''}"
        return f"{stream_of(event)}/{where}/resolved"
    if isinstance(event, INSTIGATOR_EVENT_TYPES):
        return _instigator_idempotency_key(event, ordinal)
    if isinstance(event, DaemonLeaseAcquired):
        # By the stream position it was taken at: of two daemons racing, one wins.
        return f"{stream_of(event)}/{event.EVENT_TYPE}/{ordinal}"
    if isinstance(event, DAEMON_EVENT_TYPES):
        return f"{stream_of(event)}/{event.EVENT_TYPE}/{event.daemon_id}/{ordinal}"
    if isinstance(event, FreshnessRemediationRequested):  # at most one per overdue window
        return f"{stream_of(event)}/remediation/{event.window_key}"
    if isinstance(event, FreshnessStateChanged):  # by the stream position the daemon saw
        return f"{stream_of(event)}/{event.EVENT_TYPE}/{ordinal}"
    assert isinstance(event, DynamicPartitionsAdded | DynamicPartitionsDeleted)
    return _partitions_idempotency_key(event, ordinal)


def _partitions_idempotency_key(event: PartitionsEvent, ordinal: int | str) -> str:
    digest = hashlib.sha256("\n".join(event.partition_keys).encode("utf-8", "surrogatepass"))
    return f"{stream_of(event)}/{event.EVENT_TYPE}/{digest.hexdigest()[:32]}/{ordinal}"


def _run_idempotency_key(event: RunEvent, ordinal: int | str) -> str:
    run, kind = event.run_id, event.EVENT_TYPE
    if isinstance(event, TaskStarted | TaskSucceeded | TaskFailed):
        return f"{run}/{event.task_id}/{event.attempt}/{kind}"
    if isinstance(event, AssetMaterialized | AssetObserved | AssetQuarantined):
        asset = "/".join(event.asset_key.path)
        return f"{run}/{event.task_id}/{kind}/{asset}/{event.partition_key or ''}/{ordinal}"
    if isinstance(event, AssetCheckEvaluated):
        asset = "/".join(event.asset_key.path)
        where = f"{asset}/{event.check_name}/{event.partition_key or ''}"
        return f"{run}/{event.task_id}/{kind}/{where}/{ordinal}"
    if isinstance(event, TaskSkipped):
        return f"{run}/{event.task_id}/{kind}"
    if isinstance(event, LogRecorded):
        return f"{run}/{event.task_id or ''}/{kind}/{ordinal}"
    if isinstance(event, RunResumed | RunCancelRequested | RunMonitorActed | RunClaimed):
        return f"{run}/{kind}/{ordinal}"
    return f"{run}/{kind}"


def _backfill_idempotency_key(event: BackfillEvent, ordinal: int | str) -> str:
    """The key of a backfill event.

    Chunk events repeat per attempt; pauses, resumes, cancels, retries, drivers and ends
    by `ordinal` (the stream position the caller saw, so a racing duplicate collapses).
    """
    base = f"{stream_of(event)}/{event.EVENT_TYPE}"
    if isinstance(event, BackfillChunkLaunched | BackfillChunkFinished):
        return f"{base}/{event.chunk_id}/{event.attempt}"
    if isinstance(event, BackfillCreated):
        return base
    return f"{base}/{ordinal}"


def _instigator_idempotency_key(event: InstigatorEvent, ordinal: int | str) -> str:
    """The key of an instigator event.

    A run request with a run key is keyed by it alone, so the log holds at most one
    request per (instigator, run key) across ticks and daemons: appending another returns
    the first. Other tick events are keyed by their tick; starts and stops by `ordinal`.
    """
    base = f"{stream_of(event)}/{event.EVENT_TYPE}"
    if isinstance(event, TickRunRequested):
        if event.run_key is not None:
            return f"{stream_of(event)}/run_key/{event.run_key}"
        return f"{base}/{event.tick_id}/{ordinal}"
    if isinstance(event, TickDynamicPartitionsRequested):
        return f"{base}/{event.tick_id}/{event.ordinal}"
    if isinstance(event, InstigatorStarted | InstigatorStopped):
        return f"{base}/{ordinal}"
    if isinstance(event, AutomationCursorSnapshotted):
        return f"{base}/{event.evaluation_id}"
    return f"{base}/{event.tick_id}"


def _value_to_data(value: Any) -> Any:
    if isinstance(value, AssetKey):
        return {"$key": list(value.path)}
    if isinstance(value, ErrorInfo):
        return value.to_data()
    if isinstance(value, TaskUsage):
        return {"wall_s": value.wall_s, "cpu_s": value.cpu_s, "peak_rss_mb": value.peak_rss_mb}
    if isinstance(value, tuple):
        if all(type(item) is str for item in value):
            return list(value)  # a million partition keys need no per-item dispatch
        return [_value_to_data(item) for item in value]
    if isinstance(value, Mapping):
        return dict(value)
    return value


def event_to_data(event: Event) -> dict[str, Any]:
    """The event as plain data: its type name and its fields."""
    body = {f.name: _value_to_data(getattr(event, f.name)) for f in fields(event)}
    return {"type": event.EVENT_TYPE, "data": body}


def event_from_data(data: Mapping[str, Any]) -> Event:
    """Inverse of `event_to_data`."""
    cls = EVENT_TYPES[data["type"]]
    body = dict(data["data"])
    for name, value in body.items():
        if name == "error" and value is not None:
            body[name] = ErrorInfo.from_data(value)
        elif name == "usage" and value is not None:
            body[name] = TaskUsage(**value)
        elif name == "asset_key":
            body[name] = AssetKey(value["$key"])
        elif name == "asset_keys":
            body[name] = tuple(AssetKey(item["$key"]) for item in value)
        elif isinstance(value, list):
            body[name] = tuple(value)
    event: Event = cls(**body)
    return event
