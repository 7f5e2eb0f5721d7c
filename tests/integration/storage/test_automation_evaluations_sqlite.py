"""The automation evaluations table of a SQLite store: filled on query, never by the append,
shared by every process that opens the file, and added to stores of earlier revisions (0006)."""

from __future__ import annotations

import sqlite3

from alembic import command
from sqlalchemy import create_engine

from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.migrator import _config, current_revisions, head_revision
from arco_flow.storage.sql_store import SqlEventStore
from tests.integration.storage.test_automation_evaluations_conformance import (
    DOWN,
    LETTERED,
    _folded,
    _record_ticks,
)


def _count(path, table: str) -> int:
    connection = sqlite3.connect(path)
    try:
        [(count,)] = connection.execute(f"SELECT count(*) FROM {table}")
        return int(count)
    finally:
        connection.close()


def test_recording_ticks_writes_no_evaluation_row_until_a_query(tmp_path):
    path = tmp_path / "arco.db"
    with ArcoInstance(SqlEventStore(path), None) as instance:
        _record_ticks(instance, 1, 5)
        assert _count(path, "automation_evaluations") == 0
        assert _count(path, "automation_evaluation_checkpoints") == 0
        instance.get_automation_evaluations(DOWN)
        assert _count(path, "automation_evaluations") == 5 + 3  # down 5 times, lettered 3
        assert _count(path, "automation_evaluation_checkpoints") == 1


def test_two_stores_on_one_file_fold_each_tick_once_across_a_rebuild(tmp_path):
    path = tmp_path / "arco.db"
    with (
        ArcoInstance(SqlEventStore(path), None) as first,
        ArcoInstance(SqlEventStore(path), None) as second,
    ):
        _record_ticks(first, 1, 4)
        assert first.get_automation_evaluations(DOWN) == _folded(first, DOWN)
        _record_ticks(first, 5, 6)
        assert second.get_automation_evaluations(LETTERED) == _folded(first, LETTERED)
        second.rebuild_projections()  # empties the rows the first store folded
        _record_ticks(second, 7, 8)
        assert first.get_automation_evaluations(DOWN) == _folded(first, DOWN)
        assert second.get_automation_evaluations(DOWN) == _folded(first, DOWN)
        assert _count(path, "automation_evaluations") == 8 + 4


def test_a_0005_store_upgrades_and_folds_the_ticks_already_in_its_log(tmp_path):
    path = tmp_path / "arco.db"
    with ArcoInstance(SqlEventStore(path), None) as instance:
        _record_ticks(instance, 1, 3)
        expected = _folded(instance, DOWN)
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0005")
            assert current_revisions(connection) == ("0005",)
    finally:
        engine.dispose()

    with ArcoInstance(SqlEventStore(path), None) as instance:
        assert _count(path, "automation_evaluations") == 0
        assert instance.get_automation_evaluations(DOWN) == expected
        assert [record.evaluation_id for record in expected] == [3, 2, 1]
        assert instance.verify() == []
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert current_revisions(connection) == (head_revision(),)
    finally:
        engine.dispose()
