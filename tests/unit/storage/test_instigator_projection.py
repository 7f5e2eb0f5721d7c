"""The fold of an instigator's stream: status, ticks, cursor, the run-key index, the codec."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from arco_flow.core.canonical_json import canonical_json
from arco_flow.core.events import (
    INSTIGATOR_EVENT_TYPES,
    AutomationCursorSnapshotted,
    ErrorInfo,
    Event,
    EventRecord,
    InstigatorStarted,
    InstigatorStopped,
    TickCompleted,
    TickDynamicPartitionsRequested,
    TickFailed,
    TickRunRequested,
    TickSkipped,
    TickStarted,
    event_from_data,
    event_to_data,
    idempotency_key,
    stream_of,
)
from arco_flow.storage.instigator_projection import (
    InstigatorStatus,
    TickStatus,
    restore_instigator_state,
)

NAME = "files"


def records(*events: Event) -> list[EventRecord]:
    return [
        EventRecord(
            event_id=i,
            stream=stream_of(event),
            stream_sequence=i,
            timestamp=float(i * 10),
            event=event,
            idempotency_key=idempotency_key(event, i),
        )
        for i, event in enumerate(events, start=1)
    ]


def started(
    tick_id: str, cursor_after: str | None = None, scheduled: float | None = None
) -> TickStarted:
    return TickStarted(
        instigator_name=NAME,
        tick_id=tick_id,
        instigator_type="sensor",
        timestamp=1.0,
        scheduled_time=scheduled,
        cursor_after=cursor_after,
    )


def request(tick_id: str, run_id: str, run_key: str | None) -> TickRunRequested:
    return TickRunRequested(instigator_name=NAME, tick_id=tick_id, run_id=run_id, run_key=run_key)


def test_the_default_status_applies_until_a_user_starts_or_stops() -> None:
    state = restore_instigator_state(NAME, [])
    assert state.status(default_running=True) is InstigatorStatus.RUNNING
    assert state.status(default_running=False) is InstigatorStatus.STOPPED
    stopped = restore_instigator_state(
        NAME, records(InstigatorStopped(instigator_name=NAME, instigator_type="sensor"))
    )
    assert stopped.status(default_running=True) is InstigatorStatus.STOPPED
    assert stopped.status_changed_time == 10.0
    restarted = restore_instigator_state(
        NAME,
        records(
            InstigatorStopped(instigator_name=NAME, instigator_type="sensor"),
            InstigatorStarted(instigator_name=NAME, instigator_type="sensor"),
        ),
    )
    assert restarted.status(default_running=False) is InstigatorStatus.RUNNING


def test_a_tick_collects_its_requests_and_its_end_moves_the_cursor() -> None:
    state = restore_instigator_state(
        NAME,
        records(
            started("t1", cursor_after="c1", scheduled=5.0),
            request("t1", "r1", "k1"),
            TickDynamicPartitionsRequested(
                instigator_name=NAME,
                tick_id="t1",
                ordinal=0,
                partitions_def_name="customers",
                partition_keys=("a",),
                added=True,
            ),
        ),
    )
    [tick] = state.unfinished_ticks()
    assert [r.run_id for r in tick.run_requests] == ["r1"]
    assert len(tick.partition_requests) == 1
    assert state.cursor is None  # not before the tick ends
    assert state.last_scheduled_time == 5.0
    assert state.run_keys == {"k1": "r1"}
    [completed] = records(
        TickCompleted(instigator_name=NAME, tick_id="t1", run_ids=("r1",), cursor="c1")
    )
    state.apply(completed)
    assert state.cursor == "c1"
    assert state.unfinished_ticks() == []
    assert state.history()[0].status is TickStatus.SUCCESS


def test_a_failed_tick_keeps_the_cursor_and_an_unknown_end_is_ignored() -> None:
    error = ErrorInfo(class_name="ValueError", message="down", stack="Traceback ...")
    state = restore_instigator_state(
        NAME,
        records(
            started("t1", cursor_after="c1"),
            TickSkipped(instigator_name=NAME, tick_id="t1", reason="idle", cursor="c1"),
            started("t2", cursor_after="c2"),
            TickFailed(instigator_name=NAME, tick_id="t2", error=error),
            TickCompleted(instigator_name=NAME, tick_id="nope", cursor="zzz"),
        ),
    )
    assert state.cursor == "c1"
    newest, oldest = state.history()
    assert newest.status is TickStatus.FAILURE
    assert newest.error == error
    assert oldest.status is TickStatus.SKIPPED
    assert oldest.skip_reason == "idle"


def test_a_run_key_keeps_its_first_run() -> None:
    state = restore_instigator_state(
        NAME,
        records(started("t1"), request("t1", "r1", "k"), started("t2"), request("t2", "r2", "k")),
    )
    assert state.run_keys == {"k": "r1"}


def test_a_keyed_request_is_keyed_by_instigator_and_run_key_alone() -> None:
    first, second = request("t1", "r1", "k"), request("t2", "r2", "k")
    assert idempotency_key(first, 0) == idempotency_key(second, 5) == "instigator:files/run_key/k"
    assert idempotency_key(request("t1", "r1", None), 0) != idempotency_key(
        request("t1", "r2", None), 1
    )


@given(
    tick_id=st.text(min_size=1, max_size=20),
    run_key=st.none() | st.text(max_size=20),
    cursor=st.none() | st.text(max_size=40),
)
def test_every_instigator_event_survives_the_codec(
    tick_id: str, run_key: str | None, cursor: str | None
) -> None:
    events: list[Event] = [
        InstigatorStarted(instigator_name=NAME, instigator_type="schedule"),
        InstigatorStopped(instigator_name=NAME, instigator_type="schedule"),
        TickStarted(
            instigator_name=NAME,
            tick_id=tick_id,
            instigator_type="sensor",
            timestamp=1.5,
            cursor_before=cursor,
            cursor_after=cursor,
        ),
        TickRunRequested(
            instigator_name=NAME,
            tick_id=tick_id,
            run_id="r",
            run_key=run_key,
            request={"job_name": "j", "tags": {"a": "b"}, "asset_selection": [["x", "y"]]},
        ),
        TickDynamicPartitionsRequested(
            instigator_name=NAME,
            tick_id=tick_id,
            ordinal=0,
            partitions_def_name="p",
            partition_keys=("a", "b"),
            added=False,
        ),
        TickSkipped(instigator_name=NAME, tick_id=tick_id, reason="r", cursor=cursor),
        TickFailed(
            instigator_name=NAME,
            tick_id=tick_id,
            error=ErrorInfo(class_name="E", message="m", stack="s"),
        ),
        TickCompleted(instigator_name=NAME, tick_id=tick_id, run_ids=("r",), cursor=cursor),
        AutomationCursorSnapshotted(instigator_name=NAME, evaluation_id=3, cursor=cursor or "{}"),
    ]
    assert {type(e) for e in events} == set(INSTIGATOR_EVENT_TYPES)
    for event in events:
        data = event_to_data(event)
        canonical_json(data)
        assert event_from_data(data) == event
