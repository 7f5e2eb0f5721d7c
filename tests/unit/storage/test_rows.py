import pytest

from arco_flow.core.errors import CanonicalJsonError
from arco_flow.core.events import AssetCheckEvaluated, AssetMaterialized, ErrorInfo
from arco_flow.core.keys import AssetKey
from arco_flow.core.run_state import TaskStatus
from arco_flow.storage.placement import place_events
from arco_flow.storage.projector import AssetSummary, ProjectionState, project
from arco_flow.storage.records import (
    AssetCheckEvaluationRecord,
    MaterializationRecord,
    ObservationRecord,
    RunRecord,
    RunStatus,
    TaskRecord,
)
from arco_flow.storage.rows import (
    PRIMARY_KEYS,
    asset_row,
    asset_summary_from_row,
    check_evaluation_from_row,
    check_evaluation_row,
    event_from_row,
    event_row,
    latest_check_row,
    materialization_from_row,
    materialization_row,
    observation_from_row,
    observation_row,
    projection_rows,
    run_from_row,
    run_row,
    run_tag_rows,
    task_from_row,
    task_row,
)
from tests.storage_events import failed_run, new, run_started

KEY = AssetKey(["warehouse", "orders"])


def test_a_run_round_trips_with_its_json_columns_canonical():
    run = RunRecord(
        run_id="r1",
        job_name="j",
        plan_id="p",
        status=RunStatus.FAILURE,
        created_event_id=3,
        created_time=1.5,
        updated_time=2.5,
        ended_time=2.5,
        tags={"b": "2", "a": "1"},
        asset_keys=(KEY, AssetKey("x")),
        plan={"tasks": [["a", "a", ["a"], [], 0]]},
        coordinator={"pid": 1},
        error=ErrorInfo(class_name="E", message="m", cause=ErrorInfo(class_name="C", message="c")),
        tenant_id="t",
    )
    row = run_row(run)
    assert row["tags"] == '{"a":"1","b":"2"}'
    assert row["asset_keys"] == '["warehouse/orders","x"]'
    assert row["status"] == "FAILURE"
    assert run_from_row(row) == run
    assert run_tag_rows(run) == [
        {
            "tenant_id": "t",
            "workspace_id": "default",
            "run_id": "r1",
            "tag_key": "b",
            "tag_value": "2",
        },
        {
            "tenant_id": "t",
            "workspace_id": "default",
            "run_id": "r1",
            "tag_key": "a",
            "tag_value": "1",
        },
    ]


def test_a_task_round_trips():
    task = TaskRecord(
        run_id="r",
        task_id="t",
        status=TaskStatus.WAITING_RETRY,
        node="n",
        stage=2,
        attempts=1,
        wall_s=1.25,
        last_error=ErrorInfo(class_name="E", message="m"),
    )
    assert task_from_row(task_row(task)) == task


def test_an_unpartitioned_row_stores_the_empty_partition_key():
    record = MaterializationRecord(
        event_id=4, asset_key=KEY, run_id="r", task_id="t", timestamp=1.0, metadata={"n": 1.5}
    )
    row = materialization_row(record)
    assert (row["asset_key"], row["partition_key"], row["metadata"]) == (
        "warehouse/orders",
        "",
        '{"n":1.5}',
    )
    assert materialization_from_row(row) == record
    partitioned = ObservationRecord(
        event_id=5,
        asset_key=KEY,
        run_id="r",
        task_id="t",
        timestamp=1.0,
        partition_key="2024-01-01",
    )
    assert observation_row(partitioned)["partition_key"] == "2024-01-01"
    assert observation_from_row(observation_row(partitioned)) == partitioned


def test_an_asset_summary_round_trips():
    summary = AssetSummary(
        asset_key=KEY,
        tenant_id="t",
        workspace_id="w",
        materialization_count=2,
        last_materialization_event_id=9,
        last_run_id="r",
        last_materialization_time=3.0,
    )
    assert asset_summary_from_row(asset_row(summary)) == summary


def _record(event):
    return place_events(
        [new(event)],
        stored={},
        last_event_id=0,
        stream_heads={},
        timestamp=1.0,
        tenant_id="t",
        workspace_id="w",
    ).new[0]


def test_an_event_round_trips_through_its_row():
    record = _record(run_started("r1"))
    row = event_row(record)
    assert row["payload"].startswith('{"data":{')
    assert (row["event_type"], row["trace_context"]) == ("run.started/1", "{}")
    assert event_from_row(row) == record


def test_an_event_with_a_lone_surrogate_is_refused():
    record = _record(
        AssetMaterialized(run_id="r", task_id="t", asset_key=KEY, data_version="\ud800")
    )
    with pytest.raises(CanonicalJsonError, match="lone surrogate"):
        event_row(record)


def test_projection_rows_are_keyed_by_each_tables_primary_key():
    state = ProjectionState()
    records = place_events(
        failed_run(),
        stored={},
        last_event_id=0,
        stream_heads={},
        timestamp=1.0,
        tenant_id="t",
        workspace_id="w",
    ).new
    changes = project(state, records)
    tables = projection_rows(state, changes.materializations, changes.observations)
    assert set(tables) == set(PRIMARY_KEYS)
    assert ("t", "w", "run-1") in tables["runs"]
    assert ("t", "w", "run-1", "team") in tables["run_tags"]
    assert ("t", "w", "a", "") in tables["latest_materializations"]
    assert len(tables["tasks"]) == 4


def test_a_check_evaluation_round_trips_with_an_empty_partition_column_when_unpartitioned():
    evaluation = AssetCheckEvaluationRecord(
        event_id=9,
        asset_key=KEY,
        check_name="not_null",
        run_id="r1",
        task_id="orders",
        timestamp=2.5,
        passed=False,
        severity="WARN",
        blocking=True,
        metadata={"rows": {"type": "int", "value": 3}, "a": {"type": "text", "value": "x"}},
        description="nulls found",
        target_run_id="r0",
        target_event_id=4,
        tenant_id="t",
        workspace_id="w",
    )
    row = check_evaluation_row(evaluation)
    assert row["asset_key"] == "warehouse/orders"
    assert row["partition_key"] == ""
    assert row["metadata"] == '{"a":{"type":"text","value":"x"},"rows":{"type":"int","value":3}}'
    assert check_evaluation_from_row(row) == evaluation
    partitioned = AssetCheckEvaluationRecord(
        event_id=10,
        asset_key=KEY,
        check_name="not_null",
        run_id="r1",
        task_id="orders",
        timestamp=2.5,
        passed=True,
        partition_key="2024-01-01",
    )
    assert check_evaluation_from_row(check_evaluation_row(partitioned)) == partitioned


def test_the_latest_check_row_points_a_checks_partition_at_its_evaluation():
    evaluation = AssetCheckEvaluationRecord(
        event_id=3,
        asset_key=KEY,
        check_name="c",
        run_id="r",
        task_id="t",
        timestamp=1.0,
        passed=True,
    )
    assert latest_check_row(("t", "w", KEY, "c", None), evaluation) == {
        "tenant_id": "t",
        "workspace_id": "w",
        "asset_key": "warehouse/orders",
        "check_name": "c",
        "partition_key": "",
        "event_id": 3,
    }


def test_projection_rows_hold_the_check_history_and_latest_tables():
    state = ProjectionState()
    events = [
        AssetCheckEvaluated(
            run_id="r", task_id="t", asset_key=KEY, check_name="c", passed=ok, partition_key="p"
        )
        for ok in (False, True)
    ]
    records = place_events(
        [new(event, ordinal) for ordinal, event in enumerate(events)],
        stored={},
        last_event_id=0,
        stream_heads={},
        timestamp=1.0,
        tenant_id="t",
        workspace_id="w",
    ).new
    changes = project(state, records)
    tables = projection_rows(state, (), (), check_evaluations=changes.check_evaluations)
    assert sorted(tables["asset_check_evaluations"]) == [(1,), (2,)]
    assert tables["latest_asset_check_evaluations"] == {
        ("t", "w", "warehouse/orders", "c", "p"): {
            "tenant_id": "t",
            "workspace_id": "w",
            "asset_key": "warehouse/orders",
            "check_name": "c",
            "partition_key": "p",
            "event_id": 2,
        }
    }
