"""Streams beyond runs: dynamic partition events, their streams, keys and codec."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_flow.core.events import (
    EVENT_TYPES,
    BackfillChunkLaunched,
    BackfillPaused,
    DynamicPartitionsAdded,
    DynamicPartitionsDeleted,
    EventRecord,
    RunStarted,
    TaskStarted,
    event_from_data,
    event_to_data,
    idempotency_key,
    run_id_of,
    stream_of,
)

ADDED = DynamicPartitionsAdded(partitions_def_name="customers", partition_keys=("a", "b"))


def test_every_event_class_names_its_stream_prefix_and_field():
    for cls in EVENT_TYPES.values():
        assert cls.STREAM_FIELD in cls.__dataclass_fields__
        assert cls.STREAM_PREFIX in {
            "run",
            "partitions",
            "backfill",
            "quarantine",
            "instigator",
            "daemon",
            "freshness",  # freshness policies (issue 6, item 5)
        }


def test_run_events_stream_by_run_and_partition_events_by_definition():
    assert stream_of(TaskStarted(run_id="r1", task_id="t", attempt=1)) == "run:r1"
    assert stream_of(ADDED) == "partitions:customers"
    deleted = DynamicPartitionsDeleted(partitions_def_name="x", partition_keys=("a",))
    assert stream_of(deleted) == "partitions:x"


def test_a_record_outside_a_run_has_no_run_id():
    record = EventRecord(
        event_id=1,
        stream="partitions:customers",
        stream_sequence=1,
        timestamp=0.0,
        event=ADDED,
        idempotency_key="k",
    )
    assert record.run_id is None
    assert run_id_of(ADDED) is None
    assert run_id_of(RunStarted(run_id="r", plan_id="p", job_name="j")) == "r"


def test_partition_change_keys_differ_by_ordinal_and_by_keys():
    first, second = idempotency_key(ADDED, "u1"), idempotency_key(ADDED, "u2")
    assert first != second
    assert first.startswith("partitions:customers/partitions.added/1/")
    other = DynamicPartitionsAdded(partitions_def_name="customers", partition_keys=("a", "c"))
    assert idempotency_key(other, "u1") != first
    deleted = DynamicPartitionsDeleted(partitions_def_name="customers", partition_keys=("a", "b"))
    assert idempotency_key(deleted, "u1") != first


@given(st.lists(st.text(min_size=1), max_size=20))
def test_partition_events_round_trip_through_their_data_form(keys):
    for cls in (DynamicPartitionsAdded, DynamicPartitionsDeleted):
        event = cls(partitions_def_name="n", partition_keys=tuple(keys))
        assert event_from_data(event_to_data(event)) == event


@pytest.mark.parametrize("keys", [(), ("only",)])
def test_short_key_tuples_encode_as_lists(keys):
    data = event_to_data(DynamicPartitionsAdded(partitions_def_name="n", partition_keys=keys))
    assert data["data"]["partition_keys"] == list(keys)


def test_backfill_events_stream_by_backfill_and_repeat_by_attempt_or_ordinal():
    launched = BackfillChunkLaunched(backfill_id="b1", chunk_id=3, run_id="r", attempt=2)
    paused = BackfillPaused(backfill_id="b1")
    assert stream_of(launched) == stream_of(paused) == "backfill:b1"
    assert run_id_of(launched) is None
    assert idempotency_key(launched) == idempotency_key(launched, 7)  # one per attempt
    again = BackfillChunkLaunched(backfill_id="b1", chunk_id=3, run_id="r2", attempt=3)
    assert idempotency_key(again) != idempotency_key(launched)
    assert idempotency_key(paused, 4) != idempotency_key(paused, 9)
    assert event_from_data(event_to_data(launched)) == launched
