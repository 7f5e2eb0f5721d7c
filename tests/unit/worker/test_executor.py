"""`execute_task` for requests over a partition range, as a pool worker receives them."""

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
