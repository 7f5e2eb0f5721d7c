"""Sensors: definitions, cursors, SensorResult, dynamic partition requests, bad input."""

from __future__ import annotations

import pytest

from arco_flow.core.errors import DefinitionError, PartitionError, UserCodeError
from arco_flow.core.partitions import DynamicPartitionsDefinition, InMemoryDynamicPartitionsStore
from arco_flow.sdk.decorators import asset
from arco_flow.sdk.jobs import define_asset_job
from arco_flow.sdk.run_requests import (
    AddDynamicPartitionsRequest,
    DeleteDynamicPartitionsRequest,
    RunRequest,
    SkipReason,
)
from arco_flow.sdk.sensors import (
    DefaultSensorStatus,
    SensorDefinition,
    SensorResult,
    build_sensor_context,
    sensor,
)

CUSTOMERS = DynamicPartitionsDefinition(name="customers")


@asset
def numbers():
    return 1


JOB = define_asset_job("numbers_job", selection=[numbers])
CUSTOMER_JOB = define_asset_job("customer_job", partitions_def=CUSTOMERS)


def test_decorated_sensor_keeps_its_arguments_and_dagster_defaults():
    @sensor(job=JOB)
    def watcher(context):
        """Watches."""

    assert isinstance(watcher, SensorDefinition)
    assert watcher.name == "watcher"
    assert watcher.job_name == "numbers_job"
    assert watcher.minimum_interval_seconds == 30
    assert watcher.default_status is DefaultSensorStatus.STOPPED
    assert watcher.description == "Watches."


def test_yielded_requests_are_returned_in_order_without_a_job_name_of_their_own():
    @sensor(job=JOB)
    def many(context):
        for i in range(100):
            yield RunRequest(run_key=f"key_{i}", tags={"i": str(i)})

    result = many.evaluate_tick(build_sensor_context())
    assert [r.run_key for r in result.run_requests] == [f"key_{i}" for i in range(100)]
    assert result.run_requests[5].tags == {"i": "5"}
    assert result.run_requests[0].job_name is None  # as Dagster: the sensor's target
    assert result.skip_message is None


def test_cursor_update_is_returned_and_the_next_tick_starts_from_it():
    @sensor(job=JOB)
    def counting(context):
        seen = int(context.cursor or 0)
        context.update_cursor(str(seen + 1))
        return RunRequest(run_key=str(seen))

    first = counting.evaluate_tick(build_sensor_context())
    second = counting.evaluate_tick(build_sensor_context(cursor=first.cursor))
    assert (first.cursor, second.cursor) == ("1", "2")
    assert second.run_requests[0].run_key == "1"


def test_untouched_cursor_is_kept():
    @sensor(job=JOB)
    def idle(context):
        return SkipReason("quiet")

    result = idle.evaluate_tick(build_sensor_context(cursor="7"))
    assert result.cursor == "7"
    assert result.skip_message == "quiet"


def test_sensor_result_carries_requests_cursor_and_partition_requests():
    @sensor(job=CUSTOMER_JOB)
    def new_customers(context):
        return SensorResult(
            run_requests=[RunRequest(partition_key="acme")],
            cursor="c1",
            dynamic_partitions_requests=[
                CUSTOMERS.build_add_request(["acme"]),
                CUSTOMERS.build_delete_request(["gone"]),
            ],
        )

    store = InMemoryDynamicPartitionsStore()
    result = new_customers.evaluate_tick(build_sensor_context(instance=store))
    assert result.cursor == "c1"
    assert [r.partition_key for r in result.run_requests] == ["acme"]
    assert result.dynamic_partitions_requests == [
        AddDynamicPartitionsRequest("customers", ["acme"]),
        DeleteDynamicPartitionsRequest("customers", ["gone"]),
    ]


def test_request_for_a_dynamic_partition_the_instance_lacks_is_rejected():
    @sensor(job=CUSTOMER_JOB)
    def unknown(context):
        return RunRequest(partition_key="nobody")

    store = InMemoryDynamicPartitionsStore({"customers": ["acme"]})
    with pytest.raises(PartitionError, match="'nobody'"):
        unknown.evaluate_tick(build_sensor_context(instance=store))


def test_sensor_result_skip_reason_may_be_a_string():
    @sensor(job=JOB)
    def skipping(context):
        return SensorResult(skip_reason="not yet")

    assert skipping.evaluate_tick(build_sensor_context()).skip_message == "not yet"


def test_sensor_result_with_requests_and_skip_is_rejected():
    with pytest.raises(DefinitionError, match="not both"):
        SensorResult(run_requests=[RunRequest()], skip_reason="x")


def test_cursor_set_twice_is_an_error():
    @sensor(job=JOB)
    def twice(context):
        context.update_cursor("a")
        return SensorResult(cursor="b")

    with pytest.raises(DefinitionError, match="one way"):
        twice.evaluate_tick(build_sensor_context())


def test_targetless_sensor_may_request_a_named_job_but_not_an_unnamed_one():
    @sensor()
    def named(context):
        return RunRequest(job_name="numbers_job")

    @sensor()
    def unnamed(context):
        return RunRequest()

    assert named.evaluate_tick(build_sensor_context()).run_requests[0].job_name == "numbers_job"
    with pytest.raises(DefinitionError, match="has no target"):
        unnamed.evaluate_tick(build_sensor_context())


def test_asset_selection_target():
    @sensor(asset_selection=[numbers])
    def on_assets(context):
        return RunRequest()

    assert on_assets.job_name == "__anonymous_asset_job_on_assets"
    assert on_assets.asset_selection == [numbers]


def test_calling_a_sensor_directly_returns_the_functions_result():
    @sensor(job=JOB)
    def direct(context):
        return RunRequest(run_key=context.cursor)

    assert direct(build_sensor_context(cursor="x")) == RunRequest(run_key="x")


def test_resources_are_passed_by_parameter_name():
    @sensor(job=JOB)
    def with_resource(context, source):
        return RunRequest(run_key=source)

    assert with_resource.required_resource_keys == {"source"}
    result = with_resource.evaluate_tick(build_sensor_context(resources={"source": "s3"}))
    assert result.run_requests[0].run_key == "s3"


def test_user_error_is_wrapped_with_the_sensor_name():
    @sensor(job=JOB)
    def broken(context):
        raise RuntimeError("down")

    with pytest.raises(UserCodeError, match="sensor 'broken' raised RuntimeError"):
        broken.evaluate_tick(build_sensor_context())


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"minimum_interval_seconds": -1}, "minimum_interval_seconds"),
        ({"job": JOB, "job_name": "x"}, "exactly one target"),
        ({"job": "not a job"}, "define_asset_job"),
        ({"default_status": "RUNNING"}, "DefaultSensorStatus"),
        ({"name": "bad name"}, "not valid"),
    ],
)
def test_bad_definitions_are_rejected_when_defined(kwargs, needle):
    with pytest.raises(DefinitionError, match=needle):
        SensorDefinition(**{"name": "s", "evaluation_fn": lambda context: None, **kwargs})


def test_non_string_cursor_is_rejected():
    with pytest.raises(DefinitionError, match=r"json\.dumps"):
        build_sensor_context().update_cursor(5)  # type: ignore[arg-type]  # the mistake tested


def test_partition_requests_need_a_name_and_a_list_of_keys():
    with pytest.raises(DefinitionError, match="list of partition keys"):
        AddDynamicPartitionsRequest("customers", "acme")
    with pytest.raises(DefinitionError, match="name"):
        DeleteDynamicPartitionsRequest("", ["a"])


def test_run_request_checks_its_fields_and_is_immutable():
    with pytest.raises(DefinitionError, match="tags"):
        RunRequest(tags={"n": 1})  # type: ignore[dict-item]  # the mistake tested
    with pytest.raises(DefinitionError, match="run_key"):
        RunRequest(run_key=3)  # type: ignore[arg-type]  # the mistake tested
    request = RunRequest(run_key="a", asset_selection=["x/y"])
    assert request.asset_selection is not None
    assert request.asset_selection[0].path == ("x", "y")
    with pytest.raises(AttributeError):
        request.run_key = "b"
    assert request.with_replaced_attrs(run_key="b").run_key == "b"


def test_partition_request_keys_must_be_strings():
    with pytest.raises(DefinitionError, match="must be strings"):
        CUSTOMERS.build_add_request([1])  # type: ignore[list-item]  # the mistake tested


def test_the_sensor_name_tag_lives_beside_the_schedule_name_tag():
    from arco_flow.sdk.schedules import SCHEDULE_NAME_TAG
    from arco_flow.sdk.sensors import SENSOR_NAME_TAG

    assert (SCHEDULE_NAME_TAG, SENSOR_NAME_TAG) == ("arco/schedule_name", "arco/sensor_name")
