"""Ticks of schedules and sensors: record an evaluation, launch its runs, resume after a crash.

The shell around a tick that the scheduler and the sensor daemon share. Invariants:

- A tick is recorded only once it has been evaluated, in one append with every run and
  dynamic-partition request it made (`record_evaluation`). A daemon that dies during the
  evaluation leaves nothing, so the tick is evaluated again; one that dies later leaves the
  whole evaluation, and the next daemon finishes it from the record (`finish_tick`),
  never evaluating it again.
- A run request is recorded, under its run id, before its run is launched; launching is
  "make sure a run with this id exists", so finishing a tick twice launches nothing twice.
- A run key is requested at most once per instigator: the request's idempotency key is
  (instigator, run key), so the log refuses a second one whichever daemon appends it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from arco_flow.core.errors import DefinitionError, NotFoundError
from arco_flow.core.events import (
    ErrorInfo,
    Event,
    EventRecord,
    InstigatorStarted,
    InstigatorStopped,
    NewEvent,
    TickCompleted,
    TickDynamicPartitionsRequested,
    TickFailed,
    TickRunRequested,
    TickSkipped,
    TickStarted,
    idempotency_key,
)
from arco_flow.execution.launcher import Executor
from arco_flow.execution.run_operations import (
    coordinator_is_alive,
    launch_requested_run,
    resume_run,
)
from arco_flow.execution.run_process import launch_error_info
from arco_flow.sdk.config import RunConfig, to_config_data
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.run_requests import RunRequest
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import (
    InstigatorState,
    TickRecord,
    TickStatus,
    instigator_stream,
)
from arco_flow.storage.records import RunStatus

__all__ = [
    "InstigatorStates",
    "InstigatorType",
    "RunLauncher",
    "ThreadRunLauncher",
    "TickOutcome",
    "finish_tick",
    "orphaned_runs",
    "record_evaluation",
    "request_event",
    "set_instigator_status",
]

_LOG = logging.getLogger("arco_flow.daemon")

InstigatorType = Literal["schedule", "sensor"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TickOutcome:
    """How one tick ended, for the daemon's log line."""

    instigator_name: str
    instigator_type: str
    tick_id: str
    status: TickStatus
    run_ids: tuple[str, ...] = ()
    skip_reason: str | None = None
    error: ErrorInfo | None = None
    scheduled_time: float | None = None
    resumed: bool = False
    """The tick was recorded by an earlier daemon and finished by this one."""

    def describe(self) -> str:
        """One line: what ticked and what came of it."""
        head = f"{self.instigator_type} {self.instigator_name} tick {self.tick_id}"
        if self.resumed:
            head += " (resumed)"
        if self.status is TickStatus.SUCCESS:
            return f"{head}: launched {len(self.run_ids)} run(s) {', '.join(self.run_ids)}"
        if self.status is TickStatus.SKIPPED:
            return f"{head}: skipped ({self.skip_reason})"
        message = self.error.message if self.error else "unknown error"
        return f"{head}: failed: {message}"


class RunLauncher(Protocol):
    """Starts the run a tick requested, under the run id it was recorded with."""

    def launch(self, request: TickRunRequested) -> None:
        """Starts the run; returns once it is planned, not when it ends.

        Called again for a run id whose launch in this process is still under way, it
        does nothing.

        Raises:
            ArcoError: the run cannot be planned (unknown job, bad partition or config).
        """
        ...


class ThreadRunLauncher:
    """Runs each requested run in a thread of this process, so a tick never waits for a run.

    `launch` waits only until the run is planned: a request that cannot become a run fails
    its tick; what happens in the run is the run's record. For definitions built in a
    Python process and tests: the daemon on a code location with a store on disk uses
    `daemon.run_processes.SubprocessRunLauncher`, which runs each run in its own process.

    Args:
        instance: Where runs are recorded.
        definitions: Where the requested jobs are found.
        code_location: Recorded with each run so another process can resume it.
        executor: How each run's tasks are executed.
    """

    def __init__(
        self,
        instance: ArcoInstance,
        definitions: Definitions,
        *,
        code_location: Mapping[str, str] | None,
        executor: Executor = "in_process",
    ) -> None:
        self._instance, self._definitions = instance, definitions
        self._code_location, self._executor = code_location, executor
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._by_run: dict[str, threading.Thread] = {}

    def launch(self, request: TickRunRequested) -> None:
        """See `RunLauncher.launch`."""
        self._definitions.resolve_job_def(str(request.request["job_name"]))  # fails the tick
        planned = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                launch_requested_run(
                    self._definitions,
                    self._instance,
                    request.request,
                    run_id=request.run_id,
                    code_location=self._code_location,
                    executor=self._executor,
                    on_planned=planned.set,
                )
            except BaseException as error:  # noqa: BLE001  # reported to the tick, or logged
                if planned.is_set():
                    _LOG.exception("run %s failed to run", request.run_id)
                else:
                    failure.append(error)
                    planned.set()

        thread = threading.Thread(target=run, name=f"arco-run-{request.run_id}", daemon=True)
        with self._lock:
            under_way = self._by_run.get(request.run_id)
            if under_way is not None and under_way.is_alive():
                return
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            self._by_run = {r: t for r, t in self._by_run.items() if t.is_alive()}
            self._by_run[request.run_id] = thread
        thread.start()
        planned.wait()
        if failure:
            raise failure[0]

    def resume_orphaned(self, tag_keys: Sequence[str]) -> list[str]:
        """Resumes, each in a thread, the runs a dead daemon launched and left unfinished.

        Which runs count: see `orphaned_runs`.

        Returns:
            The ids of the runs resumed.
        """
        resumed = orphaned_runs(self._instance, tag_keys)
        for run_id in resumed:
            thread = threading.Thread(
                target=self._resume, args=(run_id,), name=f"arco-resume-{run_id}"
            )
            with self._lock:
                self._threads.append(thread)
            thread.start()
        return resumed

    def _resume(self, run_id: str) -> None:
        definitions = self._definitions
        try:
            resume_run(self._instance, run_id, loader=lambda _location: definitions)
        except Exception:  # noqa: BLE001  # the run's own record says what happened
            _LOG.exception("resuming run %s failed", run_id)

    def running(self) -> int:
        """How many launched runs have not ended."""
        with self._lock:
            return sum(thread.is_alive() for thread in self._threads)

    def wait(self, timeout: float | None = None) -> None:
        """Waits for every launched run to end (each for at most `timeout` seconds)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)


def orphaned_runs(instance: ArcoInstance, tag_keys: Sequence[str]) -> list[str]:
    """The runs a dead daemon launched and left unfinished, to resume.

    A run counts when it carries one of `tag_keys` (a schedule's or sensor's name tag),
    has started (a queued run that never started is the queue's to launch), has not
    ended, and its coordinator process is gone.

    Returns:
        Their run ids.
    """
    found: list[str] = []
    active = (RunStatus.QUEUED, RunStatus.STARTED, RunStatus.CANCELING)
    for run in instance.get_runs(statuses=active):
        if not any(key in run.tags for key in tag_keys):
            continue
        if not run.plan_id:  # queued, never started: the queue loop launches it
            continue
        if coordinator_is_alive(run.coordinator):
            continue
        found.append(run.run_id)
    return found


class InstigatorStates:
    """Each instigator's state, kept current by reading only what its stream added.

    A daemon's states keep no finished tick (`InstigatorState.keep_finished_ticks`): a
    loop needs the unfinished ones, and an automation tick's record is megabytes. Nor do
    they keep run keys: the log's idempotency keys refuse a repeated one.

    An instigator's state starts from its projected row (`InstigatorStorage`), and the
    stream is read from the oldest unfinished tick's `TickStarted` (or after the row's
    `seen_sequence` when none is unfinished): the tail re-adds those ticks with the
    requests and cursor the projection does not hold, and a restart reads no finished
    tick before them.
    """

    def __init__(self, instance: ArcoInstance) -> None:
        self._instance = instance
        self._states: dict[str, InstigatorState] = {}

    def get(self, name: str) -> InstigatorState:
        """The state of `name` as the log has it now."""
        state = self._state(name)
        stream = instigator_stream(name)
        for record in self._instance.read_stream(stream, after_sequence=state.seen_sequence):
            state.apply(record)
        return state

    def note(self, records: Sequence[EventRecord]) -> None:
        """Folds records this process just appended, so `get` need not read them back.

        Only records that continue a stream right where it was folded are taken; after a
        gap (another writer appended in between) `get` reads the rest from the log.
        """
        for record in records:
            name = getattr(record.event, "instigator_name", None)
            if name is None or record.stream != instigator_stream(name):
                continue
            state = self._state(name)
            if record.stream_sequence == state.seen_sequence + 1:
                state.apply(record)

    def _state(self, name: str) -> InstigatorState:
        state = self._states.get(name)
        if state is None:
            state = self._states[name] = self._start(name)
        return state

    def _start(self, name: str) -> InstigatorState:
        instance = self._instance
        projected = instance.storage.instigator_state(
            name, tenant_id=instance.tenant_id, workspace_id=instance.workspace_id
        )
        unfinished = [tick.started_sequence for tick in projected.unfinished_ticks()]
        # Folding the tail again over the row converges to the same values: every field
        # is the last one written (or the largest), and the tail holds the last writes.
        start = min(unfinished) - 1 if unfinished else projected.seen_sequence
        return replace(
            projected, ticks={}, run_keys={}, seen_sequence=start, keep_finished_ticks=False
        )


def set_instigator_status(
    instance: ArcoInstance, name: str, instigator_type: InstigatorType, *, running: bool
) -> InstigatorState:
    """Records that a user started (`running`) or stopped a schedule or sensor."""
    state = instance.get_instigator_state(name)
    event: Event = (
        InstigatorStarted(instigator_name=name, instigator_type=instigator_type)
        if running
        else InstigatorStopped(instigator_name=name, instigator_type=instigator_type)
    )
    # The stream position as ordinal: two users racing the same change record it once.
    key = idempotency_key(event, state.seen_sequence)
    instance.append([NewEvent(event=event, idempotency_key=key, actor="user")])
    return instance.get_instigator_state(name)


def request_event(
    name: str, tick_id: str, request: RunRequest, job_name: str | None, tags: Mapping[str, str]
) -> TickRunRequested:
    """The record of `request` under a fresh run id.

    Raises:
        DefinitionError: the request has no job (neither its own nor the instigator's).
    """
    target = request.job_name or job_name
    if target is None:
        raise DefinitionError(
            f"{name!r} requested a run without a job: give the RunRequest a job_name or the "
            "schedule/sensor a target"
        )
    run_config = request.run_config
    if isinstance(run_config, RunConfig):
        run_config = run_config.to_config_dict()
    selection = request.asset_selection
    data: dict[str, Any] = {
        "job_name": target,
        "run_config": to_config_data(run_config) if run_config is not None else None,
        "tags": {**request.tags, **tags},
        "partition_key": request.partition_key,
        "asset_selection": [list(key.path) for key in selection] if selection else None,
    }
    return TickRunRequested(
        instigator_name=name,
        tick_id=tick_id,
        run_id=str(uuid.uuid4()),
        run_key=request.run_key,
        request=data,
    )


def record_evaluation(
    instance: ArcoInstance,
    started: TickStarted,
    requests: Sequence[TickRunRequested],
    partitions: Sequence[TickDynamicPartitionsRequested] = (),
    end: TickSkipped | TickFailed | None = None,
    *,
    states: InstigatorStates | None = None,
) -> tuple[list[TickRunRequested], list[str]] | None:
    """Appends a tick with everything its evaluation asked for, in one transaction.

    With `states`, the appended records are folded into them (`InstigatorStates.note`).

    Returns:
        The requests recorded now and the run keys an earlier tick had already requested;
        None when this tick was recorded before (another daemon ticked the same time).
    """
    unique: list[TickRunRequested] = []
    repeated: list[str] = []
    seen_keys: set[str] = set()
    for request in requests:
        if request.run_key is not None:
            if request.run_key in seen_keys:
                repeated.append(request.run_key)
                continue
            seen_keys.add(request.run_key)
        unique.append(request)
    batch = [NewEvent(event=started, idempotency_key=idempotency_key(started))]
    batch += [
        NewEvent(event=r, idempotency_key=idempotency_key(r, i)) for i, r in enumerate(unique)
    ]
    batch += [NewEvent(event=p, idempotency_key=idempotency_key(p)) for p in partitions]
    if end is not None:
        batch.append(NewEvent(event=end, idempotency_key=idempotency_key(end)))
    records = instance.append(batch)
    if records[0].event != started:
        return None
    if states is not None:
        states.note(records)
    fresh: list[TickRunRequested] = []
    for record, request in zip(records[1 : 1 + len(unique)], unique, strict=True):
        if record.event == request:
            fresh.append(request)
        else:
            assert request.run_key is not None  # only a keyed request can collapse
            repeated.append(request.run_key)
    return fresh, repeated


def _append(
    instance: ArcoInstance,
    event: TickCompleted | TickSkipped | TickFailed,
    states: InstigatorStates | None,
) -> None:
    records = instance.append([NewEvent(event=event, idempotency_key=idempotency_key(event))])
    if states is not None:
        states.note(records)


def _run_exists(instance: ArcoInstance, run_id: str) -> bool:
    try:
        instance.get_run(run_id)
    except NotFoundError:
        return False
    return True


def finish_tick(
    instance: ArcoInstance,
    launcher: RunLauncher,
    tick: TickRecord,
    *,
    instigator_type: str,
    skipped_run_keys: Sequence[str] = (),
    resumed: bool = False,
    applied: set[str] | None = None,
    apply_partitions: Callable[[TickDynamicPartitionsRequested], None] | None = None,
    states: InstigatorStates | None = None,
) -> TickOutcome | None:
    """Applies a recorded tick's partition requests, launches its runs and records its end.

    Idempotent: a run that exists is not launched again, and adding or deleting the same
    partition keys twice changes nothing more. A launch that fails ends the tick FAILED
    (runs launched before it stay). The end is recorded only once every run of the tick
    exists in the store (its `RunStarted` is durable): until then the tick stays STARTED
    and this returns None, and a later pass (of this daemon, or of the next one after a
    crash) calls it again.

    Args:
        instance: Where the tick is recorded.
        launcher: Starts the runs that do not exist yet.
        tick: The recorded tick.
        instigator_type: ``schedule`` or ``sensor``, for the outcome.
        skipped_run_keys: Run keys the tick asked for that earlier ticks had requested.
        resumed: Whether a dead daemon left the tick (for the outcome).
        applied: Ticks whose partition requests this process applied already; updated.
        apply_partitions: Applies one partition request (the instance's by default).
        states: Where the tick's end is folded as it is recorded (`InstigatorStates.note`).

    Returns:
        How the tick ended, or None while a run it launched is not recorded yet.
    """
    name = tick.instigator_name
    outcome = TickOutcome(
        instigator_name=name,
        instigator_type=instigator_type,
        tick_id=tick.tick_id,
        status=TickStatus.SUCCESS,
        scheduled_time=tick.scheduled_time,
        resumed=resumed,
    )
    try:
        if applied is None or tick.tick_id not in applied:
            for partition_request in tick.partition_requests:
                (apply_partitions or _partitions_applier(instance))(partition_request)
            if applied is not None:
                applied.add(tick.tick_id)
        for request in tick.run_requests:
            if not _run_exists(instance, request.run_id):
                launcher.launch(request)
    except Exception as error:  # noqa: BLE001  # recorded as the tick's failure
        info = launch_error_info(error)
        failed = TickFailed(instigator_name=name, tick_id=tick.tick_id, error=info)
        _append(instance, failed, states)
        return _replace_outcome(outcome, status=TickStatus.FAILURE, error=info)
    if any(not _run_exists(instance, r.run_id) for r in tick.run_requests):
        return None  # launched, not recorded yet: a later pass ends the tick
    run_ids = tuple(request.run_id for request in tick.run_requests)
    if run_ids or tick.partition_requests:
        _append(
            instance,
            TickCompleted(
                instigator_name=name,
                tick_id=tick.tick_id,
                run_ids=run_ids,
                cursor=tick.cursor_after,
                skipped_run_keys=tuple(skipped_run_keys),
            ),
            states,
        )
        return _replace_outcome(outcome, run_ids=run_ids)
    reason = (
        f"run keys already requested by earlier ticks: {', '.join(skipped_run_keys)}"
        if skipped_run_keys
        else "the tick requested no run"
    )
    _append(
        instance,
        TickSkipped(
            instigator_name=name, tick_id=tick.tick_id, reason=reason, cursor=tick.cursor_after
        ),
        states,
    )
    return _replace_outcome(outcome, status=TickStatus.SKIPPED, skip_reason=reason)


def _replace_outcome(outcome: TickOutcome, **changes: Any) -> TickOutcome:
    return replace(outcome, **changes)


def _partitions_applier(
    instance: ArcoInstance,
) -> Callable[[TickDynamicPartitionsRequested], None]:
    def apply(request: TickDynamicPartitionsRequested) -> None:
        if request.added:
            instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
            return
        for key in request.partition_keys:
            if instance.has_dynamic_partition(request.partitions_def_name, key):
                instance.delete_dynamic_partition(request.partitions_def_name, key)

    return apply
