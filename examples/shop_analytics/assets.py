"""The shop's assets: raw CSV rows, cleaned tables, revenue analytics and the report.

Values flow between assets as plain lists of dicts (one dict per row); money is a
`Decimal` rounded to cents, so totals add up exactly. Every cleaning rule lives in a
small pure function, so the rules read as a list and can be tested on their own.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from arco_flow import (
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    Backoff,
    Config,
    Failure,
    MetadataValue,
    Output,
    RetryPolicy,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
    multi_asset,
)
from examples.shop_analytics.resources import ShopDataSource

Row = dict[str, Any]

SEGMENTS = ("consumer", "small_business", "enterprise")
CENTS = Decimal("0.01")

DATA_PLATFORM = ["team:data-platform"]
ANALYTICS = ["team:analytics", "maria.lopez@shop.example"]

# Reading a file can fail for a moment (a network share, a file being replaced); a
# missing file cannot, so the readers raise Failure(allow_retries=False) for that.
READ_RETRY = RetryPolicy(max_retries=2, delay=0.5, backoff=Backoff.EXPONENTIAL)


# -- raw: the CSV exports as they are ------------------------------------------------


def _read(context: AssetExecutionContext, shop_data: ShopDataSource, file_name: str) -> list[Row]:
    path = shop_data.folder / file_name
    try:
        rows = shop_data.read_csv(file_name)
    except FileNotFoundError:
        raise Failure(
            description=f"{path} does not exist; point the shop_data resource's data_dir "
            f"at the folder holding {file_name}",
            allow_retries=False,
        ) from None
    context.log.info("read %d rows from %s", len(rows), path)
    context.add_output_metadata({"rows": MetadataValue.int(len(rows))})
    return rows


@asset(
    group_name="raw",
    kinds={"csv"},
    owners=DATA_PLATFORM,
    tags={"domain": "sales"},
    retry_policy=READ_RETRY,
    code_version="1",
)
def raw_orders(context: AssetExecutionContext, shop_data: ShopDataSource) -> list[Row]:
    """Order lines as exported by the web shop, one row per order, unchecked."""
    return _read(context, shop_data, "orders.csv")


@asset(
    group_name="raw",
    kinds={"csv"},
    owners=DATA_PLATFORM,
    tags={"domain": "sales", "pii": ""},
    retry_policy=READ_RETRY,
    code_version="1",
)
def raw_customers(context: AssetExecutionContext, shop_data: ShopDataSource) -> list[Row]:
    """Customer accounts as exported by the CRM, unchecked."""
    return _read(context, shop_data, "customers.csv")


@asset(
    group_name="raw",
    kinds={"csv"},
    owners=DATA_PLATFORM,
    tags={"domain": "sales"},
    retry_policy=READ_RETRY,
    code_version="1",
)
def raw_products(context: AssetExecutionContext, shop_data: ShopDataSource) -> list[Row]:
    """The product catalog with list prices, unchecked."""
    return _read(context, shop_data, "products.csv")


# -- clean: typed rows, bad ones dropped ---------------------------------------------


class CleanOrdersConfig(Config):
    """Which orders count as sales."""

    min_quantity: int = 1
    """Orders of fewer units are dropped as bad rows."""
    include_cancelled: bool = False
    """Whether cancelled orders count; by default they are dropped."""


def parse_money(text: str) -> Decimal | None:
    """`text` as a positive amount rounded to cents, or None when it is not one."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0:
        return None
    return amount.quantize(CENTS)


def clean_order(
    row: Mapping[str, str],
    customers: Mapping[str, Row],
    products: Mapping[str, Row],
    config: CleanOrdersConfig,
) -> Row | str:
    """The typed order, or the reason it is dropped."""
    try:
        quantity = int(row["quantity"])
    except ValueError:
        return "quantity is not a number"
    if quantity < config.min_quantity:
        return f"quantity below {config.min_quantity}"
    try:
        order_date = date.fromisoformat(row["order_date"])
    except ValueError:
        return "order_date is not a YYYY-MM-DD date"
    customer = customers.get(row["customer_id"])
    if customer is None:
        return "unknown customer"
    product = products.get(row["product_id"])
    if product is None:
        return "unknown product"
    unit_price = parse_money(row["unit_price"])
    if unit_price is None:
        return "unit_price is not a positive amount"
    if row["status"] == "cancelled" and not config.include_cancelled:
        return "cancelled"
    return {
        "order_id": row["order_id"],
        "order_date": order_date.isoformat(),
        "customer_id": row["customer_id"],
        "segment": customer["segment"],
        "product_id": row["product_id"],
        "category": product["category"],
        "quantity": quantity,
        "unit_price": unit_price,
        "revenue": (unit_price * quantity).quantize(CENTS),
        "status": row["status"],
    }


def _record_drops(context: AssetExecutionContext, kept: int, drops: Counter[str]) -> None:
    for reason, count in sorted(drops.items()):
        context.log.info("dropped %d row(s): %s", count, reason)
    context.add_output_metadata(
        {
            "rows": MetadataValue.int(kept),
            "dropped": MetadataValue.int(sum(drops.values())),
            "dropped_by_reason": MetadataValue.json(dict(sorted(drops.items()))),
        }
    )


@asset(
    group_name="clean",
    kinds={"python"},
    owners=DATA_PLATFORM,
    tags={"domain": "sales", "pii": ""},
    code_version="1",
)
def clean_customers(context: AssetExecutionContext, raw_customers: list[Row]) -> list[Row]:
    """Customers with an id and a known segment; a repeated id keeps its first row."""
    kept: dict[str, Row] = {}
    drops: Counter[str] = Counter()
    for row in raw_customers:
        if not row["customer_id"]:
            drops["missing customer_id"] += 1
        elif row["segment"] not in SEGMENTS:
            drops["unknown segment"] += 1
        elif row["customer_id"] in kept:
            drops["duplicate customer_id"] += 1
        else:
            kept[row["customer_id"]] = dict(row)
    _record_drops(context, len(kept), drops)
    return list(kept.values())


@asset(
    group_name="clean",
    kinds={"python"},
    owners=DATA_PLATFORM,
    tags={"domain": "sales"},
    code_version="1",
)
def clean_products(context: AssetExecutionContext, raw_products: list[Row]) -> list[Row]:
    """Products with a positive list price, as a `Decimal`."""
    kept: list[Row] = []
    drops: Counter[str] = Counter()
    for row in raw_products:
        price = parse_money(row["unit_price"])
        if price is None:
            drops["unit_price is not a positive amount"] += 1
        else:
            kept.append({**row, "unit_price": price})
    _record_drops(context, len(kept), drops)
    return kept


@asset(
    group_name="clean",
    kinds={"python"},
    owners=DATA_PLATFORM,
    tags={"domain": "sales"},
    code_version="1",
)
def clean_orders(
    context: AssetExecutionContext,
    config: CleanOrdersConfig,
    raw_orders: list[Row],
    clean_customers: list[Row],
    clean_products: list[Row],
) -> list[Row]:
    """Sales: valid orders of known customers and products, with their revenue.

    A repeated order_id keeps its first row. Each order carries its customer's segment
    and its product's category, so the analytics need no further joins.
    """
    customers = {row["customer_id"]: row for row in clean_customers}
    products = {row["product_id"]: row for row in clean_products}
    kept: dict[str, Row] = {}
    drops: Counter[str] = Counter()
    for row in raw_orders:
        if row["order_id"] in kept:
            drops["duplicate order_id"] += 1
            continue
        cleaned = clean_order(row, customers, products, config)
        if isinstance(cleaned, str):
            drops[cleaned] += 1
        else:
            kept[row["order_id"]] = cleaned
    _record_drops(context, len(kept), drops)
    return list(kept.values())


# -- analytics -------------------------------------------------------------------------


@asset(
    group_name="analytics",
    kinds={"python"},
    owners=ANALYTICS,
    tags={"domain": "sales"},
    code_version="1",
)
def daily_revenue(clean_orders: list[Row]) -> list[Row]:
    """Orders, units and revenue per day, oldest day first."""
    days: dict[str, Row] = defaultdict(
        lambda: {"orders": 0, "units": 0, "revenue": Decimal("0.00")}
    )
    for order in clean_orders:
        day = days[order["order_date"]]
        day["orders"] += 1
        day["units"] += order["quantity"]
        day["revenue"] += order["revenue"]
    return [{"date": name, **days[name]} for name in sorted(days)]


@asset(
    group_name="analytics",
    kinds={"python"},
    owners=ANALYTICS,
    tags={"domain": "sales"},
    code_version="1",
)
def revenue_by_segment(clean_orders: list[Row], clean_customers: list[Row]) -> list[Row]:
    """Revenue per customer segment, largest first; a segment with no orders shows 0."""
    customers = Counter(row["segment"] for row in clean_customers)
    orders: Counter[str] = Counter()
    revenue: dict[str, Decimal] = dict.fromkeys(SEGMENTS, Decimal("0.00"))
    for order in clean_orders:
        orders[order["segment"]] += 1
        revenue[order["segment"]] += order["revenue"]
    total = sum(revenue.values(), Decimal("0.00"))
    rows = [
        {
            "segment": segment,
            "customers": customers[segment],
            "orders": orders[segment],
            "revenue": revenue[segment],
            "share": (revenue[segment] / total).quantize(Decimal("0.001")) if total else None,
        }
        for segment in SEGMENTS
    ]
    return sorted(rows, key=lambda row: (-row["revenue"], row["segment"]))


class TopRankingsConfig(Config):
    """How long the rankings are."""

    limit: int = 5
    """How many products and customers each ranking keeps."""


def rank(totals: Mapping[str, Row], limit: int) -> list[Row]:
    """The `limit` rows with most revenue; ties go to the smaller id, so runs agree."""
    ordered = sorted(totals.items(), key=lambda item: (-item[1]["revenue"], item[0]))
    return [row for _, row in ordered[:limit]]


@multi_asset(
    outs={
        "top_products": AssetOut(
            description="The products with the most revenue, best first.",
            owners=ANALYTICS,
            tags={"domain": "sales"},
            kinds={"python"},
        ),
        "top_customers": AssetOut(
            description="The customers with the most revenue, best first.",
            owners=ANALYTICS,
            tags={"domain": "sales", "pii": ""},
            kinds={"python"},
        ),
    },
    internal_asset_deps={
        "top_products": {AssetKey("clean_orders"), AssetKey("clean_products")},
        "top_customers": {AssetKey("clean_orders"), AssetKey("clean_customers")},
    },
    group_name="analytics",
    code_version="1",
)
def rankings(
    context: AssetExecutionContext,
    config: TopRankingsConfig,
    clean_orders: list[Row],
    clean_products: list[Row],
    clean_customers: list[Row],
) -> Iterator[Output[list[Row]]]:
    """Both rankings in one pass over the orders."""
    products: dict[str, Row] = {
        row["product_id"]: {
            "product_id": row["product_id"],
            "name": row["name"],
            "units": 0,
            "revenue": Decimal("0.00"),
        }
        for row in clean_products
    }
    customers: dict[str, Row] = {
        row["customer_id"]: {
            "customer_id": row["customer_id"],
            "name": row["name"],
            "segment": row["segment"],
            "orders": 0,
            "revenue": Decimal("0.00"),
        }
        for row in clean_customers
    }
    for order in clean_orders:
        product = products[order["product_id"]]
        product["units"] += order["quantity"]
        product["revenue"] += order["revenue"]
        customer = customers[order["customer_id"]]
        customer["orders"] += 1
        customer["revenue"] += order["revenue"]
    top_products = rank(products, config.limit)
    top_customers = rank(customers, config.limit)
    context.log.info(
        "best product %s, best customer %s",
        top_products[0]["name"] if top_products else "-",
        top_customers[0]["name"] if top_customers else "-",
    )
    yield Output(top_products, output_name="top_products", metadata={"rows": len(top_products)})
    yield Output(top_customers, output_name="top_customers", metadata={"rows": len(top_customers)})


# -- reporting -------------------------------------------------------------------------


TOP_PRODUCTS_SCHEMA = TableSchema(
    [TableColumn("product", "string"), TableColumn("units", "int"), TableColumn("revenue", "float")]
)


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)
    return lines


def render_report(
    daily_revenue: Sequence[Row],
    revenue_by_segment: Sequence[Row],
    top_products: Sequence[Row],
    top_customers: Sequence[Row],
) -> str:
    """The sales report as Markdown."""
    orders = sum(day["orders"] for day in daily_revenue)
    revenue = sum((day["revenue"] for day in daily_revenue), Decimal("0.00"))
    period = (
        f"{daily_revenue[0]['date']} to {daily_revenue[-1]['date']}"
        if daily_revenue
        else "no sales"
    )
    lines = [
        "# Shop sales report",
        "",
        f"{period}: **{orders} orders**, revenue **{_money(revenue)}**.",
        "",
        "## Revenue by customer segment",
        "",
        *_table(
            ["Segment", "Customers", "Orders", "Revenue", "Share"],
            [
                [
                    row["segment"],
                    row["customers"],
                    row["orders"],
                    _money(row["revenue"]),
                    "-" if row["share"] is None else f"{row['share']:.1%}",
                ]
                for row in revenue_by_segment
            ],
        ),
        "",
        "## Top products",
        "",
        *_table(
            ["#", "Product", "Units", "Revenue"],
            [
                [rank, row["name"], row["units"], _money(row["revenue"])]
                for rank, row in enumerate(top_products, 1)
            ],
        ),
        "",
        "## Top customers",
        "",
        *_table(
            ["#", "Customer", "Segment", "Orders", "Revenue"],
            [
                [rank, row["name"], row["segment"], row["orders"], _money(row["revenue"])]
                for rank, row in enumerate(top_customers, 1)
            ],
        ),
        "",
        "## Daily revenue",
        "",
        *_table(
            ["Date", "Orders", "Units", "Revenue"],
            [
                [day["date"], day["orders"], day["units"], _money(day["revenue"])]
                for day in daily_revenue
            ],
        ),
    ]
    return "\n".join(lines) + "\n"


@asset(
    group_name="reporting",
    kinds={"markdown"},
    owners=ANALYTICS,
    tags={"domain": "sales", "audience": "management"},
    code_version="1",
)
def report(
    context: AssetExecutionContext,
    daily_revenue: list[Row],
    revenue_by_segment: list[Row],
    top_products: list[Row],
    top_customers: list[Row],
) -> Output[str]:
    """The sales report in Markdown: totals, segments, rankings and every day."""
    markdown = render_report(daily_revenue, revenue_by_segment, top_products, top_customers)
    orders = sum(day["orders"] for day in daily_revenue)
    revenue = sum((day["revenue"] for day in daily_revenue), Decimal("0.00"))
    context.log.info("report covers %d orders, revenue %s", orders, _money(revenue))
    return Output(
        markdown,
        metadata={
            "report": MetadataValue.md(markdown),
            "orders": MetadataValue.int(orders),
            "revenue": MetadataValue.float(float(revenue)),
            "days": MetadataValue.int(len(daily_revenue)),
            "top_products": MetadataValue.table(
                [
                    TableRecord(
                        {
                            "product": row["name"],
                            "units": row["units"],
                            "revenue": float(row["revenue"]),
                        }
                    )
                    for row in top_products
                ],
                schema=TOP_PRODUCTS_SCHEMA,
            ),
        },
    )
