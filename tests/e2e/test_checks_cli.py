"""`arco-flow checks list|history` against the embedded store, and their bad input.

The evaluations are appended through `ArcoInstance.append`, as a run's recorder would.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from arco_flow.core.events import AssetCheckEvaluated, NewEvent, idempotency_key
from arco_flow.core.keys import AssetKey
from arco_flow.storage.instance import ArcoInstance
from tests.e2e.cli_process import run_arco

ORDERS = AssetKey(["warehouse", "orders"])
USERS = AssetKey("users")
DAILY = AssetKey("daily")


def arco(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_arco(home, *args, timeout=60)


def _record(home: Path, *events: AssetCheckEvaluated) -> None:
    with ArcoInstance.get(home) as instance:
        instance.append(
            [
                NewEvent(event=event, idempotency_key=idempotency_key(event, n))
                for n, event in enumerate(events)
            ]
        )


def _evaluated(
    asset: AssetKey, check: str, run: str, passed: bool, **fields
) -> AssetCheckEvaluated:
    return AssetCheckEvaluated(
        run_id=run, task_id="t", asset_key=asset, check_name=check, passed=passed, **fields
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("checks_cli") / "home"
    _record(
        home,
        _evaluated(ORDERS, "not_null", "run-1", False, description="3 null ids"),
        _evaluated(ORDERS, "unique", "run-1", False, blocking=True),
        _evaluated(USERS, "row_count", "run-1", False, severity="WARN"),
        _evaluated(DAILY, "fresh", "run-1", True, partition_key="2024-01-01"),
        _evaluated(DAILY, "fresh", "run-1", False, partition_key="2024-01-02"),
    )
    _record(
        home,
        _evaluated(
            ORDERS, "not_null", "run-2", True, metadata={"nulls": {"type": "int", "value": 0}}
        ),
    )
    return home


def test_list_shows_the_latest_status_of_every_check(home):
    done = arco(home, "checks", "list")
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    assert lines[0] == ["ASSET", "CHECK", "STATUS", "SEVERITY", "WHEN", "RUN", "PARTITION"]
    assert [(line[0], line[1], line[2], line[3], line[6]) for line in lines[1:]] == [
        ("daily", "fresh", "FAILED", "ERROR", "run-1"),
        ("users", "row_count", "FAILED", "WARN", "run-1"),
        ("warehouse/orders", "not_null", "PASSED", "ERROR", "run-2"),
        ("warehouse/orders", "unique", "FAILED", "ERROR", "run-1"),
    ]
    assert lines[1][-1] == "2024-01-02"


def test_list_filters_by_asset_and_by_failure(home):
    failed = arco(home, "checks", "list", "--failed", "--asset", "warehouse/orders")
    assert failed.returncode == 0, failed.stderr
    rows = failed.stdout.splitlines()[1:]
    assert [row.split()[:3] for row in rows] == [["warehouse/orders", "unique", "FAILED"]]
    assert "PARTITION" not in failed.stdout
    passed_only = arco(home, "checks", "list", "--asset", "users", "--failed")
    assert "row_count" in passed_only.stdout


def test_history_is_newest_first_with_description_and_metadata(home):
    done = arco(home, "checks", "history", "warehouse/orders", "not_null")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "check warehouse/orders:not_null: 2 latest evaluation(s), newest first"
    assert "PASSED  ERROR  run run-2" in lines[1]
    assert lines[2].strip() == "nulls=0"
    assert "FAILED  ERROR  run run-1" in lines[3]
    assert lines[4].strip() == "3 null ids"
    limited = arco(home, "checks", "history", "warehouse/orders", "not_null", "--limit", "1")
    assert "1 latest evaluation(s)" in limited.stdout
    assert "run-1" not in limited.stdout
    blocking = arco(home, "checks", "history", "warehouse/orders", "unique")
    assert "FAILED  ERROR blocking  run run-1" in blocking.stdout


def test_history_of_one_partition(home):
    done = arco(home, "checks", "history", "daily", "fresh", "--partition", "2024-01-01")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert (
        lines[0]
        == "check daily:fresh of partition 2024-01-01: 1 latest evaluation(s), newest first"
    )
    assert lines[1].endswith("PASSED  ERROR  run run-1 [2024-01-01]")
    assert len(lines) == 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("list", "--asset", "warehouse/order"), "Did you mean 'warehouse/orders'?"),
        (("history", "user", "row_count"), "asset 'user' has no check evaluation"),
        (("history", "warehouse/orders", "not_nul"), "Did you mean 'not_null'?"),
        (
            ("history", "daily", "fresh", "--partition", "2024-01-01x"),
            "has no evaluation of partition '2024-01-01x'. Did you mean '2024-01-01'?",
        ),
        (("history", "users", "row_count", "--limit", "0"), "Invalid value for '--limit'"),
    ],
)
def test_unknown_assets_checks_and_partitions_are_one_line_errors(home, args, expected):
    done = arco(home, "checks", *args)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_names_are_one_line_errors_that_suggest_a_close_name(home):
    done = arco(home, "checks", "history", "warehouse/orders", "uniq")
    assert done.returncode == 2
    assert done.stderr == (
        "error: asset 'warehouse/orders' has no check 'uniq' in this store. Did you mean "
        "'unique'? Its checks: not_null, unique.\n"
    )


def test_an_empty_store_has_no_checks_and_the_store_still_verifies(home, tmp_path):
    empty = arco(tmp_path / "empty", "checks", "list")
    assert (empty.returncode, empty.stdout) == (0, "no check evaluations\n")
    none_failed = arco(tmp_path / "empty", "checks", "list", "--failed")
    assert none_failed.stdout == "no failed checks\n"
    assert arco(home, "store", "verify").stdout.startswith("ok")
