"""A quarantining asset held for a standalone blocking check; workers import this by name.

``orders`` takes its values from run config, so that a test can make the check fail.
"""

from __future__ import annotations

import os

import arco_flow as af

MODULE = __name__


class OrdersConfig(af.Config):
    values: list[int]


@af.asset(quarantine_on_failed_check=True)
def orders(config: OrdersConfig) -> af.MaterializeResult:
    return af.MaterializeResult(value=list(config.values), metadata={"pid": os.getpid()})


@af.asset_check(asset=orders, blocking=True)
def positive(orders: list[int]) -> af.AssetCheckResult:
    return af.AssetCheckResult(passed=all(v > 0 for v in orders), metadata={"seen": len(orders)})


@af.asset
def report(orders: list[int]) -> int:
    return sum(orders)


defs = af.Definitions(assets=[orders, report], asset_checks=[positive])
