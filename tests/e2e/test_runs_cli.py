"""The runs, assets and store commands against the embedded store, and their bad input."""

from __future__ import annotations

import sqlite3
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.e2e.cli_process import run_arco

MODULE = """
import arco_flow as af

@af.asset
def good():
    return 1

@af.asset
def bad(good):
    raise ValueError("broken on purpose")
"""


def arco(home: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_arco(home, *args, cwd=cwd, timeout=60)


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs_cli")
    home = root / "home"
    module = root / "project.py"
    module.write_text(textwrap.dedent(MODULE))
    done = arco(home, "materialize", "-f", str(module), "--executor", "in_process")
    assert done.returncode == 1, done.stderr
    listed = arco(home, "runs", "list")
    run_id = listed.stdout.split()[0]
    return home, module, run_id


def test_runs_list_show_and_events_describe_the_run(failed_run):
    home, _, run_id = failed_run
    listed = arco(home, "runs", "list", "--status", "FAILURE")
    assert run_id in listed.stdout
    assert arco(home, "runs", "list", "--status", "SUCCESS").stdout.strip() == "no runs"
    shown = arco(home, "runs", "show", run_id)
    assert "status    FAILURE" in shown.stdout
    assert "ValueError: broken on purpose" in shown.stdout
    newest = arco(home, "runs", "show")
    assert newest.stdout == shown.stdout
    events = arco(home, "runs", "events", run_id, "--type", "task.failed/1", "--json")
    assert events.returncode == 0
    assert events.stdout.count("\n") == 1
    assert '"type":"task.failed/1"' in events.stdout


def test_assets_show_lists_the_history_and_store_verify_passes(failed_run):
    home, _, run_id = failed_run
    shown = arco(home, "assets", "show", "good")
    assert f"run {run_id} task good" in shown.stdout
    assert arco(home, "store", "verify").stdout.startswith("ok")
    assert "rebuilt the projections" in arco(home, "store", "rebuild").stdout


@pytest.mark.parametrize(
    "args",
    [
        ("runs", "show", "no-such-run"),
        ("runs", "events", "no-such-run"),
        ("runs", "cancel", "no-such-run"),
        ("runs", "resume", "no-such-run"),
        ("runs", "reexecute", "no-such-run", "--from-failure"),
    ],
)
def test_an_unknown_run_id_is_a_clear_error(failed_run, args):
    home, _, _ = failed_run
    done = arco(home, *args)
    assert done.returncode == 2
    assert "run 'no-such-run' does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_other_bad_input_is_a_clear_error_and_changes_nothing(failed_run):
    home, _, run_id = failed_run
    before = arco(home, "runs", "list").stdout
    cases = {
        ("assets", "show", "goood"): "Did you mean 'good'?",
        ("runs", "reexecute", run_id, "--select", "key:("): "invalid asset selection",
        ("runs", "reexecute", run_id): "exactly one of",
        ("runs", "cancel", run_id): "already ended",
        ("runs", "resume", run_id): "already ended",
        ("runs", "list", "--tag", "novalue"): "KEY=VALUE",
    }
    for args, expected in cases.items():
        done = arco(home, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert expected in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert arco(home, "runs", "list").stdout == before


def test_reexecute_from_failure_makes_a_child_run(failed_run, tmp_path):
    home, module, run_id = failed_run
    module.write_text(
        textwrap.dedent(MODULE).replace('raise ValueError("broken on purpose")', "return good + 1")
    )
    done = arco(home, "runs", "reexecute", run_id, "--from-failure")
    assert done.returncode == 0, done.stderr
    assert f"re-executed {run_id} as run" in done.stderr
    child = done.stderr.rsplit("as run ", 1)[1].split()[0]
    shown = arco(home, "runs", "show", child)
    assert f"parent    {run_id}" in shown.stdout
    assert "status    SUCCESS" in shown.stdout


def test_a_store_from_a_newer_version_is_refused_by_every_command(tmp_path):
    home = tmp_path / "home"
    module = tmp_path / "ok.py"
    module.write_text("import arco_flow as af\n\n@af.asset\ndef one():\n    return 1\n")
    assert arco(home, "materialize", "-f", str(module), "--executor", "in_process").returncode == 0
    database = home / "arco.db"
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE arco_schema_version SET version_num = '9999_future'")
    size = database.stat().st_size
    for args in (("runs", "list"), ("store", "verify"), ("materialize", "-f", str(module))):
        done = arco(home, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert "written by a newer Arco Flow" in done.stderr
    assert database.stat().st_size == size
