"""Cursor snapshots of the automation loop: a restart from the latest snapshot and the
ticks after it gives the cursor the live daemon holds, whatever the snapshot interval."""

from __future__ import annotations

import datetime
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import arco_flow as af
from arco_flow.core.automation import AutomationCondition, AutomationCursor
from arco_flow.core.errors import ConfigError
from arco_flow.core.events import AutomationCursorSnapshotted
from arco_flow.daemon.automation import build_automation_graph
from arco_flow.daemon.automation_loop import (
    AUTOMATION_INSTIGATOR,
    AutomationDaemon,
    load_automation_cursor,
)
from arco_flow.daemon.ticks import ThreadRunLauncher
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import instigator_stream

T0 = datetime.datetime(2024, 3, 1, 10, 30, tzinfo=datetime.UTC).timestamp()
LETTERS = af.DynamicPartitionsDefinition(name="snapshot_letters")


@af.asset
def root() -> int:
    return 1


@af.asset(automation_condition=AutomationCondition.eager())
def child(root: int) -> int:
    return root + 1


@af.asset(partitions_def=LETTERS, automation_condition=AutomationCondition.on_missing())
def lettered(context: af.AssetExecutionContext) -> str:
    return context.partition_key


DEFS = af.Definitions(assets=[root, child, lettered])
ACTIONS = st.lists(st.sampled_from(["tick", "materialize", "partition"]), min_size=1, max_size=8)


def restored(instance: ArcoInstance) -> AutomationCursor | None:
    return load_automation_cursor(instance, build_automation_graph(DEFS)[1].get)


def same_state(left: AutomationCursor | None, right: AutomationCursor | None) -> bool:
    """Equal but for the evaluation id and time, which an idle tick moves unrecorded."""
    if left is None or right is None:
        return left is right
    return (left.assets, left.latest_event_ids, left.requested, left.volatile) == (
        right.assets,
        right.latest_event_ids,
        right.requested,
        right.volatile,
    )


def snapshots(instance: ArcoInstance) -> list[AutomationCursorSnapshotted]:
    stream = instance.read_stream(instigator_stream(AUTOMATION_INSTIGATOR))
    return [r.event for r in stream if isinstance(r.event, AutomationCursorSnapshotted)]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(every=st.integers(min_value=1, max_value=3), actions=ACTIONS)
def test_a_restart_from_the_latest_snapshot_gives_the_live_cursor(
    every: int, actions: list[str]
) -> None:
    with (
        tempfile.TemporaryDirectory() as home,
        ArcoInstance.from_home(Path(home)) as instance,
    ):
        launcher = ThreadRunLauncher(instance, DEFS, code_location=None)
        daemon = AutomationDaemon(instance, DEFS, launcher=launcher, snapshot_every_ticks=every)
        now, letters = T0, 0
        daemon.tick(now)
        for action in [*actions, "tick", "tick"]:
            if action == "materialize":
                assert af.materialize([root], instance=instance).success
            elif action == "partition":
                letters += 1
                instance.add_dynamic_partitions(LETTERS.name, [f"p{letters}"])
            else:
                now += 60
                daemon.tick(now)
                launcher.wait()
                daemon.finish_unfinished()
                assert same_state(restored(instance), daemon.cursor)
        assert same_state(restored(instance), daemon.cursor)


def test_snapshots_are_taken_every_n_recorded_ticks(tmp_path: Path) -> None:
    with ArcoInstance.from_home(tmp_path / "home") as instance:
        launcher = ThreadRunLauncher(instance, DEFS, code_location=None)
        daemon = AutomationDaemon(instance, DEFS, launcher=launcher, snapshot_every_ticks=2)
        for second in range(6):
            instance.add_dynamic_partitions(LETTERS.name, [f"s{second}"])  # each tick records
            daemon.tick(T0 + second)
            launcher.wait()
            daemon.finish_unfinished()
        taken = snapshots(instance)
        assert len(taken) == 3
        assert daemon.cursor is not None
        assert taken[-1].evaluation_id == daemon.cursor.evaluation_id
        restarted = AutomationDaemon(instance, DEFS, launcher=launcher, snapshot_every_ticks=2)
        instance.add_dynamic_partitions(LETTERS.name, ["after"])
        outcomes = restarted.tick(T0 + 10)
        launcher.wait()
        outcomes += restarted.finish_unfinished()
        assert [len(o.run_ids) for o in outcomes] == [1]  # only the new partition


def test_a_byte_threshold_snapshots_every_tick_past_it(tmp_path: Path) -> None:
    with ArcoInstance.from_home(tmp_path / "home") as instance:
        launcher = ThreadRunLauncher(instance, DEFS, code_location=None)
        daemon = AutomationDaemon(instance, DEFS, launcher=launcher, snapshot_every_bytes=1)
        daemon.tick(T0)
        assert len(snapshots(instance)) == 1


def test_snapshot_thresholds_must_be_positive() -> None:
    with ArcoInstance.ephemeral() as instance:
        launcher = ThreadRunLauncher(instance, DEFS, code_location=None)
        with pytest.raises(ConfigError, match="snapshot_every_ticks"):
            AutomationDaemon(instance, DEFS, launcher=launcher, snapshot_every_ticks=0)


def test_a_restart_reads_the_stream_from_the_snapshot_before_the_latest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ArcoInstance.from_home(tmp_path / "home") as instance:
        launcher = ThreadRunLauncher(instance, DEFS, code_location=None)
        daemon = AutomationDaemon(instance, DEFS, launcher=launcher, snapshot_every_ticks=2)
        for second in range(10):
            instance.add_dynamic_partitions(LETTERS.name, [f"r{second}"])  # each tick records
            daemon.tick(T0 + second)
            launcher.wait()
            daemon.finish_unfinished()
        stream = instigator_stream(AUTOMATION_INSTIGATOR)
        records = instance.read_stream(stream)
        at = [
            r.stream_sequence for r in records if isinstance(r.event, AutomationCursorSnapshotted)
        ]
        assert len(at) == 5
        read_from: list[int] = []
        real = instance.read_stream

        def recording(name: str, *, after_sequence: int = 0):  # type: ignore[no-untyped-def]
            if name == stream:
                read_from.append(after_sequence)
            return real(name, after_sequence=after_sequence)

        monkeypatch.setattr(instance, "read_stream", recording)
        cursor = restored(instance)
        assert read_from == [at[-2] - 1]  # not from the start of the stream
        assert same_state(cursor, daemon.cursor)
