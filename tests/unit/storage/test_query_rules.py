from typing import Any

from arco_flow.core.errors import NotFoundError
from arco_flow.core.keys import AssetKey
from arco_flow.core.run_state import TaskStatus
from arco_flow.storage.query_rules import (
    asset_sort_key,
    cursor_not_found,
    run_matches,
    run_not_found,
    task_sort_key,
)
from arco_flow.storage.records import AssetRecord, RunRecord, RunsFilter, RunStatus, TaskRecord


def run(**fields: Any) -> RunRecord:
    base: dict[str, Any] = {
        "run_id": "r1",
        "job_name": "job",
        "plan_id": "p",
        "status": RunStatus.STARTED,
        "created_event_id": 1,
        "created_time": 1.0,
        "updated_time": 1.0,
        "tags": {"team": "data"},
    }
    base.update(fields)
    return RunRecord(**base)


def test_an_empty_filter_matches_every_run():
    assert run_matches(run(), RunsFilter(), None)


def test_every_condition_of_a_filter_must_hold():
    assert run_matches(run(), RunsFilter(statuses=[RunStatus.STARTED], tags={"team": "data"}), None)
    assert not run_matches(run(), RunsFilter(statuses=[RunStatus.SUCCESS]), None)
    assert not run_matches(run(), RunsFilter(tags={"team": "ml"}), None)
    assert not run_matches(run(), RunsFilter(tags={"owner": "x"}), None)
    assert not run_matches(run(), RunsFilter(job_name="other"), None)
    assert not run_matches(run(), RunsFilter(run_ids=["r2"]), None)
    assert not run_matches(run(), RunsFilter(parent_run_id="r0"), None)
    assert run_matches(run(parent_run_id="r0"), RunsFilter(parent_run_id="r0"), None)


def test_the_asset_condition_uses_the_runs_of_that_asset():
    with_asset = RunsFilter(asset_key=AssetKey("a"))
    assert run_matches(run(), with_asset, {"r1"})
    assert not run_matches(run(), with_asset, {"r2"})
    assert not run_matches(run(), with_asset, None)


def test_tasks_sort_by_stage_then_id_with_unplanned_tasks_last():
    tasks = [
        TaskRecord(run_id="r", task_id=task_id, status=TaskStatus.PENDING, stage=stage)
        for task_id, stage in [("z", None), ("b", 1), ("c", 0), ("a", 1)]
    ]
    assert [t.task_id for t in sorted(tasks, key=task_sort_key)] == ["c", "a", "b", "z"]


def test_assets_sort_by_their_user_string():
    records = [AssetRecord(asset_key=AssetKey(path)) for path in (["a", "b"], ["a-x"], ["a"])]
    assert [str(r.asset_key) for r in sorted(records, key=asset_sort_key)] == ["a", "a-x", "a/b"]


def test_not_found_messages_name_the_run_the_scope_and_what_to_do():
    error = run_not_found("run-13", tenant_id="acme", workspace_id="prod", known_run_ids=["run-12"])
    assert isinstance(error, NotFoundError)
    assert str(error) == (
        "run 'run-13' does not exist in workspace 'prod' of tenant 'acme'. Did you mean "
        "'run-12'? List the runs with `arco-flow runs list`."
    )
    assert "cursor 'x'" in str(cursor_not_found("x", tenant_id="t", workspace_id="w"))
