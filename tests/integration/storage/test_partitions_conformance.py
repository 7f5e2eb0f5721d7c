"""Dynamic partitions and partition status through the instance, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from arco_flow.core.errors import PartitionError
from arco_flow.core.events import (
    AssetMaterialized,
    DynamicPartitionsAdded,
    ErrorInfo,
    NewEvent,
    RunCanceled,
    RunFailed,
    RunStarted,
    TaskFailed,
    idempotency_key,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    DynamicPartitionsStore,
    StaticPartitionsDefinition,
)
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.memory_store import MemoryEventStore
from arco_flow.storage.sql_store import SqlEventStore

ASSET = AssetKey("daily")
DAILY = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")
"""Ten partitions, 2024-01-01 to 2024-01-10."""
NOW = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def instance(request, tmp_path):
    if request.param == "memory":
        made = ArcoInstance(MemoryEventStore(), str(tmp_path / "storage"))
    else:
        made = ArcoInstance(SqlEventStore(tmp_path / "arco.db"), str(tmp_path / "storage"))
    yield made
    made.dispose()


def _other_tenant(instance: ArcoInstance) -> ArcoInstance:
    return ArcoInstance(instance.storage, None, tenant_id="other")


def _append(instance: ArcoInstance, *events) -> None:
    instance.append([NewEvent(event=e, idempotency_key=idempotency_key(e)) for e in events])


def _started(run_id: str, start: str, end: str | None = None, asset: AssetKey = ASSET):
    partition = [start, None, None] if end is None else [None, start, end]
    task = [run_id + "-t", "node", [asset.to_user_string()], [], 0]
    plan = {"plan_id": "p", "version": 1, "partition": partition, "tasks": [task]}
    return RunStarted(run_id=run_id, plan_id="p", job_name="job", asset_keys=(asset,), plan=plan)


def _materialized(run_id: str, key: str, asset: AssetKey = ASSET):
    return AssetMaterialized(
        run_id=run_id, task_id=run_id + "-t", asset_key=asset, partition_key=key
    )


def _failed(run_id: str, *, retry_in_s: float | None = None, attempt: int = 1):
    return TaskFailed(
        run_id=run_id,
        task_id=run_id + "-t",
        attempt=attempt,
        error=ErrorInfo(class_name="ValueError", message="bad"),
        retry_in_s=retry_in_s,
    )


def _status_keys(instance: ArcoInstance, partitions_def=DAILY, asset=ASSET):
    status = instance.get_partition_status(asset, partitions_def, current_time=NOW)
    return {
        "materialized": status.materialized.get_partition_keys(),
        "failed": status.failed.get_partition_keys(),
        "in_progress": status.in_progress.get_partition_keys(),
        "missing": status.missing.get_partition_keys(),
    }


# Dynamic partitions


def test_the_instance_is_a_dynamic_partitions_store(instance):
    assert isinstance(instance, DynamicPartitionsStore)


def test_keys_list_in_the_order_they_were_added_and_re_adding_changes_nothing(instance):
    instance.add_dynamic_partitions("customers", ["b", "a", "c"])
    instance.add_dynamic_partitions("customers", ["a", "d", "d", "b"])
    assert instance.get_dynamic_partitions("customers") == ["b", "a", "c", "d"]
    assert instance.has_dynamic_partition("customers", "d")
    assert not instance.has_dynamic_partition("customers", "e")
    assert instance.get_dynamic_partitions("unknown") == []


def test_adding_only_existing_keys_records_no_event(instance):
    instance.add_dynamic_partitions("customers", ["a"])
    before = instance.storage.read_all()
    instance.add_dynamic_partitions("customers", ["a"])
    assert instance.storage.read_all() == before


def test_a_deleted_key_added_again_goes_last(instance):
    instance.add_dynamic_partitions("customers", ["a", "b", "c"])
    instance.delete_dynamic_partition("customers", "a")
    instance.delete_dynamic_partition("customers", "never-added")
    assert instance.get_dynamic_partitions("customers") == ["b", "c"]
    assert not instance.has_dynamic_partition("customers", "a")
    instance.add_dynamic_partitions("customers", ["a"])
    assert instance.get_dynamic_partitions("customers") == ["b", "c", "a"]


def test_changes_are_events_of_the_definitions_stream(instance):
    instance.add_dynamic_partitions("customers", ["a", "b"])
    instance.delete_dynamic_partition("customers", "a")
    records = instance.storage.read_stream("partitions:customers")
    assert [(r.event_type, r.stream_sequence, r.run_id) for r in records] == [
        ("partitions.added/1", 1, None),
        ("partitions.deleted/1", 2, None),
    ]
    assert records[0].event == DynamicPartitionsAdded(
        partitions_def_name="customers", partition_keys=("a", "b")
    )


def test_an_event_appended_twice_under_one_key_adds_its_keys_once(instance):
    event = DynamicPartitionsAdded(partitions_def_name="customers", partition_keys=("a", "a", "b"))
    item = NewEvent(event=event, idempotency_key=idempotency_key(event, "request-1"))
    instance.append([item])
    instance.append([item])
    assert len(instance.storage.read_stream("partitions:customers")) == 1
    assert instance.get_dynamic_partitions("customers") == ["a", "b"]


def test_dynamic_partitions_belong_to_one_tenant(instance):
    other = _other_tenant(instance)
    instance.add_dynamic_partitions("customers", ["a"])
    other.add_dynamic_partitions("customers", ["z"])
    assert instance.get_dynamic_partitions("customers") == ["a"]
    assert other.get_dynamic_partitions("customers") == ["z"]
    assert not other.has_dynamic_partition("customers", "a")


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        (["ok", "a...b"], "'a...b' contains '...'"),
        (["tab\there"], "contains '\\\\t'"),
        (["bell\x07"], "contains '\\\\x07'"),
        ([""], "'' is empty"),
        (["ok", 3], "3 is not a string"),
    ],
)
def test_invalid_keys_are_refused_and_nothing_is_added(instance, keys, problem):
    with pytest.raises(PartitionError, match=problem) as caught:
        instance.add_dynamic_partitions("customers", keys)
    assert "'customers'" in str(caught.value)
    assert "nothing was added" in str(caught.value)
    assert instance.get_dynamic_partitions("customers") == []


def test_a_single_string_is_refused_with_the_list_form_suggested(instance):
    with pytest.raises(
        PartitionError, match=r"add_dynamic_partitions\('customers', \['a', 'b'\]\)"
    ):
        instance.add_dynamic_partitions("customers", "abc")


def test_a_dynamic_definition_resolves_against_the_instance(instance):
    instance.add_dynamic_partitions("customers", ["a", "b"])
    definition = DynamicPartitionsDefinition(name="customers")
    assert definition.get_partition_keys(dynamic_partitions_store=instance) == ["a", "b"]


# Partition status


def test_status_sorts_partitions_into_four_disjoint_subsets(instance):
    _append(instance, _started("done", "2024-01-01"), _materialized("done", "2024-01-01"))
    _append(instance, _started("bad", "2024-01-02"), _failed("bad"), RunFailed(run_id="bad"))
    _append(instance, _started("going", "2024-01-03"))
    assert _status_keys(instance) == {
        "materialized": ["2024-01-01"],
        "failed": ["2024-01-02"],
        "in_progress": ["2024-01-03"],
        "missing": [f"2024-01-{day:02d}" for day in range(4, 11)],
    }
    status = instance.get_partition_status(ASSET, DAILY, current_time=NOW)
    assert (status.num_materialized, status.num_failed, status.num_in_progress) == (1, 1, 1)
    assert (status.num_missing, status.num_partitions) == (7, 10)


def test_a_failure_with_a_retry_to_come_is_not_a_failure(instance):
    _append(instance, _started("r", "2024-01-02"), _failed("r", retry_in_s=1.0))
    _append(instance, RunCanceled(run_id="r"))
    assert _status_keys(instance)["failed"] == []


def test_a_failure_later_fixed_by_a_materialization_is_materialized(instance):
    _append(instance, _started("bad", "2024-01-02"), _failed("bad"), RunFailed(run_id="bad"))
    assert _status_keys(instance)["failed"] == ["2024-01-02"]
    _append(instance, _started("fix", "2024-01-02"), _materialized("fix", "2024-01-02"))
    _append(instance, RunFailed(run_id="fix"))
    keys = _status_keys(instance)
    assert (keys["failed"], keys["materialized"]) == ([], ["2024-01-02"])


def test_a_materialized_partition_that_fails_later_is_failed(instance):
    _append(instance, _started("ok", "2024-01-05"), _materialized("ok", "2024-01-05"))
    _append(instance, RunFailed(run_id="ok"))
    assert _status_keys(instance)["materialized"] == ["2024-01-05"]
    _append(instance, _started("bad", "2024-01-05"), _failed("bad"), RunFailed(run_id="bad"))
    keys = _status_keys(instance)
    assert (keys["failed"], keys["materialized"]) == (["2024-01-05"], [])


def test_a_range_run_that_fails_fails_every_partition_it_did_not_materialize(instance):
    _append(
        instance,
        _started("range", "2024-01-03", "2024-01-07"),
        _materialized("range", "2024-01-03"),
        _failed("range"),
        RunFailed(run_id="range"),
    )
    keys = _status_keys(instance)
    assert keys["materialized"] == []  # materialized before the failure: the failure is newer
    assert keys["failed"] == ["2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07"]
    _append(instance, _started("fix", "2024-01-04"), _materialized("fix", "2024-01-04"))
    _append(instance, RunFailed(run_id="fix"))
    keys = _status_keys(instance)
    assert keys["failed"] == ["2024-01-03", "2024-01-05", "2024-01-06", "2024-01-07"]
    assert keys["materialized"] == ["2024-01-04"]


def test_an_active_range_run_is_in_progress_until_it_materializes_each_partition(instance):
    _append(instance, _started("old", "2024-01-01"), _materialized("old", "2024-01-01"))
    _append(instance, RunFailed(run_id="old"))
    _append(instance, _started("range", "2024-01-01", "2024-01-03"))
    assert _status_keys(instance)["in_progress"] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    _append(instance, _materialized("range", "2024-01-02"))
    keys = _status_keys(instance)
    assert keys["in_progress"] == ["2024-01-01", "2024-01-03"]
    assert keys["materialized"] == ["2024-01-02"]
    _append(instance, RunCanceled(run_id="range"))
    keys = _status_keys(instance)
    assert keys["in_progress"] == []
    assert keys["materialized"] == ["2024-01-01", "2024-01-02"]


def test_in_progress_wins_over_failed(instance):
    _append(instance, _started("bad", "2024-01-02"), _failed("bad"), RunFailed(run_id="bad"))
    _append(instance, _started("again", "2024-01-02"))
    keys = _status_keys(instance)
    assert (keys["in_progress"], keys["failed"]) == (["2024-01-02"], [])


def test_status_is_of_one_asset_and_one_tenant(instance):
    other_asset = AssetKey("other")
    _append(instance, _started("o", "2024-01-01", asset=other_asset))
    _append(instance, _materialized("o", "2024-01-02", asset=other_asset), _failed("o"))
    _other_tenant(instance).append(
        [NewEvent(event=_materialized("x", "2024-01-01"), idempotency_key="x")]
    )
    assert _status_keys(instance)["missing"] == DAILY.get_partition_keys()


def test_the_materialized_cache_follows_new_materializations(instance):
    _append(instance, _started("r", "2024-01-01", "2024-01-10"), _materialized("r", "2024-01-01"))
    assert _status_keys(instance)["materialized"] == ["2024-01-01"]
    assert len(_status_keys(instance)["in_progress"]) == 9
    _append(instance, RunFailed(run_id="r"))
    assert _status_keys(instance)["materialized"] == ["2024-01-01"]
    _append(instance, _started("s", "2024-01-02"), _materialized("s", "2024-01-02"))
    _append(instance, RunFailed(run_id="s"))
    assert _status_keys(instance)["materialized"] == ["2024-01-01", "2024-01-02"]
    # Another definition of the same asset has its own cache.
    static = StaticPartitionsDefinition(["2024-01-02", "x"])
    assert _status_keys(instance, static)["materialized"] == ["2024-01-02"]
    assert _status_keys(instance)["materialized"] == ["2024-01-01", "2024-01-02"]


def test_status_of_a_dynamic_asset_stays_right_when_keys_are_deleted(instance):
    definition = DynamicPartitionsDefinition(name="customers")
    instance.add_dynamic_partitions("customers", ["a", "b", "c"])
    _append(instance, _started("r", "c"), _materialized("r", "c"), RunFailed(run_id="r"))
    assert _status_keys(instance, definition)["materialized"] == ["c"]
    instance.delete_dynamic_partition("customers", "a")  # "c" moves from index 2 to 1
    assert _status_keys(instance, definition) == {
        "materialized": ["c"],
        "failed": [],
        "in_progress": [],
        "missing": ["b"],
    }
    instance.add_dynamic_partitions("customers", ["d"])
    assert _status_keys(instance, definition)["missing"] == ["b", "d"]


def test_materializations_of_keys_the_definition_lacks_are_ignored(instance):
    _append(instance, _started("r", "2030-01-01"), _materialized("r", "2030-01-01"))
    _append(instance, _materialized("r", "not-a-date"), RunFailed(run_id="r"))
    assert _status_keys(instance)["materialized"] == []


def test_time_partitions_exist_as_of_the_current_time(instance):
    open_ended = DailyPartitionsDefinition(start_date="2024-01-01")
    status = instance.get_partition_status(
        ASSET, open_ended, current_time=datetime(2024, 1, 4, 12, tzinfo=UTC)
    )
    assert status.missing.get_partition_keys() == ["2024-01-01", "2024-01-02", "2024-01-03"]


# Rebuild and verify


def test_rebuild_gives_the_same_partition_projections_and_status(instance):
    instance.add_dynamic_partitions("customers", ["a", "b", "c"])
    instance.delete_dynamic_partition("customers", "b")
    instance.add_dynamic_partitions("customers", ["b"])
    _append(instance, _started("bad", "2024-01-02", "2024-01-04"), _failed("bad"))
    _append(instance, _materialized("bad", "2024-01-01"), RunFailed(run_id="bad"))
    before = _status_keys(instance)
    rows = instance.storage.projection_rows()
    assert instance.verify() == []
    instance.rebuild_projections()
    assert instance.storage.projection_rows() == rows
    assert instance.verify() == []
    assert _status_keys(instance) == before
    assert instance.get_dynamic_partitions("customers") == ["a", "c", "b"]
    assert len(rows["partition_failures"]) == 1
    assert len(rows["dynamic_partitions"]) == 3
