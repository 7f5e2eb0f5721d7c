"""Backfills driven through the run queue: the daemon's backfill loop.

A pass of `BackfillQueueDriver` advances every unfinished backfill a step and returns: it
never blocks, never loads the definitions (it works from the plan recorded in
`BackfillCreated`), and never runs a chunk. Chunk runs are submitted to the run queue
(`execution.run_queue.submit_named_run`), whose loop starts them by priority under its
limits, in run processes when the daemon has a code location and a store on disk. Chunk
runs carry `BACKFILL_TAG`, so they queue at the backfill priority (below scheduled runs)
unless the backfill's tags set ``arco/priority``.

For each backfill that no other live process drives, a pass:

- settles the chunks in flight from the run records: a run that ended (success, failure,
  cancel) is recorded as the chunk's end; a chunk whose launch was recorded but whose
  run does not exist (its driver died in between) is submitted again under the same run
  id (submission is idempotent per run id), or, while canceling, recorded canceled;
- running: records the launch of each ready chunk on ``backfill:<id>`` *before* its run
  is submitted, keeping at most `max_in_flight` chunk runs of the backfill queued or
  started at once (so chunks without dependencies between them run in parallel, and a
  backfill of 10,000 chunks never floods the queue); ends the backfill COMPLETED or
  FAILED once nothing is in flight and nothing is ready (a failed chunk holds back only
  the chunks that depend on it);
- paused: submits nothing new (runs already queued still run);
- canceling: cancels its queued runs, asks its started ones to stop, and ends the
  backfill CANCELED once none is active.

Each backfill's state is kept between passes and brought up to date from the stream
position last seen, so a pass reads only what changed plus one query for the runs in
flight. The daemon's lease makes this the only queue driver of a store.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from arco_flow.core.backfill_state import BackfillState, BackfillStatus
from arco_flow.core.errors import ArcoError, ConfigError
from arco_flow.core.events import (
    BackfillChunkFinished,
    BackfillChunkLaunched,
    BackfillDriverStarted,
    BackfillEnded,
    Event,
)
from arco_flow.daemon._backfill_stream import (
    CHUNK_END_BY_RUN_STATUS,
    RUN_QUEUE_DRIVER_MODE,
    append_backfill_event,
    asset_partitions,
    cancel_chunk_run,
    chunk_partition_key_range,
    chunk_run_executor,
    chunk_run_tags,
    driver_info,
    load_backfill_with_sequence,
    refresh_backfill,
)
from arco_flow.execution.run_operations import coordinator_is_alive
from arco_flow.execution.run_queue import submit_named_run
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunRecord

__all__ = ["DEFAULT_MAX_IN_FLIGHT", "BackfillPass", "BackfillQueueDriver"]

DEFAULT_MAX_IN_FLIGHT = 4
"""Chunk runs of one backfill queued or started at once, by default."""

_DRIVEN_STATUSES = ("RUNNING", "PAUSED", "CANCELING")


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillPass:
    """What one pass did to one backfill."""

    backfill_id: str
    status: BackfillStatus
    """The backfill's status after the pass."""
    submitted: tuple[str, ...] = ()
    """Run ids submitted to the queue, in order (lost submissions repaired included)."""
    settled: tuple[int, ...] = ()
    """Chunks whose end was recorded."""
    canceled: tuple[str, ...] = ()
    """Runs canceled while queued, or asked to stop."""
    in_flight: int = 0
    """Chunk runs queued or started after the pass."""


@dataclass(slots=True)
class _Tracked:
    """A backfill's state as this driver last saw it, and the stream position seen."""

    instance: ArcoInstance
    state: BackfillState
    seen: int
    submitted: list[str] = field(default_factory=list)
    settled: list[int] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)

    def refresh(self) -> None:
        self.seen = refresh_backfill(self.instance, self.state, self.seen)

    def append(self, event: Event) -> None:
        append_backfill_event(self.instance, event, ordinal=self.seen)
        self.refresh()

    def outcome(self, in_flight: int) -> BackfillPass:
        found = BackfillPass(
            backfill_id=self.state.backfill_id,
            status=self.state.status,
            submitted=tuple(self.submitted),
            settled=tuple(self.settled),
            canceled=tuple(self.canceled),
            in_flight=in_flight,
        )
        self.submitted, self.settled, self.canceled = [], [], []
        return found


class BackfillQueueDriver:
    """Drives every unfinished backfill of a store through its run queue, a pass at a time.

    Args:
        instance: Where backfills and runs are recorded.
        max_in_flight: The most chunk runs of one backfill queued or started at once.
        driver: Who this driver is, as recorded on each backfill it takes over (default:
            this host and process, in the ``run_queue`` mode).
        on_error: Sees an error about one backfill (the pass goes on with the others);
            without it the error is raised.

    Raises:
        ConfigError: `max_in_flight` is below 1.
    """

    def __init__(
        self,
        instance: ArcoInstance,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        driver: Mapping[str, Any] | None = None,
        on_error: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ConfigError(
                f"a backfill's runs in flight is {max_in_flight}; give 1 or more (default "
                f"{DEFAULT_MAX_IN_FLIGHT})"
            )
        self._instance, self._max_in_flight, self._on_error = instance, max_in_flight, on_error
        self._driver = dict(driver) if driver is not None else driver_info(RUN_QUEUE_DRIVER_MODE)
        self._tracked: dict[str, _Tracked] = {}

    def tick(self, _now: float) -> list[BackfillPass]:
        """One pass over every unfinished backfill, oldest first.

        Returns:
            What the pass did to each backfill it drives (none for those another live
            process drives).

        Raises:
            ArcoError: a backfill could not be advanced, and there is no `on_error`.
        """
        found = self._instance.get_backfills(statuses=_DRIVEN_STATUSES)
        wanted = {record.backfill_id for record in found}
        self._tracked = {key: value for key, value in self._tracked.items() if key in wanted}
        passes: list[BackfillPass] = []
        for record in reversed(found):
            try:
                outcome = self.advance(record.backfill_id)
            except ArcoError as error:
                self._tracked.pop(record.backfill_id, None)  # read afresh next pass
                if self._on_error is None:
                    raise
                self._on_error(f"backfill {record.backfill_id}", error)
                continue
            if outcome is not None:
                passes.append(outcome)
        return passes

    def advance(self, backfill_id: str) -> BackfillPass | None:
        """One pass over one backfill (see the module docstring).

        Returns:
            What the pass did, or None when another live process drives the backfill
            (e.g. `arco-flow backfill create` in the foreground).

        Raises:
            NotFoundError: no such backfill.
        """
        tracked = self._track(backfill_id)
        state = tracked.state
        if state.status.is_terminal:
            self._tracked.pop(backfill_id, None)
            return tracked.outcome(0)
        if state.driver != self._driver:
            if coordinator_is_alive(state.driver):
                return None
            if state.status is BackfillStatus.PAUSED and not state.launched_chunks():
                return tracked.outcome(0)  # nothing to settle: left for whoever resumes it
            tracked.append(BackfillDriverStarted(backfill_id=backfill_id, driver=self._driver))
        active = self._settle(tracked)
        tracked.refresh()
        if state.status is BackfillStatus.CANCELING:
            if active == 0:
                tracked.append(BackfillEnded(backfill_id=backfill_id, status="canceled"))
            return tracked.outcome(active)
        if state.status is not BackfillStatus.RUNNING:
            return tracked.outcome(active)  # paused (or ended by another process)
        ready = state.ready_chunks()
        if active == 0 and not ready:
            ended = state.outcome_when_idle().value.lower()
            tracked.append(BackfillEnded(backfill_id=backfill_id, status=ended))
            return tracked.outcome(0)
        for chunk_id in ready[: max(0, self._max_in_flight - active)]:
            if self._launch(tracked, chunk_id):
                active += 1
        return tracked.outcome(active)

    def _track(self, backfill_id: str) -> _Tracked:
        tracked = self._tracked.get(backfill_id)
        if tracked is None:
            state, seen = load_backfill_with_sequence(self._instance, backfill_id)
            tracked = self._tracked[backfill_id] = _Tracked(self._instance, state, seen)
        else:
            tracked.refresh()
        return tracked

    def _settle(self, tracked: _Tracked) -> int:
        """Records the chunks whose run ended and repairs lost submissions.

        Returns:
            How many chunk runs are still queued or started.
        """
        state = tracked.state
        launched = state.launched_chunks()
        run_ids = [run_id for chunk in launched if (run_id := state.run_ids[chunk]) is not None]
        runs: dict[str, RunRecord] = {}
        if run_ids:  # no ids would mean no filter: every run of the store
            runs = {run.run_id: run for run in self._instance.get_runs(run_ids=run_ids)}
        canceling = state.status is BackfillStatus.CANCELING
        active = 0
        for chunk_id in launched:
            run_id = state.run_ids[chunk_id]
            assert run_id is not None  # a launched chunk has its run id
            run = runs.get(run_id)
            if run is None and canceling:
                self._finish(tracked, chunk_id, "canceled", "canceled before its run was queued")
            elif run is None:
                active += self._submit(tracked, chunk_id)
            elif run.status in CHUNK_END_BY_RUN_STATUS:
                self._finish(tracked, chunk_id, CHUNK_END_BY_RUN_STATUS[run.status], _why(run))
            else:
                active += 1
                reason = f"backfill {state.backfill_id} canceled"
                if canceling and cancel_chunk_run(self._instance, run, reason=reason):
                    tracked.canceled.append(run_id)
        return active

    def _launch(self, tracked: _Tracked, chunk_id: int) -> bool:
        """Records the chunk's launch, then submits its run; whether it is now in flight."""
        state = tracked.state
        tracked.append(
            BackfillChunkLaunched(
                backfill_id=state.backfill_id,
                chunk_id=chunk_id,
                run_id=str(uuid.uuid4()),
                attempt=state.attempts[chunk_id] + 1,
            )
        )
        return self._submit(tracked, chunk_id) == 1

    def _submit(self, tracked: _Tracked, chunk_id: int) -> int:
        """Submits the chunk's recorded run to the queue; 1 if queued, 0 if it failed."""
        state = tracked.state
        created, chunk = state.created, state.plan.chunks[chunk_id]
        run_id = state.run_ids[chunk_id]  # the recorded one, even if a racing pass wrote it
        assert run_id is not None
        try:
            submit_named_run(
                self._instance,
                created.job_name,
                run_id=run_id,
                code_location=dict(created.code_location) or None,
                executor=chunk_run_executor(created),
                run_config=dict(created.run_config) or None,
                asset_selection=list(chunk.asset_keys),
                tags=chunk_run_tags(created),
                partition_key=chunk.partition.key,
                partition_key_range=chunk_partition_key_range(chunk),
                max_concurrent=created.max_concurrent,
            )
        except ArcoError as error:  # e.g. a bad priority tag: the chunk fails, and says why
            self._finish(tracked, chunk_id, "failed", f"its run could not be queued: {error}")
            return 0
        tracked.submitted.append(run_id)
        return 1

    def _finish(self, tracked: _Tracked, chunk_id: int, status: str, message: str) -> None:
        state = tracked.state
        run_id = state.run_ids[chunk_id]
        assert run_id is not None
        tracked.append(
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
        tracked.settled.append(chunk_id)


def _why(run: RunRecord) -> str:
    """Why a run that never started failed (the queue could not plan it), else nothing."""
    if run.plan_id or run.error is None:
        return ""
    lines = run.error.message.splitlines()
    return lines[0] if lines else run.error.class_name
