import pytest

from arco_flow import AssetKey, DefinitionError
from arco_flow.checks import build_sql_check
from arco_flow.sdk.checks import AssetCheckSeverity

ORDERS = "(VALUES (1, 10.0), (2, -5.0), (3, -1.0), (4, 7.5)) AS orders(id, total)"


def test_duckdb_zero_rows_pass():
    check = build_sql_check(
        "orders",
        name="no_negative_totals",
        query=f"SELECT * FROM {ORDERS} WHERE total < -100",
        database=":memory:",
    )
    result = check()
    assert result.passed
    assert result.metadata == {"failing_row_count": 0}
    assert check.check_key.asset_key == AssetKey("orders")
    assert check.check_key.name == "no_negative_totals"


def test_duckdb_failing_rows_are_counted_and_sampled_with_bound_parameters():
    check = build_sql_check(
        "orders",
        name="no_negative_totals",
        query=f"SELECT id, total FROM {ORDERS} WHERE total < ? ORDER BY id",
        params=[0],
        database=":memory:",
        severity=AssetCheckSeverity.WARN,
    )
    result = check()
    assert not result.passed
    assert result.severity is AssetCheckSeverity.WARN
    assert result.metadata["failing_row_count"] == 2
    assert result.metadata["failing_rows_sample"] == [
        {"id": 2, "total": -5.0},
        {"id": 3, "total": -1.0},
    ]


def test_duckdb_named_parameters_bind_by_name():
    check = build_sql_check(
        "orders",
        name="big",
        query=f"SELECT * FROM {ORDERS} WHERE total > $limit",
        params={"limit": 8},
        database=":memory:",
    )
    assert check().metadata["failing_row_count"] == 1


def test_a_parameter_value_is_never_spliced_into_the_sql():
    check = build_sql_check(
        "orders",
        name="injection",
        query="SELECT * FROM (VALUES ('a')) AS t(x) WHERE x = ?",
        params=["a' OR '1'='1"],
        database=":memory:",
    )
    assert check().passed


def test_the_sample_holds_at_most_five_rows_while_the_count_covers_all():
    check = build_sql_check(
        "numbers", name="all", query="SELECT * FROM range(1000) AS t(n);", database=":memory:"
    )
    result = check()
    assert result.metadata["failing_row_count"] == 1000
    assert len(result.metadata["failing_rows_sample"]) == 5


def test_a_trailing_comment_does_not_break_the_query():
    check = build_sql_check(
        "numbers", name="c", query="SELECT 1 AS one -- always fails", database=":memory:"
    )
    assert check().metadata["failing_row_count"] == 1


@pytest.mark.parametrize(
    ("query", "params", "match"),
    [
        ("SELEC * FROM orders", None, r"orders:bad: the query does not parse: .*syntax error"),
        ("SELECT 1; SELECT 2", None, "2 statements"),
        ("DELETE FROM orders", None, "DELETE statement"),
        ("SELECT * FROM orders WHERE a = ?", None, "1 positional parameters"),
        ("SELECT * FROM orders WHERE a = ? AND b = ?", [1], "has 2 positional"),
        ("SELECT * FROM orders WHERE a = $x", {"y": 1}, r"\['x'\] have no value.*\['y'\] appear"),
        ("SELECT * FROM orders", [1], "no parameters"),
        ("", None, "non-empty SQL"),
    ],
)
def test_duckdb_queries_are_checked_at_definition_time(query, params, match):
    with pytest.raises(DefinitionError, match=match):
        build_sql_check("orders", name="bad", query=query, params=params, database=":memory:")


def test_a_query_on_tables_that_do_not_exist_yet_is_accepted_at_definition_time():
    build_sql_check("orders", name="ok", query="SELECT * FROM orders", database="warehouse.db")


SQLITE_ORDERS = (
    "WITH orders(id, total) AS (VALUES (1, 10.0), (2, -5.0), (3, -1.0)) "
    "SELECT id, total FROM orders WHERE total < :floor ORDER BY id"
)


def test_sqlalchemy_sqlite_failing_rows_with_named_parameters():
    check = build_sql_check(
        "orders", name="neg", query=SQLITE_ORDERS, params={"floor": 0}, url="sqlite://"
    )
    result = check()
    assert result.metadata["failing_row_count"] == 2
    assert result.metadata["failing_rows_sample"] == [
        {"id": 2, "total": -5.0},
        {"id": 3, "total": -1.0},
    ]


def test_sqlalchemy_sqlite_passes_on_zero_rows():
    check = build_sql_check(
        "orders", name="neg", query=SQLITE_ORDERS, params={"floor": -100}, url="sqlite://"
    )
    assert check().passed


@pytest.mark.parametrize(
    ("query", "params", "match"),
    [
        ("SELEC * FROM orders", None, "does not parse: .*syntax error"),
        ("SELECT * FROM orders WHERE", None, "does not parse: incomplete input"),
        ("SELECT 1; SELECT 2", None, "does not parse"),
        ("SELECT * FROM orders WHERE a = :a", {}, r"\['a'\] have no value"),
        ("SELECT * FROM orders WHERE a = :a", [1], "dict of name"),
    ],
)
def test_sqlite_queries_are_checked_at_definition_time(query, params, match):
    with pytest.raises(DefinitionError, match=match):
        build_sql_check("orders", name="bad", query=query, params=params, url="sqlite://")


def test_sqlite_unknown_tables_belong_to_the_real_database():
    build_sql_check("orders", name="ok", query="SELECT * FROM orders", url="sqlite:///x.db")


PG = "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ("SELEC whatever", "not a SELECT"),
        ("SELECT * FROM orders WHERE", "does not parse as postgres SQL"),
        ("SELECT 1; SELECT 2", "holds 2 statements"),
        ("DELETE FROM orders", "is a DELETE, not a SELECT"),
    ],
)
def test_other_databases_parse_the_query_in_their_dialect_at_definition_time(query, match):
    with pytest.raises(DefinitionError, match=match):
        build_sql_check("orders", name="bad", query=query, url=PG)


def test_a_well_formed_postgres_query_with_bound_parameters_is_accepted():
    build_sql_check(
        "orders",
        name="ok",
        query="WITH o AS (SELECT * FROM orders) SELECT * FROM o WHERE amount < :low",
        params={"low": 0},
        url=PG,
    )


def test_a_database_without_a_dialect_checks_only_parameters_at_definition_time():
    build_sql_check("orders", name="ok", query="SELEC whatever", url="sybase://u@h/db")
    with pytest.raises(DefinitionError, match="have no value"):
        build_sql_check(
            "orders", name="p", query="SELECT :x", params={}, url="postgresql+psycopg://u@h/db"
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one of database="),
        ({"database": ":memory:", "url": "sqlite://"}, "exactly one of database="),
        ({"url": "not a url"}, "not a SQLAlchemy URL"),
        ({"database": ":memory:", "severity": "WARN"}, "AssetCheckSeverity"),
    ],
)
def test_where_the_query_runs_is_checked(kwargs, match):
    with pytest.raises(DefinitionError, match=match):
        build_sql_check("orders", name="c", query="SELECT 1", **kwargs)


def test_the_check_name_must_be_a_name():
    with pytest.raises(DefinitionError, match="letters, digits"):
        build_sql_check("orders", name="no spaces", query="SELECT 1", database=":memory:")
