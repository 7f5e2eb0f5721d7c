"""The bundled example project, materialized in process and checked against its CSV files.

Expected values are recomputed here from the CSV files with plain Python, independently
of the example's own code, so a wrong cleaning rule or aggregate fails a test.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

from arco_flow import AssetKey, Backoff, MetadataValue, RunConfig, materialize
from arco_flow.core.events import LogRecorded
from arco_flow.sdk.metadata import TableMetadataValue
from examples.shop_analytics.assets import CleanOrdersConfig, TopRankingsConfig
from examples.shop_analytics.definitions import defs
from examples.shop_analytics.resources import BUNDLED_DATA_DIR, ShopDataSource

SEGMENTS = {"consumer", "small_business", "enterprise"}

ALL_ASSETS = {
    "raw_orders",
    "raw_customers",
    "raw_products",
    "clean_orders",
    "clean_customers",
    "clean_products",
    "daily_revenue",
    "revenue_by_segment",
    "top_products",
    "top_customers",
    "report",
}


# -- the expected results, from the CSV files ------------------------------------------


def read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def money(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


def is_iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def expected_sales(
    folder: Path = BUNDLED_DATA_DIR, min_quantity: int = 1, include_cancelled: bool = False
) -> list[dict[str, Any]]:
    """The orders that count as sales, with customer, product and revenue."""
    customers: dict[str, dict[str, str]] = {}
    for row in read(folder, "customers.csv"):
        if row["customer_id"] and row["segment"] in SEGMENTS:
            customers.setdefault(row["customer_id"], row)
    products = {
        row["product_id"]: row
        for row in read(folder, "products.csv")
        if money(row["unit_price"]) is not None
    }
    sales: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in read(folder, "orders.csv"):
        first = row["order_id"] not in seen
        seen.add(row["order_id"])
        quantity = row["quantity"].lstrip("-")
        if not (
            first
            and quantity.isdigit()
            and int(row["quantity"]) >= min_quantity
            and is_iso_date(row["order_date"])
            and row["customer_id"] in customers
            and row["product_id"] in products
            and money(row["unit_price"]) is not None
            and (include_cancelled or row["status"] != "cancelled")
        ):
            continue
        sales.append(
            {
                "order_id": row["order_id"],
                "date": row["order_date"],
                "customer": customers[row["customer_id"]],
                "product": products[row["product_id"]],
                "quantity": int(row["quantity"]),
                "revenue": Decimal(row["unit_price"]) * int(row["quantity"]),
            }
        )
    return sales


def total(rows: list[dict[str, Any]]) -> Decimal:
    return sum((row["revenue"] for row in rows), Decimal(0))


# -- runs --------------------------------------------------------------------------------


def run(run_config: Any = None, data_dir: Path | None = None, **kwargs: Any) -> Any:
    resources = dict(defs.resources)
    if data_dir is not None:
        resources["shop_data"] = ShopDataSource(data_dir=str(data_dir))
    return materialize(defs.assets, resources=resources, run_config=run_config, **kwargs)


@pytest.fixture(scope="module")
def result() -> Any:
    return run()


def metadata(result: Any, key: str) -> dict[str, Any]:
    """The materialization metadata of `key`: name -> MetadataValue."""
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey(key)
    ]
    return dict(event.materialization.metadata)


# -- the definitions ---------------------------------------------------------------------


def test_example_defines_its_assets_in_four_groups():
    groups = {spec.key.to_user_string(): spec.group_name for spec in defs.resolve_all_asset_specs()}
    assert groups == {
        "raw_orders": "raw",
        "raw_customers": "raw",
        "raw_products": "raw",
        "clean_orders": "clean",
        "clean_customers": "clean",
        "clean_products": "clean",
        "daily_revenue": "analytics",
        "revenue_by_segment": "analytics",
        "top_products": "analytics",
        "top_customers": "analytics",
        "report": "reporting",
    }
    defs.validate()


def test_only_the_raw_readers_retry_with_backoff():
    policies = {node: d.retry_policy for node, d in defs.assets_defs_by_node.items()}
    raw = {node: policy for node, policy in policies.items() if node.startswith("raw_")}
    assert set(raw) == {"raw_orders", "raw_customers", "raw_products"}
    for policy in raw.values():
        assert policy is not None
        assert policy.max_retries == 2
        assert policy.backoff is Backoff.EXPONENTIAL
    assert all(policies[node] is None for node in set(policies) - set(raw))


def test_assets_with_customer_data_carry_the_pii_tag_and_every_asset_has_owners():
    specs = defs.resolve_all_asset_specs()
    pii = {spec.key.to_user_string() for spec in specs if "pii" in spec.tags}
    assert pii == {"raw_customers", "clean_customers", "top_customers"}
    assert all(spec.owners and spec.kinds and spec.code_version for spec in specs)


def test_daily_report_job_selects_the_analytics_and_the_report():
    job = defs.resolve_job_def("daily_report")
    assert {key.to_user_string() for key in job.asset_keys} == {
        "daily_revenue",
        "revenue_by_segment",
        "top_products",
        "top_customers",
        "report",
    }
    ingest = defs.resolve_job_def("ingest")
    assert {key.to_user_string() for key in ingest.asset_keys} == {
        name for name in ALL_ASSETS if name.startswith(("raw_", "clean_"))
    }


def test_the_schedules_request_their_jobs_in_berlin_time():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from arco_flow import RunRequest, build_schedule_context

    berlin = ZoneInfo("Europe/Berlin")
    by_name = {schedule.name: schedule for schedule in defs.schedules}
    assert sorted(by_name) == ["morning_report", "nightly_ingest"]
    for name, job, fire in [
        ("morning_report", "daily_report", datetime(2026, 3, 30, 6, tzinfo=berlin)),
        ("nightly_ingest", "ingest", datetime(2026, 3, 28, 2, tzinfo=berlin)),
    ]:
        context = build_schedule_context(scheduled_execution_time=fire)
        [request] = list(by_name[name].evaluate_tick(context).run_requests)
        assert isinstance(request, RunRequest)
        assert (request.job_name or by_name[name].job_name) == job


# -- a full run --------------------------------------------------------------------------


def test_full_run_materializes_every_asset_once(result):
    assert result.success
    keys = [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()]
    assert sorted(keys) == sorted(ALL_ASSETS)


def test_the_bundled_data_has_bad_rows_for_the_cleaning_to_drop():
    raw = read(BUNDLED_DATA_DIR, "orders.csv")
    sales = expected_sales()
    assert 180 <= len(raw) <= 220
    assert 0 < len(raw) - len(sales) < len(raw) // 4


def test_raw_readers_return_every_csv_row_and_record_the_count(result):
    for name in ("orders", "customers", "products"):
        rows = read(BUNDLED_DATA_DIR, f"{name}.csv")
        assert result.asset_value(f"raw_{name}") == rows
        assert metadata(result, f"raw_{name}")["rows"] == MetadataValue.int(len(rows))


def test_clean_orders_keeps_exactly_the_valid_orders(result):
    sales = expected_sales()
    cleaned = result.asset_value("clean_orders")
    assert [row["order_id"] for row in cleaned] == [sale["order_id"] for sale in sales]
    assert [row["revenue"] for row in cleaned] == [sale["revenue"] for sale in sales]
    raw_count = len(read(BUNDLED_DATA_DIR, "orders.csv"))
    recorded = metadata(result, "clean_orders")
    assert recorded["rows"].value == len(sales)
    assert recorded["dropped"].value == raw_count - len(sales)
    assert sum(recorded["dropped_by_reason"].value.values()) == raw_count - len(sales)


def test_clean_customers_drop_duplicates_and_unknown_segments(result):
    ids = [row["customer_id"] for row in result.asset_value("clean_customers")]
    assert len(ids) == len(set(ids))
    raw = read(BUNDLED_DATA_DIR, "customers.csv")
    valid = {row["customer_id"] for row in raw if row["customer_id"] and row["segment"] in SEGMENTS}
    assert set(ids) == valid
    assert len(ids) < len(raw)


def test_daily_revenue_matches_the_csv(result):
    expected: dict[str, Decimal] = defaultdict(Decimal)
    orders: Counter[str] = Counter()
    for sale in expected_sales():
        expected[sale["date"]] += sale["revenue"]
        orders[sale["date"]] += 1
    days = result.asset_value("daily_revenue")
    assert [day["date"] for day in days] == sorted(expected)
    assert {day["date"]: day["revenue"] for day in days} == expected
    assert {day["date"]: day["orders"] for day in days} == orders


def test_revenue_by_segment_matches_the_csv_and_adds_up_to_the_total(result):
    expected: dict[str, Decimal] = dict.fromkeys(SEGMENTS, Decimal(0))
    for sale in expected_sales():
        expected[sale["customer"]["segment"]] += sale["revenue"]
    rows = result.asset_value("revenue_by_segment")
    assert {row["segment"]: row["revenue"] for row in rows} == expected
    revenues = [row["revenue"] for row in rows]
    assert revenues == sorted(revenues, reverse=True)
    assert sum(revenues) == total(expected_sales())
    assert sum(row["share"] for row in rows) == pytest.approx(Decimal(1), abs=Decimal("0.002"))


def test_one_task_produces_both_rankings(result):
    (task,) = [t for t in result.plan.tasks if t.node == "rankings"]
    assert {key.to_user_string() for key in task.asset_keys} == {"top_products", "top_customers"}
    produced = result.asset_materializations_for_node("rankings")
    assert sorted(e.asset_key.to_user_string() for e in produced) == [
        "top_customers",
        "top_products",
    ]


def test_rankings_list_the_best_products_and_customers_by_revenue(result):
    by_product: dict[str, Decimal] = defaultdict(Decimal)
    by_customer: dict[str, Decimal] = defaultdict(Decimal)
    for sale in expected_sales():
        by_product[sale["product"]["product_id"]] += sale["revenue"]
        by_customer[sale["customer"]["customer_id"]] += sale["revenue"]

    def best(totals: dict[str, Decimal]) -> list[tuple[str, Decimal]]:
        return sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:5]

    top_products = result.asset_value("top_products")
    top_customers = result.asset_value("top_customers")
    assert [(r["product_id"], r["revenue"]) for r in top_products] == best(by_product)
    assert [(r["customer_id"], r["revenue"]) for r in top_customers] == best(by_customer)


def test_report_states_the_totals_and_ranks_the_best_sellers(result):
    sales = expected_sales()
    report = result.asset_value("report")
    assert report.startswith("# Shop sales report\n")
    assert f"**{len(sales)} orders**, revenue **{total(sales):,.2f}**" in report
    dates = sorted({sale["date"] for sale in sales})
    assert f"{dates[0]} to {dates[-1]}" in report
    best = result.asset_value("top_products")[0]
    assert f"| 1 | {best['name']} | {best['units']} | {best['revenue']:,.2f} |" in report
    for section in ("Revenue by customer segment", "Top products", "Top customers"):
        assert f"## {section}" in report


def test_report_records_markdown_counts_and_a_table_of_top_products(result):
    sales = expected_sales()
    recorded = metadata(result, "report")
    assert recorded["report"] == MetadataValue.md(result.asset_value("report"))
    assert recorded["orders"] == MetadataValue.int(len(sales))
    assert recorded["revenue"].value == pytest.approx(float(total(sales)))
    assert recorded["days"].value == len({sale["date"] for sale in sales})
    table = recorded["top_products"]
    assert isinstance(table, TableMetadataValue)
    assert "Espresso Grinder" in str(table.records)
    assert len(table.records) == 5


def test_asset_bodies_log_what_they_did(result):
    messages = [e.message for e in result.all_events if isinstance(e, LogRecorded)]
    assert any(m.startswith("read 202 rows from ") and "orders.csv" in m for m in messages)
    assert any(m.startswith("dropped ") and m.endswith(": cancelled") for m in messages)
    assert any(m.startswith("report covers ") for m in messages)


# -- config and resources change the results ---------------------------------------------


def test_min_quantity_config_drops_small_orders_everywhere_downstream():
    result = run(RunConfig(ops={"clean_orders": CleanOrdersConfig(min_quantity=5)}))
    sales = expected_sales(min_quantity=5)
    assert 0 < len(sales) < len(expected_sales())
    assert all(row["quantity"] >= 5 for row in result.asset_value("clean_orders"))
    assert len(result.asset_value("clean_orders")) == len(sales)
    assert sum(day["revenue"] for day in result.asset_value("daily_revenue")) == total(sales)
    assert f"**{len(sales)} orders**" in result.asset_value("report")


def test_including_cancelled_orders_adds_them_to_revenue():
    config = {"ops": {"clean_orders": {"config": {"include_cancelled": True}}}}
    result = run(config)
    sales = expected_sales(include_cancelled=True)
    assert len(sales) > len(expected_sales())
    assert [row["order_id"] for row in result.asset_value("clean_orders")] == [
        sale["order_id"] for sale in sales
    ]
    assert metadata(result, "report")["orders"].value == len(sales)


def test_ranking_limit_config_shortens_both_rankings():
    result = run(RunConfig(ops={"rankings": TopRankingsConfig(limit=2)}))
    assert len(result.asset_value("top_products")) == 2
    assert len(result.asset_value("top_customers")) == 2
    assert len(metadata(result, "report")["top_products"].records) == 2


def test_shop_data_resource_reads_another_folder(tmp_path):
    (tmp_path / "customers.csv").write_text(
        "customer_id,name,segment,country,signup_date\n"
        "C1,Ada Byrne,consumer,GB,2023-01-02\n"
        "C2,Kite & Key Books,enterprise,DE,2022-07-01\n"
    )
    (tmp_path / "products.csv").write_text(
        "product_id,name,category,unit_price\nP1,Stoneware Mug,kitchen,9.90\n"
    )
    (tmp_path / "orders.csv").write_text(
        "order_id,order_date,customer_id,product_id,quantity,unit_price,status\n"
        "O1,2024-05-01,C1,P1,2,9.90,completed\n"
        "O2,2024-05-02,C2,P1,10,9.50,completed\n"
        "O3,2024-05-02,C2,P1,3,9.50,cancelled\n"
    )
    result = run(data_dir=tmp_path)
    assert result.asset_value("daily_revenue") == [
        {"date": "2024-05-01", "orders": 1, "units": 2, "revenue": Decimal("19.80")},
        {"date": "2024-05-02", "orders": 1, "units": 10, "revenue": Decimal("95.00")},
    ]
    segments = {r["segment"]: r["revenue"] for r in result.asset_value("revenue_by_segment")}
    assert segments == {
        "enterprise": Decimal("95.00"),
        "consumer": Decimal("19.80"),
        "small_business": Decimal("0.00"),
    }
    assert "**2 orders**, revenue **114.80**" in result.asset_value("report")


def test_missing_data_folder_fails_the_readers_once_each_and_skips_the_rest(tmp_path):
    result = run(data_dir=tmp_path / "nowhere", raise_on_error=False)
    assert not result.success
    assert sorted(result.failed_task_ids) == ["raw_customers", "raw_orders", "raw_products"]
    failures = result.get_task_failure_events()
    assert len(failures) == 3  # Failure(allow_retries=False): no retry for a missing file
    for failure in failures:
        assert "does not exist" in failure.error.message
        assert "data_dir" in failure.error.message
    assert len(result.skipped_task_ids) == len(result.plan.tasks) - 3
    assert result.get_asset_materialization_events() == []


# -- Dagster's entry point ---------------------------------------------------------------


def test_implicit_job_executes_in_process_with_the_default_io_manager():
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process()
    assert result.success
    assert result.asset_value("report") == run().asset_value("report")
