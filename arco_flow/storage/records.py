"""What the projections hold and the queries return: runs, tasks, assets, checks, backfills.

Pure values. Each record is one row of a projection (DESIGN.md §3), derived from the event
log and rebuilt from it; none is ever written except by applying events.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from arco_flow.core.events import DEFAULT_TENANT, DEFAULT_WORKSPACE, ErrorInfo
from arco_flow.core.keys import AssetKey
from arco_flow.core.run_state import TaskStatus

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "AssetCheckEvaluationRecord",
    "AssetRecord",
    "BackfillRecord",
    "QuarantineRecord",
    "QuarantineStatus",
    "MaterializationRecord",
    "ObservationRecord",
    "RunRecord",
    "RunStatus",
    "RunsFilter",
    "TaskRecord",
]


class RunStatus(Enum):
    """Where a run stands (Dagster's names)."""

    QUEUED = "QUEUED"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"

    @property
    def is_finished(self) -> bool:
        """Whether the run has ended (succeeded, failed or was canceled)."""
        return self in _FINISHED


_FINISHED = frozenset({RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED})

ACTIVE_RUN_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.STARTED, RunStatus.CANCELING})
"""The statuses of a run that is still going: its partitions are in progress."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """A run as its events left it."""

    run_id: str
    job_name: str
    plan_id: str
    status: RunStatus
    created_event_id: int
    """The event id of the `RunStarted` that created the run; runs list newest first by it."""
    created_time: float
    updated_time: float
    """When the last event that changed this record was appended."""
    started_time: float | None = None
    ended_time: float | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    asset_keys: tuple[AssetKey, ...] = ()
    """The asset keys the run planned to materialize."""
    parent_run_id: str | None = None
    plan: Mapping[str, Any] = field(default_factory=dict)
    run_config: Mapping[str, Any] = field(default_factory=dict)
    code_location: Mapping[str, Any] = field(default_factory=dict)
    executor: str = "in_process"
    max_concurrent: int | None = None
    coordinator: Mapping[str, Any] = field(default_factory=dict)
    """The coordinator that owns the run now (from `RunStarted`, then `RunResumed`); for
    a QUEUED run, the process that claimed it to start it (`RunClaimed`, with its
    ``claim_id``), if any."""
    error: ErrorInfo | None = None
    """Why the run failed, when `RunFailed` said."""
    tenant_id: str = DEFAULT_TENANT
    workspace_id: str = DEFAULT_WORKSPACE


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillRecord:
    """A backfill's summary, for listing; its stream holds every chunk's detail."""

    backfill_id: str
    status: str
    """``RUNNING``, ``PAUSED``, ``CANCELING``, ``CANCELED``, ``COMPLETED`` or ``FAILED``."""
    job_name: str
    created_event_id: int
    created_time: float
    updated_time: float
    asset_keys: tuple[AssetKey, ...] = ()
    request: Mapping[str, Any] = field(default_factory=dict)
    chunk_count: int = 0
    partition_count: int = 0
    """Asset-partitions the backfill covers."""
    chunks_done: int = 0
    chunks_failed: int = 0
    partitions_done: int = 0
    partitions_failed: int = 0
    tags: Mapping[str, str] = field(default_factory=dict)
    tenant_id: str = DEFAULT_TENANT
    workspace_id: str = DEFAULT_WORKSPACE


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRecord:
    """A task of a run: its latest attempt, and the usage of all its attempts.

    Times and status describe the latest attempt. Usage is cumulative, because every
    attempt consumed resources: `wall_s` and `cpu_s` are summed over all attempts and
    `peak_rss_mb` is the largest peak any attempt reported.
    """

    run_id: str
    task_id: str
    status: TaskStatus
    node: str | None = None
    """The compute node the plan named; None when the run's plan did not list the task."""
    stage: int | None = None
    attempts: int = 0
    """The highest attempt number seen (attempts count from 1)."""
    started_time: float | None = None
    ended_time: float | None = None
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float | None = None
    last_error: ErrorInfo | None = None
    skip_reason: str | None = None
    tenant_id: str = DEFAULT_TENANT
    workspace_id: str = DEFAULT_WORKSPACE


@dataclass(frozen=True, slots=True, kw_only=True)
class MaterializationRecord:
    """One `AssetMaterialized` event, as the history of its asset holds it."""

    event_id: int
    asset_key: AssetKey
    run_id: str
    task_id: str
    timestamp: float
    partition_key: str | None = None
    data_version: str | None = None
    code_version: str | None = None
    description: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    tenant_id: str = DEFAULT_TENANT
    workspace_id: str = DEFAULT_WORKSPACE


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservationRecord:
    """One `AssetObserved` event."""

    event_id: int
    asset_key: AssetKey
    run_id: str
    task_id: str
    timestamp: float
    partition_key: str | None = None
    data_version: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    tenant_id: str = DEFAULT_TENANT
    workspace_id: str = DEFAULT_WORKSPACE


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetCheckEvaluationRecord:
    """One `AssetCheckEvaluated` event, as the history of its check holds it."""

    event_id: int
    asset_key: AssetKey
    check_name: str
    run_id: str
    task_id: str
    timestamp: float
    """When the evaluation was appended, in seconds since the epoch."""
    passed: bool
    severity: str = "ERROR"
    """``ERROR`` or ``WARN``: how bad a failure is."""
    blocking: bool = False
    """Whether a failure (of severity ``ERROR``) stops the asset's downstream."""
    partition_key: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Metadata values in their data form (see `arco_flow.sdk.metadata`)."""
    description: str | None = None
    target_run_id: str | None = None
    """The run of the materialization the check looked at (None: it had none)."""
    target_event_id: int | None = None
    """The event of the materialization the check looked at (None: it had none)."""
    tenant_id: str = DEFAULT_TENANT
    workspace_id: str = DEFAULT_WORKSPACE


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetRecord:
    """An asset the log has seen, with its latest materialization and observation."""

    asset_key: AssetKey
    last_materialization: MaterializationRecord | None = None
    """The newest materialization over all partitions."""
    last_observation: ObservationRecord | None = None
    materialization_count: int = 0
    observation_count: int = 0
    tenant_id: str = DEFAULT_TENANT
    workspace_id: str = DEFAULT_WORKSPACE


@dataclass(frozen=True, slots=True, kw_only=True)
class RunsFilter:
    """Which runs `list_runs` returns; every given condition must hold."""

    run_ids: Collection[str] = ()
    """Only these runs (any run when empty)."""
    statuses: Collection[RunStatus] = ()
    """Runs in one of these statuses (any status when empty)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Runs that carry every one of these tags with exactly this value."""
    asset_key: AssetKey | None = None
    """Runs that planned or materialized this asset."""
    job_name: str | None = None
    parent_run_id: str | None = None


class QuarantineStatus(Enum):
    """Where a quarantined value stands."""

    QUARANTINED = "quarantined"
    """Waiting in quarantine for an operator."""
    RELEASED = "released"
    """Promoted to the normal location and recorded as materialized."""
    DISCARDED = "discarded"
    """Dropped; the asset's latest value stayed as it was."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineRecord:
    """One value a failed blocking check sent to quarantine (one `AssetQuarantined`)."""

    asset_key: AssetKey
    partition_key: str | None
    run_id: str
    """The run that produced and quarantined the value."""
    task_id: str
    event_id: int
    """The `AssetQuarantined` event."""
    timestamp: float
    """When the value was quarantined, in seconds since the epoch."""
    check_names: tuple[str, ...] = ()
    """The blocking checks of the asset that failed, sorted."""
    status: QuarantineStatus = QuarantineStatus.QUARANTINED
    has_value: bool = True
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """The metadata the materialization gets on release, in its data form."""
    data_version: str | None = None
    code_version: str | None = None
    resolved_event_id: int | None = None
    """The release or discard event (None while quarantined)."""
    resolved_timestamp: float | None = None
    tenant_id: str = DEFAULT_TENANT
    workspace_id: str = DEFAULT_WORKSPACE
