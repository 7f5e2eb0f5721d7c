"""`arco-flow backfill …` end to end: a driver killed with SIGKILL mid-backfill is taken
over by `backfill resume`, which finishes every partition; bad requests are one-line
errors that record nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
from pathlib import Path

from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import DailyPartitionsDefinition
from arco_flow.storage.instance import ArcoInstance
from tests.e2e.cli_process import start_arco, wait_for

CODE = """
import os, time
from pathlib import Path
import arco_flow as af
from arco_flow.core.partitions import DailyPartitionsDefinition

SIGNALS = Path(os.environ["BACKFILL_TEST_DIR"])
DAILY = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")

@af.asset(partitions_def=DAILY)
def days(context):
    if "2024-01-04" in context.partition_keys:
        (SIGNALS / "slow-started").touch()
        deadline = time.monotonic() + 60
        while not (SIGNALS / "release").exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the test never released the slow partition")
            time.sleep(0.02)
    return {key: key for key in context.partition_keys}  # one value per partition

@af.asset
def unpartitioned():
    return 1
"""
DAILY = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")


def arco(home: Path, signals: Path, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    return start_arco(home, *args, env={"BACKFILL_TEST_DIR": str(signals)}, **kwargs)


def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def test_a_killed_driver_is_resumed_and_every_partition_is_materialized(tmp_path: Path) -> None:
    home, signals = tmp_path / "home", tmp_path / "signals"
    signals.mkdir()
    code = tmp_path / "daily.py"
    code.write_text(textwrap.dedent(CODE))

    driver = arco(home, signals, "backfill", "create", "-f", str(code), "--all", "--id", "bf1")
    wait_for(signals / "slow-started", driver)
    os.kill(driver.pid, signal.SIGKILL)
    driver.communicate(timeout=30)  # reaped: its pid no longer counts as alive

    with ArcoInstance.get(home) as instance:
        [summary] = instance.get_backfills()
        assert (summary.backfill_id, summary.status) == ("bf1", "RUNNING")
        assert summary.chunks_done == 3  # 2024-01-01..03; the fourth was running

    (signals / "release").touch()
    code_, _, err = finished(arco(home, signals, "backfill", "resume", "bf1"))
    assert code_ == 0, err
    assert "COMPLETED" in err

    with ArcoInstance.get(home) as instance:
        status = instance.get_partition_status(AssetKey("days"), DAILY)
        assert (status.num_materialized, status.num_missing, status.num_failed) == (10, 0, 0)
        [summary] = instance.get_backfills()
        assert (summary.status, summary.partitions_done) == ("COMPLETED", 10)
        assert instance.verify() == []

    code_, out, _ = finished(arco(home, signals, "backfill", "show", "bf1"))
    assert code_ == 0
    assert "COMPLETED" in out
    assert "10 succeeded" in out
    code_, out, _ = finished(arco(home, signals, "backfill", "list"))
    assert "bf1" in out
    assert "10/10 done" in out


def test_no_wait_records_and_pause_resume_cancel_retry_answer_clearly(tmp_path: Path) -> None:
    home, signals = tmp_path / "home", tmp_path / "signals"
    signals.mkdir()
    (signals / "release").touch()
    code = tmp_path / "daily.py"
    code.write_text(textwrap.dedent(CODE))
    location = ("-f", str(code))

    code_, out, err = finished(
        arco(
            home,
            signals,
            "backfill",
            "create",
            *location,
            "--from",
            "2024-01-02",
            "--to",
            "2024-01-09",
            "--chunk-size",
            "3",
            "--id",
            "bf2",
            "--no-wait",
        )
    )
    assert code_ == 0, err
    assert "8 asset-partitions of 1 asset(s) in 3 run(s)" in out
    code_, out, _ = finished(arco(home, signals, "backfill", "pause", "bf2"))
    assert (code_, "paused" in out) == (0, True)
    code_, _, err = finished(arco(home, signals, "backfill", "retry", "bf2"))
    assert code_ == 2
    assert "nothing to retry" in err
    code_, _, err = finished(arco(home, signals, "backfill", "resume", "bf2"))
    assert code_ == 0, err
    code_, _, err = finished(arco(home, signals, "backfill", "cancel", "bf2"))
    assert code_ == 2
    assert "already ended COMPLETED" in err


def test_bad_backfill_requests_are_one_line_errors(tmp_path: Path) -> None:
    home, signals = tmp_path / "home", tmp_path / "signals"
    signals.mkdir()
    code = tmp_path / "daily.py"
    code.write_text(textwrap.dedent(CODE))
    location = ("-f", str(code))
    cases = [
        (("create", *location, "--all", "--missing"), "exactly one of"),
        (("create", *location, "--from", "2024-01-02"), "both --from and --to"),
        (("create", *location, "--select", "*", "--all"), "unpartitioned is not partitioned"),
        (
            ("create", *location, "--select", "days", "--from", "2024-02-30", "--to", "2024-03-01"),
            "2024-02-30",
        ),
        (("show", "nope"), "no backfill 'nope'"),
        (("pause", "nope"), "no backfill 'nope'"),
    ]
    for args, message in cases:
        code_, _, err = finished(arco(home, signals, "backfill", *args))
        assert code_ == 2, (args, err)
        assert message in err, (args, err)
        assert len(err.strip().splitlines()) <= 3, err
    with ArcoInstance.get(home) as instance:
        assert instance.get_backfills() == []
