"""tick_validation: the jobs schedules and sensors bring along, and their problems."""

from __future__ import annotations

from arco_flow.core.errors import SelectionError
from arco_flow.sdk.decorators import asset
from arco_flow.sdk.jobs import define_asset_job
from arco_flow.sdk.run_requests import RunRequest
from arco_flow.sdk.schedules import ScheduleDefinition, schedule
from arco_flow.sdk.sensors import sensor
from arco_flow.sdk.tick_validation import definition_problems, implied_jobs, type_problems


@asset
def numbers():
    return 1


JOB = define_asset_job("numbers_job", selection=[numbers])


@schedule(cron_schedule="@daily", job=JOB)
def daily(context):
    return RunRequest()


@sensor(job_name="missing_jbo")
def watcher(context):
    return None


@sensor(asset_selection=[numbers])
def on_assets(context):
    return None


def test_job_objects_and_asset_selections_bring_their_jobs_once():
    jobs = implied_jobs([daily], [on_assets, watcher], declared=[])
    assert [job.name for job in jobs] == ["numbers_job", "__anonymous_asset_job_on_assets"]
    assert jobs[1].selection == [numbers]
    assert implied_jobs([daily], [], declared=[JOB]) == []


def test_unknown_job_is_a_problem_with_a_suggestion():
    problems = definition_problems([daily], [watcher], ["numbers_job", "missing_job"])
    assert problems == [
        "sensor 'watcher' targets job 'missing_jbo', which is not defined. Did you mean "
        "'missing_job'? Add it to Definitions(jobs=[...])"
    ]


def test_duplicate_names_across_schedules_and_sensors_are_problems():
    again = ScheduleDefinition(name="daily", cron_schedule="@hourly", job=JOB)

    @sensor(job=JOB, name="daily")
    def clash(context):
        return None

    problems = definition_problems([daily, again], [clash], ["numbers_job"])
    assert len(problems) == 2
    assert all("must be unique" in p for p in problems)


def test_asset_selection_that_does_not_resolve_is_a_problem():
    def check(selection):
        raise SelectionError("asset 'numbers' is not defined")

    problems = definition_problems([], [on_assets], [], check)
    assert problems == [
        "sensor 'on_assets' targets assets that do not resolve: asset 'numbers' is not defined"
    ]
    assert definition_problems([], [on_assets], []) == []


def test_items_of_the_wrong_type_are_named():
    problems = type_problems([daily, "nightly"], [watcher, daily])
    assert len(problems) == 2
    assert "'nightly', which is not a schedule" in problems[0]
    assert "which is not a sensor" in problems[1]
