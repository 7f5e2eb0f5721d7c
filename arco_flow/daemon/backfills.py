"""Backfills: create one over a selection and partitions, and drive it run by run.

A backfill is its event stream (``backfill:<id>``): the creation holds the plan of
chunks (`core.backfill.plan_backfill`: contiguous partition ranges, ordered upstream
first), and every run launched for a chunk is recorded *before* it starts and again when
it ends. Two drivers read and extend that stream. The daemon's
(`daemon.backfill_queue`) submits chunk runs to the run queue and never runs one itself.
`drive_backfill`, here, runs chunk after chunk in its own process (`arco-flow backfill
create` and `resume` without a daemon). Driving is restartable: `drive_backfill` replays the
stream, settles the chunks whose run was left behind by a dead driver (finished:
recorded; still open: resumed; still queued: taken out of the queue and run here; never
started: launched again under the same run id), and goes on. Pause, resume, cancel and
retry are events any process can append; the driver reads them between runs, and a
cancel also cancels the runs in flight (queued ones at once).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from arco_flow.core.backfill import backfill_plan_to_data, plan_backfill
from arco_flow.core.backfill_policy import effective_backfill_policy
from arco_flow.core.backfill_state import BackfillState, BackfillStatus, ChunkStatus
from arco_flow.core.errors import ArcoError, NotFoundError, PartitionError, SelectionError
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
    NewEvent,
    idempotency_key,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import (
    PartitionKeyRange,
    PartitionsDefinition,
    PartitionsSubset,
    infer_partition_mapping,
)
from arco_flow.daemon._backfill_stream import (
    CHUNK_END_BY_RUN_STATUS,
    append_backfill_event,
    asset_partitions,
    cancel_chunk_run,
    chunk_partition_key_range,
    chunk_run_executor,
    chunk_run_tags,
    driver_info,
    is_run_queue_driver,
    load_backfill_with_sequence,
    refresh_backfill,
)
from arco_flow.execution.launcher import Executor
from arco_flow.execution.run_operations import (
    Loader,
    coordinator_is_alive,
    launch_into_instance,
    load_code_location,
    resume_run,
)
from arco_flow.execution.run_queue import BACKFILL_TAG
from arco_flow.sdk.definitions import Definitions, resolve_asset_selection
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunStatus

__all__ = [
    "BACKFILL_TAG",
    "PartitionsRequest",
    "cancel_backfill",
    "create_backfill",
    "drive_backfill",
    "is_driven_by_daemon",
    "load_backfill",
    "pause_backfill",
    "resume_backfill",
    "retry_backfill",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionsRequest:
    """Which partitions a backfill covers.

    ``range``: `start`..`end` inclusive; ``keys``: the listed keys; ``all``: every
    partition; ``missing``: those never materialized (failed ones included) and not in
    progress; ``failed``: those whose latest attempt failed.
    """

    kind: Literal["range", "keys", "all", "missing", "failed"]
    start: str | None = None
    end: str | None = None
    keys: tuple[str, ...] = ()

    def to_data(self) -> dict[str, Any]:
        """Plain data, for the backfill's record."""
        data: dict[str, Any] = {"kind": self.kind}
        if self.kind == "range":
            data["start"], data["end"] = self.start, self.end
        if self.kind == "keys":
            data["keys"] = list(self.keys)
        return data


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def create_backfill(
    instance: ArcoInstance,
    definitions: Definitions,
    *,
    selection: Any,
    partitions: PartitionsRequest,
    code_location: Mapping[str, str] | None,
    executor: Executor = "in_process",
    max_concurrent: int | None = None,
    max_partitions_per_run: int | None = None,
    run_config: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    backfill_id: str | None = None,
    now: datetime.datetime | None = None,
    driven_here: bool = False,
) -> BackfillState:
    """Plans a backfill and records it; `drive_backfill` runs it.

    Args:
        instance: where the backfill is recorded (and its partition status read).
        definitions: the code location's definitions.
        selection: the assets (a selection string, keys or an `AssetSelection`); every
            one must be partitioned. None: every partitioned asset.
        partitions: which partitions.
        code_location: how a driver in another process loads the definitions again.
        executor: how each run's tasks run (``in_process`` or ``process_pool``).
        max_concurrent: tasks at once within a run.
        max_partitions_per_run: partitions per run for every asset, instead of each
            asset's `BackfillPolicy`.
        run_config: the config of every run.
        tags: added to every run's tags.
        backfill_id: the backfill's id; a new one by default.
        now: the time partitions are resolved at (time windows still open are left out).
        driven_here: record this process as its driver in the same append, so a daemon
            does not take it over before `drive_backfill` runs it here.

    Raises:
        SelectionError: the selection matches nothing, or an asset is not partitioned.
        PartitionError: a key or range is not in the assets' partitions.
    """
    definitions.validate()
    graph = definitions.resolve_asset_graph()
    if selection is None:
        keys = {
            asset.key
            for asset in graph.assets
            if asset.is_executable and definitions.partitions_def_of(asset.key) is not None
        }
    else:
        keys = resolve_asset_selection(selection, graph)
    if not keys:
        what = "no asset" if selection is not None else "no partitioned asset in the code location"
        raise SelectionError(
            f"the selection {selection!r} matches {what}; `arco-flow assets list` shows them"
        )
    if max_partitions_per_run is not None and max_partitions_per_run < 1:
        raise ArcoError("the partitions per run must be at least 1")
    now = now or _now()
    defs_by_key: dict[AssetKey, PartitionsDefinition] = {}
    policies: dict[AssetKey, int | None] = {}
    unpartitioned: list[str] = []
    for key in sorted(keys):
        assets_def = definitions.get_assets_def(key)
        partitions_def = assets_def.specs_by_key[key].partitions_def
        if partitions_def is None:
            unpartitioned.append(key.to_user_string())
            continue
        defs_by_key[key] = partitions_def
        policy = effective_backfill_policy(assets_def.backfill_policy, partitions_def)
        policies[key] = (
            max_partitions_per_run
            if max_partitions_per_run is not None
            else policy.max_partitions_per_run
        )
    if unpartitioned:
        raise SelectionError(
            f"a backfill covers partitioned assets, and {', '.join(unpartitioned)} "
            f"{'is' if len(unpartitioned) == 1 else 'are'} not partitioned; leave "
            f"{'it' if len(unpartitioned) == 1 else 'them'} out of the selection and "
            "materialize it with `arco-flow materialize`"
        )
    targets = _targets(instance, graph, definitions, defs_by_key, partitions, now)
    if not any(len(subset) for subset in targets.values()):
        raise PartitionError(
            f"the backfill covers no partition: no {partitions.kind} partition of "
            f"{', '.join(sorted(k.to_user_string() for k in keys))}; nothing to do"
        )
    plan = plan_backfill(
        graph,
        targets,
        partitions_defs=defs_by_key,
        mapping_of=definitions.partition_mapping_of,
        max_partitions_per_run=policies,
        default_max_partitions_per_run=None,
        current_time=now,
        dynamic_partitions_store=instance,
    )
    created = BackfillCreated(
        backfill_id=backfill_id or uuid.uuid4().hex[:12],
        job_name=definitions.resolve_implicit_global_asset_job_def().name,
        asset_keys=tuple(sorted(defs_by_key)),
        plan=backfill_plan_to_data(plan),
        request={"partitions": partitions.to_data(), "selection": _selection_data(keys)},
        run_config=dict(run_config or {}),
        code_location=dict(code_location or {}),
        executor=executor,
        max_concurrent=max_concurrent,
        tags=dict(tags or {}),
    )
    events: list[Event] = [created]
    if driven_here:
        events.append(BackfillDriverStarted(backfill_id=created.backfill_id, driver=driver_info()))
    instance.append([NewEvent(event=e, idempotency_key=idempotency_key(e)) for e in events])
    state = BackfillState.from_created(created)
    for event in events[1:]:
        state.apply(event)
    return state


def _selection_data(keys: Collection[AssetKey]) -> list[str]:
    return sorted(key.to_user_string() for key in keys)


def _targets(
    instance: ArcoInstance,
    graph: Any,
    definitions: Definitions,
    defs_by_key: Mapping[AssetKey, PartitionsDefinition],
    request: PartitionsRequest,
    now: datetime.datetime,
) -> dict[AssetKey, PartitionsSubset]:
    kind = request.kind
    if kind in ("all", "missing", "failed"):
        found: dict[AssetKey, PartitionsSubset] = {}
        for key, partitions_def in defs_by_key.items():
            if kind == "all":
                found[key] = partitions_def.subset_with_all_partitions(now, instance)
                continue
            status = instance.get_partition_status(key, partitions_def, current_time=now)
            found[key] = status.failed if kind == "failed" else status.missing
        return found
    # A range or keys names partitions of the selection's definition(s); each asset whose
    # definition holds them takes them, the others take what the mappings derive from
    # their selected parents.
    found = {}
    problems: list[str] = []
    for key in _topological(graph, defs_by_key):
        partitions_def = defs_by_key[key]
        try:
            found[key] = _requested_subset(partitions_def, request, now, instance)
            continue
        except PartitionError as error:
            mapped = _mapped_from_parents(
                definitions, graph, key, found, defs_by_key, now, instance
            )
            if mapped is None:
                problems.append(f"{key.to_user_string()}: {error}")
                continue
            found[key] = mapped
    if problems:
        raise PartitionError("the requested partitions do not fit:\n  - " + "\n  - ".join(problems))
    return found


def _topological(graph: Any, keys: Collection[AssetKey]) -> list[AssetKey]:
    wanted = set(keys)
    return [
        graph.assets[p].key for p in graph.topological_positions if graph.assets[p].key in wanted
    ]


def _requested_subset(
    partitions_def: PartitionsDefinition,
    request: PartitionsRequest,
    now: datetime.datetime,
    store: Any,
) -> PartitionsSubset:
    if request.kind == "range":
        assert request.start is not None
        assert request.end is not None
        return partitions_def.subset_with_partition_key_range(
            PartitionKeyRange(request.start, request.end), now, store
        )
    return partitions_def.subset_with_partition_keys(request.keys, now, store)


def _mapped_from_parents(
    definitions: Definitions,
    graph: Any,
    key: AssetKey,
    found: Mapping[AssetKey, PartitionsSubset],
    defs_by_key: Mapping[AssetKey, PartitionsDefinition],
    now: datetime.datetime,
    store: Any,
) -> PartitionsSubset | None:
    own_def = defs_by_key[key]
    mapping_of = definitions.partition_mapping_of
    subset: PartitionsSubset | None = None
    for parent in graph.get(key).deps:
        if parent not in found:
            continue
        mapping = infer_partition_mapping(mapping_of(key, parent), own_def, defs_by_key[parent])
        downstream = mapping.get_downstream_partitions_for_partitions(
            found[parent],
            defs_by_key[parent],
            own_def,
            current_time=now,
            dynamic_partitions_store=store,
        )
        subset = downstream if subset is None else subset | downstream
    return subset


def load_backfill(instance: ArcoInstance, backfill_id: str) -> BackfillState:
    """The backfill's state, replayed from its events.

    Raises:
        NotFoundError: no backfill has that id.
    """
    return load_backfill_with_sequence(instance, backfill_id)[0]


class _Driver:
    """Drives one backfill in this process: one chunk's run at a time."""

    def __init__(
        self,
        instance: ArcoInstance,
        state: BackfillState,
        seen: int,
        definitions: Definitions,
        loader: Loader,
        on_progress: Callable[[BackfillState], None] | None,
        on_record: Callable[[Any], None] | None,
    ) -> None:
        self.instance, self.state, self.seen = instance, state, seen
        self.definitions, self.loader = definitions, loader
        self.on_progress, self.on_record = on_progress, on_record
        created = state.created
        self.job = definitions.resolve_job_def(created.job_name)

    def append(self, event: Event) -> None:
        append_backfill_event(self.instance, event, ordinal=self.seen)
        self.refresh()

    def refresh(self) -> None:
        self.seen = refresh_backfill(self.instance, self.state, self.seen)
        if self.on_progress is not None:
            self.on_progress(self.state)

    def settle(self, chunk_id: int) -> None:
        """Finishes the record of a chunk whose run a dead driver left behind."""
        state, instance = self.state, self.instance
        run_id = state.run_ids[chunk_id]
        assert run_id is not None
        try:
            run = instance.get_run(run_id)
        except NotFoundError:
            self.launch(chunk_id, run_id, state.attempts[chunk_id])  # it never started
            return
        if run.status in CHUNK_END_BY_RUN_STATUS:
            self.finish(chunk_id, run_id, CHUNK_END_BY_RUN_STATUS[run.status])
            return
        if run.status is RunStatus.QUEUED:
            # Queued by the daemon's driver: a daemon's queue loop could start it while it
            # runs here, so it leaves the queue and the chunk runs again under a new id.
            reason = f"backfill {state.backfill_id} is driven in a process of its own"
            cancel_chunk_run(instance, run, reason=reason)
            self.launch(chunk_id, str(uuid.uuid4()), state.attempts[chunk_id] + 1)
            return
        if coordinator_is_alive(run.coordinator):
            raise ArcoError(
                f"run {run_id} of backfill {state.backfill_id} is still coordinated by "
                f"process {run.coordinator.get('pid')}; wait for it to end"
            )
        outcome = resume_run(instance, run_id, loader=self.loader, on_record=self.on_record)
        self.finish(chunk_id, run_id, _outcome_status(outcome))

    def launch(self, chunk_id: int, run_id: str, attempt: int) -> None:
        state = self.state
        created = state.created
        chunk = state.plan.chunks[chunk_id]
        launched = state.chunk_status[chunk_id] is ChunkStatus.LAUNCHED
        if not launched or state.run_ids[chunk_id] != run_id:
            self.append(
                BackfillChunkLaunched(
                    backfill_id=state.backfill_id,
                    chunk_id=chunk_id,
                    run_id=run_id,
                    attempt=attempt,
                )
            )
        try:
            outcome = launch_into_instance(
                self.job,
                self.instance,
                code_location=created.code_location or None,
                executor=chunk_run_executor(created),
                run_config=dict(created.run_config) or None,
                asset_selection=list(chunk.asset_keys),
                max_concurrent=created.max_concurrent,
                tags=chunk_run_tags(created),
                run_id=run_id,
                partition_key=chunk.partition.key,
                partition_key_range=chunk_partition_key_range(chunk),
                on_record=self.on_record,
            )
        except ArcoError as error:
            self.finish(chunk_id, run_id, "failed", message=str(error))
            return
        self.finish(chunk_id, run_id, _outcome_status(outcome))

    def finish(self, chunk_id: int, run_id: str, status: str, message: str = "") -> None:
        state = self.state
        self.append(
            BackfillChunkFinished(
                backfill_id=state.backfill_id,
                chunk_id=chunk_id,
                run_id=run_id,
                attempt=state.attempts[chunk_id],
                status=status,
                partition_count=asset_partitions(state.plan.chunks[chunk_id]),
                message=message,
            )
        )

    def run(self) -> BackfillState:
        state = self.state
        for chunk_id in state.launched_chunks():
            self.settle(chunk_id)
        while True:
            self.refresh()
            if state.status is BackfillStatus.CANCELING:
                self.append(BackfillEnded(backfill_id=state.backfill_id, status="canceled"))
                return state
            if state.status is not BackfillStatus.RUNNING:
                return state  # paused, or ended by another process
            ready = state.ready_chunks()
            if not ready:
                outcome = state.outcome_when_idle()
                self.append(
                    BackfillEnded(backfill_id=state.backfill_id, status=outcome.value.lower())
                )
                return state
            chunk_id = ready[0]
            self.launch(chunk_id, str(uuid.uuid4()), state.attempts[chunk_id] + 1)


def _outcome_status(outcome: Any) -> str:
    if outcome.succeeded:
        return "succeeded"
    return "canceled" if outcome.canceled else "failed"


def is_driven_by_daemon(state: BackfillState) -> bool:
    """Whether a live daemon in another process drives the backfill through the run queue."""
    return is_run_queue_driver(state.driver) and coordinator_is_alive(state.driver)


def drive_backfill(
    instance: ArcoInstance,
    backfill_id: str,
    *,
    loader: Loader = load_code_location,
    definitions: Definitions | None = None,
    force: bool = False,
    on_progress: Callable[[BackfillState], None] | None = None,
    on_record: Callable[[Any], None] | None = None,
) -> BackfillState:
    """Runs the backfill's chunks until it ends, is paused or is canceled.

    Safe to call after a driver died: chunks it left behind are settled first.

    Args:
        instance: where the backfill is recorded.
        backfill_id: the backfill to drive.
        loader: loads the definitions from the backfill's recorded code location.
        definitions: the definitions to run with, instead of loading them.
        force: take over even though the recorded driver process still seems alive.
        on_progress: sees the state after every change.
        on_record: sees every event record of the runs.

    Raises:
        NotFoundError: no such backfill.
        ArcoError: the backfill is paused, or another live process drives it.
    """
    state, seen = load_backfill_with_sequence(instance, backfill_id)
    if state.status.is_terminal:
        return state
    if state.status is BackfillStatus.PAUSED:
        raise ArcoError(
            f"backfill {backfill_id} is paused; `arco-flow backfill resume {backfill_id}` "
            "resumes and drives it"
        )
    if not force and coordinator_is_alive(state.driver):
        if is_driven_by_daemon(state):
            raise ArcoError(
                f"backfill {backfill_id} is driven by the daemon (process "
                f"{state.driver.get('pid')}), which queues its runs; `arco-flow backfill show "
                f"{backfill_id}` follows it, or pass --force to drive it in this process"
            )
        raise ArcoError(
            f"backfill {backfill_id} is driven by process {state.driver.get('pid')} on this "
            "host; wait for it, pause or cancel the backfill, or pass --force if it is stuck"
        )
    if definitions is None:
        definitions = loader(state.created.code_location)
    driver = _Driver(instance, state, seen, definitions, loader, on_progress, on_record)
    driver.append(BackfillDriverStarted(backfill_id=backfill_id, driver=driver_info()))
    return driver.run()


def pause_backfill(instance: ArcoInstance, backfill_id: str, reason: str = "") -> BackfillState:
    """Stops starting new chunks; the runs in flight (queued or started) finish.

    Raises:
        ArcoError: the backfill has ended or is already paused.
    """
    state, seen = load_backfill_with_sequence(instance, backfill_id)
    if state.status is not BackfillStatus.RUNNING:
        raise ArcoError(
            f"backfill {backfill_id} is {state.status.value}; only a running one pauses"
        )
    append_backfill_event(
        instance, BackfillPaused(backfill_id=backfill_id, reason=reason), ordinal=seen
    )
    refresh_backfill(instance, state, seen)
    return state


def resume_backfill(instance: ArcoInstance, backfill_id: str) -> BackfillState:
    """Lets a paused backfill start chunks again (drive it with `drive_backfill`).

    A running backfill whose driver died needs no resume event: drive it.

    Raises:
        ArcoError: the backfill has ended.
    """
    state, seen = load_backfill_with_sequence(instance, backfill_id)
    if state.status.is_terminal:
        raise ArcoError(
            f"backfill {backfill_id} ended {state.status.value}; "
            f"`arco-flow backfill retry {backfill_id}` runs its failed partitions again"
        )
    if state.status is BackfillStatus.PAUSED:
        append_backfill_event(instance, BackfillResumed(backfill_id=backfill_id), ordinal=seen)
        refresh_backfill(instance, state, seen)
    return state


def cancel_backfill(instance: ArcoInstance, backfill_id: str, reason: str = "") -> BackfillState:
    """Cancels the backfill: no chunk starts again, and its runs in flight are canceled.

    A queued chunk run ends CANCELED at once; a started one is asked to stop. With no
    live driver (paused, or its driver died) the backfill ends at once; a live driver
    ends it once none of its runs is active.

    Raises:
        ArcoError: the backfill has ended.
    """
    state, seen = load_backfill_with_sequence(instance, backfill_id)
    if state.status.is_terminal:
        raise ArcoError(f"backfill {backfill_id} already ended {state.status.value}")
    append_backfill_event(
        instance, BackfillCancelRequested(backfill_id=backfill_id, reason=reason), seen
    )
    seen = refresh_backfill(instance, state, seen)
    for chunk_id in state.launched_chunks():
        run_id = state.run_ids[chunk_id]
        assert run_id is not None
        try:
            run = instance.get_run(run_id)
        except NotFoundError:
            continue
        cancel_chunk_run(instance, run, reason=f"backfill {backfill_id} canceled")
    if not coordinator_is_alive(state.driver):
        append_backfill_event(
            instance, BackfillEnded(backfill_id=backfill_id, status="canceled"), seen
        )
        refresh_backfill(instance, state, seen)
    return state


def retry_backfill(instance: ArcoInstance, backfill_id: str) -> BackfillState:
    """Puts the failed and canceled chunks back to pending (drive it afterwards).

    Raises:
        ArcoError: a live driver still runs it, or no chunk failed.
    """
    state, seen = load_backfill_with_sequence(instance, backfill_id)
    if not state.status.is_terminal and coordinator_is_alive(state.driver):
        raise ArcoError(
            f"backfill {backfill_id} is still running; retry its failed partitions once it ends"
        )
    chunk_ids = state.retryable_chunks()
    if not chunk_ids:
        raise ArcoError(
            f"no chunk of backfill {backfill_id} failed or was canceled; nothing to retry"
        )
    failed_partitions = sum(
        asset_partitions(state.plan.chunks[c])
        for c in chunk_ids
        if state.chunk_status[c] is ChunkStatus.FAILED
    )
    append_backfill_event(
        instance,
        BackfillRetried(
            backfill_id=backfill_id,
            chunk_ids=tuple(chunk_ids),
            partition_count=failed_partitions,
            failed_chunk_count=sum(
                1 for c in chunk_ids if state.chunk_status[c] is ChunkStatus.FAILED
            ),
        ),
        ordinal=seen,
    )
    refresh_backfill(instance, state, seen)
    return state
