"""The quarantines projection on every backend, its rebuild, and the 0005 migration."""

from __future__ import annotations

import sqlite3

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from arco_flow.core.events import (
    AssetQuarantined,
    AssetQuarantineDiscarded,
    AssetQuarantineReleased,
    NewEvent,
    idempotency_key,
)
from arco_flow.core.keys import AssetKey
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.memory_store import MemoryEventStore
from arco_flow.storage.migrator import _config, current_revisions
from arco_flow.storage.records import QuarantineStatus
from arco_flow.storage.sql_store import SqlEventStore
from tests.storage_events import StepClock, succeeded_run

ORDERS = AssetKey(["warehouse", "orders"])
USERS = AssetKey("users")


@pytest.fixture(params=["memory", "sqlite"])
def instance(request, tmp_path):
    if request.param == "memory":
        store = MemoryEventStore(clock=StepClock())
    else:
        store = SqlEventStore(tmp_path / "arco.db", clock=StepClock())
    made = ArcoInstance(store, str(tmp_path / "storage"))
    yield made
    made.dispose()


def quarantined(asset=ORDERS, run="r1", partition=None, checks=("positive",)) -> NewEvent:
    event = AssetQuarantined(
        run_id=run,
        task_id="orders",
        asset_key=asset,
        partition_key=partition,
        check_names=checks,
        metadata={"rows": {"type": "int", "value": 3}},
        data_version="v1",
    )
    return NewEvent(event=event, idempotency_key=idempotency_key(event))


def resolved(kind, asset=ORDERS, run="r1", partition=None) -> NewEvent:
    event = kind(asset_key=asset, partition_key=partition, run_id=run, reason="why")
    return NewEvent(event=event, idempotency_key=idempotency_key(event))


def listed(records):
    return [
        (r.asset_key.to_user_string(), r.partition_key, r.run_id, r.status.value) for r in records
    ]


def test_quarantines_list_by_status_and_asset_oldest_first(instance):
    instance.append([quarantined(run="r1"), quarantined(USERS, run="r1")])
    instance.append([quarantined(run="r2", partition="a"), quarantined(run="r2", partition="b")])
    instance.append([resolved(AssetQuarantineReleased, run="r2", partition="a")])
    instance.append([resolved(AssetQuarantineDiscarded, USERS, run="r1")])

    assert listed(instance.get_quarantines()) == [
        ("warehouse/orders", None, "r1", "quarantined"),
        ("warehouse/orders", "b", "r2", "quarantined"),
    ]
    assert listed(instance.get_quarantines(USERS, status=None)) == [
        ("users", None, "r1", "discarded")
    ]
    [released] = instance.get_quarantines(status=QuarantineStatus.RELEASED)
    assert released.check_names == ("positive",)
    assert released.metadata == {"rows": {"type": "int", "value": 3}}
    assert released.data_version == "v1"
    assert released.resolved_event_id is not None
    assert instance.verify() == []


def test_a_second_decision_on_one_value_collapses(instance):
    instance.append([quarantined()])
    instance.append([resolved(AssetQuarantineReleased)])
    instance.append([resolved(AssetQuarantineDiscarded)])
    assert listed(instance.get_quarantines(status=None)) == [
        ("warehouse/orders", None, "r1", "released")
    ]


def test_a_decision_on_an_unknown_value_changes_nothing(instance):
    instance.append([resolved(AssetQuarantineReleased, run="nowhere")])
    assert instance.get_quarantines(status=None) == []
    assert instance.verify() == []


_steps = st.lists(
    st.tuples(
        st.sampled_from(["quarantine", "release", "discard"]),
        st.sampled_from([ORDERS, USERS]),
        st.sampled_from(["r1", "r2"]),
        st.sampled_from([None, "a"]),
    ),
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=_steps)
def test_memory_and_sqlite_agree_and_rebuild_to_the_same_rows(tmp_path_factory, steps):
    folder = tmp_path_factory.mktemp("quarantines")
    memory = ArcoInstance(MemoryEventStore(clock=StepClock()), None)
    sqlite_instance = ArcoInstance(SqlEventStore(folder / "arco.db", clock=StepClock()), None)
    try:
        for kind, asset, run, partition in steps:
            if kind == "quarantine":
                batch = [quarantined(asset, run, partition)]
            else:
                event_kind = (
                    AssetQuarantineReleased if kind == "release" else AssetQuarantineDiscarded
                )
                batch = [resolved(event_kind, asset, run, partition)]
            memory.append(batch)
            sqlite_instance.append(batch)
        expected = listed(memory.get_quarantines(status=None))
        assert listed(sqlite_instance.get_quarantines(status=None)) == expected
        assert memory.verify() == []
        assert sqlite_instance.verify() == []
        sqlite_instance.rebuild_projections()
        assert listed(sqlite_instance.get_quarantines(status=None)) == expected
    finally:
        memory.dispose()
        sqlite_instance.dispose()


def _tables(path) -> set[str]:
    connection = sqlite3.connect(path)
    try:
        return {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
    finally:
        connection.close()


def test_a_0004_store_upgrades_and_projects_the_quarantines_in_its_log(tmp_path):
    path = tmp_path / "arco.db"
    with SqlEventStore(path) as store:
        store.append(succeeded_run("r1"))
        store.append([quarantined()])
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0004")
            assert current_revisions(connection) == ("0004",)
    finally:
        engine.dispose()
    assert "asset_quarantines" not in _tables(path)

    with ArcoInstance(SqlEventStore(path), None) as instance:
        assert "asset_quarantines" in _tables(path)
        assert listed(instance.get_quarantines()) == [
            ("warehouse/orders", None, "r1", "quarantined")
        ]
        assert instance.verify() == []
