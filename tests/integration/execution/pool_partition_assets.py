"""Partitioned assets for the process-pool range tests; workers import this module by name."""

from __future__ import annotations

import os

import arco_flow as af
from arco_flow.core.partitions import DailyPartitionsDefinition

MODULE = __name__

DAILY = DailyPartitionsDefinition(start_date="2024-01-01")


@af.asset(partitions_def=DAILY, backfill_policy=af.BackfillPolicy.single_run())
def daily_numbers(context: af.AssetExecutionContext) -> af.Output[dict[str, int]]:
    window = context.partition_time_window
    context.log.info(f"window {window.start.date()} to {window.end.date()}")
    values = {key: int(key.replace("-", "")) for key in context.partition_keys}
    return af.Output(values, metadata={"pid": os.getpid()})


@af.asset(partitions_def=DAILY)
def daily_doubled(daily_numbers: dict[str, int] | int) -> dict[str, int] | int:
    if isinstance(daily_numbers, dict):
        return {key: value * 2 for key, value in daily_numbers.items()}
    return daily_numbers * 2


defs = af.Definitions(assets=[daily_numbers, daily_doubled])
