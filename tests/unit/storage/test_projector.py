from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.events import RunCancelRequested, RunSucceeded
from arco_flow.storage.placement import place_events
from arco_flow.storage.projector import ProjectionState, project, required_rows
from arco_flow.storage.records import RunStatus
from tests.storage_events import A, B, canceled_run, failed_run, new, run_started, succeeded_run


def place(events, tenant="t"):
    return place_events(
        events,
        stored={},
        last_event_id=0,
        stream_heads={},
        timestamp=1.0,
        tenant_id=tenant,
        workspace_id="w",
    ).new


def test_required_rows_name_what_each_event_reads():
    records = place(failed_run("r1")[:6])
    required = required_rows(records)
    assert required.runs == {("t", "w", "r1")}
    assert required.task_runs == {("t", "w", "r1")}
    assert required.tasks == {("t", "w", "r1", "a")}
    assert required.assets == {("t", "w", A)}


def test_the_first_run_started_defines_the_run():
    state = ProjectionState()
    project(state, place([new(run_started("r1")), new(run_started("r1", job_name="other"), 1)]))
    assert state.runs[("t", "w", "r1")].job_name == "__asset_job"


def test_a_cancel_request_does_not_reopen_a_finished_run():
    state = ProjectionState()
    changes = project(
        state,
        place(
            [
                new(run_started("r1")),
                new(RunSucceeded(run_id="r1")),
                new(RunCancelRequested(run_id="r1")),
            ]
        ),
    )
    assert state.runs[("t", "w", "r1")].status is RunStatus.SUCCESS
    assert changes.new_runs == {("t", "w", "r1")}
    assert changes.updated_runs == set()


def test_run_events_without_a_run_started_change_nothing():
    state = ProjectionState()
    changes = project(state, place([new(RunSucceeded(run_id="ghost"))]))
    assert state.runs == {}
    assert changes.updated_runs == set()


def test_changes_name_new_and_updated_rows():
    state = ProjectionState()
    project(state, place(failed_run("r1")[:1]))
    records = place(failed_run("r1"))[1:]
    records = [replace(r, event_id=r.event_id + 100) for r in records]
    changes = project(state, records)
    assert changes.new_runs == set()
    assert changes.updated_runs == {("t", "w", "r1")}
    assert changes.tasks == {("t", "w", "r1", task) for task in "abcd"}
    assert changes.assets == {("t", "w", A), ("t", "w", B)}
    assert changes.latest == {("t", "w", A, None), ("t", "w", B, None)}
    assert [m.asset_key for m in changes.materializations] == [A, B]
    assert [o.asset_key for o in changes.observations] == [A]


def _load(database, required):
    """What a SQL backend does: copy just the required rows out of the database."""
    state = ProjectionState()
    state.runs = {key: database.runs[key] for key in required.runs if key in database.runs}
    state.tasks = {
        key: task
        for key, task in database.tasks.items()
        if key in required.tasks or key[:3] in required.task_runs
    }
    state.assets = {key: database.assets[key] for key in required.assets if key in database.assets}
    return state


def _persist(database, state, changes):
    for key in changes.new_runs | changes.updated_runs:
        database.runs[key] = state.runs[key]
    for key in changes.tasks:
        database.tasks[key] = state.tasks[key]
    for key in changes.assets:
        database.assets[key] = state.assets[key]
    for key in changes.latest:
        database.latest[key] = state.latest[key]
    database.run_assets |= changes.run_assets


_EVENTS = (
    failed_run("r1") + succeeded_run("r2", partition="p") + canceled_run("r3") + failed_run("r4")
)


@settings(max_examples=50, deadline=None)
@given(order=st.permutations(_EVENTS), sizes=st.lists(st.integers(1, 6), min_size=1))
def test_projecting_only_the_required_rows_gives_the_same_rows_as_projecting_all(order, sizes):
    records = place(order)
    full = ProjectionState()
    project(full, records)

    database = ProjectionState()
    start = turn = 0
    while start < len(records):
        batch = records[start : start + sizes[turn % len(sizes)]]
        state = _load(database, required_rows(batch))
        _persist(database, state, project(state, batch))
        start, turn = start + len(batch), turn + 1
    assert database == full


def test_a_claim_marks_a_queued_run_as_claimed_and_changes_nothing_else():
    from arco_flow.core.events import RunClaimed, RunQueued

    claim = RunClaimed(run_id="r1", claim_id="c1", claimer={"host": "h", "pid": 7})
    state = ProjectionState()
    records = place([new(RunQueued(run_id="r1", job_name="j")), new(claim, 0)])
    assert required_rows(records[1:]).runs == {("t", "w", "r1")}
    project(state, records[:1])
    changes = project(state, records[1:])
    run = state.runs[("t", "w", "r1")]
    assert run.status is RunStatus.QUEUED  # claimed, not started: the queue skips it
    assert dict(run.coordinator) == {"host": "h", "pid": 7, "claim_id": "c1"}
    assert changes.updated_runs == {("t", "w", "r1")}

    started = ProjectionState()
    project(started, place([new(run_started("r2"))]))
    late = replace(claim, run_id="r2")
    changes = project(started, [replace(r, event_id=r.event_id + 10) for r in place([new(late)])])
    assert started.runs[("t", "w", "r2")].status is RunStatus.STARTED
    assert started.runs[("t", "w", "r2")].coordinator.get("claim_id") is None
    assert changes.updated_runs == set()
