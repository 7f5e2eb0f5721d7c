"""The scheduler: ticks each running schedule once per fire time, crash-safe.

A schedule's tick is identified by its fire time (``s<POSIX seconds>``), so a fire time
is recorded at most once whichever daemon ticks it. On each pass the scheduler first
finishes ticks a dead daemon left recorded but unfinished (launching only the runs that do
not exist), then evaluates the fire times that came due since the last recorded one.

Missed fire times (the daemon was down, or a pass took long) follow `MissedTickPolicy`:

- ``"skip"`` (the default, as Dagster's scheduler does): only the latest missed fire time
  is evaluated; the others are dropped without a tick.
- ``"catch_up"``: every missed fire time is evaluated, oldest first, at most
  `max_catch_up_ticks` of them (the latest ones).

A schedule whose evaluation fails, or whose run request cannot be recorded (a run config
value with no JSON form), gets its tick recorded FAILED with an error naming the schedule
and the value; the pass goes on with the other schedules.

Where a schedule starts: a user's start (`InstigatorStarted`) starts from that moment; a
schedule running by its `default_status` that never ticked starts when this scheduler
first looked at it. Fire times while it was stopped are never evaluated.
"""

from __future__ import annotations

import collections
import datetime
from collections.abc import Sequence
from typing import Literal

from arco_flow.core.canonical_json import canonical_json
from arco_flow.core.errors import ArcoError, CanonicalJsonError, ConfigError
from arco_flow.core.events import TickFailed, TickRunRequested, TickSkipped, TickStarted
from arco_flow.daemon.code_server import (
    InProcessInstigators,
    Instigators,
    evaluation_error_info,
)
from arco_flow.daemon.ticks import (
    InstigatorStates,
    RunLauncher,
    TickOutcome,
    finish_tick,
    record_evaluation,
    request_event,
)
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.instigator_codec import InstigatorInfo, schedule_from_info
from arco_flow.sdk.schedules import DefaultScheduleStatus, ScheduleDefinition
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import (
    InstigatorState,
    InstigatorStatus,
    TickRecord,
    TickStatus,
)

__all__ = [
    "DEFAULT_MAX_CATCH_UP_TICKS",
    "MissedTickPolicy",
    "Scheduler",
    "due_fire_times",
    "schedule_tick_id",
]

MissedTickPolicy = Literal["skip", "catch_up"]

DEFAULT_MAX_CATCH_UP_TICKS = 100
"""At most this many missed fire times are caught up per schedule (the latest ones)."""


def schedule_tick_id(scheduled_time: float) -> str:
    """The tick id of a schedule's fire time: the same in every daemon."""
    return f"s{scheduled_time:.0f}" if scheduled_time.is_integer() else f"s{scheduled_time!r}"


def due_fire_times(
    schedule: ScheduleDefinition,
    *,
    after: float | None,
    since: float | None,
    now: float,
    policy: MissedTickPolicy,
    max_catch_up_ticks: int = DEFAULT_MAX_CATCH_UP_TICKS,
) -> list[datetime.datetime]:
    """The fire times to evaluate now, oldest first.

    Args:
        schedule: The schedule.
        after: Fire times at or before this were ticked already (exclusive bound).
        since: The schedule runs from this instant on (inclusive bound).
        now: The current time; later fire times are not due.
        policy: What to do with more than one due fire time.
        max_catch_up_ticks: The most fire times ``catch_up`` returns.
    """
    bounds = [bound for bound in (after, since) if bound is not None]
    start = max(bounds) if bounds else now
    keep = 1 if policy == "skip" else max_catch_up_ticks
    due: collections.deque[datetime.datetime] = collections.deque(maxlen=keep)
    for fire_time in schedule.fire_times(datetime.datetime.fromtimestamp(start, datetime.UTC)):
        instant = fire_time.timestamp()
        if instant > now:
            break
        if after is not None and instant <= after:
            continue
        due.append(fire_time)
    return list(due)


class Scheduler:
    """Ticks the schedules of one code location against one instance.

    Args:
        instance: Where ticks and runs are recorded.
        definitions: Where the schedules are listed and evaluated: a `CodeServer` (the
            daemon's: no user code in this process), or `Definitions` evaluated in this
            process (unit tests, definitions built in code).
        launcher: Starts the runs ticks request.
        missed_ticks: What to do with fire times missed while no daemon ran.
        max_catch_up_ticks: The most missed fire times caught up per schedule.
    """

    def __init__(
        self,
        instance: ArcoInstance,
        definitions: Definitions | Instigators,
        *,
        launcher: RunLauncher,
        missed_ticks: MissedTickPolicy = "skip",
        max_catch_up_ticks: int = DEFAULT_MAX_CATCH_UP_TICKS,
    ) -> None:
        if missed_ticks not in ("skip", "catch_up"):
            raise ArcoError(
                f"missed tick policy {missed_ticks!r} is not known; use 'skip' or 'catch_up'"
            )
        self._instance, self._launcher = instance, launcher
        self._instigators: Instigators = (
            InProcessInstigators(definitions, instance)
            if isinstance(definitions, Definitions)
            else definitions
        )
        self._schedules: dict[InstigatorInfo, ScheduleDefinition] = {}
        self._policy: MissedTickPolicy = missed_ticks
        self._max_catch_up = max_catch_up_ticks
        self._states = InstigatorStates(instance)
        self._first_seen: dict[str, float] = {}
        self._own: set[str] = set()
        """Ticks this scheduler recorded (others it finishes were left by a dead daemon)."""

    def tick(self, now: float) -> list[TickOutcome]:
        """One pass over every schedule at `now` (POSIX seconds)."""
        outcomes: list[TickOutcome] = []
        for info in self._instigators.schedules():
            schedule = self._schedules.get(info)
            if schedule is None:  # a function-less copy: fire times, status, target
                schedule = self._schedules[info] = schedule_from_info(info)
            outcomes.extend(self.tick_schedule(schedule, now))
        return outcomes

    def tick_schedule(self, schedule: ScheduleDefinition, now: float) -> list[TickOutcome]:
        """Finishes the schedule's unfinished ticks, then evaluates its due fire times."""
        state = self._states.get(schedule.name)
        outcomes = [
            outcome
            for tick in state.unfinished_ticks()
            if (outcome := self._finish(tick, resumed=tick.tick_id not in self._own)) is not None
        ]
        first_seen = self._first_seen.setdefault(schedule.name, now)
        default_running = schedule.default_status is DefaultScheduleStatus.RUNNING
        if state.status(default_running=default_running) is InstigatorStatus.STOPPED:
            return outcomes
        for fire_time in due_fire_times(
            schedule,
            after=state.last_scheduled_time,
            since=_running_since(state, first_seen),
            now=now,
            policy=self._policy,
            max_catch_up_ticks=self._max_catch_up,
        ):
            outcome = self._evaluate(schedule, fire_time, now)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _finish(
        self, tick: TickRecord, *, resumed: bool, skipped: Sequence[str] = ()
    ) -> TickOutcome | None:
        return finish_tick(
            self._instance,
            self._launcher,
            tick,
            instigator_type="schedule",
            skipped_run_keys=skipped,
            resumed=resumed,
        )

    def _evaluate(
        self, schedule: ScheduleDefinition, fire_time: datetime.datetime, now: float
    ) -> TickOutcome | None:
        name, scheduled = schedule.name, fire_time.timestamp()
        tick_id = schedule_tick_id(scheduled)
        started = TickStarted(
            instigator_name=name,
            tick_id=tick_id,
            instigator_type="schedule",
            timestamp=now,
            scheduled_time=scheduled,
        )
        try:
            result = self._instigators.evaluate_schedule(name, scheduled)
            requests = [
                request_event(name, tick_id, request, schedule.job_name, {})
                for request in result.run_requests
            ]
            _check_recordable(name, requests)
        except ArcoError as error:
            info = evaluation_error_info(error)
            failed = TickFailed(instigator_name=name, tick_id=tick_id, error=info)
            if record_evaluation(self._instance, started, [], end=failed) is None:
                return None
            return TickOutcome(
                instigator_name=name,
                instigator_type="schedule",
                tick_id=tick_id,
                status=TickStatus.FAILURE,
                error=info,
                scheduled_time=scheduled,
            )
        if not requests:
            reason = result.skip_message or "the schedule requested no run"
            skipped = TickSkipped(instigator_name=name, tick_id=tick_id, reason=reason)
            if record_evaluation(self._instance, started, [], end=skipped) is None:
                return None
            return TickOutcome(
                instigator_name=name,
                instigator_type="schedule",
                tick_id=tick_id,
                status=TickStatus.SKIPPED,
                skip_reason=reason,
                scheduled_time=scheduled,
            )
        recorded = record_evaluation(self._instance, started, requests)
        if recorded is None:
            return None
        fresh, repeated = recorded
        self._own.add(tick_id)
        tick = TickRecord(
            instigator_name=name,
            tick_id=tick_id,
            status=TickStatus.STARTED,
            timestamp=now,
            event_id=0,
            scheduled_time=scheduled,
            run_requests=tuple(fresh),
        )
        return self._finish(tick, resumed=False, skipped=repeated)


def _check_recordable(name: str, requests: Sequence[TickRunRequested]) -> None:
    """Refuses requests the log cannot hold, before anything of the tick is recorded.

    Raises:
        ConfigError: a request has a value with no JSON form; names the schedule and where.
    """
    for request in requests:
        try:
            canonical_json(dict(request.request))
        except CanonicalJsonError as error:
            raise ConfigError(
                f"schedule {name!r} requested a run that cannot be recorded: in its "
                f"RunRequest, {error}. Give run_config and tags only strings, numbers, "
                "booleans, lists and dicts (e.g. a datetime as its isoformat())"
            ) from error


def _running_since(state: InstigatorState, first_seen: float) -> float | None:
    """From when the schedule runs: a user's start, else when it was first seen."""
    if state.user_status is InstigatorStatus.RUNNING:
        return state.status_changed_time
    return first_seen if state.last_scheduled_time is None else None
