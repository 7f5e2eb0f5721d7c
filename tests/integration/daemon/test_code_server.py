"""Schedules and sensors evaluated in the daemon's code server, never in the daemon."""

from __future__ import annotations

import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import arco_flow as af
from arco_flow.daemon.code_server import CodeServer, CodeServerError
from arco_flow.daemon.scheduler import Scheduler
from arco_flow.daemon.sensors import SensorDaemon
from arco_flow.daemon.ticks import TickOutcome
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import TickStatus
from tests.integration.daemon.test_scheduler import RecordingLauncher, ts

CODE = """
import os, time
from pathlib import Path
import arco_flow as af

SIGNALS = Path(os.environ["CODE_SERVER_TEST_DIR"])

@af.asset
def source():
    return 1

@af.asset(deps=[source])
def report():
    return 2

REPORT_JOB = af.define_asset_job("report_job", selection=[report])

@af.schedule(cron_schedule="0 * * * *", job=REPORT_JOB,
             default_status=af.DefaultScheduleStatus.RUNNING)
def hourly(context):
    return af.RunRequest(run_key=f"{context.scheduled_execution_time:%H}", tags={"k": "v"})

@af.sensor(job=REPORT_JOB, minimum_interval_seconds=0,
           default_status=af.DefaultSensorStatus.RUNNING)
def counting(context):
    count = int(context.cursor or "0") + 1
    context.update_cursor(str(count))
    return af.RunRequest(run_key=f"count-{count}")

@af.sensor(job=REPORT_JOB, minimum_interval_seconds=0,
           default_status=af.DefaultSensorStatus.RUNNING)
def broken(context):
    raise ValueError("the source is unreachable")

@af.sensor(job=REPORT_JOB, minimum_interval_seconds=0,
           default_status=af.DefaultSensorStatus.RUNNING)
def hangs(context):
    time.sleep(600)

@af.sensor(job=REPORT_JOB, minimum_interval_seconds=0,
           default_status=af.DefaultSensorStatus.RUNNING)
def crashes_once(context):
    (SIGNALS / "evaluations").open("a").write("x")
    marker = SIGNALS / "crashed"
    if not marker.exists():
        marker.touch()
        os._exit(1)
    return af.RunRequest(run_key="after-crash")

@af.asset_sensor(asset_key=af.AssetKey("source"), job=REPORT_JOB, minimum_interval_seconds=0,
                 default_status=af.DefaultSensorStatus.RUNNING)
def on_source(context, asset_event):
    return af.RunRequest(run_key=str(asset_event.event_id), tags={"run": asset_event.run_id})

@af.run_status_sensor(run_status="SUCCESS", minimum_interval_seconds=0,
                      request_job=REPORT_JOB, default_status=af.DefaultSensorStatus.RUNNING)
def after_success(context):
    return af.RunRequest(run_key="after-" + context.dagster_run.run_id)

SENSORS = {
    name: sensor for name, sensor in
    [(s.name, s) for s in (counting, broken, hangs, crashes_once, on_source, after_success)]
}
chosen = [SENSORS[n] for n in os.environ.get("CODE_SERVER_SENSORS", "").split(",") if n]
defs = af.Definitions(assets=[source, report], jobs=[REPORT_JOB], schedules=[hourly],
                      sensors=chosen)
"""

MODULE_NAME = "arco_flow_user_code_server_defs"


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[ArcoInstance]:
    with ArcoInstance.from_home(tmp_path / "home") as instance:
        yield instance


@pytest.fixture
def location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    signals = tmp_path / "signals"
    signals.mkdir()
    monkeypatch.setenv("CODE_SERVER_TEST_DIR", str(signals))
    module = tmp_path / "code_server_defs.py"
    module.write_text(textwrap.dedent(CODE))
    return {"file": str(module)}


def server(
    location: dict[str, str],
    instance: ArcoInstance,
    monkeypatch: pytest.MonkeyPatch,
    *sensors: str,
    timeout_s: float = 60.0,
) -> CodeServer:
    monkeypatch.setenv("CODE_SERVER_SENSORS", ",".join(sensors))
    code = CodeServer(location, instance, evaluation_timeout_s=timeout_s)
    code.start()  # the server reads the environment when it starts
    return code


def test_a_schedule_ticks_through_the_server_and_the_daemon_imports_no_user_code(
    location: dict[str, str], instance: ArcoInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    launcher = RecordingLauncher(instance)
    with server(location, instance, monkeypatch, "counting") as code:
        scheduler = Scheduler(instance, code, launcher=launcher)
        sensors = SensorDaemon(instance, code, launcher=launcher)
        start = ts("2026-03-01T09:30:00+00:00")
        outcomes: list[TickOutcome] = []
        for step in range(3):
            outcomes += scheduler.tick(start + step * 3600)
            outcomes += sensors.tick(start + step * 3600)
        assert code.pid is not None

    assert MODULE_NAME not in sys.modules
    schedule_ticks = [o for o in outcomes if o.instigator_type == "schedule"]
    assert [o.status for o in schedule_ticks] == [TickStatus.SUCCESS] * 2
    requests = [r.request for r in launcher.launched if r.instigator_name == "hourly"]
    assert [r["tags"] for r in requests] == [
        {"k": "v", "arco/schedule_name": "hourly"},
        {"k": "v", "arco/schedule_name": "hourly"},
    ]
    assert [r.run_key for r in launcher.launched if r.instigator_name == "hourly"] == ["10", "11"]
    # The sensor's cursor went through the server and back on every tick.
    assert [r.run_key for r in launcher.launched if r.instigator_name == "counting"] == [
        "count-1",
        "count-2",
        "count-3",
    ]
    assert instance.get_instigator_state("counting").cursor == "3"


def test_a_sensor_that_raises_fails_its_tick_with_the_user_traceback(
    location: dict[str, str], instance: ArcoInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    with server(location, instance, monkeypatch, "broken") as code:
        [outcome] = SensorDaemon(instance, code, launcher=RecordingLauncher(instance)).tick(1.0)

    assert outcome.status is TickStatus.FAILURE
    [tick] = instance.get_ticks("broken")
    assert tick.status is TickStatus.FAILURE
    assert tick.error is not None
    assert "the source is unreachable" in tick.error.message
    cause = tick.error.cause
    assert cause is not None
    assert cause.class_name == "ValueError"
    assert "code_server_defs.py" in cause.stack
    assert "def broken" not in cause.message


def test_a_hung_sensor_times_out_and_never_stalls_the_schedules(
    location: dict[str, str], instance: ArcoInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    launcher = RecordingLauncher(instance)
    sensor_code = server(location, instance, monkeypatch, "hangs", timeout_s=2.0)
    schedule_code = server(location, instance, monkeypatch)
    sensor_outcomes: list[TickOutcome] = []
    with sensor_code, schedule_code:
        sensors = SensorDaemon(instance, sensor_code, launcher=launcher)
        hung = threading.Thread(target=lambda: sensor_outcomes.extend(sensors.tick(1.0)))
        hung.start()
        scheduler = Scheduler(instance, schedule_code, launcher=launcher)
        start = ts("2026-03-01T09:30:00+00:00")
        ticked = scheduler.tick(start) + scheduler.tick(start + 3600)
        hung.join(60)
        first_server = sensor_code.starts
        monkeypatch.setenv("CODE_SERVER_SENSORS", "hangs")
        sensors.tick(2.0)  # a new server is started for the next tick

    assert [o.status for o in ticked] == [TickStatus.SUCCESS]
    [outcome] = sensor_outcomes
    assert outcome.status is TickStatus.FAILURE
    assert outcome.error is not None
    assert outcome.error.class_name == "EvaluationTimeoutError"
    assert first_server == 1
    assert sensor_code.starts == 2
    assert [t.status for t in instance.get_ticks("hangs")] == [TickStatus.FAILURE] * 2


def test_a_server_dying_mid_evaluation_is_restarted_and_the_tick_recorded_once(
    location: dict[str, str], instance: ArcoInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    launcher = RecordingLauncher(instance)
    with server(location, instance, monkeypatch, "crashes_once") as code:
        [outcome] = SensorDaemon(instance, code, launcher=launcher).tick(1.0)
        starts = code.starts

    assert outcome.status is TickStatus.SUCCESS
    assert starts == 2
    signals = Path(location["file"]).parent / "signals"
    assert (signals / "evaluations").read_text() == "xx"
    [tick] = instance.get_ticks("crashes_once")
    assert tick.status is TickStatus.SUCCESS
    assert [r.run_key for r in launcher.launched] == ["after-crash"]


def test_an_asset_sensor_reads_materializations_through_the_proxy(
    location: dict[str, str], instance: ArcoInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    @af.asset(name="source")
    def source() -> int:
        return 1

    launcher = RecordingLauncher(instance)
    with server(location, instance, monkeypatch, "on_source") as code:
        daemon = SensorDaemon(instance, code, launcher=launcher)
        [idle] = daemon.tick(1.0)
        first = af.materialize([source], instance=instance)
        second = af.materialize([source], instance=instance)
        [fired] = daemon.tick(2.0)

    assert idle.status is TickStatus.SKIPPED
    assert fired.status is TickStatus.SUCCESS
    history = instance.get_materialization_history(af.AssetKey("source"))
    assert [r.run_key for r in launcher.launched] == [str(r.event_id) for r in reversed(history)]
    assert [r.request["tags"]["run"] for r in launcher.launched] == [first.run_id, second.run_id]
    assert instance.get_instigator_state("on_source").cursor == str(history[0].event_id)


def test_a_run_status_sensor_reads_runs_through_the_proxy(
    location: dict[str, str], instance: ArcoInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    @af.asset(name="source")
    def source() -> int:
        return 1

    launcher = RecordingLauncher(instance)
    with server(location, instance, monkeypatch, "after_success") as code:
        daemon = SensorDaemon(instance, code, launcher=launcher)
        [started] = daemon.tick(1.0)
        done = af.materialize([source], instance=instance)
        [fired] = daemon.tick(2.0)

    assert started.status is TickStatus.SKIPPED
    assert fired.status is TickStatus.SUCCESS
    assert [r.run_key for r in launcher.launched] == [f"after-{done.run_id}"]


def test_a_code_location_that_fails_to_load_fails_the_listing(
    tmp_path: Path, instance: ArcoInstance
) -> None:
    module = tmp_path / "broken_defs.py"
    module.write_text("raise RuntimeError('cannot import this')\n")
    with (
        CodeServer({"file": str(module)}, instance) as code,
        pytest.raises(CodeServerError, match="cannot import this"),
    ):
        code.schedules()


def test_reload_starts_a_server_on_the_new_code(
    location: dict[str, str], instance: ArcoInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    with server(location, instance, monkeypatch) as code:
        assert [s.name for s in code.sensors()] == []
        monkeypatch.setenv("CODE_SERVER_SENSORS", "counting")
        assert [s.name for s in code.sensors()] == []  # listed once per server
        code.reload()
        assert [s.name for s in code.sensors()] == ["counting"]
        assert code.starts == 2
