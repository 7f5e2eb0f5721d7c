"""The storage protocols: the event log, the run, asset and check queries, projection upkeep.

Pure declarations. Every backend (memory, SQLite, later Postgres) implements all of them and
passes one conformance suite (``tests/integration/storage``). Every method is scoped to one
tenant and workspace; nothing a query returns belongs to another.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, TypeAlias

from arco_flow.core.events import DEFAULT_TENANT, DEFAULT_WORKSPACE, EventRecord, NewEvent
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import KeySpace
from arco_flow.storage.instigator_projection import InstigatorState, TickRecord
from arco_flow.storage.partition_status import AssetPartitionStatus
from arco_flow.storage.records import (
    AssetCheckEvaluationRecord,
    AssetRecord,
    BackfillRecord,
    MaterializationRecord,
    ObservationRecord,
    QuarantineRecord,
    QuarantineStatus,
    RunRecord,
    RunsFilter,
    TaskRecord,
)
from arco_flow.storage.rows import TableRows

if TYPE_CHECKING:
    from arco_flow.core.automation import EvaluationRecord

__all__ = [
    "AssetStorage",
    "AutomationStorage",
    "BackfillStorage",
    "CheckStorage",
    "Clock",
    "EventStore",
    "PartitionStorage",
    "QuarantineStorage",
    "ProjectionMaintenance",
    "RunStorage",
    "Storage",
]

Clock: TypeAlias = Callable[[], float]
"""Returns the current time in seconds since the epoch (`time.time` by default)."""


class EventStore(Protocol):
    """The append-only event log, the source of truth (DESIGN.md §3)."""

    def append(
        self,
        events: Sequence[NewEvent],
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[EventRecord]:
        """Appends `events` in one transaction and updates the projections in it.

        Each new event gets the next `event_id` of the log and the next sequence of its
        stream; all share one timestamp. An event whose idempotency key is already in the
        log (or earlier in `events`) is not written again.

        Args:
            events: The events to append, in order.
            tenant_id: The tenant the events belong to.
            workspace_id: The workspace the events belong to.

        Returns:
            One record per event, in order: the new record, or for a duplicate the record
            first stored under its idempotency key.

        Raises:
            CanonicalJsonError: An event holds a value with no JSON form; nothing is written.
            StoreError: The store could not be written; nothing is written.
        """
        ...

    def read_stream(
        self,
        stream: str,
        *,
        after_sequence: int = 0,
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[EventRecord]:
        """The events of `stream` after `after_sequence`, in sequence order."""
        ...

    def read_all(
        self,
        *,
        after_event_id: int = 0,
        limit: int | None = None,
        event_types: Collection[str] | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[EventRecord]:
        """The events of the tenant's workspace after `after_event_id`, in log order.

        With `event_types` (`EVENT_TYPE` names), only events of those types: a reader that
        follows the log for a few kinds decodes none of the others.
        """
        ...

    def latest_sequences(
        self,
        stream: str,
        *,
        event_types: Collection[str],
        limit: int,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[int]:
        """The sequences of the newest `limit` events of `stream` of `event_types`.

        Newest first, and nothing is decoded: a reader of a long stream finds where to
        start reading.
        """
        ...

    def last_event_id(
        self, *, tenant_id: str = DEFAULT_TENANT, workspace_id: str = DEFAULT_WORKSPACE
    ) -> int:
        """The id of the newest event of the tenant's workspace (0: none yet)."""
        ...

    def get_by_idempotency_key(
        self,
        key: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> EventRecord | None:
        """The event stored under `key`, or None."""
        ...


class RunStorage(Protocol):
    """Queries over the runs and tasks projections."""

    def get_run(
        self,
        run_id: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> RunRecord:
        """The run `run_id`.

        Raises:
            NotFoundError: There is no such run in this tenant's workspace.
        """
        ...

    def list_runs(
        self,
        filters: RunsFilter | None = None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[RunRecord]:
        """Runs matching `filters`, newest first.

        Args:
            filters: Conditions every returned run meets; all runs when None.
            limit: At most this many runs.
            cursor: The id of the last run of the previous page; returns older runs only.
            tenant_id: The tenant whose runs to list.
            workspace_id: The workspace whose runs to list.

        Raises:
            NotFoundError: `cursor` names no run.
        """
        ...

    def latest_runs_by_asset(
        self,
        asset_keys: Collection[AssetKey],
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> dict[AssetKey, RunRecord]:
        """The newest run that planned or materialized each asset (assets with none left out).

        The same run `list_runs(RunsFilter(asset_key=key), limit=1)` returns, for many
        assets at once.
        """
        ...

    def list_tasks(
        self,
        run_id: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[TaskRecord]:
        """The tasks of a run, by stage then task id (tasks the plan did not list last).

        Raises:
            NotFoundError: The run has no record and no event.
        """
        ...

    def run_events(
        self,
        run_id: str,
        *,
        event_types: Collection[str] | None = None,
        after_sequence: int = 0,
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[EventRecord]:
        """The events of a run in order, optionally only those of some types.

        Args:
            run_id: The run.
            event_types: Persisted type names (e.g. ``AssetMaterialized.EVENT_TYPE``).
            after_sequence: Only events after this position in the run's stream.
            limit: At most this many events.
            tenant_id: The tenant of the run.
            workspace_id: The workspace of the run.

        Raises:
            NotFoundError: The run has no record and no event.
        """
        ...


class AssetStorage(Protocol):
    """Queries over the materializations, observations and asset records projections."""

    def latest_materialization(
        self,
        asset_key: AssetKey,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> MaterializationRecord | None:
        """The newest materialization of `asset_key` over all partitions, or None."""
        ...

    def latest_materializations(
        self,
        asset_key: AssetKey,
        *,
        partition_keys: Collection[str] | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> dict[str | None, MaterializationRecord]:
        """The newest materialization of each partition of `asset_key`.

        The key None stands for the asset's unpartitioned materializations. With
        `partition_keys`, only those partitions are returned.
        """
        ...

    def materialization_history(
        self,
        asset_key: AssetKey,
        *,
        partition_key: str | None = None,
        before_event_id: int | None = None,
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[MaterializationRecord]:
        """Materializations of `asset_key`, newest first.

        Args:
            asset_key: The asset.
            partition_key: Only this partition's; every partition's when None.
            before_event_id: Only those older than this event (a page cursor).
            limit: At most this many.
            tenant_id: The tenant of the asset.
            workspace_id: The workspace of the asset.
        """
        ...

    def materializations_after(
        self,
        after_event_ids: Mapping[AssetKey, int],
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> dict[AssetKey, list[MaterializationRecord]]:
        """Each asset's materializations after its own event id, oldest first.

        Args:
            after_event_ids: Asset -> the event id after which its materializations are
                read (0: all of them); assets with none after it are left out.
            tenant_id: The tenant of the assets.
            workspace_id: The workspace of the assets.
        """
        ...

    def observation_history(
        self,
        asset_key: AssetKey,
        *,
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[ObservationRecord]:
        """Observations of `asset_key`, newest first."""
        ...

    def asset_records(
        self,
        asset_keys: Collection[AssetKey] | None = None,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[AssetRecord]:
        """Records of the given assets (all seen assets when None), sorted by key."""
        ...


class PartitionStorage(Protocol):
    """Queries over dynamic partition keys and the status of an asset's partitions."""

    def get_dynamic_partitions(
        self,
        partitions_def_name: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[str]:
        """The keys of a dynamic partitions definition, in the order they were added."""
        ...

    def has_dynamic_partition(
        self,
        partitions_def_name: str,
        partition_key: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> bool:
        """Whether a dynamic partitions definition has `partition_key`."""
        ...

    def partition_status(
        self,
        asset_key: AssetKey,
        space: KeySpace,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> AssetPartitionStatus:
        """The status of every partition of `asset_key` (see `storage.partition_status`).

        Args:
            asset_key: The asset.
            space: The asset's partitions definition, resolved for "now" (and with the
                dynamic keys of this tenant's workspace).
            tenant_id: The tenant of the asset.
            workspace_id: The workspace of the asset.
        """
        ...

    def partition_statuses(
        self,
        spaces: Mapping[AssetKey, KeySpace],
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> dict[AssetKey, AssetPartitionStatus]:
        """`partition_status` of many assets at once (one entry per asset of `spaces`).

        Args:
            spaces: Asset -> its partitions definition, resolved for "now".
            tenant_id: The tenant of the assets.
            workspace_id: The workspace of the assets.
        """
        ...


class ProjectionMaintenance(Protocol):
    """Rebuilding and checking the projections against the log, over all tenants."""

    def rebuild_projections(self, *, batch_size: int = 2000) -> int:
        """Empties every projection and replays the whole log into it, in one transaction.

        Returns:
            The number of events replayed.
        """
        ...

    def verify(self) -> list[str]:
        """Replays the log into a scratch copy and compares it with the live projections.

        Returns:
            One human-readable line per difference; empty when they agree.
        """
        ...

    def projection_rows(self) -> TableRows:
        """Every live projection row, by table and primary key, as `verify` compares them."""
        ...


class BackfillStorage(Protocol):
    """The summaries of backfills (each backfill's stream holds its detail)."""

    def list_backfills(
        self,
        *,
        statuses: Collection[str] = (),
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[BackfillRecord]:
        """Backfills newest first, only those in `statuses` when given."""
        ...


class CheckStorage(Protocol):
    """Queries over the asset check evaluations projections (history and latest)."""

    def latest_check_evaluations(
        self,
        asset_key: AssetKey | None = None,
        *,
        check_name: str | None = None,
        per_partition: bool = False,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[AssetCheckEvaluationRecord]:
        """The newest evaluation of each check, by asset key, check name and partition.

        Args:
            asset_key: Only the checks of this asset; every asset's when None.
            check_name: Only the checks of this name.
            per_partition: One evaluation per partition of each check (the unpartitioned
                ones have the partition None); else one per check, over all partitions.
            tenant_id: The tenant of the checks.
            workspace_id: The workspace of the checks.
        """
        ...

    def check_evaluation_history(
        self,
        asset_key: AssetKey,
        check_name: str,
        *,
        partition_key: str | None = None,
        before_event_id: int | None = None,
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[AssetCheckEvaluationRecord]:
        """Evaluations of one check, newest first.

        Args:
            asset_key: The asset the check checks.
            check_name: The check's name.
            partition_key: Only this partition's; every partition's when None.
            before_event_id: Only those older than this event (a page cursor).
            limit: At most this many.
            tenant_id: The tenant of the check.
            workspace_id: The workspace of the check.
        """
        ...

    def run_check_evaluations(
        self,
        run_id: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[AssetCheckEvaluationRecord]:
        """The check evaluations a run recorded, in the order it recorded them.

        Raises:
            NotFoundError: The run has no record and no event.
        """
        ...


class QuarantineStorage(Protocol):
    """Queries over the quarantines projection."""

    def list_quarantines(
        self,
        asset_key: AssetKey | None = None,
        *,
        status: QuarantineStatus | None = QuarantineStatus.QUARANTINED,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[QuarantineRecord]:
        """Quarantined values, oldest first (by the event that quarantined them).

        Args:
            asset_key: Only this asset's; every asset's when None.
            status: Only those with this status (waiting in quarantine by default);
                every status when None.
            tenant_id: The tenant of the assets.
            workspace_id: The workspace of the assets.
        """
        ...


class InstigatorStorage(Protocol):
    """Queries over the schedule and sensor projections (`instigator_projection`)."""

    def instigator_state(
        self,
        name: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> InstigatorState:
        """The projected state of the schedule or sensor `name`, read in one snapshot.

        Its status, cursor, times and `seen_sequence` (0 and a fresh state when its stream
        is empty), and in `ticks` (oldest first) its unfinished ticks and its newest tick.
        `run_keys` is empty: `ArcoInstance.get_instigator_state` looks keys up in the log.
        """
        ...

    def instigator_ticks(
        self,
        name: str,
        *,
        limit: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[TickRecord]:
        """The ticks of the schedule or sensor `name`, newest first, at most `limit`."""
        ...


class AutomationStorage(Protocol):
    """Each asset's declarative automation evaluations, split out of the recorded ticks."""

    def automation_evaluation_history(
        self,
        asset_key: AssetKey,
        *,
        limit: int | None = None,
        before_evaluation_id: int | None = None,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
    ) -> list[EvaluationRecord]:
        """Why `asset_key` was or was not requested, one record per tick, newest first.

        The ticks are split into per-asset records on query, each tick once (see
        `automation_projection`): every tick recorded since the kept ones, then older ticks
        only while the page is short of `limit`. An asset no tick evaluated has no record
        (finding that out the first time decodes every tick).

        Args:
            asset_key: The asset.
            limit: At most this many records.
            before_evaluation_id: Only evaluations older than this one (a page cursor).
            tenant_id: The tenant of the asset.
            workspace_id: The workspace of the asset.

        Raises:
            StoreError: A tick holds a cursor change this version cannot read.
        """
        ...


class Storage(
    EventStore,
    RunStorage,
    AssetStorage,
    CheckStorage,
    QuarantineStorage,
    PartitionStorage,
    BackfillStorage,
    InstigatorStorage,
    AutomationStorage,
    ProjectionMaintenance,
    Protocol,
):
    """Everything a backend implements: what a composition root (`ArcoInstance`) holds.

    Components take the narrow protocol they need, not this one.
    """

    def close(self) -> None:
        """Releases connections and files; the store is unusable afterwards."""
        ...
