"""The built-in checks in real runs: materialize() with the checks, on an instance."""

import os
import time
from datetime import UTC, datetime, timedelta

import pandas as pd
import polars as pl
import pytest

from arco_flow import (
    ArcoInstance,
    DailyPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
    build_asset_context,
    build_last_update_freshness_checks,
    build_time_partition_freshness_checks,
    materialize,
)
from arco_flow.checks import build_column_checks, build_sql_check, build_table_checks
from arco_flow.sdk.checks import AssetCheckSeverity


@pytest.fixture
def instance(tmp_path):
    with ArcoInstance.get(tmp_path / "home") as opened:
        yield opened


def _evaluations(result):
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


@asset
def orders():
    return pd.DataFrame({"id": [1, 2, 2], "total": [5.0, -1.0, 3.0]})


@asset
def polar_orders():
    return pl.DataFrame({"id": [1, 2, 3], "total": [5.0, 1.0, None]})


def test_frame_checks_run_after_their_asset_and_record_samples(instance):
    checks = [
        *build_column_checks(orders, column="id", unique=True, not_null=True),
        *build_column_checks(orders, column="total", min_value=0, severity=AssetCheckSeverity.WARN),
        *build_table_checks(orders, min_rows=1, schema={"id": "int64", "total": "float64"}),
    ]
    result = materialize([orders, *checks], instance=instance, raise_on_error=False)
    found = _evaluations(result)
    assert {name: e.passed for name, e in found.items()} == {
        "id_unique": False,
        "id_not_null": True,
        "total_in_range": False,
        "row_count": True,
        "schema": True,
    }
    assert found["id_unique"].metadata["failing_row_count"].value == 2
    assert found["total_in_range"].severity is AssetCheckSeverity.WARN
    sample = found["total_in_range"].metadata["failing_rows_sample"].value
    assert sample == [{"id": 2, "total": -1.0}]


def test_polars_frame_checks_in_a_run(instance):
    checks = build_column_checks(polar_orders, column="total", not_null=True)
    result = materialize([polar_orders, *checks], instance=instance, raise_on_error=False)
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["failing_row_count"].value == 1


def test_a_blocking_sql_check_on_a_duckdb_file_stops_downstream(instance, tmp_path):
    database = str(tmp_path / "warehouse.duckdb")

    @asset
    def raw_orders():
        import duckdb

        with duckdb.connect(database) as connection:
            connection.execute(
                "CREATE OR REPLACE TABLE raw_orders AS SELECT * FROM range(10) t(id)"
            )

    @asset(deps=[raw_orders])
    def report():
        return 1

    check = build_sql_check(
        raw_orders,
        name="ids_below_limit",
        query="SELECT id FROM raw_orders WHERE id >= $limit",
        params={"limit": 7},
        database=database,
        blocking=True,
    )
    result = materialize([raw_orders, report, check], instance=instance, raise_on_error=False)
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["failing_row_count"].value == 3
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"raw_orders"}


def test_last_update_freshness_reads_the_store(instance):
    stale = datetime.now(UTC) - timedelta(hours=5)

    @asset
    def feed():
        return MaterializeResult(
            metadata={"dagster/last_updated_timestamp": MetadataValue.timestamp(stale)}
        )

    @asset
    def fresh_feed():
        return 1

    checks = build_last_update_freshness_checks(
        assets=[feed, fresh_feed], lower_bound_delta=timedelta(hours=1)
    )
    assert [c.check_key.name for c in checks] == ["freshness_check", "freshness_check"]
    assert all(c.runs_on_control_plane for c in checks)
    materialize([feed, fresh_feed], instance=instance)
    by_asset = {c.check_key.asset_key.to_user_string(): c for c in checks}
    context = build_asset_context(instance=instance)
    overdue = by_asset["feed"](context)
    assert not overdue.passed
    assert overdue.severity is AssetCheckSeverity.WARN
    assert overdue.metadata["dagster/overdue_seconds"].value == pytest.approx(4 * 3600, abs=60)
    assert overdue.metadata["dagster/last_updated_timestamp"].value == pytest.approx(
        stale.timestamp()
    )
    fresh = by_asset["fresh_feed"](context)
    assert fresh.passed
    assert fresh.metadata["dagster/fresh_until_timestamp"].value > time.time()


def test_freshness_checks_in_a_run(instance):
    @asset
    def feed():
        return 1

    checks = build_last_update_freshness_checks(
        assets=[feed], lower_bound_delta=timedelta(minutes=10)
    )
    result = materialize([feed, *checks], instance=instance, raise_on_error=False)
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed
    assert evaluation.metadata["dagster/freshness_params"].value == {
        "timezone": "UTC",
        "lower_bound_delta_seconds": 600.0,
    }


def test_time_partition_freshness_looks_for_the_partition_due(instance):
    daily = DailyPartitionsDefinition(start_date="2024-01-01")

    @asset(partitions_def=daily)
    def events():
        return 1

    (check,) = build_time_partition_freshness_checks(assets=[events], deadline_cron="0 0 * * *")
    context = build_asset_context(instance=instance)
    never = check(context)
    assert not never.passed
    due = never.metadata["expected_partition_key"]
    materialize([events], instance=instance, partition_key=due)
    assert check(context).passed


@pytest.mark.postgres
def test_a_sql_check_against_postgresql():
    url = os.environ.get(
        "ARCO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    try:
        import psycopg

        psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), connect_timeout=3).close()
    except Exception as error:  # noqa: BLE001  # any failure to connect means no server
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {error}")
        pytest.skip(f"no PostgreSQL at {url}: {error}")
    check = build_sql_check(
        "orders",
        name="negative_totals",
        query=(
            "SELECT * FROM (VALUES (1, 5.0), (2, -1.0), (3, -2.0)) AS o(id, total) "
            "WHERE total < :floor ORDER BY id"
        ),
        params={"floor": 0},
        url=url,
    )
    result = check()
    assert not result.passed
    assert result.metadata["failing_row_count"] == 2
    assert result.metadata["failing_rows_sample"] == [
        {"id": 2, "total": -1.0},
        {"id": 3, "total": -2.0},
    ]
