"""`execute_task` for check tasks and in-asset checks, and the outcome's wire form."""

from __future__ import annotations

import arco_flow as af
from arco_flow.core.canonical_json import canonical_json, loads
from arco_flow.core.events import AssetCheckEvaluated
from arco_flow.core.keys import AssetKey
from arco_flow.core.messages import TaskRequest, request_from_data, request_to_data
from arco_flow.worker.executor import WorkerSession, execute_task
from arco_flow.worker.process_main import outcome_from_data, outcome_to_data


@af.asset(check_specs=[af.AssetCheckSpec("ok", asset="orders", blocking=True)])
def orders():
    yield af.Output([1, None])
    yield af.AssetCheckResult(passed=False, description="a null")


@af.asset_check(asset=orders, blocking=True)
def no_nulls(orders):
    return af.AssetCheckResult(passed=None not in orders, severity=af.AssetCheckSeverity.WARN)


@af.asset_check(asset=orders, name="strict", blocking=True)
def strict(orders):
    return af.AssetCheckResult(passed=None not in orders)


DEFS = af.Definitions(assets=[orders], asset_checks=[no_nulls, strict])


def request(node, keys=(), checks=()):
    return TaskRequest(
        run_id="r", task_id=node, attempt=1, node=node, asset_keys=keys, check_names=checks
    )


def run(req, storage):
    events: list[object] = []
    outcome = execute_task(req, WorkerSession(DEFS, {"io_manager": storage}), events.append)
    return outcome, [e for e in events if isinstance(e, AssetCheckEvaluated)]


def test_an_asset_task_evaluates_its_selected_in_body_checks():
    storage = af.InMemoryIOManager()
    outcome, evaluations = run(request("orders", (AssetKey("orders"),), ("orders:ok",)), storage)
    assert outcome.succeeded, outcome.error
    assert outcome.failed_blocking_checks == ("orders:ok",)
    (evaluation,) = evaluations
    assert (evaluation.check_name, evaluation.description, evaluation.target_run_id) == (
        "ok",
        "a null",
        "r",
    )


def test_an_asset_task_drops_results_of_unselected_checks():
    outcome, evaluations = run(request("orders", (AssetKey("orders"),)), af.InMemoryIOManager())
    assert outcome.succeeded
    assert evaluations == []
    assert outcome.failed_blocking_checks == ()


def test_a_check_task_loads_the_stored_value_and_reports_only_error_failures():
    storage = af.InMemoryIOManager()
    run(request("orders", (AssetKey("orders"),)), storage)
    warn, (warned,) = run(request("orders_no_nulls", checks=("orders:no_nulls",)), storage)
    assert warn.succeeded
    assert (warned.passed, warned.severity, warned.blocking) == (False, "WARN", True)
    assert warn.failed_blocking_checks == ()  # WARN blocks nothing
    error, _ = run(request("orders_strict", checks=("orders:strict",)), storage)
    assert error.failed_blocking_checks == ("orders:strict",)


def test_a_request_without_check_names_evaluates_every_check_of_its_node():
    storage = af.InMemoryIOManager()
    run(request("orders", (AssetKey("orders"),)), storage)
    _, (evaluation,) = run(request("orders_strict"), storage)
    assert evaluation.check_name == "strict"


def test_check_names_and_blocking_failures_cross_the_wire():
    req = request("orders_strict", checks=("orders:strict",))
    received = request_from_data(loads(canonical_json(request_to_data(req))))
    assert received.check_names == ("orders:strict",)
    storage = af.InMemoryIOManager()
    run(request("orders", (AssetKey("orders"),)), storage)
    outcome, _ = run(received, storage)
    data = loads(canonical_json(outcome_to_data(outcome)))
    assert outcome_from_data(data, received).failed_blocking_checks == ("orders:strict",)
