"""`execute_task` for range and dynamic-key requests, as a pool worker receives them."""

import dataclasses

import arco_flow as af
from arco_flow.core.canonical_json import canonical_json, loads
from arco_flow.core.events import AssetMaterialized
from arco_flow.core.keys import AssetKey
from arco_flow.core.messages import TaskRequest, request_from_data, request_to_data
from arco_flow.core.partitions import StaticPartitionsDefinition
from arco_flow.core.plan import PlanPartition
from arco_flow.worker.executor import WorkerSession, execute_task

LETTERS = StaticPartitionsDefinition(["a", "b", "c", "d"])


@af.asset(partitions_def=LETTERS)
def letters(context):
    return {key: key.upper() for key in context.partition_keys}


def test_a_range_request_crosses_the_wire_and_runs_over_every_key_of_the_range():
    request = TaskRequest(
        run_id="r",
        task_id="letters[b...d]",
        attempt=1,
        node="letters",
        asset_keys=(AssetKey("letters"),),
        partition=PlanPartition(range_start="b", range_end="d"),
    )
    received = request_from_data(loads(canonical_json(request_to_data(request))))
    assert received == request
    storage = af.InMemoryIOManager()
    session = WorkerSession(af.Definitions(assets=[letters]), {"io_manager": storage})
    events = []
    outcome = execute_task(received, session, events.append)
    assert outcome.succeeded, outcome.error
    assert [e.partition_key for e in events if isinstance(e, AssetMaterialized)] == [
        "b",
        "c",
        "d",
    ]
    assert storage.values == {("letters", k): k.upper() for k in "bcd"}


CUSTOMERS = af.DynamicPartitionsDefinition(name="customers")


@af.asset(partitions_def=CUSTOMERS)
def orders(context):
    return {key: f"orders of {key}" for key in context.partition_keys}


@af.asset(partitions_def=CUSTOMERS)
def invoices(context, orders):
    return {key: value.upper() for key, value in orders.items()}


def dynamic_request(node, keys):
    return TaskRequest(
        run_id="r",
        task_id=f"{node}[a...c]",
        attempt=1,
        node=node,
        asset_keys=(AssetKey(node),),
        partition=PlanPartition(range_start="a", range_end="c"),
        dynamic_partitions={"customers": keys},
    )


def test_a_request_carries_its_dynamic_keys_across_the_wire_and_the_worker_runs_on_them():
    request = dynamic_request("orders", ("a", "b", "c", "d"))
    received = request_from_data(loads(canonical_json(request_to_data(request))))
    assert received == request
    storage = af.InMemoryIOManager()
    # No instance, no store: the worker learns the keys from the request alone.
    session = WorkerSession(af.Definitions(assets=[orders, invoices]), {"io_manager": storage})
    outcome = execute_task(received, session, [].append)
    assert outcome.succeeded, outcome.error
    assert sorted(key for _, key in storage.values) == ["a", "b", "c"]
    outcome = execute_task(dynamic_request("invoices", ("a", "b", "c", "d")), session, [].append)
    assert outcome.succeeded, outcome.error
    assert storage.values[("invoices", "b")] == "ORDERS OF B"


def test_a_request_without_dynamic_keys_leaves_them_out_of_its_data():
    request = TaskRequest(run_id="r", task_id="t", attempt=1, node="n", asset_keys=())
    assert "dynamic_partitions" not in request_to_data(request)
    assert request_from_data(request_to_data(request)).dynamic_partitions == {}


def test_a_dynamic_task_whose_request_lacks_the_keys_fails_naming_the_definition():
    bare = dataclasses.replace(dynamic_request("orders", ("a",)), dynamic_partitions={})
    session = WorkerSession(af.Definitions(assets=[orders]), {"io_manager": af.InMemoryIOManager()})
    outcome = execute_task(bare, session, [].append)
    assert not outcome.succeeded
    assert "did not read the keys of dynamic partitions 'customers'" in outcome.error.message
