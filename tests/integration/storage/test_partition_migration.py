"""Revision 0002 (partitions): a store written at 0001 opens, upgrades and gains its failures."""

from __future__ import annotations

import sqlite3

from alembic import command
from sqlalchemy import create_engine

from arco_flow.core.events import ErrorInfo, NewEvent, RunFailed, RunStarted, TaskFailed
from arco_flow.core.events import idempotency_key as key_of
from arco_flow.core.keys import AssetKey
from arco_flow.storage.migrator import _config, current_revisions, head_revision
from arco_flow.storage.sql_store import SqlEventStore


def _run_failing_for(partition: str) -> list[NewEvent]:
    plan = {
        "plan_id": "p",
        "version": 1,
        "partition": [partition, None, None],
        "tasks": [["t", "daily", ["daily"], [], 0]],
    }
    events = [
        RunStarted(
            run_id="r", plan_id="p", job_name="j", asset_keys=(AssetKey("daily"),), plan=plan
        ),
        TaskFailed(
            run_id="r", task_id="t", attempt=1, error=ErrorInfo(class_name="E", message="m")
        ),
        RunFailed(run_id="r"),
    ]
    return [NewEvent(event=event, idempotency_key=key_of(event)) for event in events]


def _downgrade_to_0001(path) -> None:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
            assert current_revisions(connection) == ("0001",)
    finally:
        engine.dispose()


def _tables(path) -> set[str]:
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}
    finally:
        connection.close()


def test_a_0001_store_upgrades_and_projects_the_failures_already_in_its_log(tmp_path):
    path = tmp_path / "arco.db"
    with SqlEventStore(path) as store:
        store.append(_run_failing_for("2024-01-02"))
    _downgrade_to_0001(path)
    assert "partition_failures" not in _tables(path)

    with SqlEventStore(path) as store:
        assert {"partition_failures", "dynamic_partitions"} <= _tables(path)
        failures = store.projection_rows()["partition_failures"]
        assert [(row["asset_key"], row["range_start"]) for row in failures.values()] == [
            ("daily", "2024-01-02")
        ]
        assert store.verify() == []
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert current_revisions(connection) == (head_revision(),)
    finally:
        engine.dispose()
