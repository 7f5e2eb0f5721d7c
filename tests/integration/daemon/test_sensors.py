"""The sensor daemon on a store: cursors, intervals, asset sensors, dynamic partitions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import arco_flow as af
from arco_flow.daemon.sensors import SENSOR_NAME_TAG, SensorDaemon
from arco_flow.daemon.ticks import ThreadRunLauncher
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import TickStatus
from arco_flow.storage.records import RunStatus
from tests.integration.daemon.test_scheduler import RecordingLauncher

CUSTOMERS = af.DynamicPartitionsDefinition(name="customers")


@af.asset
def source() -> int:
    return 1


@af.asset(deps=[source])
def report() -> int:
    return 2


@af.asset(partitions_def=CUSTOMERS)
def per_customer(context: af.AssetExecutionContext) -> str:
    return context.partition_key


REPORT_JOB = af.define_asset_job("report_job", selection=[report])
CUSTOMER_JOB = af.define_asset_job("customer_job", selection=[per_customer])


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[ArcoInstance]:
    with ArcoInstance.from_home(tmp_path / "home") as instance:
        yield instance


def defs_with(*sensors: af.SensorDefinition) -> af.Definitions:
    return af.Definitions(
        assets=[source, report, per_customer], jobs=[REPORT_JOB, CUSTOMER_JOB], sensors=sensors
    )


def test_the_cursor_persists_across_ticks_and_daemon_restarts(instance: ArcoInstance) -> None:
    seen: list[str | None] = []

    @af.sensor(
        job=REPORT_JOB, minimum_interval_seconds=0, default_status=af.DefaultSensorStatus.RUNNING
    )
    def counting(context: af.SensorEvaluationContext) -> af.SkipReason:
        seen.append(context.cursor)
        context.update_cursor(str(int(context.cursor or "0") + 1))
        return af.SkipReason("nothing new")

    launcher = RecordingLauncher(instance)
    SensorDaemon(instance, defs_with(counting), launcher=launcher).tick(100.0)
    SensorDaemon(instance, defs_with(counting), launcher=launcher).tick(200.0)  # restart
    SensorDaemon(instance, defs_with(counting), launcher=launcher).tick(300.0)
    assert seen == [None, "1", "2"]
    assert instance.get_instigator_state("counting").cursor == "3"
    assert [t.cursor_before for t in instance.get_ticks("counting")] == ["2", "1", None]


def test_a_sensor_ticks_at_most_once_per_minimum_interval(instance: ArcoInstance) -> None:
    @af.sensor(
        job=REPORT_JOB, minimum_interval_seconds=30, default_status=af.DefaultSensorStatus.RUNNING
    )
    def slow() -> af.SkipReason:
        return af.SkipReason("idle")

    daemon = SensorDaemon(instance, defs_with(slow), launcher=RecordingLauncher(instance))
    ticked = [bool(daemon.tick(now)) for now in (0.0, 10.0, 29.0, 30.0, 45.0, 61.0)]
    assert ticked == [True, False, False, True, False, True]


def test_a_stopped_sensor_does_not_tick(instance: ArcoInstance) -> None:
    @af.sensor(job=REPORT_JOB)
    def idle() -> af.SkipReason:
        return af.SkipReason("idle")

    assert (
        SensorDaemon(instance, defs_with(idle), launcher=RecordingLauncher(instance)).tick(0) == []
    )


def test_run_keys_are_launched_once_across_sensor_ticks(instance: ArcoInstance) -> None:
    @af.sensor(
        job=REPORT_JOB, minimum_interval_seconds=0, default_status=af.DefaultSensorStatus.RUNNING
    )
    def files() -> list[af.RunRequest]:
        return [af.RunRequest(run_key="a.csv"), af.RunRequest(run_key="b.csv")]

    launcher = RecordingLauncher(instance)
    daemon = SensorDaemon(instance, defs_with(files), launcher=launcher)
    first, second = daemon.tick(1.0), daemon.tick(2.0)
    assert [r.run_key for r in launcher.launched] == ["a.csv", "b.csv"]
    assert first[0].status is TickStatus.SUCCESS
    assert second[0].status is TickStatus.SKIPPED
    assert launcher.launched[0].request["tags"] == {SENSOR_NAME_TAG: "files"}


def test_an_asset_sensor_fires_once_per_materialization(instance: ArcoInstance) -> None:
    @af.asset_sensor(
        asset_key=af.AssetKey("source"),
        job=REPORT_JOB,
        minimum_interval_seconds=0,
        default_status=af.DefaultSensorStatus.RUNNING,
    )
    def on_source(context: af.SensorEvaluationContext, asset_event: object) -> af.RunRequest:
        return af.RunRequest()

    defs = defs_with(on_source)
    launcher = ThreadRunLauncher(instance, defs, code_location=None)
    daemon = SensorDaemon(instance, defs, launcher=launcher)
    clock = iter(range(1, 100))

    def settle() -> list[int]:
        """Ticks until the sensor is idle; the run counts of the ticks that ended."""
        counts = []
        for _ in range(10):
            outcomes = daemon.tick(float(next(clock)))
            launcher.wait(timeout=60)
            counts += [len(o.run_ids) for o in outcomes]
            if outcomes and outcomes[-1].status is TickStatus.SKIPPED:
                return counts
        raise AssertionError(f"the sensor never went idle: {counts}")

    af.materialize([source], instance=instance)
    af.materialize([source], instance=instance)
    assert settle() == [2, 0]
    assert settle() == [0]
    af.materialize([source], instance=instance)
    assert settle() == [1, 0]
    report_runs = [r for r in instance.get_runs() if r.job_name == "report_job"]
    assert len(report_runs) == 3
    assert all(r.status is RunStatus.SUCCESS for r in report_runs)


def test_dynamic_partition_requests_are_applied_before_the_runs(instance: ArcoInstance) -> None:
    @af.sensor(
        job=CUSTOMER_JOB, minimum_interval_seconds=0, default_status=af.DefaultSensorStatus.RUNNING
    )
    def new_customers() -> af.SensorResult:
        return af.SensorResult(
            run_requests=[af.RunRequest(partition_key="acme", run_key="acme")],
            dynamic_partitions_requests=[CUSTOMERS.build_add_request(["acme"])],
        )

    launcher = RecordingLauncher(instance)
    [outcome] = SensorDaemon(instance, defs_with(new_customers), launcher=launcher).tick(1.0)
    assert outcome.status is TickStatus.SUCCESS
    assert instance.get_dynamic_partitions("customers") == ["acme"]
    [tick] = instance.get_ticks("new_customers")
    assert [p.partition_keys for p in tick.partition_requests] == [("acme",)]
    assert launcher.launched[0].request["partition_key"] == "acme"


def test_a_failing_sensor_keeps_its_cursor(instance: ArcoInstance) -> None:
    @af.sensor(
        job=REPORT_JOB, minimum_interval_seconds=0, default_status=af.DefaultSensorStatus.RUNNING
    )
    def flaky(context: af.SensorEvaluationContext) -> af.RunRequest:
        if context.cursor == "1":
            raise RuntimeError("the bucket is unreachable")
        context.update_cursor("1")
        return af.RunRequest(run_key="x")

    daemon = SensorDaemon(instance, defs_with(flaky), launcher=RecordingLauncher(instance))
    daemon.tick(1.0)
    [failed] = daemon.tick(2.0)
    assert failed.status is TickStatus.FAILURE
    assert instance.get_instigator_state("flaky").cursor == "1"


def test_the_daemon_tags_sensor_runs_with_the_sdk_constant_and_keeps_its_old_import() -> None:
    from arco_flow.sdk import sensors as sdk_sensors

    assert SENSOR_NAME_TAG is sdk_sensors.SENSOR_NAME_TAG
