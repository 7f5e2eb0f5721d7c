"""What only the SQLite backend has: a file, WAL, migrations, and a schema version."""

from __future__ import annotations

import sqlite3
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from arco_flow.core.errors import StoreError
from arco_flow.core.events import (
    AssetCheckEvaluated,
    AssetMaterialized,
    AssetObserved,
    ErrorInfo,
    LogRecorded,
    RunCanceled,
    RunCancelRequested,
    RunFailed,
    RunResumed,
    RunSucceeded,
    TaskFailed,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
    TaskUsage,
)
from arco_flow.core.keys import AssetKey
from arco_flow.storage import schema
from arco_flow.storage.memory_store import MemoryEventStore
from arco_flow.storage.migrator import head_revision
from arco_flow.storage.sql_engine import database_url, default_database_path
from arco_flow.storage.sql_store import SqlEventStore
from tests.storage_events import StepClock, failed_run, new, run_started


def _query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def test_a_store_file_is_in_wal_mode_with_its_directory_created(tmp_path):
    path = tmp_path / "home" / "nested" / "arco.db"
    with SqlEventStore(path) as store:
        store.append(failed_run())
    assert _query(path, "PRAGMA journal_mode") == [("wal",)]


def test_reopening_a_store_keeps_its_data(tmp_path):
    path = default_database_path(tmp_path)
    with SqlEventStore(path) as store:
        records = store.append(failed_run())
    with SqlEventStore(f"sqlite:///{path}") as store:
        assert store.read_all() == records
        assert store.get_run("run-1").status.value == "FAILURE"
        more = store.append([new(TaskStarted(run_id="run-1", task_id="x", attempt=1))])
        assert more[0].event_id == len(records) + 1
        assert store.verify() == []


def test_a_store_from_a_newer_arco_flow_is_refused_and_left_unchanged(tmp_path):
    path = tmp_path / "arco.db"
    with SqlEventStore(path) as store:
        store.append(failed_run())
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("UPDATE arco_schema_version SET version_num = '9999_future'")
    connection.close()
    before = _query(path, "SELECT event_id, payload FROM events ORDER BY event_id")

    with pytest.raises(StoreError, match="written by a newer Arco Flow") as caught:
        SqlEventStore(path)
    message = str(caught.value)
    assert "9999_future" in message
    assert f"knows up to {head_revision()}" in message
    assert "Upgrade arco-flow" in message
    assert _query(path, "SELECT version_num FROM arco_schema_version") == [("9999_future",)]
    assert _query(path, "SELECT event_id, payload FROM events ORDER BY event_id") == before


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not a database, just some text " * 100)
    with pytest.raises(StoreError, match=r"cannot open the store at .*notes\.txt"):
        SqlEventStore(path)


def test_an_unsupported_database_url_is_refused():
    with pytest.raises(StoreError, match="supports SQLite"):
        SqlEventStore("postgresql://user:secret@localhost/arco")


def test_paths_become_sqlite_urls_and_urls_stay(tmp_path):
    assert database_url(tmp_path / "a.db") == f"sqlite:///{tmp_path / 'a.db'}"
    assert database_url("sqlite:////x/y.db") == "sqlite:////x/y.db"
    assert default_database_path(tmp_path) == tmp_path / "arco.db"


def test_the_migrations_build_exactly_the_schema_the_code_uses(tmp_path):
    path = tmp_path / "arco.db"
    SqlEventStore(path).close()
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": schema.SCHEMA_VERSION_TABLE}
            )
            assert compare_metadata(context, schema.metadata) == []
            assert context.get_current_revision() == head_revision()
    finally:
        engine.dispose()


def test_appends_from_two_store_objects_on_one_file_interleave_without_conflict(tmp_path):
    path = tmp_path / "arco.db"
    with SqlEventStore(path) as first, SqlEventStore(path) as second:
        events = failed_run()
        for index, event in enumerate(events):
            (first if index % 2 else second).append([event])
        assert [r.event_id for r in first.read_all()] == list(range(1, len(events) + 1))
        assert first.verify() == []


def test_concurrent_writers_on_one_file_never_place_the_same_event_id(tmp_path):
    path = tmp_path / "arco.db"
    SqlEventStore(path).close()

    def write(run_id: str) -> None:
        with SqlEventStore(path) as store:
            for event in failed_run(run_id):
                store.append([event])

    with ThreadPoolExecutor(max_workers=4) as pool:
        for done in [pool.submit(write, f"run-{n}") for n in range(4)]:
            done.result()
    with SqlEventStore(path) as store:
        records = store.read_all()
        assert [r.event_id for r in records] == list(range(1, 4 * len(failed_run()) + 1))
        for n in range(4):
            sequences = [r.stream_sequence for r in store.read_stream(f"run:run-{n}")]
            assert sequences == list(range(1, len(failed_run()) + 1))
        assert store.verify() == []


# Random event sequences


_RUNS = ("r1", "r2", "r3")
_TASKS = ("a", "b", "c")
_KEYS = (AssetKey("a"), AssetKey(["wh", "b"]))
_PARTITIONS = (None, "2024-01-01", "2024-01-02")
_ERROR = ErrorInfo(class_name="ValueError", message="boom")

_run = st.sampled_from(_RUNS)
_task = st.sampled_from(_TASKS)
_attempt = st.integers(min_value=1, max_value=3)
_usage = st.none() | st.builds(
    TaskUsage,
    wall_s=st.floats(0, 100, allow_nan=False),
    cpu_s=st.floats(0, 100, allow_nan=False),
    peak_rss_mb=st.none() | st.floats(0, 1000, allow_nan=False),
)
_event = st.one_of(
    st.builds(lambda run: run_started(run), _run),
    st.builds(lambda run: RunResumed(run_id=run, coordinator={"pid": 2}), _run),
    st.builds(lambda run: RunCancelRequested(run_id=run), _run),
    st.builds(lambda run: RunSucceeded(run_id=run), _run),
    st.builds(lambda run: RunFailed(run_id=run, error=_ERROR), _run),
    st.builds(lambda run: RunCanceled(run_id=run), _run),
    st.builds(lambda r, t, a: TaskStarted(run_id=r, task_id=t, attempt=a), _run, _task, _attempt),
    st.builds(
        lambda r, t, a, u: TaskSucceeded(run_id=r, task_id=t, attempt=a, usage=u),
        _run,
        _task,
        _attempt,
        _usage,
    ),
    st.builds(
        lambda r, t, a, retry, u: TaskFailed(
            run_id=r, task_id=t, attempt=a, error=_ERROR, retry_in_s=retry, usage=u
        ),
        _run,
        _task,
        _attempt,
        st.none() | st.just(1.0),
        _usage,
    ),
    st.builds(lambda r, t: TaskSkipped(run_id=r, task_id=t, reason="upstream"), _run, _task),
    st.builds(
        lambda r, t, k, p, v: AssetMaterialized(
            run_id=r, task_id=t, asset_key=k, partition_key=p, data_version=v
        ),
        _run,
        _task,
        st.sampled_from(_KEYS),
        st.sampled_from(_PARTITIONS),
        st.none() | st.text(st.characters(exclude_categories=["Cs"]), max_size=5),
    ),
    st.builds(
        lambda r, t, k: AssetObserved(run_id=r, task_id=t, asset_key=k),
        _run,
        _task,
        st.sampled_from(_KEYS),
    ),
    st.builds(lambda r: LogRecorded(run_id=r, task_id=None, level="INFO", message="x"), _run),
    st.builds(
        lambda r, t, k, name, passed, p, severity: AssetCheckEvaluated(
            run_id=r,
            task_id=t,
            asset_key=k,
            check_name=name,
            passed=passed,
            severity=severity,
            blocking=not passed,
            partition_key=p,
            metadata={"rows": {"type": "int", "value": 1}},
        ),
        _run,
        _task,
        st.sampled_from(_KEYS),
        st.sampled_from(("not_null", "unique")),
        st.booleans(),
        st.sampled_from(_PARTITIONS),
        st.sampled_from(("ERROR", "WARN")),
    ),
)
# Each event with its own key, or a repeat of an earlier key (a duplicate append).
_items = st.lists(
    st.tuples(_event, st.integers(min_value=0, max_value=30), st.sampled_from(["t1", "t2"])),
    max_size=40,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(items=_items, batch_sizes=st.lists(st.integers(min_value=1, max_value=7), min_size=1))
def test_random_event_sequences_rebuild_to_identical_projections_in_every_backend(
    items, batch_sizes
):
    events = [(new(event, ordinal), tenant) for event, ordinal, tenant in items]
    with tempfile.TemporaryDirectory() as directory:
        sql = SqlEventStore(Path(directory) / "arco.db", clock=StepClock())
        memory = MemoryEventStore(clock=StepClock())
        try:
            start, turn = 0, 0
            while start < len(events):
                size = batch_sizes[turn % len(batch_sizes)]
                batch = events[start : start + size]
                for tenant in ("t1", "t2"):
                    mine = [item for item, owner in batch if owner == tenant]
                    if mine:
                        assert sql.append(mine, tenant_id=tenant) == memory.append(
                            mine, tenant_id=tenant
                        )
                start, turn = start + size, turn + 1

            live = sql.projection_rows()
            assert sql.verify() == []
            assert memory.verify() == []
            assert live == memory.projection_rows()
            sql.rebuild_projections(batch_size=3)
            assert sql.projection_rows() == live
        finally:
            sql.close()
