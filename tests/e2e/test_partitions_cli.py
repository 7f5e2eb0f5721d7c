"""`arco-flow partitions`: dynamic keys added, listed and deleted; an asset's partition status."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.e2e.cli_process import run_arco

MODULE = """
import arco_flow as af

CUSTOMERS = af.DynamicPartitionsDefinition(name="customers")
DAILY = af.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")

@af.asset(partitions_def=CUSTOMERS)
def customer_orders(context):
    return f"orders of {context.partition_key}"

@af.asset(partitions_def=CUSTOMERS)
def customer_invoices(customer_orders):
    return customer_orders.upper()

@af.asset(partitions_def=DAILY)
def daily(context):
    if "2024-01-06" in context.partition_keys:
        raise ValueError("broken on purpose")
    return {key: 1 for key in context.partition_keys} if context.has_partition_key_range else 1

@af.asset
def plain():
    return 1
"""


def arco(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_arco(home, *args, stdin=stdin, timeout=60)


@pytest.fixture
def project(tmp_path):
    module = tmp_path / "project.py"
    module.write_text(textwrap.dedent(MODULE))
    return tmp_path / "home", module


def test_keys_are_added_listed_and_deleted(project, tmp_path):
    home, _ = project
    added = arco(home, "partitions", "add", "customers", "acme", "globex")
    assert added.returncode == 0, added.stderr
    assert "added 2 key(s) to 'customers'; it has 2 key(s)" in added.stdout
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("initech\n\nglobex\nhooli\n")
    from_file = arco(home, "partitions", "add", "customers", "--file", str(keys_file))
    assert "added 2 key(s) to 'customers', 1 already there; it has 4 key(s)" in from_file.stdout
    from_stdin = arco(home, "partitions", "add", "customers", "--file", "-", stdin="umbrella\n")
    assert from_stdin.returncode == 0, from_stdin.stderr

    listed = arco(home, "partitions", "list", "customers")
    assert listed.stdout.split() == ["acme", "globex", "initech", "hooli", "umbrella"]
    limited = arco(home, "partitions", "list", "customers", "--limit", "2")
    assert limited.stdout.split() == ["acme", "globex"]
    assert "3 more key(s) (5 in all)" in limited.stderr

    deleted = arco(home, "partitions", "delete", "customers", "globex")
    assert deleted.returncode == 0, deleted.stderr
    assert "globex" not in arco(home, "partitions", "list", "customers").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "customers", "a...b"), "cannot add keys to dynamic partitions 'customers'"),
        (("add", "", "acme"), "named by a non-empty string"),
        (("add", "customers"), "no keys to add to 'customers'"),
        (("delete", "customers", "acmee"), "has no key 'acmee'. Did you mean 'acme'?"),
        (("delete", "shops", "acme"), "'shops' has no keys, so none to delete"),
        (("list", ""), "named by a non-empty string"),
    ],
)
def test_bad_names_and_keys_are_one_line_errors(project, args, message):
    home, _ = project
    assert arco(home, "partitions", "add", "customers", "acme").returncode == 0
    done = arco(home, "partitions", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert arco(home, "partitions", "list", "customers").stdout.split() == ["acme"]


def test_a_dynamic_partition_is_materialized_from_the_cli(project):
    home, module = project
    arco(home, "partitions", "add", "customers", "acme", "globex")
    done = arco(
        home,
        "materialize",
        "-f",
        str(module),
        "--select",
        "customer_orders+",
        "--partition",
        "globex",
    )
    assert done.returncode == 0, done.stderr
    unknown = arco(
        home,
        "materialize",
        "-f",
        str(module),
        "--select",
        "customer_orders",
        "--partition",
        "hooli",
    )
    assert unknown.returncode == 2
    assert "arco-flow partitions add customers hooli" in unknown.stderr

    status = arco(home, "partitions", "status", "customer_invoices", "-f", str(module))
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == "asset customer_invoices: 2 partition(s)"
    assert lines[1].split() == ["materialized", "1", "globex"]
    assert lines[4].split() == ["missing", "1", "acme"]


def test_status_prints_counts_and_ranges_of_each_status(project):
    home, module = project
    ran = arco(
        home,
        "materialize",
        "-f",
        str(module),
        "--select",
        "daily",
        "--executor",
        "in_process",
        "--partition-range",
        "2024-01-02...2024-01-04",
    )
    assert ran.returncode == 0, ran.stderr
    failed = arco(
        home,
        "materialize",
        "-f",
        str(module),
        "--select",
        "daily",
        "--executor",
        "in_process",
        "--partition",
        "2024-01-06",
    )
    assert failed.returncode == 1

    status = arco(home, "partitions", "status", "daily", "-f", str(module))
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == "asset daily: 10 partition(s)"
    rows = [(line[:15].strip(), *line[15:].split(None, 1)) for line in lines[1:]]
    assert rows[0] == ("materialized", "3", "2024-01-02...2024-01-04")
    assert rows[1] == ("failed", "1", "2024-01-06")
    assert rows[2] == ("in progress", "0")
    assert rows[3] == ("missing", "6", "2024-01-01, 2024-01-05, 2024-01-07...2024-01-10")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("status", "dayly"), "asset 'dayly' is not in the code location. Did you mean 'daily'?"),
        (("status", "plain"), "asset 'plain' is not partitioned"),
    ],
)
def test_status_of_an_unknown_or_unpartitioned_asset_is_a_one_line_error(project, args, message):
    home, module = project
    done = arco(home, "partitions", *args, "-f", str(module))
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_status_needs_the_code_location(project):
    home, _ = project
    done = arco(home, "partitions", "status", "daily")
    assert done.returncode == 2
    assert "pass -m MODULE or -f FILE" in done.stderr
