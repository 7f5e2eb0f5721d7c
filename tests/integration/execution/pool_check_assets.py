"""Assets and checks for the process-pool check tests; workers import this module by name.

Each check records the pid of the process that evaluated it as ``pid`` metadata.
"""

from __future__ import annotations

import os

import arco_flow as af

MODULE = __name__


@af.asset
def orders() -> list[int | None]:
    return [1, None, 3]


@af.asset
def cleaned(orders: list[int | None]) -> list[int | None]:
    return orders


@af.asset
def customers() -> list[str]:
    return ["a", "b"]


@af.asset
def customer_report(customers: list[str]) -> int:
    return len(customers)


@af.asset_check(asset=orders, blocking=True)
def no_nulls(orders: list[int | None]) -> af.AssetCheckResult:
    return af.AssetCheckResult(passed=None not in orders, metadata={"pid": os.getpid()})


@af.asset_check(asset=customers, blocking=True)
def few_customers(customers: list[str]) -> af.AssetCheckResult:
    return af.AssetCheckResult(
        passed=len(customers) < 2,
        severity=af.AssetCheckSeverity.WARN,
        metadata={"pid": os.getpid()},
    )


@af.asset_check(asset=customers, runs_on_control_plane=True)
def customers_recorded(context: af.AssetCheckExecutionContext) -> af.AssetCheckResult:
    latest = context.instance.get_latest_materialization_event("customers")
    return af.AssetCheckResult(passed=latest is not None, metadata={"pid": os.getpid()})


defs = af.Definitions(
    assets=[orders, cleaned, customers, customer_report],
    asset_checks=[no_nulls, few_customers, customers_recorded],
)
