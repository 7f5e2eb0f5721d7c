"""Revision 0004 (asset checks): a store written at 0003 opens, upgrades and gains its checks."""

from __future__ import annotations

import sqlite3

from alembic import command
from sqlalchemy import create_engine

from arco_flow.core.events import AssetCheckEvaluated, NewEvent
from arco_flow.core.events import idempotency_key as key_of
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.migrator import _config, current_revisions, head_revision
from arco_flow.storage.sql_store import SqlEventStore
from tests.storage_events import succeeded_run

ORDERS = AssetKey("orders")


def _evaluations() -> list[NewEvent]:
    events = [
        AssetCheckEvaluated(
            run_id="r", task_id="orders", asset_key=ORDERS, check_name="not_null", passed=passed
        )
        for passed in (False, True)
    ]
    return [
        NewEvent(event=event, idempotency_key=key_of(event, n)) for n, event in enumerate(events)
    ]


def _downgrade_to_0003(path) -> None:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0003")
            assert current_revisions(connection) == ("0003",)
    finally:
        engine.dispose()


def _tables(path) -> set[str]:
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}
    finally:
        connection.close()


def test_a_0003_store_upgrades_and_projects_the_check_evaluations_in_its_log(tmp_path):
    path = tmp_path / "arco.db"
    with SqlEventStore(path) as store:
        store.append(succeeded_run("r"))
        store.append(_evaluations())
    _downgrade_to_0003(path)
    assert "asset_check_evaluations" not in _tables(path)
    assert "latest_asset_check_evaluations" not in _tables(path)

    with ArcoInstance(SqlEventStore(path), None) as instance:
        assert {"asset_check_evaluations", "latest_asset_check_evaluations"} <= _tables(path)
        history = instance.get_asset_check_execution_history(AssetCheckKey(ORDERS, "not_null"))
        assert [item.passed for item in history] == [True, False]
        assert [item.passed for item in instance.get_latest_asset_check_evaluations()] == [True]
        assert len(instance.get_runs()) == 1
        assert instance.verify() == []
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert current_revisions(connection) == (head_revision(),)
    finally:
        engine.dispose()
