"""Backfills on a real store: chunked runs upstream first, failures, retry, pause, cancel,
restart after a driver died, and projections that a rebuild reproduces."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import arco_flow as af
from arco_flow.core.backfill_state import BackfillState, BackfillStatus, ChunkStatus
from arco_flow.core.errors import ArcoError, NotFoundError, PartitionError, SelectionError
from arco_flow.core.events import BackfillChunkLaunched, BackfillDriverStarted, Event, NewEvent
from arco_flow.core.events import idempotency_key as key_of
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import (
    DailyPartitionsDefinition,
    PartitionKeyRange,
    WeeklyPartitionsDefinition,
)
from arco_flow.daemon.backfills import (
    BACKFILL_TAG,
    PartitionsRequest,
    cancel_backfill,
    create_backfill,
    drive_backfill,
    load_backfill,
    pause_backfill,
    resume_backfill,
    retry_backfill,
)
from arco_flow.execution.run_operations import launch_into_instance
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunStatus

DAILY = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-15")
WEEKLY = WeeklyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-15")
FAILING: set[str] = set()
CALLS: list[tuple[str, str]] = []


@af.asset(partitions_def=DAILY, backfill_policy=af.BackfillPolicy.multi_run(3))
def raw(context: af.AssetExecutionContext) -> af.MaterializeResult:
    CALLS.extend(("raw", key) for key in context.partition_keys)
    return af.MaterializeResult()


@af.asset(partitions_def=DAILY, deps=[raw], backfill_policy=af.BackfillPolicy.multi_run(3))
def clean(context: af.AssetExecutionContext) -> af.MaterializeResult:
    for key in context.partition_keys:
        if key in FAILING:
            raise RuntimeError(f"bad data on {key}")
        CALLS.append(("clean", key))
    return af.MaterializeResult()


@af.asset(partitions_def=WEEKLY, deps=[clean])
def weekly(context: af.AssetExecutionContext) -> af.MaterializeResult:
    CALLS.append(("weekly", context.partition_key))
    return af.MaterializeResult()


@af.asset
def plain() -> int:
    return 1


DEFS = af.Definitions(assets=[raw, clean, weekly, plain])
RANGE = PartitionsRequest(kind="range", start="2024-01-01", end="2024-01-14")


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[ArcoInstance]:
    FAILING.clear()
    CALLS.clear()
    with ArcoInstance.get(tmp_path / "home") as found:
        yield found


def _create(instance: ArcoInstance, **kwargs: object) -> BackfillState:
    arguments: dict[str, object] = {
        "selection": "key:raw or key:clean or key:weekly",
        "partitions": RANGE,
        "code_location": None,
    }
    arguments.update(kwargs)
    return create_backfill(instance, DEFS, **arguments)  # type: ignore[arg-type]


def _drive(instance: ArcoInstance, backfill_id: str, **kwargs: object) -> BackfillState:
    return drive_backfill(instance, backfill_id, definitions=DEFS, **kwargs)  # type: ignore[arg-type]


def test_a_backfill_runs_every_chunk_upstream_first_and_completes(instance: ArcoInstance) -> None:
    state = _create(instance)
    plan = state.plan
    # Weeks start on Sunday: the one whole week before the end is 2024-01-07.
    assert WEEKLY.get_partition_keys() == ["2024-01-07"]
    assert plan.partition_count == 14 + 14 + 1
    # raw and clean share runs (same partitions, identity mapping, same policy).
    assert {chunk.asset_keys for chunk in plan.chunks} == {
        (AssetKey("clean"), AssetKey("raw")),
        (AssetKey("weekly"),),
    }
    done = _drive(instance, state.backfill_id)
    assert done.status is BackfillStatus.COMPLETED
    assert done.counts()[ChunkStatus.SUCCEEDED] == len(plan.chunks) == 5 + 1
    [weekly_chunk] = [c for c in plan.chunks if c.asset_keys == (AssetKey("weekly"),)]
    assert weekly_chunk.deps == (2, 3, 4)  # the chunks holding 2024-01-07..13
    assert CALLS.index(("weekly", "2024-01-07")) > CALLS.index(("clean", "2024-01-13"))
    assert sorted(key for name, key in CALLS if name == "clean") == DAILY.get_partition_keys()
    runs = instance.get_runs(tags={BACKFILL_TAG: state.backfill_id})
    assert len(runs) == 6
    assert all(run.status is RunStatus.SUCCESS for run in runs)
    for key, definition in ((AssetKey("clean"), DAILY), (AssetKey("weekly"), WEEKLY)):
        status = instance.get_partition_status(key, definition)
        assert status.num_missing == 0
        assert status.num_materialized == definition.get_num_partitions()
    [summary] = instance.get_backfills()
    assert summary.status == "COMPLETED"
    assert summary.partitions_done == summary.partition_count == 29
    assert summary.chunk_count == 6


def test_a_failed_chunk_holds_back_its_downstream_and_retry_finishes_it(
    instance: ArcoInstance,
) -> None:
    FAILING.add("2024-01-08")
    state = _create(instance)
    done = _drive(instance, state.backfill_id)
    assert done.status is BackfillStatus.FAILED
    assert done.counts()[ChunkStatus.FAILED] == 1
    # The weekly partition needs the failed days, so it waits; other chunks ran.
    assert done.blocked_chunks() == [5]
    assert ("weekly", "2024-01-07") not in CALLS
    assert ("clean", "2024-01-14") in CALLS
    status = instance.get_partition_status(AssetKey("clean"), DAILY)
    assert status.failed.get_partition_keys() == ["2024-01-07", "2024-01-08", "2024-01-09"]
    [summary] = instance.get_backfills()
    assert (summary.status, summary.chunks_failed, summary.partitions_failed) == ("FAILED", 1, 6)

    FAILING.clear()
    retried = retry_backfill(instance, state.backfill_id)
    assert retried.status is BackfillStatus.RUNNING
    done = _drive(instance, state.backfill_id)
    assert done.status is BackfillStatus.COMPLETED
    assert ("weekly", "2024-01-07") in CALLS
    [summary] = instance.get_backfills()
    assert (summary.status, summary.chunks_failed, summary.partitions_failed) == ("COMPLETED", 0, 0)
    assert summary.partitions_done == 29
    with pytest.raises(ArcoError, match="nothing to retry"):
        retry_backfill(instance, state.backfill_id)


def test_pause_stops_after_the_run_in_flight_and_resume_goes_on(instance: ArcoInstance) -> None:
    state = _create(instance)

    def pause_after_first_chunk(current: BackfillState) -> None:
        if current.status is BackfillStatus.RUNNING and current.counts()[ChunkStatus.SUCCEEDED]:
            pause_backfill(instance, current.backfill_id, reason="test")

    paused = _drive(instance, state.backfill_id, on_progress=pause_after_first_chunk)
    assert paused.status is BackfillStatus.PAUSED
    assert paused.counts()[ChunkStatus.SUCCEEDED] == 1
    with pytest.raises(ArcoError, match="paused"):
        _drive(instance, state.backfill_id)
    resume_backfill(instance, state.backfill_id)
    assert _drive(instance, state.backfill_id).status is BackfillStatus.COMPLETED


def test_cancel_ends_the_backfill_and_retry_runs_what_was_left(instance: ArcoInstance) -> None:
    state = _create(instance)

    def cancel_after_first_chunk(current: BackfillState) -> None:
        if current.status is BackfillStatus.RUNNING and current.counts()[ChunkStatus.SUCCEEDED]:
            cancel_backfill(instance, current.backfill_id)

    canceled = _drive(instance, state.backfill_id, on_progress=cancel_after_first_chunk)
    assert canceled.status is BackfillStatus.CANCELED
    assert canceled.counts()[ChunkStatus.PENDING] == 5
    with pytest.raises(ArcoError, match="already ended"):
        cancel_backfill(instance, state.backfill_id)
    # A paused backfill has no driver: cancel ends it at once.
    other = _create(instance, partitions=PartitionsRequest(kind="keys", keys=("2024-01-02",)))
    pause_backfill(instance, other.backfill_id)
    assert cancel_backfill(instance, other.backfill_id).status is BackfillStatus.CANCELED


def test_a_driver_that_died_is_taken_over_without_running_anything_twice(
    instance: ArcoInstance,
) -> None:
    state = _create(instance, selection="raw", max_partitions_per_run=7)
    backfill_id = state.backfill_id
    assert len(state.plan.chunks) == 2
    # A dead driver launched chunk 0 and its run finished, but the driver died before
    # recording the end; it also recorded chunk 1's launch but died before the run began.
    dead = {"host": "a-host-that-is-gone", "pid": 1}
    run_0, run_1 = str(uuid.uuid4()), str(uuid.uuid4())
    events: list[Event] = [
        BackfillDriverStarted(backfill_id=backfill_id, driver=dead),
        BackfillChunkLaunched(backfill_id=backfill_id, chunk_id=0, run_id=run_0, attempt=1),
        BackfillChunkLaunched(backfill_id=backfill_id, chunk_id=1, run_id=run_1, attempt=1),
    ]
    instance.append([NewEvent(event=e, idempotency_key=key_of(e, 1)) for e in events])
    launch_into_instance(
        DEFS.resolve_implicit_global_asset_job_def(),
        instance,
        code_location=None,
        executor="in_process",
        asset_selection=["raw"],
        partition_key_range=PartitionKeyRange("2024-01-01", "2024-01-07"),
        run_id=run_0,
    )
    CALLS.clear()
    done = _drive(instance, backfill_id)
    assert done.status is BackfillStatus.COMPLETED
    assert done.run_ids == [run_0, run_1]
    # Only chunk 1 ran now; chunk 0's finished run was recorded, not repeated.
    assert [key for _, key in CALLS] == DAILY.get_partition_keys()[7:]
    assert instance.get_run(run_1).status is RunStatus.SUCCESS


def test_missing_and_failed_requests_cover_only_those_partitions(instance: ArcoInstance) -> None:
    first = _create(
        instance,
        selection="raw",
        partitions=PartitionsRequest(kind="keys", keys=("2024-01-02", "2024-01-03")),
    )
    _drive(instance, first.backfill_id)
    missing = _create(instance, selection="raw", partitions=PartitionsRequest(kind="missing"))
    assert missing.plan.partition_count == 12
    FAILING.add("2024-01-09")
    _drive(
        instance,
        _create(instance, selection="key:raw or key:clean", max_partitions_per_run=1).backfill_id,
    )
    failed = _create(instance, selection="clean", partitions=PartitionsRequest(kind="failed"))
    assert [chunk.partition.key for chunk in failed.plan.chunks] == ["2024-01-09"]


def test_bad_requests_are_refused_with_what_to_do(instance: ArcoInstance) -> None:
    with pytest.raises(SelectionError, match="plain is not partitioned"):
        _create(instance, selection="key:raw or key:plain")
    with pytest.raises(SelectionError, match="matches no asset"):
        _create(instance, selection="tag:nothing=here")
    with pytest.raises(PartitionError, match="2023-12-31"):
        _create(
            instance,
            partitions=PartitionsRequest(kind="range", start="2023-12-31", end="2024-01-02"),
        )
    with pytest.raises(PartitionError, match="no failed partition"):
        _create(instance, partitions=PartitionsRequest(kind="failed"))
    with pytest.raises(NotFoundError, match="backfill list"):
        load_backfill(instance, "nope")
    state = _create(instance, selection="raw")
    _drive(instance, state.backfill_id)
    with pytest.raises(ArcoError, match="only a running one pauses"):
        pause_backfill(instance, state.backfill_id)
    with pytest.raises(ArcoError, match="ended COMPLETED"):
        resume_backfill(instance, state.backfill_id)
    assert instance.get_backfills() == [] or instance.get_backfills()[0].status == "COMPLETED"


def test_backfill_summaries_are_rebuilt_from_the_log(instance: ArcoInstance) -> None:
    FAILING.add("2024-01-03")
    _drive(instance, _create(instance).backfill_id)
    paused = _create(instance, selection="raw")
    pause_backfill(instance, paused.backfill_id)
    before = instance.get_backfills()
    assert [b.status for b in before] == ["PAUSED", "FAILED"]
    instance.rebuild_projections()
    assert instance.verify() == []
    assert instance.get_backfills() == before
    assert instance.get_backfills(statuses=["PAUSED"]) == before[:1]


def test_a_backfill_in_worker_processes_loads_its_code_location_again(tmp_path: Path) -> None:
    from tests.integration.execution import pool_partition_assets

    location = {"module": pool_partition_assets.MODULE, "attribute": "defs"}
    with ArcoInstance.get(tmp_path / "home") as instance:
        state = create_backfill(
            instance,
            pool_partition_assets.defs,
            selection=None,
            partitions=PartitionsRequest(kind="range", start="2024-01-02", end="2024-01-04"),
            code_location=location,
            executor="process_pool",
            max_concurrent=2,
        )
        # daily_numbers runs once over the range (single_run); daily_doubled once a day.
        assert [len(chunk.asset_keys) for chunk in state.plan.chunks] == [1, 1, 1, 1]
        assert state.plan.chunks[0].partition.range_end == "2024-01-04"
        done = drive_backfill(instance, state.backfill_id)  # loads the module by name
        assert done.status is BackfillStatus.COMPLETED
        status = instance.get_partition_status(
            AssetKey("daily_doubled"), pool_partition_assets.DAILY
        )
        assert status.materialized.get_partition_keys() == [
            "2024-01-02",
            "2024-01-03",
            "2024-01-04",
        ]
        runs = instance.get_runs(tags={BACKFILL_TAG: state.backfill_id})
        assert {run.executor for run in runs} == {"process_pool"}
