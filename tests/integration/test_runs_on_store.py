"""Runs recorded into a real SQLite instance: re-execution, rebuild and verify at scale."""

from __future__ import annotations

import threading

import pytest

import arco_flow as af
from arco_flow.core.errors import ArcoError, ExecutionError, NotFoundError
from arco_flow.core.run_state import TaskStatus
from arco_flow.execution.run_operations import launch_into_instance, reexecute_run
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunStatus

CALLS: dict[str, int] = {}


def build(flaky_fails: int = 1, broken: bool = True):
    CALLS.clear()

    @af.asset
    def source():
        CALLS["source"] = CALLS.get("source", 0) + 1
        return 10

    @af.asset(retry_policy=af.RetryPolicy(max_retries=2))
    def flaky(source):
        CALLS["flaky"] = CALLS.get("flaky", 0) + 1
        if CALLS["flaky"] <= flaky_fails:
            raise RuntimeError("transient")
        return source + 1

    @af.asset
    def fragile(source):
        CALLS["fragile"] = CALLS.get("fragile", 0) + 1
        if broken:
            raise ValueError("bad data")
        return source * 2

    @af.asset
    def report(flaky, fragile):
        CALLS["report"] = CALLS.get("report", 0) + 1
        return flaky + fragile

    return af.Definitions(assets=[source, flaky, fragile, report])


def loader_for(defs):
    return lambda location: defs


@pytest.fixture
def instance(tmp_path):
    with ArcoInstance.get(tmp_path / "home") as opened:
        yield opened


def test_reexecute_from_failure_runs_only_what_failed_and_reuses_stored_values(instance):
    defs = build()
    job = defs.resolve_implicit_global_asset_job_def()
    first = launch_into_instance(job, instance, code_location=None, executor="in_process")
    assert not first.succeeded
    assert first.failed_task_ids == ["fragile"]
    assert first.skipped_task_ids == ["report"]
    tasks = {t.task_id: t for t in instance.get_tasks(first.run_id)}
    assert tasks["flaky"].attempts == 2
    assert tasks["flaky"].status is TaskStatus.SUCCEEDED

    fixed = build(broken=False)
    CALLS.clear()
    second = reexecute_run(
        instance, first.run_id, from_failure=True, executor="in_process", loader=loader_for(fixed)
    )
    assert second.succeeded
    assert CALLS == {"fragile": 1, "report": 1}  # source and flaky were read back from storage
    child = instance.get_run(second.run_id)
    assert child.parent_run_id == first.run_id
    assert instance.get_runs(statuses=[RunStatus.SUCCESS])[0].run_id == second.run_id
    latest = instance.get_latest_materialization_event("report")
    assert latest is not None
    assert latest.run_id == second.run_id


def test_reexecute_one_task_or_a_selection(instance):
    defs = build(broken=False)
    job = defs.resolve_implicit_global_asset_job_def()
    first = launch_into_instance(job, instance, code_location=None, executor="in_process")
    assert first.succeeded
    CALLS.clear()
    one = reexecute_run(
        instance, first.run_id, task_id="report", executor="in_process", loader=loader_for(defs)
    )
    assert one.succeeded
    assert CALLS == {"report": 1}
    CALLS.clear()
    subset = reexecute_run(
        instance,
        first.run_id,
        selection="key:fragile+",
        executor="in_process",
        loader=loader_for(defs),
    )
    assert subset.succeeded
    assert CALLS == {"fragile": 1, "report": 1}


def test_reexecute_rejects_bad_requests(instance):
    defs = build(broken=False)
    job = defs.resolve_implicit_global_asset_job_def()
    first = launch_into_instance(job, instance, code_location=None, executor="in_process")
    with pytest.raises(ArcoError, match="exactly one"):
        reexecute_run(instance, first.run_id, loader=loader_for(defs))
    with pytest.raises(ArcoError, match="nothing to re-execute"):
        reexecute_run(instance, first.run_id, from_failure=True, loader=loader_for(defs))
    with pytest.raises(NotFoundError):
        reexecute_run(instance, "no-such-run", from_failure=True, loader=loader_for(defs))
    with pytest.raises(af.SelectionError):
        reexecute_run(instance, first.run_id, selection="key:(", loader=loader_for(defs))
    with pytest.raises(ExecutionError, match="no module or file was recorded"):
        reexecute_run(instance, first.run_id, task_id="report")


def test_a_500_task_run_with_failures_and_retries_rebuilds_to_identical_projections(instance):
    attempts: dict[int, int] = {}

    def make(index):
        policy = af.RetryPolicy(max_retries=1) if index % 7 == 0 else None

        @af.asset(
            name=f"n{index}", deps=[f"n{index - 1}"] if index % 10 else [], retry_policy=policy
        )
        def node(context):
            attempts[index] = attempts.get(index, 0) + 1
            context.log.info("attempt %s", attempts[index])
            if index % 7 == 0 and attempts[index] == 1:
                raise RuntimeError("first attempt fails, the retry succeeds")
            if index % 97 == 0 and index:
                raise RuntimeError("fails for good")
            return index

        return node

    defs = af.Definitions(assets=[make(i) for i in range(500)])
    job = defs.resolve_implicit_global_asset_job_def()
    outcome = launch_into_instance(job, instance, code_location=None, executor="in_process")
    assert not outcome.succeeded
    assert outcome.failed_task_ids  # the index % 97 ones
    assert outcome.skipped_task_ids  # their downstream in the same chain of ten
    before = instance.storage.projection_rows()
    assert instance.rebuild_projections() > 2000
    assert instance.verify() == []
    assert instance.storage.projection_rows() == before


def test_a_run_is_recorded_started_before_its_first_task_ends(instance):
    # The monitor reads STARTED runs for deadlines and dead coordinators: a run whose first
    # task runs for hours must not look queued (or unknown) all that time.
    release = threading.Event()
    entered = threading.Event()

    @af.asset
    def slow():
        entered.set()
        assert release.wait(60)
        return 1

    job = af.Definitions(assets=[slow]).resolve_implicit_global_asset_job_def()
    runner = threading.Thread(
        target=launch_into_instance,
        args=(job, instance),
        kwargs={"code_location": None, "executor": "in_process", "run_id": "slow-run"},
    )
    runner.start()
    try:
        assert entered.wait(30)
        run = instance.get_run("slow-run")
        assert run.status is RunStatus.STARTED
        assert run.coordinator  # names this process, for the monitor
    finally:
        release.set()
        runner.join(60)
    assert instance.get_run("slow-run").status is RunStatus.SUCCESS
