"""The shop analytics code location: its assets, jobs and resources.

``arco-flow materialize -m examples.shop_analytics.definitions`` runs every asset;
``--job daily_report`` refreshes the analytics and the report from cleaned data that an
earlier run (``--job ingest``, or a full materialize) stored.

``nightly_ingest`` and ``morning_report`` schedule the two jobs; like Dagster's, they
start stopped: ``arco-flow schedules start morning_report -m examples.shop_analytics.definitions``,
then ``arco-flow daemon -m examples.shop_analytics.definitions`` runs them.
"""

from __future__ import annotations

from arco_flow import Definitions, ScheduleDefinition, define_asset_job
from examples.shop_analytics.assets import (
    clean_customers,
    clean_orders,
    clean_products,
    daily_revenue,
    rankings,
    raw_customers,
    raw_orders,
    raw_products,
    report,
    revenue_by_segment,
)
from examples.shop_analytics.resources import ShopDataSource

ingest = define_asset_job(
    "ingest",
    selection="group:raw or group:clean",
    description="Read the CSV exports and clean them.",
    tags={"team": "data-platform"},
)

daily_report = define_asset_job(
    "daily_report",
    selection="group:analytics or group:reporting",
    description="Recompute the analytics and the report from the cleaned data.",
    tags={"team": "analytics"},
)

nightly_ingest = ScheduleDefinition(
    name="nightly_ingest",
    job=ingest,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/Berlin",
    description="Read and clean the night's exports.",
)

morning_report = ScheduleDefinition(
    name="morning_report",
    job=daily_report,
    cron_schedule="0 6 * * 1-5",
    execution_timezone="Europe/Berlin",
    description="The report, every weekday before the shop opens.",
)

defs = Definitions(
    assets=[
        raw_orders,
        raw_customers,
        raw_products,
        clean_orders,
        clean_customers,
        clean_products,
        daily_revenue,
        revenue_by_segment,
        rankings,
        report,
    ],
    jobs=[ingest, daily_report],
    schedules=[nightly_ingest, morning_report],
    resources={"shop_data": ShopDataSource()},
)
