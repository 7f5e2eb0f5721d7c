"""Asset check history and latest status through the instance, on every backend."""

from __future__ import annotations

import sqlite3
from itertools import count

import pytest

from arco_flow.core.errors import NotFoundError
from arco_flow.core.events import AssetCheckEvaluated, NewEvent, idempotency_key
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.memory_store import MemoryEventStore
from arco_flow.storage.records import AssetCheckEvaluationRecord
from arco_flow.storage.sql_store import SqlEventStore
from tests.storage_events import StepClock, new, succeeded_run

ORDERS = AssetKey(["warehouse", "orders"])
USERS = AssetKey("users")
NOT_NULL = AssetCheckKey(ORDERS, "not_null")


@pytest.fixture(params=["memory", "sqlite"])
def instance(request, tmp_path):
    if request.param == "memory":
        store = MemoryEventStore(clock=StepClock())
    else:
        store = SqlEventStore(tmp_path / "arco.db", clock=StepClock())
    made = ArcoInstance(store, str(tmp_path / "storage"))
    yield made
    made.dispose()


_ordinals = count()


def evaluate(
    instance: ArcoInstance,
    check: str = "not_null",
    *,
    passed: bool = True,
    asset: AssetKey = ORDERS,
    partition: str | None = None,
    run: str = "r1",
    **fields,
) -> AssetCheckEvaluationRecord:
    """Appends one evaluation and returns it as the history holds it."""
    event = AssetCheckEvaluated(
        run_id=run,
        task_id="orders",
        asset_key=asset,
        check_name=check,
        passed=passed,
        partition_key=partition,
        **fields,
    )
    (record,) = instance.append(
        [NewEvent(event=event, idempotency_key=idempotency_key(event, next(_ordinals)))]
    )
    return AssetCheckEvaluationRecord(
        event_id=record.event_id,
        asset_key=asset,
        check_name=check,
        run_id=run,
        task_id="orders",
        timestamp=record.timestamp,
        passed=passed,
        partition_key=partition,
        tenant_id=record.tenant_id,
        workspace_id=record.workspace_id,
        **fields,
    )


def names(evaluations):
    return [
        (item.asset_key.to_user_string(), item.check_name, item.partition_key, item.passed)
        for item in evaluations
    ]


def test_an_evaluation_keeps_every_field_and_the_append_time(instance):
    stored = evaluate(
        instance,
        passed=False,
        severity="WARN",
        blocking=True,
        metadata={"nulls": {"type": "int", "value": 3}},
        description="3 null ids",
        target_run_id="r0",
        target_event_id=1,
    )
    assert instance.get_asset_check_execution_history(NOT_NULL) == [stored]
    assert instance.get_latest_asset_check_evaluations() == [stored]
    assert instance.get_run_asset_check_evaluations("r1") == [stored]


def test_the_latest_evaluation_of_each_check_lists_by_asset_then_check(instance):
    evaluate(instance, "unique", asset=USERS, passed=False)
    evaluate(instance, "unique")
    evaluate(instance, "not_null", passed=False)
    assert names(instance.get_latest_asset_check_evaluations()) == [
        ("users", "unique", None, False),
        ("warehouse/orders", "not_null", None, False),
        ("warehouse/orders", "unique", None, True),
    ]


def test_a_later_evaluation_supersedes_the_latest_whatever_its_result(instance):
    evaluate(instance, passed=True)
    failed = evaluate(instance, passed=False, run="r2")
    assert instance.get_latest_asset_check_evaluations() == [failed]
    assert instance.get_latest_asset_check_evaluation_record(NOT_NULL) == failed
    passed = evaluate(instance, passed=True, run="r3")
    assert instance.get_latest_asset_check_evaluations() == [passed]


def test_the_latest_can_be_of_one_asset(instance):
    evaluate(instance, "unique", asset=USERS)
    evaluate(instance)
    assert names(instance.get_latest_asset_check_evaluations(ORDERS)) == [
        ("warehouse/orders", "not_null", None, True)
    ]
    assert names(instance.get_latest_asset_check_evaluations("users")) == [
        ("users", "unique", None, True)
    ]
    assert instance.get_latest_asset_check_evaluations(AssetKey("nothing")) == []


def test_an_unknown_check_has_no_latest_evaluation(instance):
    evaluate(instance)
    assert instance.get_latest_asset_check_evaluation_record(AssetCheckKey(ORDERS, "x")) is None
    assert instance.get_asset_check_execution_history(AssetCheckKey(USERS, "not_null")) == []


def test_history_is_newest_first_and_pages_with_a_cursor(instance):
    made = [evaluate(instance, passed=n % 2 == 0, run=f"r{n}") for n in range(5)]
    evaluate(instance, "unique")
    evaluate(instance, asset=USERS)
    assert instance.get_asset_check_execution_history(NOT_NULL) == made[::-1]
    first = instance.get_asset_check_execution_history(NOT_NULL, limit=2)
    assert first == [made[4], made[3]]
    second = instance.get_asset_check_execution_history(NOT_NULL, 2, first[-1].event_id)
    assert second == [made[2], made[1]]
    last = instance.get_asset_check_execution_history(NOT_NULL, 2, second[-1].event_id)
    assert last == [made[0]]


def test_partitions_keep_their_own_latest_and_history(instance):
    evaluate(instance, partition="2024-01-01", passed=False)
    evaluate(instance, partition="2024-01-02", passed=True)
    newest_first = evaluate(instance, partition="2024-01-01", passed=True, run="r2")
    newest_second = evaluate(instance, partition="2024-01-02", passed=False, run="r2")
    per_partition = instance.get_latest_asset_check_evaluations(per_partition=True)
    assert per_partition == [newest_first, newest_second]
    assert instance.get_latest_asset_check_evaluations() == [newest_second]
    history = instance.get_asset_check_execution_history(NOT_NULL, partition_key="2024-01-01")
    assert [(item.run_id, item.passed) for item in history] == [("r2", True), ("r1", False)]
    latest = instance.get_latest_asset_check_evaluation_record(NOT_NULL, partition_key="2024-01-01")
    assert latest == newest_first


def test_unpartitioned_and_partitioned_evaluations_of_one_check_sort_unpartitioned_first(
    instance,
):
    evaluate(instance, partition="b")
    evaluate(instance, partition=None, passed=False)
    evaluate(instance, partition="a")
    rows = instance.get_latest_asset_check_evaluations(ORDERS, per_partition=True)
    assert [item.partition_key for item in rows] == [None, "a", "b"]


def test_a_runs_evaluations_are_in_the_order_it_recorded_them(instance):
    instance.append(succeeded_run("r1"))
    first = evaluate(instance, "unique", run="r1")
    evaluate(instance, run="r2")
    second = evaluate(instance, "not_null", run="r1", passed=False)
    assert instance.get_run_asset_check_evaluations("r1") == [first, second]
    instance.append(succeeded_run("r3"))
    assert instance.get_run_asset_check_evaluations("r3") == []


def test_the_evaluations_of_an_unknown_run_raise_not_found(instance):
    instance.append(succeeded_run("run-1"))
    with pytest.raises(NotFoundError, match=r"'run-2' does not exist.*Did you mean 'run-1'"):
        instance.get_run_asset_check_evaluations("run-2")


def test_a_duplicate_append_records_one_evaluation(instance):
    event = AssetCheckEvaluated(
        run_id="r1", task_id="orders", asset_key=ORDERS, check_name="not_null", passed=True
    )
    instance.append([new(event), new(event)])
    instance.append([new(event)])
    assert len(instance.get_asset_check_execution_history(NOT_NULL)) == 1


def test_checks_belong_to_one_tenant(instance):
    evaluate(instance, passed=False)
    other = ArcoInstance(instance.storage, None, tenant_id="other")
    assert other.get_latest_asset_check_evaluations() == []
    assert other.get_asset_check_execution_history(NOT_NULL) == []
    mine = evaluate(other, passed=True)
    assert other.get_latest_asset_check_evaluations() == [mine]
    assert other.get_run_asset_check_evaluations("r1") == [mine]
    assert [item.passed for item in instance.get_latest_asset_check_evaluations()] == [False]
    assert len(instance.get_asset_check_execution_history(NOT_NULL)) == 1


def test_rebuild_gives_the_same_check_projections_and_verify_agrees(instance):
    instance.append(succeeded_run("r1"))
    for n in range(6):
        evaluate(instance, partition=("a", "b", None)[n % 3], passed=n % 2 == 0, run=f"r{n % 2}")
        evaluate(instance, "unique", asset=USERS, passed=n % 3 != 0)
    other = ArcoInstance(instance.storage, None, tenant_id="other")
    evaluate(other)
    rows = instance.storage.projection_rows()
    assert len(rows["asset_check_evaluations"]) == 13
    assert len(rows["latest_asset_check_evaluations"]) == 5
    latest = instance.get_latest_asset_check_evaluations(per_partition=True)
    history = instance.get_asset_check_execution_history(NOT_NULL)
    assert instance.verify() == []
    assert instance.rebuild_projections() == 18
    assert instance.storage.projection_rows() == rows
    assert instance.get_latest_asset_check_evaluations(per_partition=True) == latest
    assert instance.get_asset_check_execution_history(NOT_NULL) == history
    assert instance.verify() == []


def test_verify_detects_a_latest_row_that_points_at_an_older_evaluation(instance, tmp_path):
    older = evaluate(instance, passed=False)
    evaluate(instance, passed=True)
    storage = instance.storage
    if isinstance(storage, MemoryEventStore):
        latest = storage._projections.state.latest_checks
        latest[("default", "default", ORDERS, "not_null", None)] = older
    else:
        connection = sqlite3.connect(tmp_path / "arco.db")
        with connection:
            connection.execute(
                "UPDATE latest_asset_check_evaluations SET event_id = ?", (older.event_id,)
            )
        connection.close()
    assert instance.verify() == [
        "latest_asset_check_evaluations[default, default, warehouse/orders, not_null, ]: "
        "event_id is 1 live, but 2 rebuilt from the log"
    ]
    instance.rebuild_projections()
    assert instance.verify() == []
    assert [item.passed for item in instance.get_latest_asset_check_evaluations()] == [True]
