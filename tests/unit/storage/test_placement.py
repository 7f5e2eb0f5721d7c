from arco_flow.core.events import NewEvent, TaskStarted
from arco_flow.storage.placement import place_events, streams_of
from tests.storage_events import new, run_started


def place(events, stored=None, last_event_id=0, heads=None):
    return place_events(
        events,
        stored=stored or {},
        last_event_id=last_event_id,
        stream_heads=heads or {},
        timestamp=5.0,
        tenant_id="t",
        workspace_id="w",
    )


def test_ids_continue_the_log_and_sequences_continue_each_stream():
    events = [
        new(run_started("r1")),
        new(run_started("r2")),
        new(TaskStarted(run_id="r1", task_id="a", attempt=1)),
    ]
    placement = place(events, last_event_id=10, heads={"run:r1": 3})
    assert [(r.event_id, r.stream, r.stream_sequence) for r in placement.records] == [
        (11, "run:r1", 4),
        (12, "run:r2", 1),
        (13, "run:r1", 5),
    ]
    assert placement.new == placement.records
    assert {(r.timestamp, r.tenant_id, r.workspace_id) for r in placement.records} == {
        (5.0, "t", "w")
    }


def test_a_stored_key_returns_the_stored_record_and_is_not_placed():
    first = place([new(run_started("r1"))]).records[0]
    placement = place(
        [new(run_started("r1")), new(run_started("r2"))],
        stored={first.idempotency_key: first},
        last_event_id=1,
    )
    assert placement.records[0] is first
    assert [r.event_id for r in placement.new] == [2]


def test_a_key_repeated_in_the_batch_returns_its_first_record():
    a = new(run_started("r1"))
    again = NewEvent(
        event=run_started("r1", job_name="other"), idempotency_key=a.idempotency_key, actor="x"
    )
    placement = place([a, again])
    assert placement.records[1] is placement.records[0]
    assert len(placement.new) == 1
    assert placement.new[0].event.job_name == "__asset_job"


def test_the_envelope_comes_from_the_new_event():
    item = NewEvent(
        event=run_started("r1"),
        idempotency_key="k",
        actor="user:ana",
        trace_context={"traceparent": "00"},
    )
    (record,) = place([item]).records
    assert (record.idempotency_key, record.actor, record.trace_context) == (
        "k",
        "user:ana",
        {"traceparent": "00"},
    )


def test_streams_of_a_batch():
    assert streams_of(
        [new(run_started("r1")), new(run_started("r2")), new(run_started("r1"), 1)]
    ) == {"run:r1", "run:r2"}
