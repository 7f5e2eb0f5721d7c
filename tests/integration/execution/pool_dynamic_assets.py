"""Dynamically partitioned assets for the process-pool tests; workers import this by name.

`CRASH_AFTER` (a file path in the environment, set by a test) makes the coordinator's test
callback stop the run after `customer_orders` succeeds; the assets themselves never fail.
"""

from __future__ import annotations

import os

import arco_flow as af

MODULE = __name__

CUSTOMERS = af.DynamicPartitionsDefinition(name="customers")
BY_REGION = af.MultiPartitionsDefinition(
    {"customer": CUSTOMERS, "region": af.StaticPartitionsDefinition(["eu", "us"])}
)


@af.asset(partitions_def=CUSTOMERS)
def customer_orders(context: af.AssetExecutionContext) -> af.Output[object]:
    if context.has_partition_key_range:
        value: object = {key: f"orders of {key}" for key in context.partition_keys}
    else:
        value = f"orders of {context.partition_key}"
    return af.Output(value, metadata={"pid": os.getpid()})


@af.asset(partitions_def=CUSTOMERS)
def customer_invoices(context: af.AssetExecutionContext, customer_orders: object) -> object:
    if isinstance(customer_orders, dict):
        return {
            key: [list(context.partition_keys), value] for key, value in customer_orders.items()
        }
    return [list(context.partition_keys), str(customer_orders).upper()]


@af.asset(partitions_def=BY_REGION)
def regional_sales(context: af.AssetExecutionContext) -> str:
    return f"sales {context.partition_key}"


@af.asset(partitions_def=CUSTOMERS)
def customer_sales(regional_sales: dict[str, str]) -> list[str]:
    return sorted(regional_sales.values())


@af.asset(partitions_def=CUSTOMERS)
def reaches_the_instance(context: af.AssetExecutionContext) -> object:
    return context.instance


defs = af.Definitions(assets=[customer_orders, customer_invoices, regional_sales, customer_sales])
instance_defs = af.Definitions(assets=[reaches_the_instance])
