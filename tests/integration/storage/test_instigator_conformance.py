"""The schedule and sensor projections on every backend: equal to folding the stream."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from arco_flow.core.events import (
    ErrorInfo,
    Event,
    InstigatorStarted,
    InstigatorStopped,
    NewEvent,
    TickCompleted,
    TickDynamicPartitionsRequested,
    TickFailed,
    TickRunRequested,
    TickSkipped,
    TickStarted,
    idempotency_key,
)
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import (
    AUTOMATION_INSTIGATOR_NAME,
    InstigatorState,
    TickRecord,
    TickStatus,
    instigator_stream,
    restore_instigator_state,
)
from arco_flow.storage.memory_store import MemoryEventStore
from arco_flow.storage.migrator import _config, current_revisions
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


def new(event: Event, ordinal: int | str = 0) -> NewEvent:
    return NewEvent(event=event, idempotency_key=idempotency_key(event, ordinal))


def started(name: str, tick_id: str, *, cursor: str | None = None, before: str | None = None):
    return TickStarted(
        instigator_name=name,
        tick_id=tick_id,
        instigator_type="sensor",
        timestamp=float(len(tick_id)),
        scheduled_time=None,
        cursor_before=before,
        cursor_after=cursor,
    )


def requested(name: str, tick_id: str, run_id: str, run_key: str | None = None):
    return TickRunRequested(
        instigator_name=name,
        tick_id=tick_id,
        run_id=run_id,
        run_key=run_key,
        request={"job_name": "job", "tags": {"k": "v"}, "asset_selection": [["a", "b"]]},
    )


def projected(tick: TickRecord) -> TickRecord:
    """What the projection keeps of a folded tick: never a `TickStarted`'s cursor_after."""
    if tick.instigator_name == AUTOMATION_INSTIGATOR_NAME:
        return dataclasses.replace(tick, cursor_before=None, cursor_after=None)
    if tick.status in (TickStatus.STARTED, TickStatus.FAILURE):
        return dataclasses.replace(tick, cursor_after=None)
    return tick


def folded(instance: ArcoInstance, name: str) -> InstigatorState:
    return restore_instigator_state(name, instance.read_stream(instigator_stream(name)))


def summary(state: InstigatorState) -> tuple:
    return (
        state.name,
        state.user_status,
        state.status_changed_time,
        state.cursor,
        state.last_scheduled_time,
        state.last_tick_time,
        state.last_completion_time,
        state.seen_sequence,
    )


def assert_matches_the_fold(instance: ArcoInstance, name: str) -> None:
    fold = folded(instance, name)
    history = [projected(tick) for tick in fold.history()]
    assert instance.get_ticks(name) == history
    assert instance.get_ticks(name, limit=2) == history[:2]
    state = instance.get_instigator_state(name)
    expected = summary(fold)
    if name == AUTOMATION_INSTIGATOR_NAME:
        expected = (*expected[:3], None, *expected[4:])
    assert summary(state) == expected
    newest = fold.history(1)
    kept = {t.tick_id for t in fold.unfinished_ticks()} | {t.tick_id for t in newest}
    assert list(state.ticks.values()) == [
        projected(tick) for tick in fold.ticks.values() if tick.tick_id in kept
    ]
    # Looked up one at a time in the log: exact. Listed from the ticks' rows: a request
    # for a tick never recorded (no writer appends one) is not among them.
    assert {key: state.run_keys.get(key) for key in fold.run_keys} == fold.run_keys
    assert dict(state.run_keys).items() <= fold.run_keys.items()


def test_ticks_and_state_read_from_the_projection_equal_the_fold(instance):
    instance.append([new(InstigatorStopped(instigator_name=SENSOR, instigator_type="sensor"))])
    instance.append(
        [new(started(SENSOR, "t1", cursor="1")), new(requested(SENSOR, "t1", "r1", "k"))]
    )
    instance.append(
        [new(TickCompleted(instigator_name=SENSOR, tick_id="t1", run_ids=("r1",), cursor="1"))]
    )
    instance.append(
        [
            new(started(SENSOR, "t2", cursor="2", before="1")),
            new(TickSkipped(instigator_name=SENSOR, tick_id="t2", reason="none", cursor="2")),
        ]
    )
    instance.append([new(started(SENSOR, "t3", cursor="3", before="2"))])
    instance.append([new(InstigatorStarted(instigator_name=SENSOR, instigator_type="sensor"), 1)])

    assert [t.tick_id for t in instance.get_ticks(SENSOR)] == ["t3", "t2", "t1"]
    assert [t.cursor_before for t in instance.get_ticks(SENSOR)] == ["2", "1", None]
    [unfinished] = [t for t in instance.get_ticks(SENSOR) if not t.is_finished]
    assert unfinished.cursor_after is None  # the evaluation's cursor stays in the log
    state = instance.get_instigator_state(SENSOR)
    assert state.cursor == "2"
    assert state.run_keys == {"k": "r1"}
    assert state.run_keys.get("other") is None
    assert_matches_the_fold(instance, SENSOR)
    assert instance.verify() == []


def test_the_automation_instigator_keeps_no_cursor_in_its_rows(instance):
    cursor = '{"x":"' + "y" * 100_000 + '"}'
    name = AUTOMATION_INSTIGATOR_NAME
    instance.append([new(started(name, "e1", cursor=cursor)), new(requested(name, "e1", "r1"))])
    instance.append([new(TickCompleted(instigator_name=name, tick_id="e1", run_ids=("r1",)))])
    instance.append([new(started(name, "e2", cursor=cursor))])

    rows = instance.storage.projection_rows()
    assert all(row["cursor_after"] is None for row in rows["instigator_ticks"].values())
    assert all(row["cursor"] is None for row in rows["instigator_states"].values())
    [newest, first] = instance.get_ticks(name)
    assert [r.run_id for r in first.run_requests] == ["r1"]
    assert newest.status is TickStatus.STARTED
    assert_matches_the_fold(instance, name)


def test_a_limit_is_applied_newest_first(instance):
    for index in range(30):
        tick_id = f"t{index:02}"
        instance.append(
            [
                new(started(SENSOR, tick_id)),
                new(TickSkipped(instigator_name=SENSOR, tick_id=tick_id, reason="none")),
            ]
        )
    assert [t.tick_id for t in instance.get_ticks(SENSOR, limit=3)] == ["t29", "t28", "t27"]
    assert len(instance.get_ticks(SENSOR)) == 30
    assert list(instance.get_instigator_state(SENSOR).ticks) == ["t29"]


_names = st.sampled_from([SENSOR, AUTOMATION_INSTIGATOR_NAME])
_ticks = st.sampled_from(["t1", "t2", "t3"])
_steps = st.lists(
    st.one_of(
        st.tuples(st.just("start"), _names, _ticks, st.sampled_from([None, "c1", "c2"])),
        st.tuples(st.just("request"), _names, _ticks, st.sampled_from([None, "k1", "k2"])),
        st.tuples(st.just("partitions"), _names, _ticks, st.integers(0, 2)),
        st.tuples(st.just("complete"), _names, _ticks, st.sampled_from([None, "c3"])),
        st.tuples(st.just("skip"), _names, _ticks, st.sampled_from([None, "c4"])),
        st.tuples(st.just("fail"), _names, _ticks, st.none()),
        st.tuples(st.sampled_from(["on", "off"]), _names, st.none(), st.none()),
    ),
    max_size=16,
)


def _event(kind: str, name: str, tick_id: str | None, value, index: int) -> NewEvent:
    if kind == "on":
        return new(InstigatorStarted(instigator_name=name, instigator_type="sensor"), index)
    if kind == "off":
        return new(InstigatorStopped(instigator_name=name, instigator_type="sensor"), index)
    assert tick_id is not None
    if kind == "start":
        return new(started(name, tick_id, cursor=value, before=value and value + "-before"))
    if kind == "request":
        return new(requested(name, tick_id, f"r{index}", value), index)
    if kind == "partitions":
        event = TickDynamicPartitionsRequested(
            instigator_name=name,
            tick_id=tick_id,
            ordinal=value,
            partitions_def_name="customers",
            partition_keys=("a", "b"),
            added=True,
        )
        return new(event)
    if kind == "complete":
        return new(
            TickCompleted(
                instigator_name=name,
                tick_id=tick_id,
                run_ids=(f"r{index}",),
                cursor=value,
                skipped_run_keys=("k9",),
            )
        )
    if kind == "skip":
        return new(TickSkipped(instigator_name=name, tick_id=tick_id, reason="why", cursor=value))
    error = ErrorInfo(class_name="ValueError", message="bad", stack=())
    return new(TickFailed(instigator_name=name, tick_id=tick_id, error=error))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=_steps, batch=st.integers(1, 3))
def test_any_tick_sequence_projects_to_the_fold_on_every_backend(tmp_path_factory, steps, batch):
    folder = tmp_path_factory.mktemp("instigators")
    memory = ArcoInstance(MemoryEventStore(clock=StepClock()), None)
    sqlite_instance = ArcoInstance(SqlEventStore(folder / "arco.db", clock=StepClock()), None)
    try:
        events = [_event(*step, index) for index, step in enumerate(steps)]
        for start in range(0, len(events), batch):
            memory.append(events[start : start + batch])
            sqlite_instance.append(events[start : start + batch])
        for made in (memory, sqlite_instance):
            for name in (SENSOR, AUTOMATION_INSTIGATOR_NAME):
                assert_matches_the_fold(made, name)
            assert made.verify() == []
        sqlite_instance.rebuild_projections()
        for name in (SENSOR, AUTOMATION_INSTIGATOR_NAME):
            assert_matches_the_fold(sqlite_instance, name)
    finally:
        memory.dispose()
        sqlite_instance.dispose()


def _tables(path) -> set[str]:
    connection = sqlite3.connect(path)
    try:
        return {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
    finally:
        connection.close()


def test_a_0006_store_upgrades_and_projects_the_ticks_in_its_log(tmp_path):
    path = tmp_path / "arco.db"
    with SqlEventStore(path) as store:
        store.append([new(started(SENSOR, "t1", cursor="1"))])
        store.append([new(TickSkipped(instigator_name=SENSOR, tick_id="t1", cursor="1"))])
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0006")
            assert current_revisions(connection) == ("0006",)
    finally:
        engine.dispose()
    assert "instigator_ticks" not in _tables(path)

    with ArcoInstance(SqlEventStore(path), None) as instance:
        assert {"instigator_ticks", "instigator_states"} <= _tables(path)
        [tick] = instance.get_ticks(SENSOR)
        assert (tick.tick_id, tick.status, tick.cursor_after) == ("t1", TickStatus.SKIPPED, "1")
        assert instance.get_instigator_state(SENSOR).cursor == "1"
        assert instance.verify() == []
