"""Materializing in process: values, failures, retries, multi-assets, config, resources."""

import pytest

import arco_flow as af
from arco_flow.core.events import (
    AssetMaterialized,
    LogRecorded,
    RunFailed,
    RunSucceeded,
    TaskFailed,
    TaskSkipped,
)


class BoomError(Exception):
    pass


def test_values_flow_through_inputs_and_the_result_answers_dagster_questions():
    @af.asset
    def raw():
        return [3, 1, 2]

    @af.asset
    def ordered(raw):
        return sorted(raw)

    @af.asset(ins={"values": af.AssetIn(key="ordered")})
    def total(values):
        return sum(values)

    result = af.materialize_to_memory([raw, ordered, total])
    assert result.success
    assert result.output_for_node("ordered") == [1, 2, 3]
    assert result.asset_value("total") == 6
    assert result.asset_value(af.AssetKey("raw")) == [3, 1, 2]
    assert [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()] == [
        "raw",
        "ordered",
        "total",
    ]
    assert len(result.asset_materializations_for_node("total")) == 1
    assert isinstance(result.all_events[-1], RunSucceeded)


def test_a_failure_stops_only_its_downstream_and_unrelated_branches_finish():
    @af.asset
    def bad():
        raise BoomError("no data")

    @af.asset
    def after_bad(bad):
        return bad

    @af.asset
    def good():
        return 1

    @af.asset
    def after_good(good):
        return good + 1

    result = af.materialize_to_memory([bad, after_bad, good, after_good], raise_on_error=False)
    assert not result.success
    assert result.failed_task_ids == ["bad"]
    assert result.skipped_task_ids == ["after_bad"]
    assert result.asset_value("after_good") == 2
    skipped = [e for e in result.all_events if isinstance(e, TaskSkipped)]
    assert skipped[0].blocked_by == ("bad",)
    failed = result.all_events[-1]
    assert isinstance(failed, RunFailed)
    assert failed.error is not None
    assert failed.error.class_name == "BoomError"


def test_raise_on_error_reraises_the_users_own_exception_after_the_run():
    ran = []

    @af.asset
    def bad():
        raise BoomError("original")

    @af.asset
    def other():
        ran.append("other")

    with pytest.raises(BoomError, match="original"):
        af.materialize_to_memory([bad, other])
    assert ran == ["other"]


def test_retry_policy_retries_until_success_and_reports_the_retry_number():
    attempts = []

    @af.asset(retry_policy=af.RetryPolicy(max_retries=2))
    def flaky(context):
        attempts.append(context.retry_number)
        if len(attempts) < 3:
            raise BoomError("transient")
        return "ok"

    result = af.materialize_to_memory([flaky])
    assert result.success
    assert attempts == [0, 1, 2]
    failures = result.get_task_failure_events()
    assert [f.attempt for f in failures] == [1, 2]
    assert all(f.retry_in_s == 0 for f in failures)


def test_retries_stop_after_max_retries():
    calls = []

    @af.asset(retry_policy=af.RetryPolicy(max_retries=1))
    def always_bad():
        calls.append(1)
        raise BoomError("again")

    result = af.materialize_to_memory([always_bad], raise_on_error=False)
    assert not result.success
    assert len(calls) == 2
    assert [f.retry_in_s for f in result.get_task_failure_events()] == [0, None]


def test_failure_with_allow_retries_false_is_not_retried():
    calls = []

    @af.asset(retry_policy=af.RetryPolicy(max_retries=3))
    def fatal():
        calls.append(1)
        raise af.Failure("bad input file", allow_retries=False)

    result = af.materialize_to_memory([fatal], raise_on_error=False)
    assert calls == [1]
    assert not result.success


def test_job_op_retry_policy_applies_to_assets_without_their_own():
    calls = []

    @af.asset
    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise BoomError("once")
        return 1

    job = af.define_asset_job("j", op_retry_policy=af.RetryPolicy(max_retries=1))
    defs = af.Definitions(
        assets=[flaky], jobs=[job], resources={"io_manager": af.InMemoryIOManager()}
    )
    result = defs.get_job_def("j").execute_in_process()
    assert result.success
    assert len(calls) == 2


def test_retry_requested_retries_regardless_of_policy():
    calls = []

    @af.asset
    def asks():
        calls.append(1)
        if len(calls) < 2:
            raise af.RetryRequested(max_retries=2)
        return 1

    assert af.materialize_to_memory([asks]).success
    assert len(calls) == 2


def test_multi_asset_returns_a_tuple_and_downstream_reads_each_output():
    @af.multi_asset(outs={"left": af.AssetOut(), "right": af.AssetOut()})
    def split():
        return 1, 2

    @af.asset
    def both(left, right):
        return left + right

    result = af.materialize_to_memory([split, both])
    assert result.output_for_node("split", "left") == 1
    assert result.output_for_node("split", "right") == 2
    assert result.asset_value("both") == 3
    assert len(result.asset_materializations_for_node("split")) == 2


def test_subsettable_multi_asset_yields_only_selected_outputs():
    @af.multi_asset(
        outs={"left": af.AssetOut(is_required=False), "right": af.AssetOut(is_required=False)},
        can_subset=True,
    )
    def split(context):
        for name in sorted(context.selected_output_names):
            yield af.Output(name.upper(), output_name=name)

    result = af.materialize_to_memory([split], selection=["right"])
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [
        af.AssetKey("right")
    ]
    assert result.output_for_node("split", "right") == "RIGHT"


def test_materialize_result_records_metadata_without_storing_a_value():
    stored = af.InMemoryIOManager()

    @af.asset
    def table() -> af.MaterializeResult:
        return af.MaterializeResult(metadata={"rows": 3, "note": "written by the body"})

    result = af.materialize([table], resources={"io_manager": stored})
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["rows"] == af.MetadataValue.int(3)
    assert event.event.metadata["rows"] == {"type": "int", "value": 3}  # the stored form
    assert stored.values == {}


def test_output_and_context_metadata_are_recorded_on_the_materialization():
    @af.asset
    def numbers(context):
        context.add_output_metadata({"from_context": 1})
        return af.Output([1, 2], metadata={"count": 2}, data_version=af.DataVersion("v7"))

    result = af.materialize_to_memory([numbers])
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["count"].value == 2
    assert event.materialization.metadata["from_context"].value == 1
    assert event.materialization.data_version == "v7"


def test_context_log_lines_become_run_events():
    @af.asset
    def talkative(context):
        context.log.info("hello %s", "world")
        return 1

    result = af.materialize_to_memory([talkative])
    logs = [e for e in result.all_events if isinstance(e, LogRecorded)]
    assert [(log.level, log.message) for log in logs] == [("INFO", "hello world")]


def test_pythonic_config_is_validated_and_passed_to_the_body():
    class Threshold(af.Config):
        minimum: int = 1

    @af.asset
    def filtered(config: Threshold):
        return [v for v in [1, 5, 10] if v >= config.minimum]

    result = af.materialize_to_memory(
        [filtered], run_config=af.RunConfig(ops={"filtered": Threshold(minimum=5)})
    )
    assert result.asset_value("filtered") == [5, 10]
    plain = af.materialize_to_memory(
        [filtered], run_config={"ops": {"filtered": {"config": {"minimum": 10}}}}
    )
    assert plain.asset_value("filtered") == [10]


def test_invalid_config_names_the_field_and_the_asset():
    class Threshold(af.Config):
        minimum: int

    @af.asset
    def filtered(config: Threshold):
        return config.minimum

    with pytest.raises(af.ConfigError, match="minimum") as error:
        af.materialize_to_memory(
            [filtered], run_config={"ops": {"filtered": {"config": {"minimum": "many"}}}}
        )
    assert "filtered" in str(error.value)


def test_unknown_node_in_run_config_is_rejected_with_a_suggestion():
    @af.asset
    def filtered():
        return 1

    with pytest.raises(af.ConfigError, match="filtered"):
        af.materialize_to_memory([filtered], run_config={"ops": {"filterd": {"config": {}}}})


def test_resources_are_set_up_once_and_torn_down_after_the_run():
    events = []

    class Warehouse(af.ConfigurableResource):
        name: str

        def setup_for_execution(self, context):
            events.append(f"setup {self.name}")

        def teardown_after_execution(self, context):
            events.append(f"teardown {self.name}")

    @af.asset
    def one(warehouse: Warehouse):
        events.append(f"one uses {warehouse.name}")
        return 1

    @af.asset
    def two(one, warehouse: Warehouse):
        events.append("two")
        return one + 1

    result = af.materialize_to_memory([one, two], resources={"warehouse": Warehouse(name="wh")})
    assert result.success
    assert events == ["setup wh", "one uses wh", "two", "teardown wh"]


def test_missing_resource_names_the_asset_and_the_fix():
    @af.asset(required_resource_keys={"warehouse"})
    def needs(context):
        return context.resources.warehouse

    with pytest.raises(af.DefinitionsValidationError) as error:
        af.materialize_to_memory([needs])
    assert "requires resource 'warehouse'" in str(error.value)
    assert "Definitions(resources=" in str(error.value)


def test_selection_materializes_a_subset_and_loads_the_rest_from_storage():
    storage = af.InMemoryIOManager()

    @af.asset
    def upstream():
        return 41

    @af.asset
    def downstream(upstream):
        return upstream + 1

    af.materialize([upstream], resources={"io_manager": storage})
    result = af.materialize(
        [upstream, downstream], selection="key:downstream", resources={"io_manager": storage}
    )
    assert result.plan.task_ids == ("downstream",)
    assert result.asset_value("downstream") == 42


def test_missing_upstream_value_fails_with_a_clear_message():
    @af.asset
    def upstream():
        return 1

    @af.asset
    def downstream(upstream):
        return upstream

    result = af.materialize_to_memory(
        [upstream, downstream], selection=["downstream"], raise_on_error=False
    )
    (failure,) = [e for e in result.all_events if isinstance(e, TaskFailed)]
    assert "materialize" in failure.error.message or "select" in failure.error.message
    assert "'upstream'" in failure.error.message


def test_multi_asset_returning_the_wrong_shape_fails_with_a_fix():
    @af.multi_asset(outs={"a": af.AssetOut(), "b": af.AssetOut()})
    def broken():
        return 1

    result = af.materialize_to_memory([broken], raise_on_error=False)
    (failure,) = result.get_task_failure_events()
    assert "must return a tuple of 2 values" in failure.error.message


def test_materialize_result_events_carry_the_run_id():
    @af.asset
    def a():
        return 1

    result = af.materialize_to_memory([a])
    assert all(
        event.run_id == result.run_id
        for event in result.all_events
        if isinstance(event, AssetMaterialized)
    )


def test_materialize_to_memory_refuses_a_persistent_io_manager():
    @af.asset
    def a():
        return 1

    with pytest.raises(af.DefinitionError, match="materialize_to_memory"):
        af.materialize_to_memory(
            [a], resources={"io_manager": af.FilesystemIOManager(base_dir=".")}
        )
