"""The backfill state machine: readiness, failures, retries, pause and cancel."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_flow.core.backfill import BackfillChunk, BackfillPlan, backfill_plan_to_data
from arco_flow.core.backfill_state import (
    BackfillState,
    BackfillStatus,
    ChunkStatus,
    restore_backfill_state,
)
from arco_flow.core.errors import ArcoError
from arco_flow.core.events import (
    BackfillCancelRequested,
    BackfillChunkFinished,
    BackfillChunkLaunched,
    BackfillCreated,
    BackfillEnded,
    BackfillPaused,
    BackfillResumed,
    BackfillRetried,
    Event,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.plan import PlanPartition

A, B = AssetKey(["a"]), AssetKey(["b"])


def _created(deps: list[tuple[int, ...]], *, assets: int = 1) -> BackfillCreated:
    keys = (A, B)[:assets]
    chunks = tuple(
        BackfillChunk(
            chunk_id=index,
            asset_keys=keys,
            partition=PlanPartition(range_start=f"k{index}0", range_end=f"k{index}9"),
            partition_count=10,
            deps=tuple(sorted(own)),
        )
        for index, own in enumerate(deps)
    )
    plan = BackfillPlan(chunks=chunks, asset_keys=keys, partition_count=10 * assets * len(deps))
    return BackfillCreated(
        backfill_id="bf", job_name="__ASSET_JOB", plan=backfill_plan_to_data(plan)
    )


def _launch(state: BackfillState, chunk: int, attempt: int = 1) -> None:
    state.apply(
        BackfillChunkLaunched(backfill_id="bf", chunk_id=chunk, run_id=f"r{chunk}", attempt=attempt)
    )


def _finish(state: BackfillState, chunk: int, status: str, attempt: int = 1) -> None:
    state.apply(
        BackfillChunkFinished(
            backfill_id="bf", chunk_id=chunk, run_id=f"r{chunk}", attempt=attempt, status=status
        )
    )


def test_chunks_become_ready_as_their_dependencies_succeed() -> None:
    state = BackfillState.from_created(_created([(), (0,), (0,), (1, 2)]))
    assert state.ready_chunks() == [0]
    _launch(state, 0)
    assert state.ready_chunks() == []
    assert state.launched_chunks() == [0]
    _finish(state, 0, "succeeded")
    assert state.ready_chunks() == [1, 2]
    for chunk in (1, 2):
        _launch(state, chunk)
        _finish(state, chunk, "succeeded")
    assert state.ready_chunks() == [3]
    _launch(state, 3)
    _finish(state, 3, "succeeded")
    assert state.outcome_when_idle() is BackfillStatus.COMPLETED
    assert state.partition_counts()[ChunkStatus.SUCCEEDED] == 40


def test_a_failed_chunk_holds_back_its_dependents_and_retry_releases_them() -> None:
    state = BackfillState.from_created(_created([(), (0,), ()], assets=2))
    _launch(state, 0)
    _finish(state, 0, "failed")
    _launch(state, 2)
    _finish(state, 2, "succeeded")
    assert state.ready_chunks() == []
    assert state.blocked_chunks() == [1]
    assert state.outcome_when_idle() is BackfillStatus.FAILED
    assert state.partition_counts()[ChunkStatus.FAILED] == 20  # 10 partitions x 2 assets
    state.apply(BackfillEnded(backfill_id="bf", status="failed"))
    assert state.status is BackfillStatus.FAILED
    state.apply(BackfillRetried(backfill_id="bf", chunk_ids=(0,)))
    assert state.status is BackfillStatus.RUNNING
    assert state.ready_chunks() == [0]
    _launch(state, 0, attempt=2)
    _finish(state, 0, "succeeded", attempt=2)
    assert state.ready_chunks() == [1]


def test_the_end_of_an_older_attempt_changes_nothing() -> None:
    state = BackfillState.from_created(_created([(), (0,)]))
    _launch(state, 0)
    _finish(state, 0, "failed")
    state.apply(BackfillRetried(backfill_id="bf", chunk_ids=(0,)))
    _launch(state, 0, attempt=2)
    _finish(state, 0, "succeeded", attempt=1)  # a late duplicate of the first end
    assert state.chunk_status[0] is ChunkStatus.LAUNCHED
    assert state.ready_chunks() == []


def test_pause_resume_and_cancel() -> None:
    state = BackfillState.from_created(_created([()]))
    state.apply(BackfillPaused(backfill_id="bf"))
    assert state.status is BackfillStatus.PAUSED
    state.apply(BackfillResumed(backfill_id="bf"))
    assert state.status is BackfillStatus.RUNNING
    state.apply(BackfillCancelRequested(backfill_id="bf"))
    assert state.status is BackfillStatus.CANCELING
    assert state.outcome_when_idle() is BackfillStatus.CANCELED
    state.apply(BackfillEnded(backfill_id="bf", status="canceled"))
    state.apply(BackfillCancelRequested(backfill_id="bf"))
    assert state.status is BackfillStatus.CANCELED


def test_restore_replays_the_stream_and_refuses_a_stream_without_its_creation() -> None:
    created = _created([(), (0,)])
    events: list[Event] = [
        created,
        BackfillChunkLaunched(backfill_id="bf", chunk_id=0, run_id="r0", attempt=1),
        BackfillChunkFinished(
            backfill_id="bf", chunk_id=0, run_id="r0", attempt=1, status="succeeded"
        ),
    ]
    state = restore_backfill_state(events)
    assert state.ready_chunks() == [1]
    assert state.run_ids[0] == "r0"
    with pytest.raises(ArcoError, match="start with its creation"):
        restore_backfill_state(events[1:])


@st.composite
def _plans_and_outcomes(draw: st.DrawFn) -> tuple[list[tuple[int, ...]], list[bool]]:
    count = draw(st.integers(min_value=1, max_value=12))
    deps = [
        tuple(sorted(draw(st.sets(st.integers(0, index - 1), max_size=3)))) if index else ()
        for index in range(count)
    ]
    outcomes = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    return deps, outcomes


@given(_plans_and_outcomes())
def test_driving_runs_no_chunk_before_its_dependencies_and_ends(
    case: tuple[list[tuple[int, ...]], list[bool]],
) -> None:
    deps, outcomes = case
    state = BackfillState.from_created(_created(deps))
    succeeded: set[int] = set()
    while ready := state.ready_chunks():
        chunk = ready[0]
        assert set(deps[chunk]) <= succeeded
        _launch(state, chunk)
        _finish(state, chunk, "succeeded" if outcomes[chunk] else "failed")
        if outcomes[chunk]:
            succeeded.add(chunk)
    expected_ok = all(outcomes)
    assert (state.outcome_when_idle() is BackfillStatus.COMPLETED) == expected_ok
    if expected_ok:
        assert succeeded == set(range(len(deps)))
