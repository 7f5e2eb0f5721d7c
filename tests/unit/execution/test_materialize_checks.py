"""Asset checks in runs: evaluation, blocking gates, selection, checks alone, partitions."""

from __future__ import annotations

import pytest

import arco_flow as af
from arco_flow.core.events import (
    AssetMaterialized,
    LogRecorded,
    RunFailed,
    RunSucceeded,
    TaskFailed,
    TaskSkipped,
    TaskSucceeded,
)


class BoomError(Exception):
    pass


def events_of(result, kind):
    return [e for e in result.all_events if isinstance(e, kind)]


def materialized(result):
    return sorted(e.asset_key.to_user_string() for e in events_of(result, AssetMaterialized))


def two_branches(severity=af.AssetCheckSeverity.ERROR, blocking=True):
    """orders -> cleaned -> report (checked), customers -> customer_report (not)."""

    @af.asset
    def orders():
        return [1, None]

    @af.asset
    def cleaned(orders):
        return orders

    @af.asset
    def report(cleaned):
        return len(cleaned)

    @af.asset
    def customers():
        return ["a"]

    @af.asset
    def customer_report(customers):
        return len(customers)

    @af.asset_check(asset=orders, blocking=blocking)
    def no_nulls(orders):
        return af.AssetCheckResult(passed=None not in orders, severity=severity)

    return [orders, cleaned, report, customers, customer_report, no_nulls]


# -- the bars ---------------------------------------------------------------------------


def test_a_blocking_error_check_stops_exactly_its_assets_downstream_and_nothing_else():
    result = af.materialize_to_memory(two_branches(), raise_on_error=False)
    assert not result.success
    assert materialized(result) == ["customer_report", "customers", "orders"]
    skipped = {e.task_id: e for e in events_of(result, TaskSkipped)}
    assert sorted(skipped) == ["cleaned", "report"]
    assert skipped["cleaned"].reason == "blocking check orders:no_nulls failed"
    assert skipped["cleaned"].blocked_by == ("orders_no_nulls",)
    assert skipped["report"].blocked_by == ("cleaned",)
    assert result.failed_task_ids == []  # the check ran fine: its data failed
    (failed,) = events_of(result, RunFailed)
    assert failed.error is not None
    assert failed.error.class_name == "AssetCheckFailedError"
    assert "orders:no_nulls" in failed.error.message


@pytest.mark.parametrize(
    ("severity", "blocking"),
    [(af.AssetCheckSeverity.WARN, True), (af.AssetCheckSeverity.ERROR, False)],
)
def test_a_warn_or_non_blocking_failed_check_stops_nothing(severity, blocking):
    result = af.materialize_to_memory(two_branches(severity, blocking))
    assert result.success
    assert materialized(result) == [
        "cleaned",
        "customer_report",
        "customers",
        "orders",
        "report",
    ]
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.severity is severity
    assert events_of(result, RunSucceeded)


def test_a_blocking_check_that_passes_lets_downstream_run_after_it():
    @af.asset
    def orders():
        return [1]

    @af.asset
    def cleaned(orders):
        return orders

    @af.asset_check(asset=orders, blocking=True)
    def no_nulls(orders):
        return af.AssetCheckResult(passed=True)

    result = af.materialize_to_memory([orders, cleaned, no_nulls])
    assert result.success
    assert result.plan.task("cleaned").deps == ("orders", "orders_no_nulls")
    order = [e.task_id for e in result.all_events if isinstance(e, TaskSucceeded)]
    assert order.index("orders_no_nulls") < order.index("cleaned")


# -- raise_on_error, as Dagster ---------------------------------------------------------


def test_raise_on_error_raises_for_a_failed_blocking_error_check():
    with pytest.raises(af.AssetCheckFailedError, match="orders:no_nulls"):
        af.materialize_to_memory(two_branches())


def test_a_check_body_that_raises_is_a_failed_task_not_a_failed_check():
    @af.asset
    def orders():
        return [1]

    @af.asset
    def cleaned(orders):
        return orders

    @af.asset_check(asset=orders, blocking=True)
    def broken(orders):
        raise BoomError("cannot check")

    result = af.materialize_to_memory([orders, cleaned, broken], raise_on_error=False)
    assert result.failed_task_ids == ["orders_broken"]
    assert result.get_asset_check_evaluations() == []
    (skip,) = events_of(result, TaskSkipped)
    assert (skip.task_id, skip.reason) == ("cleaned", "upstream failed")
    with pytest.raises(BoomError):
        af.materialize_to_memory([orders, cleaned, broken])


def test_a_check_body_returning_something_else_fails_with_a_clear_message():
    @af.asset
    def orders():
        return [1]

    @af.asset_check(asset=orders)
    def sloppy(orders):
        return True

    with pytest.raises(af.DefinitionError, match="where an AssetCheckResult was expected"):
        af.materialize_to_memory([orders, sloppy])


# -- what the check sees ----------------------------------------------------------------


class Threshold(af.Config):
    at_least: int = 1


class Limits(af.ConfigurableResource):
    most: int = 10


def test_the_check_body_gets_context_config_resources_and_additional_ins():
    seen: dict[str, object] = {}

    @af.asset
    def orders():
        return [1, 2, 3]

    @af.asset
    def customers():
        return ["a"]

    @af.asset_check(
        asset=orders, additional_ins={"people": af.AssetIn(key="customers")}, blocking=True
    )
    def enough(
        context: af.AssetCheckExecutionContext,
        orders,
        people,
        config: Threshold,
        limits: Limits,
    ):
        context.log.info("checking")
        seen["specs"] = [spec.name for spec in context.check_specs]
        seen["run_id"] = context.run_id
        ok = config.at_least <= len(orders) <= limits.most and people == ["a"]
        return af.AssetCheckResult(passed=ok, metadata={"rows": len(orders)})

    result = af.materialize_to_memory(
        [orders, customers, enough],
        resources={"limits": Limits()},
        run_config=af.RunConfig(ops={"orders_enough": Threshold(at_least=2)}),
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed
    assert evaluation.metadata["rows"].value == 3
    assert evaluation.target_run_id == result.run_id
    assert seen == {"specs": ["enough"], "run_id": result.run_id}
    assert result.plan.task("orders_enough").deps == ("customers", "orders")
    assert any(isinstance(e, LogRecorded) and e.message == "checking" for e in result.all_events)


def test_a_multi_asset_check_evaluates_several_checks_in_one_task():
    @af.asset
    def orders():
        return [1]

    @af.asset
    def customers():
        return []

    @af.multi_asset_check(
        specs=[
            af.AssetCheckSpec("has_rows", asset="orders"),
            af.AssetCheckSpec("has_rows", asset="customers"),
        ]
    )
    def has_rows(orders, customers):
        yield af.AssetCheckResult(passed=bool(orders), asset_key="orders")
        yield af.AssetCheckResult(passed=bool(customers), asset_key="customers")

    result = af.materialize_to_memory([orders, customers, has_rows])
    assert result.plan.task("has_rows").deps == ("customers", "orders")
    assert sorted(
        (e.asset_key.to_user_string(), e.passed) for e in result.get_asset_check_evaluations()
    ) == [("customers", False), ("orders", True)]


def test_a_control_plane_check_reads_the_instance_in_process():
    @af.asset
    def orders():
        return [1]

    @af.asset_check(asset=orders, runs_on_control_plane=True)
    def recorded(context):
        latest = context.instance.get_latest_materialization_event("orders")
        return af.AssetCheckResult(passed=latest is not None)

    instance = af.ArcoInstance.ephemeral()
    try:
        result = af.materialize(
            [orders, recorded],
            instance=instance,
            resources={"io_manager": af.InMemoryIOManager()},
        )
    finally:
        instance.dispose()
    assert [e.passed for e in result.get_asset_check_evaluations()] == [True]


# -- checks in the asset's body ---------------------------------------------------------


def test_an_asset_yields_its_output_and_check_results():
    @af.asset(check_specs=[af.AssetCheckSpec("positive", asset="numbers")])
    def numbers():
        yield af.Output([1, 2])
        yield af.AssetCheckResult(passed=True, metadata={"min": 1})

    result = af.materialize_to_memory([numbers])
    assert result.asset_value("numbers") == [1, 2]
    (evaluation,) = result.get_asset_check_evaluations()
    assert (evaluation.check_name, evaluation.passed) == ("positive", True)
    assert evaluation.event.task_id == "numbers"
    assert evaluation.target_run_id == result.run_id


def test_materialize_result_carries_check_results():
    @af.asset(check_specs=[af.AssetCheckSpec("stored", asset="table")])
    def table() -> af.MaterializeResult:
        return af.MaterializeResult(check_results=[af.AssetCheckResult(passed=False)])

    result = af.materialize_to_memory([table])
    assert result.success  # non-blocking
    assert [e.passed for e in result.asset_check_evaluations] == [False]


def test_a_multi_asset_evaluates_checks_of_its_assets():
    @af.multi_asset(
        specs=[af.AssetSpec("left"), af.AssetSpec("right")],
        check_specs=[af.AssetCheckSpec("ok", asset="left", blocking=True)],
    )
    def pair():
        yield af.Output(1, output_name="left")
        yield af.Output(2, output_name="right")
        yield af.AssetCheckResult(passed=False, asset_key="left", check_name="ok")

    @af.asset
    def after_left(left):
        return left

    @af.asset
    def after_right(right):
        return right

    result = af.materialize_to_memory([pair, after_left, after_right], raise_on_error=False)
    assert materialized(result) == ["after_right", "left", "right"]
    (skip,) = events_of(result, TaskSkipped)
    assert (skip.task_id, skip.blocked_by) == ("after_left", ("pair",))


def test_a_declared_check_without_a_result_fails_the_task():
    @af.asset(check_specs=[af.AssetCheckSpec("forgot", asset="thing")])
    def thing():
        return 1

    result = af.materialize_to_memory([thing], raise_on_error=False)
    (failure,) = events_of(result, TaskFailed)
    assert "no result for check(s) thing:forgot" in failure.error.message


def test_a_result_for_an_undeclared_check_fails_the_task():
    @af.asset(check_specs=[af.AssetCheckSpec("declared", asset="thing")])
    def thing():
        yield af.Output(1)
        yield af.AssetCheckResult(passed=True, check_name="other")

    @af.asset
    def plain():
        yield af.Output(1)
        yield af.AssetCheckResult(passed=True)

    with pytest.raises(af.DefinitionError, match="which it does not declare"):
        af.materialize_to_memory([thing])
    with pytest.raises(af.DefinitionError, match="declares no checks"):
        af.materialize_to_memory([plain])


# -- selection and checks alone ---------------------------------------------------------


def test_without_checks_runs_the_assets_only():
    assets = two_branches()
    result = af.materialize_to_memory(assets, selection=af.AssetSelection.all().without_checks())
    assert result.success
    assert result.get_asset_check_evaluations() == []


def test_checks_alone_run_against_the_latest_materialization():
    storage = af.InMemoryIOManager()
    assets = two_branches()
    instance = af.ArcoInstance.ephemeral()
    try:
        first = af.materialize(
            assets,
            instance=instance,
            resources={"io_manager": storage},
            selection=af.AssetSelection.all().without_checks(),
        )
        alone = af.materialize(
            assets,
            instance=instance,
            resources={"io_manager": storage},
            selection=af.AssetSelection.checks_for_assets("orders"),
            raise_on_error=False,
        )
        latest = instance.get_latest_materialization_event("orders")
    finally:
        instance.dispose()
    assert alone.plan.task_ids == ("orders_no_nulls",)
    assert materialized(alone) == []
    (evaluation,) = alone.get_asset_check_evaluations()
    assert not evaluation.passed  # it saw [1, None], stored by the first run
    assert evaluation.target_run_id == first.run_id
    assert latest is not None
    assert evaluation.event.target_event_id == latest.event_id


def test_a_job_selection_carries_checks_and_a_list_may_name_checks():
    assets = two_branches(blocking=False)
    check = assets[-1]
    storage = af.InMemoryIOManager()
    job = af.define_asset_job("orders_only", selection=af.AssetSelection.assets("orders"))
    defs = af.Definitions(
        assets=assets[:-1], asset_checks=[check], jobs=[job], resources={"io_manager": storage}
    )
    result = defs.resolve_job_def("orders_only").execute_in_process()
    assert result.plan.task_ids == ("orders", "orders_no_nulls")
    only_check = af.materialize(assets, selection=[check], resources={"io_manager": storage})
    assert only_check.plan.task_ids == ("orders_no_nulls",)


# -- partitions -------------------------------------------------------------------------


def test_a_check_runs_for_the_same_partition_and_records_it():
    letters = af.StaticPartitionsDefinition(["a", "b", "c"])

    @af.asset(partitions_def=letters)
    def part(context):
        return context.partition_key

    @af.asset_check(asset=part)
    def matches(context, part):
        return af.AssetCheckResult(passed=part == context.partition_key)

    one = af.materialize_to_memory([part, matches], partition_key="b")
    assert [(e.partition, e.passed) for e in one.get_asset_check_evaluations()] == [("b", True)]
    assert one.plan.task_ids == ("part[b]", "part_matches[b]")

    @af.asset(partitions_def=letters)
    def whole(context):
        return dict.fromkeys(context.partition_keys, 1)

    @af.asset_check(asset=whole)
    def all_present(context):
        return af.AssetCheckResult(passed=context.partition_keys == ["a", "b", "c"])

    ranged = af.materialize_to_memory(
        [whole, all_present], partition_key_range=af.PartitionKeyRange("a", "c")
    )
    assert [(e.partition, e.passed) for e in ranged.get_asset_check_evaluations()] == [
        ("a", True),
        ("b", True),
        ("c", True),
    ]
