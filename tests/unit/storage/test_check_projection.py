"""The check projections' pure rules: a history row per evaluation, a latest per partition."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from arco_flow.core.events import AssetCheckEvaluated, EventRecord
from arco_flow.core.keys import AssetKey
from arco_flow.storage.check_projection import check_evaluation, check_partition_key
from arco_flow.storage.placement import place_events
from arco_flow.storage.projector import ProjectionState, project, required_rows
from tests.storage_events import new

ORDERS = AssetKey(["warehouse", "orders"])


def evaluated(
    check: str = "not_null", *, passed: bool = True, partition: str | None = None, run: str = "r1"
) -> AssetCheckEvaluated:
    return AssetCheckEvaluated(
        run_id=run,
        task_id="orders",
        asset_key=ORDERS,
        check_name=check,
        passed=passed,
        partition_key=partition,
    )


def place(events: list[AssetCheckEvaluated], tenant: str = "t") -> list[EventRecord]:
    return place_events(
        [new(event, ordinal) for ordinal, event in enumerate(events)],
        stored={},
        last_event_id=0,
        stream_heads={},
        timestamp=5.0,
        tenant_id=tenant,
        workspace_id="w",
    ).new


def test_an_evaluation_becomes_a_record_with_its_envelope_and_every_field():
    event = AssetCheckEvaluated(
        run_id="r1",
        task_id="orders",
        asset_key=ORDERS,
        check_name="rows",
        passed=False,
        severity="WARN",
        blocking=True,
        partition_key="2024-01-01",
        metadata={"rows": {"type": "int", "value": 0}},
        description="no rows",
        target_run_id="r0",
        target_event_id=7,
    )
    (record,) = place([event])
    evaluation = check_evaluation(record, event)
    assert (evaluation.event_id, evaluation.timestamp) == (1, 5.0)
    assert (evaluation.tenant_id, evaluation.workspace_id) == ("t", "w")
    assert (evaluation.asset_key, evaluation.check_name, evaluation.run_id) == (
        ORDERS,
        "rows",
        "r1",
    )
    assert (evaluation.passed, evaluation.severity, evaluation.blocking) == (False, "WARN", True)
    assert evaluation.partition_key == "2024-01-01"
    assert evaluation.metadata == {"rows": {"type": "int", "value": 0}}
    assert evaluation.description == "no rows"
    assert (evaluation.target_run_id, evaluation.target_event_id) == ("r0", 7)
    assert check_partition_key(evaluation) == ("t", "w", ORDERS, "rows", "2024-01-01")


def test_check_events_need_no_row_loaded():
    required = required_rows(place([evaluated(), evaluated(passed=False)]))
    assert required == required_rows([])


def test_every_evaluation_is_a_history_row_and_the_latest_is_superseded():
    state = ProjectionState()
    changes = project(state, place([evaluated(passed=False), evaluated(passed=True)]))
    assert [item.passed for item in changes.check_evaluations] == [False, True]
    assert changes.latest_checks == {("t", "w", ORDERS, "not_null", None)}
    latest = state.latest_checks[("t", "w", ORDERS, "not_null", None)]
    assert (latest.event_id, latest.passed) == (2, True)


def test_a_passing_check_is_superseded_by_a_later_failure():
    state = ProjectionState()
    project(state, place([evaluated(passed=True), evaluated(passed=False)]))
    assert state.latest_checks[("t", "w", ORDERS, "not_null", None)].passed is False


def test_each_partition_and_each_check_keeps_its_own_latest():
    state = ProjectionState()
    project(
        state,
        place(
            [
                evaluated(partition="2024-01-01", passed=False),
                evaluated(partition="2024-01-02"),
                evaluated("unique"),
            ]
        ),
    )
    assert sorted((key[3], key[4] or "") for key in state.latest_checks) == [
        ("not_null", "2024-01-01"),
        ("not_null", "2024-01-02"),
        ("unique", ""),
    ]


def test_check_evaluations_change_no_run_task_or_asset_row():
    state = ProjectionState()
    changes = project(state, place([evaluated()]))
    assert state == ProjectionState(latest_checks=state.latest_checks)
    assert changes.materializations == []
    assert changes.assets == set()
    assert changes.run_assets == set()


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["not_null", "unique"]),
            st.booleans(),
            st.sampled_from([None, "a", "b"]),
        ),
        max_size=20,
    ),
    st.integers(min_value=1, max_value=5),
)
def test_the_latest_is_the_last_evaluation_of_each_partition_in_any_batching(items, batch):
    records = place([evaluated(name, passed=ok, partition=p) for name, ok, p in items])
    state = ProjectionState()
    history = []
    for start in range(0, len(records), batch):
        history.extend(project(state, records[start : start + batch]).check_evaluations)
    assert [item.event_id for item in history] == [record.event_id for record in records]
    expected = {}
    for item in history:
        expected[check_partition_key(item)] = item
    assert state.latest_checks == expected
