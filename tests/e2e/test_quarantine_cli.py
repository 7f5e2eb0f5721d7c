"""`arco-flow checks quarantined|release|discard|run` against runs of a real code location.

The bad runs go through the process pool, so a worker process writes the quarantined value
(FilesystemIOManager under ARCO_HOME/storage/_quarantine/<run_id>/) and the CLI, in another
process, promotes or drops it.
"""

from __future__ import annotations

import json
import pickle
import subprocess
from pathlib import Path

import pytest

from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import QuarantineStatus
from tests.e2e.cli_process import run_arco

DEFINITIONS = """
import json
from pathlib import Path

import arco_flow as af

DATA = Path(__file__).with_name("data.json")


@af.asset(
    check_specs=[af.AssetCheckSpec("positive", asset="orders", blocking=True)],
    quarantine_on_failed_check=True,
)
def orders():
    value = json.loads(DATA.read_text())
    yield af.Output(value)
    yield af.AssetCheckResult(check_name="positive", passed=all(v > 0 for v in value))


@af.asset
def report(orders):
    return sum(orders)


@af.asset_check(asset=report)
def report_positive(report):
    return af.AssetCheckResult(passed=report > 0)


defs = af.Definitions(assets=[orders, report], asset_checks=[report_positive])
"""


def arco(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_arco(home, *args, timeout=120)


def stored(home: Path, *parts: str):
    return pickle.loads(Path(home, "storage", *parts).read_bytes())  # our own file


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "defs.py").write_text(DEFINITIONS)
    return folder, tmp_path / "home"


def materialize(home: Path, folder: Path, values: list[int]) -> subprocess.CompletedProcess[str]:
    (folder / "data.json").write_text(json.dumps(values))
    return arco(home, "materialize", "-f", str(folder / "defs.py"), "--executor", "process_pool")


def quarantined_run_id(home: Path) -> str:
    with ArcoInstance.get(home) as instance:
        [record] = instance.get_quarantines()
        return record.run_id


def test_release_promotes_the_value_and_runs_the_downstream(project):
    folder, home = project
    assert materialize(home, folder, [1, 2]).returncode == 0
    assert materialize(home, folder, [5, -1]).returncode != 0
    run_id = quarantined_run_id(home)
    assert stored(home, "_quarantine", run_id, "orders") == [5, -1]
    assert stored(home, "orders") == [1, 2]

    listed = arco(home, "checks", "quarantined")
    assert listed.returncode == 0, listed.stderr
    assert "orders" in listed.stdout
    assert "positive" in listed.stdout
    assert run_id in listed.stdout
    checks = arco(home, "checks", "list")
    assert "orders [quarantined]" in checks.stdout

    released = arco(home, "checks", "release", "orders", "--run-downstream")

    assert released.returncode == 0, released.stderr
    assert stored(home, "orders") == [5, -1]
    assert stored(home, "report") == 4
    assert not Path(home, "storage", "_quarantine", run_id, "orders").exists()
    with ArcoInstance.get(home) as instance:
        assert instance.get_latest_materialization_event("orders").run_id == run_id
        assert instance.get_quarantines() == []
        assert instance.verify() == []
        before = instance.get_quarantines(status=None)
        instance.rebuild_projections()
        assert instance.get_quarantines(status=None) == before
        assert [r.status for r in before] == [QuarantineStatus.RELEASED]
    assert "no quarantined values" in arco(home, "checks", "quarantined").stdout


def test_discard_drops_the_value_and_keeps_the_last_good_one(project):
    folder, home = project
    assert materialize(home, folder, [1, 2]).returncode == 0
    assert materialize(home, folder, [-3]).returncode != 0
    run_id = quarantined_run_id(home)

    discarded = arco(home, "checks", "discard", "orders", "--reason", "bad feed")

    assert discarded.returncode == 0, discarded.stderr
    assert not Path(home, "storage", "_quarantine", run_id, "orders").exists()
    assert stored(home, "orders") == [1, 2]
    with ArcoInstance.get(home) as instance:
        [record] = instance.get_quarantines(status=None)
        assert record.status is QuarantineStatus.DISCARDED
    again = arco(home, "checks", "release", "orders")
    assert again.returncode == 2
    assert "no value in quarantine" in again.stderr


def test_checks_run_evaluates_checks_alone_and_exits_1_on_a_blocking_failure(project):
    folder, home = project
    assert materialize(home, folder, [1, 2]).returncode == 0
    defs = str(folder / "defs.py")

    passed = arco(home, "checks", "run", "-f", defs, "--check", "report:report_positive")

    assert passed.returncode == 0, passed.stderr
    assert "report:report_positive  PASSED" in passed.stdout
    selected = arco(home, "checks", "run", "-f", defs, "--select", "report")
    assert selected.returncode == 0, selected.stderr
    assert "1 evaluation(s)" in selected.stdout
