"""The scheduler on a store: DST, run-key de-duplication, crash-safe ticks, missed ticks."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

import arco_flow as af
from arco_flow.core.events import NewEvent, RunStarted, TickRunRequested, idempotency_key
from arco_flow.daemon.scheduler import Scheduler, due_fire_times
from arco_flow.daemon.ticks import TickOutcome, set_instigator_status
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import InstigatorStatus, TickStatus


@af.asset
def thing() -> int:
    return 1


JOB = af.define_asset_job("thing_job", selection=[thing])


class RecordingLauncher:
    """Records each launch and makes its run exist, as a real launch would."""

    def __init__(self, instance: ArcoInstance, crash_on: int | None = None) -> None:
        self.instance, self.crash_on = instance, crash_on
        self.launched: list[TickRunRequested] = []

    def launch(self, request: TickRunRequested) -> None:
        if self.crash_on is not None and len(self.launched) == self.crash_on:
            raise Crash  # the daemon dies here
        self.launched.append(request)
        started = RunStarted(
            run_id=request.run_id, plan_id="p", job_name=str(request.request["job_name"])
        )
        self.instance.append([NewEvent(event=started, idempotency_key=idempotency_key(started))])


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler catches it."""


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[ArcoInstance]:
    with ArcoInstance.from_home(tmp_path / "home") as instance:
        yield instance


def ts(text: str) -> float:
    return datetime.datetime.fromisoformat(text).timestamp()


def utc(instant: float | None) -> str:
    assert instant is not None
    return datetime.datetime.fromtimestamp(instant, datetime.UTC).strftime("%Y-%m-%dT%H:%MZ")


def defs_with(*schedules: af.ScheduleDefinition) -> af.Definitions:
    return af.Definitions(assets=[thing], jobs=[JOB], schedules=list(schedules))


def drive(scheduler: Scheduler, start: float, end: float, step: float) -> list[TickOutcome]:
    outcomes = []
    now = start
    while now <= end:
        outcomes.extend(scheduler.tick(now))
        now += step
    return outcomes


@pytest.mark.parametrize(
    ("zone", "cron", "start", "end", "expected"),
    [
        (
            "America/New_York",
            "30 1 * * *",
            "2025-10-31T12:00:00+00:00",
            "2025-11-03T12:00:00+00:00",
            # 01:30 on the fall-back day happens twice; it fires once (EST, as Dagster).
            ["2025-11-01T05:30Z", "2025-11-02T06:30Z", "2025-11-03T06:30Z"],
        ),
        (
            "Europe/Berlin",
            "30 2 * * *",
            "2025-03-28T12:00:00+00:00",
            "2025-03-31T12:00:00+00:00",
            # 02:30 does not exist on the spring-forward day; it fires at 03:00 CEST.
            ["2025-03-29T01:30Z", "2025-03-30T01:00Z", "2025-03-31T00:30Z"],
        ),
    ],
)
def test_schedule_across_a_dst_change_fires_exactly_at_the_expected_instants(
    instance: ArcoInstance, zone: str, cron: str, start: str, end: str, expected: list[str]
) -> None:
    schedule = af.ScheduleDefinition(
        name="nightly",
        cron_schedule=cron,
        job=JOB,
        execution_timezone=zone,
        default_status=af.DefaultScheduleStatus.RUNNING,
    )
    launcher = RecordingLauncher(instance)
    scheduler = Scheduler(instance, defs_with(schedule), launcher=launcher)
    outcomes = drive(scheduler, ts(start), ts(end), step=60.0)
    assert [utc(o.scheduled_time) for o in outcomes] == expected
    assert all(o.status is TickStatus.SUCCESS for o in outcomes)
    assert len(launcher.launched) == 3
    # Each tick is evaluated at its instant (the clock steps by one minute).
    ticks = instance.get_ticks("nightly")
    assert all(0 <= t.timestamp - (t.scheduled_time or 0) < 60 for t in ticks)


def test_run_key_is_launched_once_across_ticks_and_restarts(instance: ArcoInstance) -> None:
    @af.schedule(
        cron_schedule="* * * * *", job=JOB, default_status=af.DefaultScheduleStatus.RUNNING
    )
    def same_key(context: af.ScheduleEvaluationContext) -> af.RunRequest:
        return af.RunRequest(run_key="only-once")

    launcher = RecordingLauncher(instance)
    start = ts("2025-01-01T00:00:00+00:00")
    first = Scheduler(instance, defs_with(same_key), launcher=launcher)
    outcomes = drive(first, start, start + 180, step=60)
    again = Scheduler(instance, defs_with(same_key), launcher=launcher)  # a restart
    outcomes += drive(again, start + 240, start + 300, step=60)
    assert len(launcher.launched) == 1
    assert [o.status for o in outcomes] == [TickStatus.SUCCESS] + [TickStatus.SKIPPED] * 5
    assert "only-once" in str(outcomes[-1].skip_reason)
    assert instance.get_instigator_state("same_key").run_keys == {
        "only-once": launcher.launched[0].run_id
    }


def test_a_tick_left_unfinished_is_resumed_from_its_record_never_evaluated_again(
    instance: ArcoInstance,
) -> None:
    calls: list[datetime.datetime | None] = []

    @af.schedule(
        cron_schedule="0 * * * *", job=JOB, default_status=af.DefaultScheduleStatus.RUNNING
    )
    def hourly(context: af.ScheduleEvaluationContext) -> list[af.RunRequest]:
        calls.append(context.scheduled_execution_time)
        return [af.RunRequest(run_key=f"{key}") for key in ("a", "b", "c")]

    start = ts("2025-01-01T00:00:00+00:00")
    crashing = RecordingLauncher(instance, crash_on=1)
    with pytest.raises(Crash):
        Scheduler(instance, defs_with(hourly), launcher=crashing).tick(start)
    assert len(crashing.launched) == 1
    [tick] = instance.get_ticks("hourly")
    assert tick.status is TickStatus.STARTED
    assert [r.run_key for r in tick.run_requests] == ["a", "b", "c"]

    launcher = RecordingLauncher(instance)
    [outcome] = Scheduler(instance, defs_with(hourly), launcher=launcher).tick(start + 30)
    assert outcome.resumed
    assert outcome.status is TickStatus.SUCCESS
    assert len(calls) == 1  # evaluated once
    assert [r.run_key for r in launcher.launched] == ["b", "c"]  # "a" existed already
    assert outcome.run_ids == tuple(r.run_id for r in tick.run_requests)
    assert len(instance.get_runs()) == 3


def test_a_fire_time_recorded_by_another_daemon_is_not_ticked_again(
    instance: ArcoInstance,
) -> None:
    schedule = af.ScheduleDefinition(
        name="every_minute",
        cron_schedule="* * * * *",
        job=JOB,
        default_status=af.DefaultScheduleStatus.RUNNING,
    )
    launcher = RecordingLauncher(instance)
    start = ts("2025-01-01T00:00:00+00:00")
    one = Scheduler(instance, defs_with(schedule), launcher=launcher)
    other = Scheduler(instance, defs_with(schedule), launcher=launcher)
    assert len(one.tick(start)) == 1
    assert other.tick(start) == []
    assert len(launcher.launched) == 1


@pytest.mark.parametrize(
    ("policy", "expected"), [("skip", ["01:00"]), ("catch_up", ["00:58", "00:59", "01:00"])]
)
def test_missed_ticks_follow_the_policy(
    instance: ArcoInstance, policy: str, expected: list[str]
) -> None:
    schedule = af.ScheduleDefinition(
        name="every_minute",
        cron_schedule="* * * * *",
        job=JOB,
        default_status=af.DefaultScheduleStatus.RUNNING,
    )
    launcher = RecordingLauncher(instance)
    start = ts("2025-01-01T00:00:00+00:00")
    Scheduler(instance, defs_with(schedule), launcher=launcher).tick(start)
    # The daemon was down for an hour; catch-up keeps the latest three.
    restarted = Scheduler(
        instance,
        defs_with(schedule),
        launcher=launcher,
        missed_ticks=policy,  # type: ignore[arg-type]
        max_catch_up_ticks=3,
    )
    outcomes = restarted.tick(start + 3600)
    assert [utc(o.scheduled_time)[-6:-1] for o in outcomes] == expected


def test_due_fire_times_never_returns_a_time_already_ticked() -> None:
    schedule = af.ScheduleDefinition(name="s", cron_schedule="* * * * *", job_name="j")
    start = ts("2025-01-01T00:00:00+00:00")
    due = due_fire_times(schedule, after=start, since=None, now=start + 120, policy="catch_up")
    assert [d.timestamp() - start for d in due] == [60, 120]


def test_a_stopped_schedule_does_not_tick_and_a_start_ticks_from_then_on(
    instance: ArcoInstance,
) -> None:
    schedule = af.ScheduleDefinition(name="paused", cron_schedule="* * * * *", job=JOB)
    launcher = RecordingLauncher(instance)
    start = ts("2025-01-01T00:00:00+00:00")
    scheduler = Scheduler(instance, defs_with(schedule), launcher=launcher)
    assert drive(scheduler, start, start + 300, step=60) == []  # default: stopped
    state = set_instigator_status(instance, "paused", "schedule", running=True)
    assert state.user_status is InstigatorStatus.RUNNING
    assert state.status_changed_time is not None
    outcomes = scheduler.tick(state.status_changed_time + 1)
    # A start ticks only fire times after it, never those of the stopped hours before.
    assert all((o.scheduled_time or 0) >= state.status_changed_time for o in outcomes)
    set_instigator_status(instance, "paused", "schedule", running=False)
    assert scheduler.tick(state.status_changed_time + 7200) == []


def test_a_failing_schedule_records_the_error_with_its_traceback(instance: ArcoInstance) -> None:
    @af.schedule(
        cron_schedule="* * * * *", job=JOB, default_status=af.DefaultScheduleStatus.RUNNING
    )
    def broken() -> af.RunRequest:
        raise ValueError("the warehouse is down")

    [outcome] = Scheduler(instance, defs_with(broken), launcher=RecordingLauncher(instance)).tick(
        ts("2025-01-01T00:00:00+00:00")
    )
    assert outcome.status is TickStatus.FAILURE
    [tick] = instance.get_ticks("broken")
    assert tick.status is TickStatus.FAILURE
    assert tick.error is not None
    assert "the warehouse is down" in tick.error.message
    assert "ValueError" in (tick.error.cause.stack if tick.error.cause else tick.error.stack)
    assert "failed" in outcome.describe()


def test_tick_history_is_the_same_after_a_rebuild(instance: ArcoInstance) -> None:
    schedule = af.ScheduleDefinition(
        name="every_minute",
        cron_schedule="* * * * *",
        job=JOB,
        default_status=af.DefaultScheduleStatus.RUNNING,
    )
    start = ts("2025-01-01T00:00:00+00:00")
    scheduler = Scheduler(instance, defs_with(schedule), launcher=RecordingLauncher(instance))
    drive(scheduler, start, start + 300, step=60)
    before = instance.get_ticks("every_minute")
    instance.rebuild_projections()
    assert instance.get_ticks("every_minute") == before
    assert len(before) == 6
    assert instance.verify() == []


def test_a_run_config_with_no_json_form_fails_its_tick_and_the_other_schedules_go_on(
    instance: ArcoInstance,
) -> None:
    @af.schedule(
        cron_schedule="0 * * * *", job=JOB, default_status=af.DefaultScheduleStatus.RUNNING
    )
    def bad(context: af.ScheduleEvaluationContext) -> af.RunRequest:
        when = datetime.datetime(2024, 1, 1)
        return af.RunRequest(run_config={"ops": {"thing": {"config": {"when": when}}}})

    good = af.ScheduleDefinition(
        name="good",
        cron_schedule="0 * * * *",
        job=JOB,
        default_status=af.DefaultScheduleStatus.RUNNING,
    )
    launcher = RecordingLauncher(instance)
    scheduler = Scheduler(instance, defs_with(bad, good), launcher=launcher)
    start = ts("2024-03-01T00:30:00+00:00")
    scheduler.tick(start)

    outcomes = scheduler.tick(start + 3600)

    by_name = {outcome.instigator_name: outcome for outcome in outcomes}
    assert by_name["bad"].status is TickStatus.FAILURE
    assert by_name["good"].status is TickStatus.SUCCESS
    (tick,) = instance.get_ticks("bad")
    assert tick.status is TickStatus.FAILURE
    assert tick.error is not None
    assert tick.error.message.startswith("schedule 'bad' requested a run that cannot be recorded")
    assert "$.run_config.ops.thing.config.when is a datetime" in tick.error.message
    assert [request.instigator_name for request in launcher.launched] == ["good"]
