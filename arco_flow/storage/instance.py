"""`ArcoInstance`: a thin facade over a store and a storage folder (Dagster's instance).

`ArcoInstance.ephemeral()` keeps everything in memory; `ArcoInstance.get()` opens the
embedded SQLite store under ``ARCO_HOME`` (default ``~/.arco_flow``). Every query is a
call on the store's protocols, scoped to the instance's tenant and workspace.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from arco_flow.core.errors import PartitionError
from arco_flow.core.events import (
    DEFAULT_TENANT,
    DEFAULT_WORKSPACE,
    DynamicPartitionsAdded,
    DynamicPartitionsDeleted,
    EventRecord,
    NewEvent,
    RunCancelRequested,
    TickRunRequested,
    idempotency_key,
)
from arco_flow.core.keys import AssetCheckKey, AssetKey, CoercibleToAssetKey
from arco_flow.core.partitions import KeySpace, PartitionsDefinition
from arco_flow.storage.freshness_projection import (
    FreshnessStateRecord,
    freshness_stream,
    restore_freshness_state,
)
from arco_flow.storage.instigator_projection import (
    InstigatorState,
    RunKeyIndex,
    TickRecord,
)
from arco_flow.storage.memory_store import MemoryEventStore
from arco_flow.storage.partition_status import AssetPartitionStatus
from arco_flow.storage.protocols import Storage
from arco_flow.storage.records import (
    AssetCheckEvaluationRecord,
    AssetRecord,
    BackfillRecord,
    MaterializationRecord,
    QuarantineRecord,
    QuarantineStatus,
    RunRecord,
    RunsFilter,
    RunStatus,
    TaskRecord,
)

if TYPE_CHECKING:
    from arco_flow.core.automation import EvaluationRecord

__all__ = ["ArcoInstance", "arco_home"]

HOME_VARIABLE = "ARCO_HOME"

# Dagster refuses these in static keys ("..." separates a range's ends in its UI); we refuse
# them in dynamic keys too, with every other control character, which no UI shows.
_BAD_KEY = re.compile(r"\.\.\.|[\x00-\x1f\x7f]")
# Joining the keys with a character the pattern never matches lets one search check a
# million keys at once; the count of joiners tells whether a key held one itself.
_JOIN = "\uffff"
# Up to this many keys, an add first asks which exist, so that re-adding them records nothing.
_CHECKED_ADD = 100
_SHOWN_PROBLEMS = 10


def arco_home(environ: Mapping[str, str] | None = None) -> Path:
    """``ARCO_HOME``, or ``~/.arco_flow``: where the embedded store and values live."""
    configured = (environ if environ is not None else os.environ).get(HOME_VARIABLE)
    return Path(configured).expanduser() if configured else Path.home() / ".arco_flow"


class ArcoInstance:
    """Where runs and their events are kept, and where values are stored by default.

    Args:
        storage: the event store with its projections.
        storage_dir: the folder of the default filesystem IO manager.
        tenant_id: the tenant every call is scoped to.
        workspace_id: the workspace every call is scoped to.
        temporary_dir: a folder removed when the instance is disposed.
    """

    def __init__(
        self,
        storage: Storage,
        storage_dir: str | None,
        *,
        tenant_id: str = DEFAULT_TENANT,
        workspace_id: str = DEFAULT_WORKSPACE,
        temporary_dir: str | None = None,
    ) -> None:
        self.storage = storage
        self._storage_dir = storage_dir
        self.tenant_id = tenant_id
        self.workspace_id = workspace_id
        self._temporary_dir = temporary_dir

    # -- construction ---------------------------------------------------------------

    @staticmethod
    def ephemeral(storage_dir: str | None = None) -> ArcoInstance:
        """An instance in memory; values go to a temporary folder removed on `dispose`."""
        temporary = None
        if storage_dir is None:
            storage_dir = temporary = tempfile.mkdtemp(prefix="arco-flow-")
        return ArcoInstance(MemoryEventStore(), storage_dir, temporary_dir=temporary)

    @staticmethod
    def get(home: str | os.PathLike[str] | None = None) -> ArcoInstance:
        """The embedded instance under `home` (``ARCO_HOME`` by default), created on use."""
        return ArcoInstance.from_home(Path(home) if home is not None else arco_home())

    @staticmethod
    def from_home(home: Path) -> ArcoInstance:
        """The embedded SQLite instance under the folder `home`."""
        # SQLAlchemy loads only for a persistent instance.
        from arco_flow.storage.sql_engine import default_database_path
        from arco_flow.storage.sql_store import SqlEventStore

        home.mkdir(parents=True, exist_ok=True)
        store = SqlEventStore(default_database_path(home))
        return ArcoInstance(store, str(home / "storage"))

    @property
    def storage_dir(self) -> str | None:
        """Where the default filesystem IO manager keeps values."""
        return self._storage_dir

    def dispose(self) -> None:
        """Closes the store and removes a temporary folder."""
        self.storage.close()
        if self._temporary_dir is not None:
            shutil.rmtree(self._temporary_dir, ignore_errors=True)

    def __enter__(self) -> ArcoInstance:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    # -- the event sink of runs -----------------------------------------------------

    def append(self, events: Sequence[NewEvent]) -> list[EventRecord]:
        """Appends events in the instance's scope (the sink a run records into)."""
        return self.storage.append(events, tenant_id=self.tenant_id, workspace_id=self.workspace_id)

    def _scope(self) -> dict[str, str]:
        return {"tenant_id": self.tenant_id, "workspace_id": self.workspace_id}

    def read_stream(self, stream: str, *, after_sequence: int = 0) -> list[EventRecord]:
        """The events of one stream (``run:<id>``, ``backfill:<id>``, …) in order."""
        return self.storage.read_stream(
            stream,
            after_sequence=after_sequence,
            tenant_id=self.tenant_id,
            workspace_id=self.workspace_id,
        )

    # -- backfills ------------------------------------------------------------------

    def get_backfills(
        self, *, statuses: Collection[str] = (), limit: int | None = None
    ) -> list[BackfillRecord]:
        """Backfill summaries, newest first (`arco_flow.daemon.backfills` drives them)."""
        return self.storage.list_backfills(statuses=statuses, limit=limit, **self._scope())

    # -- schedules and sensors -----------------------------------------------------

    def get_instigator_state(self, name: str) -> InstigatorState:
        """A schedule's or sensor's status and cursor, from its projection (a few rows).

        Its `ticks` hold its unfinished ticks and its newest one (the whole history is
        `get_ticks`); its `run_keys` looks each key up in the log's idempotency index.
        """
        state = self.storage.instigator_state(name, **self._scope())

        def lookup(run_key: str) -> str | None:
            probe = TickRunRequested(instigator_name=name, tick_id="", run_id="", run_key=run_key)
            found = self.storage.get_by_idempotency_key(idempotency_key(probe), **self._scope())
            if found is None or not isinstance(found.event, TickRunRequested):
                return None
            return found.event.run_id

        def listing() -> list[tuple[str, str]]:
            return [
                (request.run_key, request.run_id)
                for tick in reversed(self.get_ticks(name))
                for request in tick.run_requests
                if request.run_key is not None
            ]

        state.run_keys = RunKeyIndex(lookup, listing)
        return state

    def get_ticks(self, name: str, *, limit: int | None = None) -> list[TickRecord]:
        """The ticks of a schedule or sensor, newest first (at most `limit`, read as such)."""
        return self.storage.instigator_ticks(name, limit=limit, **self._scope())

    # -- declarative automation (issue 6) -------------------------------------------

    def get_automation_evaluations(
        self,
        asset_key: CoercibleToAssetKey,
        *,
        limit: int | None = None,
        before_evaluation_id: int | None = None,
    ) -> list[EvaluationRecord]:
        """Why the automation daemon did or did not request an asset, newest first.

        One record per recorded tick that evaluated the asset (Dagster's
        `get_auto_materialize_asset_evaluations`): the evaluation id and time, how many
        partitions it requested and the condition tree with what each node held for. Ticks
        are split into per-asset records on query, each once: the newest ones a page
        needs, then whatever was recorded since (see `automation_projection`).

        Args:
            asset_key: The asset.
            limit: At most this many records.
            before_evaluation_id: Only evaluations older than this one: the last record's
                `evaluation_id` gives the next page.

        Raises:
            StoreError: A recorded tick holds data this version cannot read.
        """
        return self.storage.automation_evaluation_history(
            AssetKey.from_coercible(asset_key),
            limit=limit,
            before_evaluation_id=before_evaluation_id,
            **self._scope(),
        )

    # -- freshness policies (issue 6, item 5) ----------------------------------------

    def get_freshness_state(self, asset_key: CoercibleToAssetKey) -> FreshnessStateRecord | None:
        """The asset's latest freshness state as the daemon recorded it; None if never."""
        key = AssetKey.from_coercible(asset_key)
        return restore_freshness_state(key, self.read_stream(freshness_stream(key)))

    # -- runs -----------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord:
        """The run `run_id`.

        Raises:
            NotFoundError: no such run; the message suggests a close id.
        """
        return self.storage.get_run(run_id, **self._scope())

    def get_run_by_id(self, run_id: str) -> RunRecord:
        """Dagster's name for `get_run`."""
        return self.get_run(run_id)

    def get_runs(
        self,
        *,
        run_ids: Collection[str] = (),
        statuses: Collection[RunStatus] = (),
        tags: Mapping[str, str] | None = None,
        asset_key: CoercibleToAssetKey | None = None,
        job_name: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> list[RunRecord]:
        """Runs filtered by id, status, tags, asset or job, newest first."""
        filters = RunsFilter(
            run_ids=tuple(run_ids),
            statuses=tuple(statuses),
            tags=dict(tags or {}),
            asset_key=AssetKey.from_coercible(asset_key) if asset_key is not None else None,
            job_name=job_name,
        )
        return self.storage.list_runs(filters, limit=limit, cursor=cursor, **self._scope())

    def get_latest_runs_by_asset(
        self, asset_keys: Collection[CoercibleToAssetKey]
    ) -> dict[AssetKey, RunRecord]:
        """The newest run that planned or materialized each asset (assets with none left out)."""
        keys = [AssetKey.from_coercible(key) for key in asset_keys]
        return self.storage.latest_runs_by_asset(keys, **self._scope())

    def get_tasks(self, run_id: str) -> list[TaskRecord]:
        """The tasks of a run, with attempts, status, timings and usage."""
        return self.storage.list_tasks(run_id, **self._scope())

    def all_logs(
        self, run_id: str, *, event_types: Collection[str] | None = None
    ) -> list[EventRecord]:
        """The events of a run, in order (Dagster's name)."""
        return self.storage.run_events(
            run_id,
            event_types=event_types,
            tenant_id=self.tenant_id,
            workspace_id=self.workspace_id,
        )

    def request_cancel(self, run_id: str, reason: str = "") -> EventRecord:
        """Asks the run's coordinator to stop the run; returns the recorded request."""
        self.get_run(run_id)  # raises NotFoundError for an unknown run
        count = len(self.all_logs(run_id, event_types=[RunCancelRequested.EVENT_TYPE]))
        event = RunCancelRequested(run_id=run_id, reason=reason)
        return self.append(
            [NewEvent(event=event, idempotency_key=idempotency_key(event, count), actor="user")]
        )[0]

    def is_cancel_requested(self, run_id: str) -> bool:
        """Whether someone asked to stop the run."""
        return bool(self.all_logs(run_id, event_types=[RunCancelRequested.EVENT_TYPE]))

    # -- assets ---------------------------------------------------------------------

    def get_latest_materialization_event(
        self, asset_key: CoercibleToAssetKey
    ) -> MaterializationRecord | None:
        """The latest materialization of an asset, or None."""
        return self.storage.latest_materialization(
            AssetKey.from_coercible(asset_key), **self._scope()
        )

    def get_materialization_history(
        self, asset_key: CoercibleToAssetKey, *, limit: int | None = None
    ) -> list[MaterializationRecord]:
        """Materializations of an asset, newest first."""
        return self.storage.materialization_history(
            AssetKey.from_coercible(asset_key),
            limit=limit,
            tenant_id=self.tenant_id,
            workspace_id=self.workspace_id,
        )

    def get_materializations_after(
        self, after_event_ids: Mapping[AssetKey, int]
    ) -> dict[AssetKey, list[MaterializationRecord]]:
        """Each asset's materializations after its own event id, oldest first.

        Assets with none after their id are left out; 0 reads every materialization.
        """
        return self.storage.materializations_after(after_event_ids, **self._scope())

    def get_asset_records(
        self, asset_keys: Sequence[CoercibleToAssetKey] | None = None
    ) -> list[AssetRecord]:
        """Every recorded asset (or those of `asset_keys`) with its latest materialization."""
        keys = [AssetKey.from_coercible(k) for k in asset_keys] if asset_keys else None
        return self.storage.asset_records(keys, **self._scope())

    def get_asset_keys(self) -> list[AssetKey]:
        """Every asset key the instance has a record of."""
        return [record.asset_key for record in self.get_asset_records()]

    # -- asset checks ---------------------------------------------------------------

    def get_latest_asset_check_evaluations(
        self, asset_key: CoercibleToAssetKey | None = None, *, per_partition: bool = False
    ) -> list[AssetCheckEvaluationRecord]:
        """The newest evaluation of every check in the store, by asset key and check name.

        Args:
            asset_key: Only the checks of this asset.
            per_partition: One evaluation per partition of each check (then by partition
                key too); else one per check, the newest over all its partitions.
        """
        key = AssetKey.from_coercible(asset_key) if asset_key is not None else None
        return self.storage.latest_check_evaluations(
            key,
            per_partition=per_partition,
            tenant_id=self.tenant_id,
            workspace_id=self.workspace_id,
        )

    def get_latest_asset_check_evaluation_record(
        self, check_key: AssetCheckKey, *, partition_key: str | None = None
    ) -> AssetCheckEvaluationRecord | None:
        """The newest evaluation of one check (of one partition, if given), or None."""
        found = self.get_asset_check_execution_history(
            check_key, limit=1, partition_key=partition_key
        )
        return found[0] if found else None

    def get_asset_check_execution_history(
        self,
        check_key: AssetCheckKey,
        limit: int | None = None,
        cursor: int | None = None,
        *,
        partition_key: str | None = None,
    ) -> list[AssetCheckEvaluationRecord]:
        """Evaluations of one check, newest first (Dagster's name).

        Args:
            check_key: The check.
            limit: At most this many; all when None.
            cursor: The event id of the last evaluation of the previous page; returns
                older ones only.
            partition_key: Only this partition's evaluations.
        """
        return self.storage.check_evaluation_history(
            check_key.asset_key,
            check_key.name,
            partition_key=partition_key,
            before_event_id=cursor,
            limit=limit,
            tenant_id=self.tenant_id,
            workspace_id=self.workspace_id,
        )

    def get_run_asset_check_evaluations(self, run_id: str) -> list[AssetCheckEvaluationRecord]:
        """The check evaluations a run recorded, in order.

        Raises:
            NotFoundError: no such run; the message suggests a close id.
        """
        return self.storage.run_check_evaluations(run_id, **self._scope())

    def get_quarantines(
        self,
        asset_key: CoercibleToAssetKey | None = None,
        *,
        status: QuarantineStatus | None = QuarantineStatus.QUARANTINED,
    ) -> list[QuarantineRecord]:
        """Values in quarantine (or of `status`; every status when None), oldest first.

        Args:
            asset_key: Only this asset's values.
            status: Only values with this status; those waiting in quarantine by default.
        """
        key = AssetKey.from_coercible(asset_key) if asset_key is not None else None
        return self.storage.list_quarantines(key, status=status, **self._scope())

    # -- partitions -----------------------------------------------------------------

    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> None:
        """Adds keys to a dynamic partitions definition; keys it already has stay put.

        New keys go after the existing ones, in the order given. One call is one event,
        however many keys it adds.

        Args:
            partitions_def_name: The name of the `DynamicPartitionsDefinition`.
            partition_keys: The keys: non-empty strings without ``...`` or control characters.

        Raises:
            PartitionError: The name or a key is not valid; every bad key is listed.
        """
        _check_name(partitions_def_name)
        keys = tuple(dict.fromkeys(_checked_keys(partitions_def_name, partition_keys)))
        if len(keys) <= _CHECKED_ADD:
            keys = tuple(k for k in keys if not self.has_dynamic_partition(partitions_def_name, k))
        if not keys:
            return
        event = DynamicPartitionsAdded(partitions_def_name=partitions_def_name, partition_keys=keys)
        self._append_change(event)

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        """Removes a key from a dynamic partitions definition; an unknown key is ignored."""
        _check_name(partitions_def_name)
        if not self.has_dynamic_partition(partitions_def_name, partition_key):
            return
        event = DynamicPartitionsDeleted(
            partitions_def_name=partitions_def_name, partition_keys=(partition_key,)
        )
        self._append_change(event)

    def _append_change(self, event: DynamicPartitionsAdded | DynamicPartitionsDeleted) -> None:
        # A fresh UUID per request: the same keys may be added, deleted and added again.
        key = idempotency_key(event, uuid.uuid4().hex)
        self.append([NewEvent(event=event, idempotency_key=key, actor="user")])

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        """Whether a dynamic partitions definition has `partition_key`."""
        return self.storage.has_dynamic_partition(
            partitions_def_name, partition_key, **self._scope()
        )

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        """The keys of a dynamic partitions definition, in the order they were added."""
        return self.storage.get_dynamic_partitions(partitions_def_name, **self._scope())

    def get_partition_status(
        self,
        asset_key: CoercibleToAssetKey,
        partitions_def: PartitionsDefinition,
        *,
        current_time: datetime | None = None,
    ) -> AssetPartitionStatus:
        """Which partitions of an asset are materialized, failed, in progress or missing.

        Each status is a `PartitionsSubset` of `partitions_def` (ranges, never key lists),
        and the four are disjoint: in progress wins over failed, failed over materialized,
        as in Dagster's partition health view (see `arco_flow.storage.partition_status`).

        Args:
            asset_key: The asset.
            partitions_def: The asset's partitions definition.
            current_time: "Now", which decides which time partitions exist; the current
                time by default.
        """
        now = current_time if current_time is not None else datetime.now(UTC)
        space = partitions_def.resolve(now, self)
        return self.storage.partition_status(
            AssetKey.from_coercible(asset_key), space, **self._scope()
        )

    def get_partition_statuses(
        self,
        partitions_defs: Mapping[AssetKey, PartitionsDefinition],
        *,
        current_time: datetime | None = None,
    ) -> dict[AssetKey, AssetPartitionStatus]:
        """`get_partition_status` of many assets, read together (a few queries in all).

        Args:
            partitions_defs: Asset -> its partitions definition.
            current_time: "Now"; the current time by default.
        """
        now = current_time if current_time is not None else datetime.now(UTC)
        resolved: dict[int, KeySpace] = {}  # by definition object: assets share a few
        spaces: dict[AssetKey, KeySpace] = {}
        for key, partitions_def in partitions_defs.items():
            space = resolved.get(id(partitions_def))
            if space is None:
                space = resolved[id(partitions_def)] = partitions_def.resolve(now, self)
            spaces[key] = space
        return self.storage.partition_statuses(spaces, **self._scope())

    # -- maintenance ----------------------------------------------------------------

    def rebuild_projections(self) -> int:
        """Recreates every projection from the event log; returns the events replayed."""
        return self.storage.rebuild_projections()

    def verify(self) -> list[str]:
        """Differences between rebuilt and live projections; empty when they agree."""
        return self.storage.verify()

    def __repr__(self) -> str:
        return f"<ArcoInstance {type(self.storage).__name__} storage_dir={self._storage_dir!r}>"


def _check_name(partitions_def_name: object) -> None:
    if not isinstance(partitions_def_name, str) or not partitions_def_name:
        raise PartitionError(
            f"a dynamic partitions definition is named by a non-empty string, got "
            f"{partitions_def_name!r}; pass the name given to DynamicPartitionsDefinition(name=)"
        )


def _checked_keys(partitions_def_name: str, partition_keys: Sequence[str]) -> Sequence[str]:
    """`partition_keys`, or PartitionError listing every key that is not valid."""
    if isinstance(partition_keys, str) or not isinstance(partition_keys, Sequence):
        raise PartitionError(
            f"add_dynamic_partitions({partitions_def_name!r}, ...) takes a list of key "
            f"strings, got {partition_keys!r}; write e.g. "
            f"add_dynamic_partitions({partitions_def_name!r}, ['a', 'b'])"
        )
    try:
        joined = _JOIN.join(partition_keys)
    except TypeError:
        joined = None
    if (
        joined is not None
        and _BAD_KEY.search(joined) is None
        and joined.count(_JOIN) == len(partition_keys) - 1
        and "" not in partition_keys
    ):
        return partition_keys
    problems = [problem for key in partition_keys if (problem := _key_problem(key))]
    if not problems:
        return partition_keys
    shown = "; ".join(problems[:_SHOWN_PROBLEMS])
    more = (
        f"; and {len(problems) - _SHOWN_PROBLEMS} more" if len(problems) > _SHOWN_PROBLEMS else ""
    )
    raise PartitionError(
        f"cannot add keys to dynamic partitions {partitions_def_name!r}: {shown}{more}. "
        "A partition key is a non-empty string without '...' or control characters; "
        "nothing was added."
    )


def _key_problem(key: object) -> str | None:
    if not isinstance(key, str):
        return f"{key!r} is not a string"
    if not key:
        return "'' is empty"
    bad = sorted(set(_BAD_KEY.findall(key)))
    return f"{key!r} contains {', '.join(repr(s) for s in bad)}" if bad else None
