"""The codec of schedules and sensors across the daemon's code-server boundary."""

from __future__ import annotations

import datetime
import json

from hypothesis import given
from hypothesis import strategies as st

import arco_flow as af
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.sdk.instigator_codec import (
    info_from_data,
    info_to_data,
    run_request_from_data,
    run_request_to_data,
    schedule_from_info,
    schedule_info,
    schedule_result_from_data,
    schedule_result_to_data,
    sensor_info,
    sensor_result_from_data,
    sensor_result_to_data,
)
from arco_flow.sdk.schedules import ScheduleEvaluationResult
from arco_flow.sdk.sensors import SensorEvaluationResult

names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
texts = st.text(max_size=12)
keys = st.lists(names, min_size=1, max_size=3).map(AssetKey)
configs = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.dictionaries(names, inner, max_size=3) | st.lists(inner, max_size=3),
    max_leaves=8,
)
requests = st.builds(
    af.RunRequest,
    run_key=st.none() | texts,
    run_config=st.none() | st.dictionaries(names, configs, max_size=3),
    tags=st.dictionaries(names, texts, max_size=3),
    job_name=st.none() | names,
    asset_selection=st.none() | st.lists(keys, max_size=3),
    stale_assets_only=st.booleans(),
    partition_key=st.none() | texts,
    asset_check_keys=st.none() | st.lists(st.builds(AssetCheckKey, keys, names), max_size=2),
)
partition_requests = st.builds(
    af.AddDynamicPartitionsRequest, names, st.lists(texts, max_size=3)
) | st.builds(af.DeleteDynamicPartitionsRequest, names, st.lists(texts, max_size=3))


def through_json(data: object) -> object:
    return json.loads(json.dumps(data))


@given(st.lists(requests, max_size=3), st.none() | texts, st.none() | texts)
def test_a_schedule_result_survives_the_pipe(
    run_requests: list[af.RunRequest], skip: str | None, cursor: str | None
) -> None:
    result = ScheduleEvaluationResult(run_requests=run_requests, skip_message=skip, cursor=cursor)
    data = through_json(schedule_result_to_data(result))
    assert isinstance(data, dict)
    assert schedule_result_from_data(data) == result


@given(
    st.lists(requests, max_size=3),
    st.none() | texts,
    st.none() | texts,
    st.lists(partition_requests, max_size=3),
)
def test_a_sensor_result_survives_the_pipe(
    run_requests: list[af.RunRequest],
    skip: str | None,
    cursor: str | None,
    partitions: list[af.AddDynamicPartitionsRequest | af.DeleteDynamicPartitionsRequest],
) -> None:
    result = SensorEvaluationResult(
        run_requests=run_requests,
        skip_message=skip,
        cursor=cursor,
        dynamic_partitions_requests=partitions,
    )
    data = through_json(sensor_result_to_data(result))
    assert isinstance(data, dict)
    assert sensor_result_from_data(data) == result


def test_a_run_config_object_crosses_as_its_config_dict() -> None:
    class Rows(af.Config):
        limit: int = 5

    request = af.RunRequest(run_config=af.RunConfig(ops={"thing": Rows(limit=3)}))
    data = run_request_to_data(request)
    assert data["run_config"]["ops"] == {"thing": {"config": {"limit": 3}}}
    assert run_request_from_data(data).run_config == data["run_config"]


@af.asset
def thing() -> int:
    return 1


JOB = af.define_asset_job("thing_job", selection=[thing])


def test_a_schedule_info_rebuilds_a_function_less_schedule_with_the_same_fire_times() -> None:
    @af.schedule(
        cron_schedule=["0 9 * * 1-5", "30 12 * * *"],
        job=JOB,
        execution_timezone="Europe/Paris",
        default_status=af.DefaultScheduleStatus.RUNNING,
    )
    def workdays(context: af.ScheduleEvaluationContext) -> af.RunRequest:
        return af.RunRequest()

    info = info_from_data(through_json(info_to_data(schedule_info(workdays))))  # type: ignore[arg-type]
    copy = schedule_from_info(info)
    assert (info.name, info.job_name, info.default_running) == ("workdays", "thing_job", True)
    start = datetime.datetime(2026, 3, 20, tzinfo=datetime.UTC)
    original = workdays.fire_times(start)
    rebuilt = copy.fire_times(start)
    assert [next(original) for _ in range(20)] == [next(rebuilt) for _ in range(20)]


def test_a_sensor_info_carries_its_kind_interval_and_status() -> None:
    @af.asset_sensor(asset_key=AssetKey("thing"), job=JOB, minimum_interval_seconds=7)
    def on_thing(context: af.SensorEvaluationContext, event: object) -> None:
        return None

    info = info_from_data(through_json(info_to_data(sensor_info(on_thing))))  # type: ignore[arg-type]
    assert (info.kind, info.sensor_type, info.minimum_interval_seconds) == (
        "sensor",
        "asset_sensor",
        7,
    )
    assert (info.job_name, info.default_running) == ("thing_job", False)
