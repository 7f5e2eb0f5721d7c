"""The daemon's freshness loop: states recorded on change with an injected clock,
remediation runs queued once per overdue window, and `arco-flow freshness list`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import arco_flow as af
from arco_flow.cli.main import cli
from arco_flow.core.freshness_policy import FreshnessState
from arco_flow.core.keys import AssetKey
from arco_flow.daemon.freshness import (
    FRESHNESS_REMEDIATION_TAG,
    FreshnessDaemon,
    remediation_run_id,
)
from arco_flow.storage.freshness_projection import freshness_stream
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.memory_store import MemoryEventStore
from arco_flow.storage.records import RunStatus

HOUR = 3600.0
T0 = 1_700_000_000.0
DAILY = af.DailyPartitionsDefinition(start_date="2023-11-01")


@af.asset(
    freshness_policy=af.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=2), warn_window=timedelta(hours=1)
    )
)
def watched() -> int:
    return 1


@af.asset(
    freshness_policy=af.FreshnessPolicy.time_window(fail_window=timedelta(hours=2), remediate=True)
)
def healed() -> int:
    return 2


@af.asset(
    partitions_def=DAILY,
    freshness_policy=af.FreshnessPolicy.time_window(fail_window=timedelta(hours=3), remediate=True),
)
def daily(context: af.AssetExecutionContext) -> str:
    return context.partition_key


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def instance(tmp_path: Path, clock: Clock) -> Iterator[ArcoInstance]:
    with ArcoInstance(MemoryEventStore(clock=clock), str(tmp_path / "storage")) as instance:
        yield instance


def _states(instance: ArcoInstance, key: str) -> list[str]:
    return [
        record.event.new_state  # type: ignore[union-attr]
        for record in instance.read_stream(freshness_stream(AssetKey(key)))
        if record.event_type == "freshness.state_changed/1"
    ]


def _remediation_runs(instance: ArcoInstance) -> list[str]:
    return sorted(
        run.run_id
        for run in instance.get_runs(statuses=[RunStatus.QUEUED])
        if FRESHNESS_REMEDIATION_TAG in run.tags
    )


def test_pass_warn_fail_pass_recorded_once_each(instance: ArcoInstance, clock: Clock) -> None:
    defs = af.Definitions(assets=[watched])
    daemon = FreshnessDaemon(instance, defs)
    daemon.tick(clock.now)
    assert instance.get_freshness_state("watched").state == "UNKNOWN"  # type: ignore[union-attr]
    af.materialize([watched], instance=instance)
    for offset in (60, 120, 0.5 * HOUR, 1.5 * HOUR, 1.6 * HOUR, 2 * HOUR, 5 * HOUR):
        daemon.tick(T0 + offset)
    clock.now = T0 + 6 * HOUR
    af.materialize([watched], instance=instance)
    daemon.tick(T0 + 6 * HOUR + 1)
    daemon.tick(T0 + 6 * HOUR + 2)
    assert _states(instance, "watched") == ["UNKNOWN", "PASS", "WARN", "FAIL", "PASS"]
    state = instance.get_freshness_state("watched")
    assert state is not None
    assert state.state == "PASS"
    assert state.previous_state == "FAIL"
    assert state.since == T0 + 6 * HOUR + 1
    assert state.deadline == T0 + 8 * HOUR


def test_a_state_is_recomputed_only_on_an_update_or_at_its_next_change(
    instance: ArcoInstance, clock: Clock
) -> None:
    daemon = FreshnessDaemon(instance, af.Definitions(assets=[watched]))
    af.materialize([watched], instance=instance)
    assert len(daemon.tick(T0 + 1)) == 1
    assert daemon.tick(T0 + 2) == []  # nothing changed, no deadline passed
    assert [e.state for e in daemon.tick(T0 + HOUR)] == [FreshnessState.WARN]
    assert daemon.tick(T0 + HOUR + 5) == []
    clock.now = T0 + HOUR + 10
    af.materialize([watched], instance=instance)
    assert [e.state for e in daemon.tick(T0 + HOUR + 11)] == [FreshnessState.PASS]


def test_a_restarted_daemon_does_not_record_the_same_state_again(
    instance: ArcoInstance,
) -> None:
    defs = af.Definitions(assets=[watched])
    af.materialize([watched], instance=instance)
    FreshnessDaemon(instance, defs).tick(T0 + 1)
    FreshnessDaemon(instance, defs).tick(T0 + 2)
    assert _states(instance, "watched") == ["PASS"]


def test_remediation_queues_exactly_one_run_per_overdue_window(
    instance: ArcoInstance, clock: Clock
) -> None:
    defs = af.Definitions(assets=[healed, watched])
    daemon = FreshnessDaemon(instance, defs)
    af.materialize([healed, watched], instance=instance)
    for offset in (HOUR, 2 * HOUR, 2 * HOUR + 1, 3 * HOUR, 10 * HOUR):
        daemon.tick(T0 + offset)
    FreshnessDaemon(instance, defs).tick(T0 + 11 * HOUR)  # a restarted daemon
    first = remediation_run_id(AssetKey("healed"), str(int(T0 + 2 * HOUR)))
    assert _remediation_runs(instance) == [first]
    run = instance.get_run(first)
    assert run.tags[FRESHNESS_REMEDIATION_TAG] == f"healed@{int(T0 + 2 * HOUR)}"
    state = instance.get_freshness_state("healed")
    assert state is not None
    assert state.remediation_run_ids == {str(int(T0 + 2 * HOUR)): first}
    # Fresh again, then overdue again: a new window, a second run.
    clock.now = T0 + 12 * HOUR
    af.materialize([healed], instance=instance)
    daemon.tick(T0 + 12 * HOUR + 1)
    daemon.tick(T0 + 14 * HOUR)
    daemon.tick(T0 + 15 * HOUR)
    second = remediation_run_id(AssetKey("healed"), str(int(T0 + 14 * HOUR)))
    assert _remediation_runs(instance) == sorted([first, second])


def test_a_time_partitioned_asset_is_remediated_for_its_missing_partition(
    instance: ArcoInstance,
) -> None:
    daemon = FreshnessDaemon(instance, af.Definitions(assets=[daily]))
    # T0 is 2023-11-14 22:13 UTC: the latest complete window is 2023-11-13.
    daemon.tick(T0)
    (run_id,) = _remediation_runs(instance)
    (queued,) = instance.read_stream(f"run:{run_id}")
    assert queued.event.partition_key == "2023-11-13"  # type: ignore[union-attr]
    state = instance.get_freshness_state("daily")
    assert state is not None
    assert (state.state, state.partition_key) == ("FAIL", "2023-11-13")
    daemon.tick(T0 + 60)
    assert _remediation_runs(instance) == [run_id]


def test_remediation_runs_launch_from_the_queue(instance: ArcoInstance) -> None:
    from arco_flow.daemon.queue import RunQueueLoop
    from arco_flow.execution.run_queue import QueueLimits

    defs = af.Definitions(assets=[daily])
    FreshnessDaemon(instance, defs).tick(T0)
    loop = RunQueueLoop.for_definitions(instance, QueueLimits(), defs)
    (launched,) = loop.tick(T0 + 1)
    loop.wait()
    assert instance.get_run(launched).status is RunStatus.SUCCESS
    daemon = FreshnessDaemon(instance, defs)
    (evaluation,) = daemon.tick(T0 + 2)
    assert evaluation.state is FreshnessState.PASS


def test_the_cli_lists_states(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with ArcoInstance.from_home(home) as instance:
        af.materialize([watched, healed], instance=instance)
        last = instance.get_latest_materialization_event("watched")
        assert last is not None
        FreshnessDaemon(instance, af.Definitions(assets=[watched])).tick(
            last.timestamp + 1.5 * HOUR
        )
        FreshnessDaemon(instance, af.Definitions(assets=[healed])).tick(last.timestamp + 60)
    env = {"ARCO_HOME": str(home)}
    shown = CliRunner().invoke(cli, ["freshness", "list"], env=env)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith("healed  PASS  lag 1 minute")
    assert lines[1].startswith("watched  WARN  lag 1 hour, 30 minutes")
    failing = CliRunner().invoke(cli, ["freshness", "list", "--state", "warn", "--json"], env=env)
    (row,) = [json.loads(line) for line in failing.output.splitlines()]
    assert (row["asset"], row["state"]) == ("watched", "WARN")
    unknown = CliRunner().invoke(cli, ["freshness", "list", "--asset", "nope"], env=env)
    assert "no freshness state recorded" in unknown.output


def test_run_daemon_remediates_an_overdue_partition(tmp_path: Path) -> None:
    import threading
    import time

    from arco_flow.daemon.runner import run_daemon

    with ArcoInstance.from_home(tmp_path / "home") as instance:
        stop = threading.Event()
        errors: list[BaseException] = []
        daemon = threading.Thread(
            target=run_daemon,
            args=(instance, {}),
            kwargs={
                "stop_event": stop,
                "interval_s": 0.05,
                "clock": lambda: T0,
                "definitions": af.Definitions(assets=[daily]),
                "on_error": lambda _name, error: errors.append(error),
            },
        )
        daemon.start()
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                state = instance.get_freshness_state("daily")
                if state is not None and state.state == "PASS":
                    break
                time.sleep(0.05)
        finally:
            stop.set()
            daemon.join()
        assert errors == []
        assert _states(instance, "daily") == ["FAIL", "PASS"]
        (materialized,) = instance.get_materialization_history("daily")
        assert materialized.partition_key == "2023-11-13"


def test_the_cli_lists_assets_with_a_policy_but_no_state_from_a_code_location(
    tmp_path: Path,
) -> None:
    code = tmp_path / "fresh_defs.py"
    code.write_text(
        "import datetime\n"
        "import arco_flow as af\n\n"
        "@af.asset(freshness_policy=af.FreshnessPolicy.time_window("
        "fail_window=datetime.timedelta(hours=2)))\n"
        "def never_run():\n"
        "    return 1\n\n"
        "defs = af.Definitions(assets=[never_run])\n"
    )
    env = {"ARCO_HOME": str(tmp_path / "home")}
    plain = CliRunner().invoke(cli, ["freshness", "list"], env=env)
    assert plain.exit_code == 0, plain.output
    assert "never_run" not in plain.output  # the store has never seen it
    shown = CliRunner().invoke(cli, ["freshness", "list", "-f", str(code)], env=env)
    assert shown.exit_code == 0, shown.output
    assert "never_run  no state yet" in shown.output
