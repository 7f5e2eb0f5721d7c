import pandas as pd
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_flow import AssetKey, DefinitionError, asset
from arco_flow.checks import build_column_checks, build_table_checks
from arco_flow.checks._frames import frame_library
from arco_flow.sdk.checks import AssetCheckSeverity

ROWS = {"id": [1, 2, 2, None, 5], "status": ["new", "paid", None, "new", "lost"]}


@pytest.fixture(params=["pandas", "polars"])
def frame(request):
    return pd.DataFrame(ROWS) if request.param == "pandas" else pl.DataFrame(ROWS)


@asset
def orders():
    return None


def _by_name(checks):
    return {check.check_key.name: check for check in checks}


def test_one_check_per_rule_named_after_the_column(frame):
    checks = _by_name(
        build_column_checks(
            orders,
            column="id",
            not_null=True,
            unique=True,
            min_value=1,
            max_value=4,
            accepted_values=[1, 2, 5],
        )
    )
    assert list(checks) == ["id_not_null", "id_unique", "id_in_range", "id_accepted_values"]
    assert all(c.check_key.asset_key == AssetKey("orders") for c in checks.values())
    results = {name: check(frame) for name, check in checks.items()}
    assert results["id_not_null"].metadata["failing_row_count"] == 1
    assert results["id_unique"].metadata["failing_row_count"] == 2
    assert results["id_unique"].metadata["duplicated_values_sample"] == [2]
    assert results["id_in_range"].metadata["failing_row_count"] == 1
    assert results["id_accepted_values"].passed  # nulls are left to not_null
    assert not any(r.passed for n, r in results.items() if n != "id_accepted_values")


def test_a_failure_reports_a_sample_of_the_failing_rows(frame):
    (check,) = build_column_checks(orders, column="status", accepted_values=["new", "paid"])
    result = check(frame)
    assert not result.passed
    assert result.severity is AssetCheckSeverity.ERROR
    assert result.metadata["failing_row_count"] == 1
    assert result.metadata["failing_rows_sample"] == [{"id": 5, "status": "lost"}]
    assert result.metadata["unexpected_values_sample"] == ["lost"]
    assert "1 of 5 rows fail accepted_values" in result.description


def test_a_missing_column_fails_and_suggests_a_close_name(frame):
    (check,) = build_column_checks(orders, column="statuss", not_null=True)
    result = check(frame)
    assert not result.passed
    assert "Did you mean 'status'?" in result.description


def test_bounds_of_another_type_fail_with_the_reason(frame):
    (check,) = build_column_checks(orders, column="status", min_value=3)
    result = check(frame)
    assert not result.passed
    assert "cannot be compared" in result.description


def test_a_value_that_is_not_a_frame_is_an_error_naming_the_check():
    (check,) = build_column_checks(orders, column="id", not_null=True)
    with pytest.raises(DefinitionError, match=r"orders:id_not_null.*pandas or polars"):
        check([1, 2])


def test_a_lazy_frame_is_told_to_collect():
    with pytest.raises(DefinitionError, match="collect a polars LazyFrame"):
        frame_library(pl.DataFrame(ROWS).lazy(), "check x")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "no rule asked for"),
        ({"min_value": 5, "max_value": 1}, "greater than max_value"),
        ({"accepted_values": "abc"}, "list of values"),
        ({"not_null": True, "severity": "ERROR"}, "AssetCheckSeverity"),
    ],
)
def test_invalid_column_check_arguments_are_definition_errors(kwargs, match):
    with pytest.raises(DefinitionError, match=match):
        build_column_checks(orders, column="id", **kwargs)


def test_row_count_and_schema_checks(frame):
    checks = _by_name(
        build_table_checks(orders, min_rows=1, max_rows=3, schema=["id", "status", "total"])
    )
    assert list(checks) == ["row_count", "schema"]
    count = checks["row_count"](frame)
    assert not count.passed
    assert count.metadata["row_count"] == 5
    schema = checks["schema"](frame)
    assert not schema.passed
    assert schema.metadata["missing_columns"] == ["total"]


def test_schema_types_compare_as_the_library_writes_them():
    (check,) = build_table_checks(orders, schema={"id": "Int64", "status": "String"})
    assert check(pl.DataFrame(ROWS)).passed
    result = check(pl.DataFrame({"id": ["1"], "status": ["x"]}))
    assert result.metadata["mismatched_types"] == {"id": {"expected": "Int64", "actual": "String"}}


def test_schema_order_is_checked_only_when_asked():
    frame = pd.DataFrame({"b": [1], "a": [2]})
    (loose,) = build_table_checks(orders, schema=["a", "b"])
    (ordered,) = build_table_checks(orders, schema=["a", "b"], schema_ordered=True)
    assert loose(frame).passed
    assert not ordered(frame).passed


def test_table_checks_need_something_to_check():
    with pytest.raises(DefinitionError, match="nothing to check"):
        build_table_checks(orders)


values = st.lists(st.one_of(st.none(), st.integers(-5, 5)), max_size=30)


@given(data=values, low=st.integers(-5, 5), high=st.integers(-5, 5))
def test_pandas_and_polars_agree_and_match_a_plain_count(data, low, high):
    (not_null, unique, in_range) = build_column_checks(
        orders,
        column="x",
        not_null=True,
        unique=True,
        min_value=min(low, high),
        max_value=max(low, high),
    )
    present = [v for v in data if v is not None]
    expected = {
        "x_not_null": len(data) - len(present),
        "x_unique": sum(1 for v in present if present.count(v) > 1),
        "x_in_range": sum(1 for v in present if not min(low, high) <= v <= max(low, high)),
    }
    for frame in (
        pd.DataFrame({"x": pd.array(data, dtype="Int64")}),
        pl.DataFrame({"x": data}, schema={"x": pl.Int64}),
    ):
        for check in (not_null, unique, in_range):
            result = check(frame)
            assert result.metadata["failing_row_count"] == expected[check.check_key.name]
            assert result.passed == (expected[check.check_key.name] == 0)
            assert len(result.metadata.get("failing_rows_sample", [])) == min(
                5, expected[check.check_key.name]
            )
