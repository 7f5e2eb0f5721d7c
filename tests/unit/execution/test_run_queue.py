"""The run queue's pure rules: launch order, global and tag limits, why a run waits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_flow.core.errors import ConfigError
from arco_flow.execution.run_queue import (
    BACKFILL_TAG,
    PRIORITY_TAG,
    QueueLimits,
    TagLimit,
    parse_tag_limit,
    queue_decisions,
    run_priority,
)
from arco_flow.storage.records import RunRecord, RunStatus


def run(run_id: str, order: int, status: RunStatus = RunStatus.QUEUED, **tags: str) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        job_name="job",
        plan_id="" if status is RunStatus.QUEUED else "plan",
        status=status,
        created_event_id=order,
        created_time=float(order),
        updated_time=float(order),
        tags={key.replace("__", "/"): value for key, value in tags.items()},
    )


def started(run_id: str, **tags: str) -> RunRecord:
    return run(run_id, 0, RunStatus.STARTED, **tags)


def test_higher_priority_first_and_fifo_within_a_priority() -> None:
    queued = [
        run("a", 1),
        run("b", 2, arco__priority="5"),
        run("c", 3),
        run("d", 4, arco__priority="5"),
        run("e", 5, arco__priority="-3"),
    ]
    decisions = queue_decisions(queued, [], QueueLimits())
    assert [d.run_id for d in decisions] == ["b", "d", "a", "c", "e"]
    assert all(d.launch for d in decisions)


@given(st.lists(st.integers(min_value=-5, max_value=5), min_size=1, max_size=30))
def test_order_is_by_priority_then_submission(priorities: list[int]) -> None:
    queued = [run(f"r{i}", i, arco__priority=str(p)) for i, p in enumerate(priorities)]
    decisions = queue_decisions(queued, [], QueueLimits(max_concurrent_runs=3))
    order = [(-d.priority, int(d.run_id[1:])) for d in decisions]
    assert order == sorted(order)
    assert [d.launch for d in decisions] == [i < 3 for i in range(len(decisions))]


def test_global_limit_counts_running_runs_and_explains_waits() -> None:
    queued = [run("a", 1), run("b", 2, arco__priority="1"), run("c", 3)]
    decisions = queue_decisions(queued, [started("x")], QueueLimits(max_concurrent_runs=2))
    assert [(d.run_id, d.launch) for d in decisions] == [("b", True), ("a", False), ("c", False)]
    assert (
        decisions[1].reason
        == "behind 1 run(s) launching now, 1 of higher priority; global limit 2/2 running"
    )
    full = queue_decisions(queued, [started("x"), started("y")], QueueLimits(max_concurrent_runs=2))
    assert {d.reason for d in full} == {"global limit 2/2 running"}


def test_tag_limit_with_value_and_per_value_limits() -> None:
    limits = QueueLimits(
        tag_limits=(TagLimit(key="team", value="ml", limit=1), TagLimit(key="db", limit=1))
    )
    queued = [
        run("ml1", 1, team="ml"),
        run("data1", 2, team="data"),
        run("pg1", 3, db="pg"),
        run("pg2", 4, db="pg"),
        run("my1", 5, db="mysql"),
    ]
    decisions = {d.run_id: d for d in queue_decisions(queued, [started("x", team="ml")], limits)}
    assert not decisions["ml1"].launch
    assert decisions["ml1"].reason == "tag team=ml at limit 1/1"
    assert decisions["data1"].launch  # a blocked run does not block what its limit does not cover
    assert decisions["pg1"].launch
    assert decisions["my1"].launch
    assert decisions["pg2"].reason == "tag db=pg at limit 1/1 (per value of db)"


def test_backfill_runs_default_below_scheduled_runs() -> None:
    backfill = [run(f"b{i}", i, arco__backfill="bf1") for i in range(50)]
    scheduled = run("sched", 100, dagster__schedule_name="daily")
    decisions = queue_decisions([*backfill, scheduled], [], QueueLimits(max_concurrent_runs=1))
    assert decisions[0].run_id == "sched"
    assert decisions[0].launch
    assert not any(d.launch for d in decisions[1:])
    assert run_priority({BACKFILL_TAG: "x"}) == -1
    assert run_priority({BACKFILL_TAG: "x", PRIORITY_TAG: "3"}) == 3


def test_bad_priority_and_tag_limits_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="not an integer"):
        run_priority({PRIORITY_TAG: "high"})
    with pytest.raises(ConfigError, match="KEY=VALUE:N"):
        parse_tag_limit("team=ml")
    assert parse_tag_limit("team=ml:2") == TagLimit(key="team", value="ml", limit=2)
    assert parse_tag_limit("team:3") == TagLimit(key="team", value=None, limit=3)
