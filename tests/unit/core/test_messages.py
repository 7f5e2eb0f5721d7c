from arco_flow.core.canonical_json import canonical_json, loads
from arco_flow.core.keys import AssetKey
from arco_flow.core.messages import TaskRequest, request_from_data, request_to_data
from arco_flow.core.plan import PlanPartition


def test_task_requests_cross_a_process_as_canonical_json_and_come_back_equal():
    request = TaskRequest(
        run_id="r",
        task_id="t[2024-01-01]",
        attempt=2,
        node="t",
        asset_keys=(AssetKey(["a", "b"]),),
        partition=PlanPartition(key="2024-01-01"),
        run_config={"ops": {"t": {"config": {"x": 1.5}}}},
        code_location="project.definitions",
        timeout_s=30.0,
        tags={"team": "data"},
        check_names=("rows_positive",),
        heartbeat_interval_s=1.0,
        trace_context={"traceparent": "00-abc-def-01"},
    )
    wire = canonical_json(request_to_data(request))
    again = request_from_data(loads(wire))
    assert again == request
    assert again.idempotency_key == "r/t[2024-01-01]/2"
    assert loads(wire)["version"] == 1


def test_held_and_promoted_keys_cross_a_process_and_plain_requests_do_not_carry_them():
    request = TaskRequest(
        run_id="r",
        task_id="orders.promote",
        attempt=1,
        node="orders",
        asset_keys=(),
        held_asset_keys=(AssetKey(["raw", "orders"]),),
        promoted_asset_keys=(AssetKey(["raw", "orders"]),),
    )
    assert request_from_data(loads(canonical_json(request_to_data(request)))) == request
    plain = TaskRequest(run_id="r", task_id="t", attempt=1, node="t", asset_keys=())
    assert "held_asset_keys" not in request_to_data(plain)
