"""The `arco-flow` command, run in a subprocess from the repository root.

Each test starts the real command (``python -m arco_flow.cli.main``) with ARCO_HOME in a
temporary folder, and checks its exit code and what it prints: plans that are the same in
every process, validation that lists every problem, runs that report success or the
failing asset, and bad input that gets a one-line error instead of a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from arco_flow.core.canonical_json import canonical_json

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = "examples.shop_analytics.definitions"
RAW = ["raw_customers", "raw_orders", "raw_products"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "arco_home"


def arco(home: Path, *args: str, hash_seed: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONHASHSEED"}
    # Wide columns keep rich from wrapping long lines; NO_COLOR keeps the text plain.
    env.update({"ARCO_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"})
    if hash_seed is not None:
        env["PYTHONHASHSEED"] = hash_seed
    return subprocess.run(
        [sys.executable, "-m", "arco_flow.cli.main", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write_module(folder: Path, name: str, source: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


def assert_clean_error(done: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit code 2, nothing on stdout, and one `error:` line naming `fragments`."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    first = done.stderr.splitlines()[0]
    assert first.startswith("error: ")
    for fragment in fragments:
        assert fragment in first
    return first


# -- plan --------------------------------------------------------------------------------


def test_plan_prints_stages_tasks_and_plan_id(home):
    done = arco(home, "plan", "-m", EXAMPLE)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("plan_id   ")
    assert len(lines[0].split()[1]) == 64
    assert "tasks     10 in 5 stage(s)" in lines
    assert lines[lines.index("stage 0:") + 1 :][:3] == [f"  {t}: {t}" for t in RAW]
    assert "  rankings: top_customers, top_products  (after " in done.stdout
    last = "  report: report  (after daily_revenue, rankings, revenue_by_segment)"
    assert lines[-2:] == ["stage 4:", last]


def test_plan_id_is_the_same_under_any_hash_seed(home):
    first = arco(home, "plan", "-m", EXAMPLE, "--json", hash_seed="1")
    second = arco(home, "plan", "-m", EXAMPLE, "--json", hash_seed="4242")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout
    text = arco(home, "plan", "-m", EXAMPLE, hash_seed="7").stdout
    assert text.splitlines()[0] == f"plan_id   {json.loads(first.stdout)['plan_id']}"


def test_plan_json_is_canonical(home):
    done = arco(home, "plan", "-m", EXAMPLE, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert done.stdout == canonical_json(data) + "\n"
    assert done.stdout == json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"
    assert len(data["plan_id"]) == 64
    assert len(data["tasks"]) == 10


def test_plan_select_group_keeps_only_its_tasks(home):
    done = arco(home, "plan", "-m", EXAMPLE, "--select", "group:raw", "--json")
    assert done.returncode == 0, done.stderr
    tasks = json.loads(done.stdout)["tasks"]
    assert sorted(task[0] for task in tasks) == RAW
    everything = json.loads(arco(home, "plan", "-m", EXAMPLE, "--json").stdout)
    assert json.loads(done.stdout)["plan_id"] != everything["plan_id"]


# -- deploy --dry-run --------------------------------------------------------------------


def test_deploy_dry_run_accepts_the_example(home):
    done = arco(home, "deploy", "--dry-run", "-m", EXAMPLE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: 11 assets, 2 jobs, 1 resources\n")
    assert "manifest fingerprint " in done.stdout


def test_deploy_dry_run_lists_every_problem_with_its_culprit_and_fix(home, tmp_path):
    module = write_module(
        tmp_path,
        "broken_shop",
        """
        from arco_flow import ConfigurableResource, Definitions, asset, define_asset_job


        class Warehouse(ConfigurableResource):
            url: str


        @asset
        def orders(warehouse: Warehouse):
            return []


        @asset
        def revenue(ordres):
            return 0


        @asset
        def forecast(budget):
            return 1


        @asset
        def budget(forecast):
            return 2


        defs = Definitions(
            assets=[orders, revenue, forecast, budget],
            jobs=[define_asset_job("nightly", selection="group:(sales")],
        )
        """,
    )
    done = arco(home, "deploy", "--dry-run", "-f", str(module))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("4 problem(s) found:\n")
    problems = [line for line in done.stderr.splitlines() if line.startswith("  - ")]
    assert len(problems) == 4
    unknown, cycle, resource, job = problems
    assert "asset 'revenue' depends on 'ordres'" in unknown
    assert "Did you mean 'orders'?" in unknown
    assert "AssetSpec('ordres')" in unknown
    assert "cycle: " in cycle
    assert {"forecast", "budget"} <= set(cycle.replace("->", " ").replace(".", " ").split())
    assert "Remove one of these dependencies" in cycle
    assert "asset 'orders' requires resource 'warehouse'" in resource
    assert "Definitions(resources={'warehouse': ...})" in resource
    assert "job 'nightly': invalid asset selection" in job
    assert "For example: " in done.stderr


# -- materialize -------------------------------------------------------------------------


def test_materialize_runs_the_example_and_reports_success(home):
    done = arco(home, "materialize", "-m", EXAMPLE)
    assert done.returncode == 0, done.stderr
    for task in [*RAW, "clean_orders", "rankings", "report"]:
        assert f"✓ {task} " in done.stderr
    summary = [line for line in done.stderr.splitlines() if line.startswith("run ")]
    assert len(summary) == 1
    assert "SUCCESS: 10 tasks, 11 materializations, 0 failed, 0 skipped" in summary[0]


def test_materialize_job_loads_values_stored_by_an_earlier_run(home):
    ingest = arco(home, "materialize", "-m", EXAMPLE, "--job", "ingest")
    assert ingest.returncode == 0, ingest.stderr
    report = arco(home, "materialize", "-m", EXAMPLE, "--job", "daily_report")
    assert report.returncode == 0, report.stderr
    assert "SUCCESS: 4 tasks, 5 materializations" in report.stderr


def test_materialize_names_the_failing_asset_and_finishes_the_other_branch(home, tmp_path):
    module = write_module(
        tmp_path,
        "half_broken",
        """
        from arco_flow import asset


        @asset
        def orders():
            return [3, 4]


        @asset
        def revenue(orders):
            raise ValueError("currency table is empty; load rates first")


        @asset
        def revenue_report(revenue):
            return str(revenue)


        @asset
        def order_count(orders):
            return len(orders)
        """,
    )
    done = arco(home, "materialize", "-f", str(module))
    assert done.returncode == 1
    assert "✗ revenue: ValueError: currency table is empty; load rates first" in done.stderr
    assert "✓ order_count " in done.stderr
    assert "revenue_report skipped: revenue did not succeed" in done.stderr
    assert "FAILURE: 4 tasks, 2 materializations, 1 failed, 1 skipped" in done.stderr


def test_materialize_unknown_job_suggests_the_close_one(home):
    done = arco(home, "materialize", "-m", EXAMPLE, "--job", "daily_reprt")
    assert_clean_error(done, "'daily_reprt'", "Did you mean 'daily_report'?")


# -- assets list -------------------------------------------------------------------------


def test_assets_list_reads_a_file_and_applies_a_selection(home, tmp_path):
    module = write_module(
        tmp_path,
        "catalog",
        """
        from arco_flow import asset


        @asset(key_prefix="warehouse", group_name="sales")
        def orders():
            return []


        @asset(group_name="sales", deps=[orders])
        def revenue():
            return 0


        @asset(group_name="marketing")
        def campaigns():
            return []
        """,
    )
    everything = arco(home, "assets", "list", "-f", str(module))
    assert everything.returncode == 0, everything.stderr
    assert everything.stdout.splitlines() == ["campaigns", "revenue", "warehouse/orders"]
    sales = arco(home, "assets", "list", "-f", str(module), "--select", "group:sales")
    assert sales.stdout.splitlines() == ["revenue", "warehouse/orders"]


def test_assets_list_of_the_example_selects_by_tag(home):
    done = arco(home, "assets", "list", "-m", EXAMPLE, "--select", "tag:pii")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["clean_customers", "raw_customers", "top_customers"]


# -- bad input ---------------------------------------------------------------------------


def test_unknown_module_is_a_one_line_error(home):
    done = arco(home, "plan", "-m", "examples.no_such_project")
    assert_clean_error(done, "'examples.no_such_project'", "Run from the folder that holds it")
    assert len(done.stderr.splitlines()) == 1


def test_missing_file_is_a_one_line_error(home, tmp_path):
    done = arco(home, "assets", "list", "-f", str(tmp_path / "nowhere.py"))
    assert_clean_error(done, "nowhere.py", "does not exist")
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("selection", "problem"),
    [("group:", "expected a value after 'group:'"), ("(group:raw", "expected ')'")],
)
def test_malformed_selection_points_at_the_problem(home, selection, problem):
    done = arco(home, "plan", "-m", EXAMPLE, "--select", selection)
    first = assert_clean_error(done, "invalid asset selection", problem)
    assert "column" in first
    assert "For example: " in done.stderr


def test_selection_of_an_unknown_key_suggests_the_close_one(home):
    done = arco(home, "plan", "-m", EXAMPLE, "--select", "key:raw_ordrs")
    assert_clean_error(done, "'raw_ordrs'", "Did you mean 'raw_orders'?")


def test_no_code_location_says_how_to_name_one(home):
    done = arco(home, "plan")
    assert_clean_error(done, "-m MODULE or -f FILE")


def test_a_selection_matching_nothing_is_an_error_not_an_empty_plan(home):
    for command in ("plan", "materialize"):
        done = arco(home, command, "-m", EXAMPLE, "--select", "group:nothing")
        assert done.returncode == 2, done.stderr
        assert "matches no asset" in done.stderr


def test_materialize_one_partition_from_the_command_line(home, tmp_path):
    module = tmp_path / "partitioned.py"
    module.write_text(
        "import arco_flow as af\n"
        "from arco_flow.core.partitions import DailyPartitionsDefinition\n"
        "D = DailyPartitionsDefinition(start_date='2024-01-01')\n"
        "@af.asset(partitions_def=D)\n"
        "def daily(context):\n"
        "    return context.partition_key\n"
    )
    done = arco(home, "materialize", "-f", str(module), "--partition", "2024-03-01")
    assert done.returncode == 0, done.stderr
    assert (home / "storage" / "daily" / "2024-03-01").exists()
    missing = arco(home, "materialize", "-f", str(module))
    assert missing.returncode == 2
    assert "choose a partition" in missing.stderr
    outside = arco(home, "materialize", "-f", str(module), "--partition", "2023-01-01")
    assert outside.returncode == 2
    assert "outside the time range" in outside.stderr


def test_materialize_a_partition_range_from_the_command_line(home, tmp_path):
    module = tmp_path / "ranged.py"
    module.write_text(
        "import arco_flow as af\n"
        "from arco_flow.core.partitions import DailyPartitionsDefinition\n"
        "D = DailyPartitionsDefinition(start_date='2024-01-01')\n"
        "@af.asset(partitions_def=D, backfill_policy=af.BackfillPolicy.single_run())\n"
        "def daily(context):\n"
        "    return {key: len(context.partition_keys) for key in context.partition_keys}\n"
    )
    done = arco(
        home, "materialize", "-f", str(module), "--partition-range", "2024-03-01...2024-03-03"
    )
    assert done.returncode == 0, done.stderr
    stored = sorted(p.name for p in (home / "storage" / "daily").iterdir())
    assert stored == ["2024-03-01", "2024-03-02", "2024-03-03"]
    shown = arco(home, "assets", "show", "daily")
    assert shown.returncode == 0, shown.stderr
    assert "3 latest materialization(s)" in shown.stdout


def test_a_bad_partition_range_flag_is_a_one_line_error(home, tmp_path):
    module = tmp_path / "ranged_bad.py"
    module.write_text(
        "import arco_flow as af\n"
        "from arco_flow.core.partitions import DailyPartitionsDefinition\n"
        "@af.asset(partitions_def=DailyPartitionsDefinition(start_date='2024-01-01'))\n"
        "def daily(context):\n"
        "    return {key: 1 for key in context.partition_keys}\n"
    )
    base = ("materialize", "-f", str(module))
    assert_clean_error(arco(home, *base, "--partition-range", "2024-03-01"), "START...END")
    # Checked once planning starts, under the progress display: stderr has it, no traceback.
    backwards = arco(home, *base, "--partition-range", "2024-03-03...2024-03-01")
    assert backwards.returncode == 2
    assert "Traceback" not in backwards.stderr
    assert "ends before it starts; did you mean '2024-03-01'...'2024-03-03'?" in backwards.stderr
    assert_clean_error(
        arco(home, *base, "--partition", "2024-03-01", "--partition-range", "a...b"),
        "not both",
    )
