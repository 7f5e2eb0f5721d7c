"""Schedules: definitions, results of every accepted shape, evaluation and bad input."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from arco_flow.core.errors import DefinitionError, PartitionError, UserCodeError
from arco_flow.core.partitions import DailyPartitionsDefinition, StaticPartitionsDefinition
from arco_flow.sdk.decorators import asset
from arco_flow.sdk.jobs import define_asset_job
from arco_flow.sdk.run_requests import RunRequest, SkipReason
from arco_flow.sdk.schedules import (
    SCHEDULE_NAME_TAG,
    DefaultScheduleStatus,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    build_schedule_context,
    schedule,
)


@asset
def numbers():
    return 1


JOB = define_asset_job("numbers_job", selection=[numbers])
DAILY = DailyPartitionsDefinition(start_date="2026-01-01")
DAILY_JOB = define_asset_job("daily_job", partitions_def=DAILY)
T0 = datetime(2026, 3, 1, 6, tzinfo=UTC)


def evaluate(definition: Any, time: datetime = T0, **kwargs: Any) -> Any:
    return definition.evaluate_tick(build_schedule_context(scheduled_execution_time=time, **kwargs))


def test_decorated_schedule_keeps_its_arguments_and_dagster_defaults():
    @schedule(cron_schedule="0 6 * * *", job=JOB, execution_timezone="Europe/Berlin")
    def morning(context):
        """Every morning."""
        return RunRequest()

    assert isinstance(morning, ScheduleDefinition)
    assert morning.name == "morning"
    assert morning.cron_schedule == "0 6 * * *"
    assert morning.job_name == "numbers_job"
    assert morning.default_status is DefaultScheduleStatus.STOPPED
    assert morning.description == "Every morning."
    assert morning.execution_timezone == "Europe/Berlin"


def test_run_request_gets_the_job_and_the_schedule_name_tag():
    @schedule(cron_schedule="*/5 * * * *", job=JOB)
    def every_five(context: ScheduleEvaluationContext) -> RunRequest:
        assert context.scheduled_execution_time is not None
        stamp = context.scheduled_execution_time.isoformat()
        return RunRequest(run_key=stamp, tags={"at": stamp})

    result = evaluate(every_five)
    [request] = result.run_requests
    assert request.run_key == "2026-03-01T06:00:00+00:00"
    assert request.job_name == "numbers_job"
    assert request.tags == {"at": "2026-03-01T06:00:00+00:00", SCHEDULE_NAME_TAG: "every_five"}
    assert result.skip_message is None


def test_skip_reason_is_reported_as_the_skip_message():
    @schedule(cron_schedule="@daily", job=JOB)
    def skipping(context):
        return SkipReason("nothing to do")

    result = evaluate(skipping)
    assert result.run_requests == []
    assert result.skip_message == "nothing to do"


def test_run_config_dict_becomes_one_request_with_that_config():
    @schedule(cron_schedule="@daily", job=JOB)
    def configured(context):
        return {"ops": {"numbers": {"config": {"n": 1}}}}

    [request] = evaluate(configured).run_requests
    assert request.run_config == {"ops": {"numbers": {"config": {"n": 1}}}}
    assert request.run_key is None


def test_generator_and_list_results_give_every_request():
    @schedule(cron_schedule="@daily", job=JOB)
    def generating(context):
        for i in range(3):
            yield RunRequest(run_key=str(i))

    @schedule(cron_schedule="@daily", job=JOB)
    def listing():
        return [RunRequest(run_key="a"), RunRequest(run_key="b")]

    assert [r.run_key for r in evaluate(generating).run_requests] == ["0", "1", "2"]
    assert [r.run_key for r in evaluate(listing).run_requests] == ["a", "b"]


def test_none_result_is_a_skip():
    @schedule(cron_schedule="@daily", job=JOB)
    def silent(context):
        return None

    assert evaluate(silent).skip_message == "schedule 'silent' returned no run request"


def test_calling_a_schedule_directly_returns_the_functions_result():
    @schedule(cron_schedule="@daily", job=JOB)
    def direct(context):
        return RunRequest(run_key=context.scheduled_execution_time.date().isoformat())

    context = build_schedule_context(scheduled_execution_time=datetime(2026, 5, 1))
    assert direct(context) == RunRequest(run_key="2026-05-01")
    assert direct(context=context) == RunRequest(run_key="2026-05-01")


def test_resources_are_passed_by_parameter_name():
    @schedule(cron_schedule="@daily", job=JOB)
    def with_resource(context, greeting):
        return RunRequest(run_key=greeting)

    assert with_resource.required_resource_keys == {"greeting"}
    [request] = evaluate(with_resource, resources={"greeting": "hi"}).run_requests
    assert request.run_key == "hi"
    assert with_resource(build_schedule_context(resources={"greeting": "yo"})).run_key == "yo"


def test_schedule_definition_without_function_requests_its_run_config_and_tags():
    definition = ScheduleDefinition(
        cron_schedule="0 0 * * *", job=JOB, run_config={"x": 1}, tags={"team": "data"}
    )
    assert definition.name == "numbers_job_schedule"
    [request] = evaluate(definition).run_requests
    assert request.run_config == {"x": 1}
    assert request.tags == {"team": "data", SCHEDULE_NAME_TAG: "numbers_job_schedule"}


def test_should_execute_false_skips_the_tick():
    definition = ScheduleDefinition(
        name="weekdays",
        cron_schedule="@daily",
        job_name="numbers_job",
        should_execute=lambda c: False,
    )
    result = evaluate(definition)
    assert result.run_requests == []
    assert "should_execute" in result.skip_message


def test_target_asset_selection_runs_as_an_anonymous_job():
    definition = ScheduleDefinition(name="assets_daily", cron_schedule="@daily", target=[numbers])
    assert definition.job_name == "__anonymous_asset_job_assets_daily"
    assert evaluate(definition).run_requests[0].job_name == definition.job_name


def test_list_of_crons_fires_at_each():
    definition = ScheduleDefinition(
        name="twice",
        cron_schedule=["0 9 * * *", "0 17 * * *"],
        job=JOB,
        execution_timezone="Asia/Tokyo",
    )
    times = list(itertools.islice(definition.fire_times(datetime(2026, 1, 1, tzinfo=UTC)), 3))
    assert [t.isoformat() for t in times] == [
        "2026-01-01T09:00:00+09:00",
        "2026-01-01T17:00:00+09:00",
        "2026-01-02T09:00:00+09:00",
    ]
    assert definition.cron_schedule == ["0 9 * * *", "0 17 * * *"]


@pytest.mark.parametrize(
    ("zone", "instants"),
    [
        # New York springs forward on 8 March 2026: 02:30 does not exist and fires at 03:00.
        (
            "America/New_York",
            ["2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
        ),
        # Berlin springs forward on 29 March 2026.
        (
            "Europe/Berlin",
            ["2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"],
        ),
    ],
)
def test_schedule_fires_at_the_expected_instants_across_a_dst_change(zone, instants):
    definition = ScheduleDefinition(
        name="nightly", cron_schedule="30 2 * * *", job=JOB, execution_timezone=zone
    )
    start = datetime.fromisoformat(instants[0])
    times = list(itertools.islice(definition.fire_times(start), 3))
    assert [t.isoformat() for t in times] == instants
    assert times[0].tzinfo == ZoneInfo(zone)


def test_user_error_is_wrapped_with_the_schedule_name():
    @schedule(cron_schedule="@daily", job=JOB)
    def broken(context):
        raise KeyError("boom")

    with pytest.raises(UserCodeError, match="schedule 'broken' raised KeyError") as raised:
        evaluate(broken)
    assert isinstance(raised.value.__cause__, KeyError)


def test_wrong_return_type_says_what_to_return():
    @schedule(cron_schedule="@daily", job=JOB)
    def wrong(context):
        return 42

    with pytest.raises(DefinitionError, match="return a RunRequest"):
        evaluate(wrong)


def test_partition_key_of_the_target_is_accepted_and_unknown_one_rejected():
    @schedule(cron_schedule="@daily", job=DAILY_JOB)
    def partitioned(context):
        day = context.scheduled_execution_time - timedelta(days=1)
        return RunRequest(partition_key=day.strftime("%Y-%m-%d"))

    @schedule(cron_schedule="@daily", job=DAILY_JOB)
    def too_early(context):
        return RunRequest(partition_key="2025-12-31")

    time = datetime(2026, 2, 2, tzinfo=UTC)
    assert evaluate(partitioned, time=time).run_requests[0].partition_key == "2026-02-01"
    with pytest.raises(PartitionError, match="'2025-12-31'"):
        evaluate(too_early)


def test_partition_key_for_an_unpartitioned_job_is_an_error():
    @schedule(cron_schedule="@daily", job=JOB)
    def unpartitioned(context):
        return RunRequest(partition_key="a")

    with pytest.raises(PartitionError, match="not partitioned"):
        evaluate(unpartitioned)


def test_static_partition_keys_are_checked_against_the_assets_definition():
    @asset(partitions_def=StaticPartitionsDefinition(["a", "b"]))
    def letters():
        return 1

    job = define_asset_job("letters_job", selection=[letters])

    @schedule(cron_schedule="@daily", job=job)
    def letter_c(context):
        return RunRequest(partition_key="c")

    with pytest.raises(PartitionError, match="'c'"):
        evaluate(letter_c)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"cron_schedule": "0 25 * * *", "job": JOB}, "hour"),
        ({"cron_schedule": "@daily", "job": JOB, "execution_timezone": "Europe/Atlantis"}, "IANA"),
        ({"cron_schedule": "@daily"}, "no target"),
        ({"cron_schedule": "@daily", "job": JOB, "job_name": "x"}, "exactly one target"),
        ({"cron_schedule": None, "job": JOB}, "needs a cron_schedule"),
        ({"cron_schedule": [], "job": JOB}, "non-empty list"),
        (
            {"cron_schedule": "@daily", "job": JOB, "default_status": "RUNNING"},
            "DefaultScheduleStatus",
        ),
    ],
)
def test_bad_definitions_are_rejected_when_defined(kwargs, needle):
    with pytest.raises(DefinitionError, match=needle):
        ScheduleDefinition(name="bad", **kwargs)


def test_invalid_name_is_rejected():
    with pytest.raises(DefinitionError, match="not valid"):
        ScheduleDefinition(name="my schedule", cron_schedule="@daily", job=JOB)


def test_context_without_instance_says_how_to_give_one():
    with pytest.raises(DefinitionError, match="instance="):
        _ = build_schedule_context().instance


def test_naive_scheduled_time_is_taken_as_utc():
    context = build_schedule_context(scheduled_execution_time=datetime(2026, 1, 1))
    assert context.scheduled_execution_time == datetime(2026, 1, 1, tzinfo=UTC)
