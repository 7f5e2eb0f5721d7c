"""The daemon's automation loop end to end: conditions declared on assets, ticks recorded
before their runs launch (in-process), the cursor kept across daemon restarts, and each
asset's evaluation records."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import arco_flow as af
from arco_flow.core.automation import AutomationCondition
from arco_flow.core.keys import AssetKey
from arco_flow.daemon.automation_loop import (
    AUTOMATION_INSTIGATOR,
    AUTOMATION_TICK_TAG,
    AutomationDaemon,
    automation_evaluations,
)
from arco_flow.daemon.ticks import ThreadRunLauncher, TickOutcome
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import TickStatus

T0 = datetime.datetime(2024, 3, 1, 10, 30, tzinfo=datetime.UTC).timestamp()
HOUR = 3600.0
LETTERS = af.DynamicPartitionsDefinition(name="letters")


@af.asset
def up() -> int:
    return 1


@af.asset(automation_condition=AutomationCondition.eager())
def down(up: int) -> int:
    return up + 1


@af.asset(automation_condition=AutomationCondition.on_cron("0 * * * *"))
def hourly() -> int:
    return 3


@af.asset(partitions_def=LETTERS, automation_condition=AutomationCondition.on_missing())
def letters(context: af.AssetExecutionContext) -> str:
    return context.partition_key


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[ArcoInstance]:
    with ArcoInstance.from_home(tmp_path / "home") as instance:
        yield instance


def daemon_for(
    instance: ArcoInstance, defs: af.Definitions
) -> tuple[AutomationDaemon, ThreadRunLauncher]:
    launcher = ThreadRunLauncher(instance, defs, code_location=None)
    return AutomationDaemon(instance, defs, launcher=launcher), launcher


def tick(daemon: AutomationDaemon, launcher: ThreadRunLauncher, now: float) -> list[TickOutcome]:
    outcomes = daemon.tick(now)
    launcher.wait()
    return outcomes + daemon.finish_unfinished()  # ends the ticks whose runs ran meanwhile


def launched(outcomes: list[TickOutcome]) -> list[str]:
    return [run_id for outcome in outcomes for run_id in outcome.run_ids]


def materializations(instance: ArcoInstance, key: str) -> list[str]:
    history = instance.get_materialization_history(AssetKey(key))
    return [record.partition_key or "" for record in history]


def test_eager_materializes_the_downstream_once_after_its_upstream(instance: ArcoInstance) -> None:
    defs = af.Definitions(assets=[up, down])
    daemon, launcher = daemon_for(instance, defs)
    assert launched(tick(daemon, launcher, T0)) == []  # up is missing: nothing to do
    assert af.materialize([up], instance=instance).success
    outcomes = tick(daemon, launcher, T0 + 1)
    [run_id] = launched(outcomes)
    run = instance.get_run(run_id)
    assert run.asset_keys == (AssetKey("down"),) or list(run.asset_keys) == [AssetKey("down")]
    assert run.tags[AUTOMATION_TICK_TAG] == outcomes[0].tick_id
    assert len(materializations(instance, "down")) == 1
    for second in range(2, 5):  # down's own materialization requests nothing more
        assert launched(tick(daemon, launcher, T0 + second)) == []
    assert len(materializations(instance, "down")) == 1
    assert af.materialize([up], instance=instance).success
    assert len(launched(tick(daemon, launcher, T0 + 10))) == 1
    assert len(materializations(instance, "down")) == 2


def test_on_cron_requests_once_per_cron_tick(instance: ArcoInstance) -> None:
    defs = af.Definitions(assets=[hourly])
    daemon, launcher = daemon_for(instance, defs)
    assert launched(tick(daemon, launcher, T0)) == []  # the first tick sees no tick pass
    assert launched(tick(daemon, launcher, T0 + 60)) == []
    next_hour = T0 + HOUR / 2 + 5  # 11:00:05
    assert len(launched(tick(daemon, launcher, next_hour))) == 1
    assert launched(tick(daemon, launcher, next_hour + 1)) == []
    assert launched(tick(daemon, launcher, next_hour + 600)) == []
    assert len(launched(tick(daemon, launcher, next_hour + HOUR))) == 1
    assert len(materializations(instance, "hourly")) == 2


def test_on_missing_requests_each_newly_missing_partition_once(instance: ArcoInstance) -> None:
    defs = af.Definitions(assets=[letters])
    daemon, launcher = daemon_for(instance, defs)
    assert launched(tick(daemon, launcher, T0)) == []  # as in Dagster: the first tick only looks
    instance.add_dynamic_partitions("letters", ["a", "b"])
    assert len(launched(tick(daemon, launcher, T0 + 1))) == 2  # one run per partition
    for second in range(2, 5):
        assert launched(tick(daemon, launcher, T0 + second)) == []
    instance.add_dynamic_partitions("letters", ["c"])
    assert len(launched(tick(daemon, launcher, T0 + 5))) == 1
    assert launched(tick(daemon, launcher, T0 + 6)) == []
    assert sorted(materializations(instance, "letters")) == ["a", "b", "c"]


def test_a_restarted_daemon_keeps_the_cursor(instance: ArcoInstance) -> None:
    defs = af.Definitions(assets=[up, down, letters])
    daemon, launcher = daemon_for(instance, defs)
    tick(daemon, launcher, T0)
    instance.add_dynamic_partitions("letters", ["a"])
    assert af.materialize([up], instance=instance).success
    assert len(launched(tick(daemon, launcher, T0 + 1))) == 2  # down, and letters "a"
    runs_before = len(instance.get_runs())
    restarted, launcher = daemon_for(instance, defs)
    for second in range(2, 5):
        assert launched(tick(restarted, launcher, T0 + second)) == []
    assert len(instance.get_runs()) == runs_before
    assert restarted.cursor is not None
    assert daemon.cursor is not None
    assert restarted.cursor.evaluation_id >= daemon.cursor.evaluation_id
    assert af.materialize([up], instance=instance).success  # and it still reacts
    assert len(launched(tick(restarted, launcher, T0 + 10))) == 1


def test_a_materialization_while_the_daemon_is_down_is_seen_on_restart(
    instance: ArcoInstance,
) -> None:
    # A fresh cursor would take the restart for an initial evaluation and request nothing.
    defs = af.Definitions(assets=[up, down])
    daemon, launcher = daemon_for(instance, defs)
    tick(daemon, launcher, T0)
    assert af.materialize([up], instance=instance).success
    restarted, launcher = daemon_for(instance, defs)
    assert len(launched(tick(restarted, launcher, T0 + 1))) == 1
    assert launched(tick(restarted, launcher, T0 + 2)) == []
    assert len(materializations(instance, "down")) == 1


def test_ticks_are_recorded_before_their_runs_and_finished(instance: ArcoInstance) -> None:
    defs = af.Definitions(assets=[up, down])
    daemon, launcher = daemon_for(instance, defs)
    tick(daemon, launcher, T0)
    af.materialize([up], instance=instance)
    tick(daemon, launcher, T0 + 1)
    ticks = instance.get_ticks(AUTOMATION_INSTIGATOR)
    assert [t.status for t in ticks][:1] == [TickStatus.SUCCESS]
    assert all(t.is_finished for t in ticks)
    [request] = ticks[0].run_requests
    assert request.request["asset_selection"] == [["down"]]


def test_evaluation_records_say_why(instance: ArcoInstance) -> None:
    defs = af.Definitions(assets=[up, down])
    daemon, launcher = daemon_for(instance, defs)
    tick(daemon, launcher, T0)
    af.materialize([up], instance=instance)
    tick(daemon, launcher, T0 + 1)
    records = automation_evaluations(instance, "down")
    assert [r.num_requested for r in records][:2] == [1, 0]
    latest = records[0]
    assert latest.root.label == "eager"
    assert latest.root.num_true == 1
    labels = [child.label for child in latest.root.children]
    assert any("any_deps_missing" in label for label in labels)
    assert automation_evaluations(instance, "up") == []  # up has no condition
    assert len(automation_evaluations(instance, "down", limit=1)) == 1


def test_the_instance_query_answers_what_decoding_every_tick_gives(instance: ArcoInstance) -> None:
    from arco_flow.core.automation import evaluations_from_change
    from arco_flow.core.events import TickStarted
    from arco_flow.storage.automation_projection import AUTOMATION_STREAM
    from arco_flow.storage.instigator_projection import instigator_stream

    assert instigator_stream(AUTOMATION_INSTIGATOR) == AUTOMATION_STREAM
    defs = af.Definitions(assets=[up, down, letters])
    daemon, launcher = daemon_for(instance, defs)
    tick(daemon, launcher, T0)
    instance.add_dynamic_partitions("letters", ["a", "b"])
    af.materialize([up], instance=instance)
    tick(daemon, launcher, T0 + 1)
    assert instance.get_automation_evaluations("letters")  # folded up to here
    instance.add_dynamic_partitions("letters", ["c"])
    af.materialize([up], instance=instance)
    tick(daemon, launcher, T0 + 2)
    for key in ("down", "letters"):
        folded = [
            record
            for stream_record in instance.read_stream(AUTOMATION_STREAM)
            if isinstance(stream_record.event, TickStarted) and stream_record.event.cursor_after
            for record in evaluations_from_change(
                json.loads(stream_record.event.cursor_after), asset_key=AssetKey(key)
            )
        ][::-1]
        assert len(folded) >= 3
        assert instance.get_automation_evaluations(key) == folded
        assert automation_evaluations(instance, key, limit=2) == folded[:2]
    assert [r.num_requested for r in instance.get_automation_evaluations("letters")][:2] == [1, 2]


def test_a_bad_automation_condition_is_refused_at_definition_time() -> None:
    @af.asset(automation_condition="eager")
    def wrong() -> int:
        return 1

    with pytest.raises(af.DefinitionError, match="AutomationCondition"):
        af.Definitions(assets=[wrong]).manifest  # noqa: B018


def test_the_cli_shows_the_evaluations(instance: ArcoInstance, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from arco_flow.cli.main import cli

    defs = af.Definitions(assets=[up, down])
    daemon, launcher = daemon_for(instance, defs)
    tick(daemon, launcher, T0)
    af.materialize([up], instance=instance)
    tick(daemon, launcher, T0 + 1)
    env = {"ARCO_HOME": str(tmp_path / "home")}
    shown = CliRunner().invoke(cli, ["automation", "evaluations", "down"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "requested 1" in shown.output
    assert "eager" in shown.output
    assert "[up]" in shown.output
    as_json = CliRunner().invoke(cli, ["automation", "evaluations", "down", "--json"], env=env)
    assert json.loads(as_json.output)[0]["num_requested"] == 1
    missing = CliRunner().invoke(cli, ["automation", "evaluations", "up"], env=env)
    assert "no automation evaluation" in missing.output


def test_run_daemon_runs_the_automation_loop(instance: ArcoInstance) -> None:
    import threading
    import time

    from arco_flow.daemon.runner import run_daemon

    defs = af.Definitions(assets=[up, down])
    af.materialize([up], instance=instance)  # before the first tick: not "new" to eager
    stop = threading.Event()
    errors: list[BaseException] = []
    daemon = threading.Thread(
        target=run_daemon,
        args=(instance, {}),
        kwargs={
            "stop_event": stop,
            "interval_s": 0.05,
            "definitions": defs,
            "on_error": lambda _name, error: errors.append(error),
        },
    )
    daemon.start()
    try:
        deadline = time.monotonic() + 30
        while not instance.get_ticks(AUTOMATION_INSTIGATOR) and time.monotonic() < deadline:
            time.sleep(0.05)
        af.materialize([up], instance=instance)
        while not materializations(instance, "down") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        daemon.join()
    assert errors == []
    assert len(materializations(instance, "down")) == 1


def test_the_daemon_reads_back_none_of_its_own_records_and_keeps_no_finished_tick(
    instance: ArcoInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = af.Definitions(assets=[up, down, hourly])
    daemon, launcher = daemon_for(instance, defs)
    tick(daemon, launcher, T0)
    read_back: list[str] = []
    real_read_stream = instance.read_stream

    def counting_read_stream(stream: str, *, after_sequence: int = 0):  # type: ignore[no-untyped-def]
        records = real_read_stream(stream, after_sequence=after_sequence)
        read_back.extend(type(record.event).__name__ for record in records)
        return records

    monkeypatch.setattr(instance, "read_stream", counting_read_stream)
    af.materialize([up], instance=instance)
    assert launched(tick(daemon, launcher, T0 + 60))  # down requested and run
    for minute in range(2, 5):
        tick(daemon, launcher, T0 + 60 * minute)
    # Every tick record was appended by this daemon, which folded it as it appended it.
    assert read_back == []
    assert daemon._states.get(AUTOMATION_INSTIGATOR).ticks == {}  # no ended tick is kept
    history = instance.get_ticks(AUTOMATION_INSTIGATOR)  # the history is the log's
    assert [t.status for t in history].count(TickStatus.SUCCESS) == 1
