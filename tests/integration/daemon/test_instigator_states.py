"""A daemon's instigator states start from the projection and read only the stream's tail."""

from __future__ import annotations

import pytest

from arco_flow.core.events import (
    NewEvent,
    TickRunRequested,
    TickSkipped,
    TickStarted,
    idempotency_key,
)
from arco_flow.daemon.ticks import InstigatorStates
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import instigator_stream, restore_instigator_state
from arco_flow.storage.memory_store import MemoryEventStore
from arco_flow.storage.sql_store import SqlEventStore
from tests.storage_events import StepClock

SENSOR = "files"


@pytest.fixture(params=["memory", "sqlite"])
def instance(request, tmp_path):
    if request.param == "memory":
        store = MemoryEventStore(clock=StepClock())
    else:
        store = SqlEventStore(tmp_path / "arco.db", clock=StepClock())
    made = ArcoInstance(store, str(tmp_path / "storage"))
    yield made
    made.dispose()


def new(event) -> NewEvent:
    return NewEvent(event=event, idempotency_key=idempotency_key(event))


def tick(tick_id: str, cursor: str) -> TickStarted:
    return TickStarted(
        instigator_name=SENSOR,
        tick_id=tick_id,
        instigator_type="sensor",
        timestamp=1.0,
        cursor_after=cursor,
    )


def finished_ticks(instance: ArcoInstance, count: int) -> None:
    for index in range(count):
        tick_id = f"t{index}"
        instance.append(
            [
                new(tick(tick_id, str(index))),
                new(TickSkipped(instigator_name=SENSOR, tick_id=tick_id, cursor=str(index))),
            ]
        )


@pytest.fixture
def records_read(instance, monkeypatch):
    """How many records the daemon's reads of the instigator's stream returned."""
    read: list[int] = []
    original = instance.read_stream

    def counting(stream, **options):
        records = original(stream, **options)
        read.append(len(records))
        return records

    monkeypatch.setattr(instance, "read_stream", counting)
    return read


def test_a_restart_after_many_finished_ticks_reads_only_the_unfinished_tail(instance, records_read):
    finished_ticks(instance, 200)
    request = TickRunRequested(
        instigator_name=SENSOR, tick_id="open", run_id="r1", request={"job_name": "job"}
    )
    instance.append([new(tick("open", "new-cursor")), new(request)])
    late_end = TickSkipped(instigator_name=SENSOR, tick_id="t-late", cursor="late")
    instance.append([new(tick("t-late", "late")), new(late_end)])

    state = InstigatorStates(instance).get(SENSOR)

    assert sum(records_read) == 4  # the unfinished tick's TickStarted and what follows it
    [unfinished] = state.unfinished_ticks()
    assert unfinished.tick_id == "open"
    assert unfinished.run_requests == (request,)
    assert unfinished.cursor_after == "new-cursor"  # read from the log, not the projection
    whole = restore_instigator_state(SENSOR, instance.read_stream(instigator_stream(SENSOR)))
    assert (state.cursor, state.last_tick_time, state.last_completion_time) == (
        whole.cursor,
        whole.last_tick_time,
        whole.last_completion_time,
    )
    assert state.seen_sequence == whole.seen_sequence
    assert state.run_keys == {}


def test_a_restart_with_no_unfinished_tick_reads_nothing_and_goes_on_incrementally(
    instance, records_read
):
    finished_ticks(instance, 100)
    states = InstigatorStates(instance)

    state = states.get(SENSOR)

    assert sum(records_read) == 0
    assert state.cursor == "99"
    assert state.ticks == {}
    instance.append([new(tick("next", "100"))])
    assert [t.tick_id for t in states.get(SENSOR).unfinished_ticks()] == ["next"]
    assert sum(records_read) == 1
