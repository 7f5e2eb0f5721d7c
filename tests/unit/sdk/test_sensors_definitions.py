"""Schedules and sensors in Definitions: validation, implied jobs, lookup, public names."""

from __future__ import annotations

import pytest

import arco_flow as af
from arco_flow.core.errors import DefinitionError, DefinitionsValidationError, NotFoundError


@af.asset
def numbers():
    return 1


JOB = af.define_asset_job("numbers_job", selection=[numbers])


@af.schedule(cron_schedule="@daily", job=JOB)
def daily(context):
    return af.RunRequest()


@af.sensor(asset_selection=[numbers])
def on_assets(context):
    return None


def test_targets_are_resolvable_jobs_and_names_are_looked_up():
    defs = af.Definitions(assets=[numbers], schedules=[daily], sensors=[on_assets])
    defs.validate()
    assert defs.get_schedule_def("daily") is daily
    assert defs.get_sensor_def("on_assets") is on_assets
    assert defs.resolve_job_def("numbers_job").asset_keys == {af.AssetKey("numbers")}
    anonymous = defs.resolve_job_def("__anonymous_asset_job_on_assets")
    assert anonymous.asset_keys == {af.AssetKey("numbers")}
    with pytest.raises(NotFoundError, match="Did you mean 'daily'"):
        defs.get_schedule_def("dialy")


def test_every_problem_is_reported_at_once():
    @af.sensor(job_name="nowhere")
    def lost(context):
        return None

    twin = af.ScheduleDefinition(name="daily", cron_schedule="@hourly", job=JOB)
    defs = af.Definitions(assets=[numbers], schedules=[daily, twin], sensors=[lost])
    with pytest.raises(DefinitionsValidationError) as raised:
        defs.validate()
    text = str(raised.value)
    assert "'nowhere', which is not defined" in text
    assert "must be unique" in text


def test_a_non_schedule_is_rejected_when_definitions_are_built():
    with pytest.raises(DefinitionError, match="not a schedule"):
        af.Definitions(schedules=["0 0 * * *"])


def test_public_names_are_exported_lazily():
    assert af.RunRequest is __import__("arco_flow.sdk.run_requests", fromlist=["x"]).RunRequest
    assert af.DefaultSensorStatus.STOPPED.value == "STOPPED"
    assert callable(af.build_schedule_from_partitioned_job)
