"""Column and table rules evaluated on pandas and polars DataFrames.

Every rule is vectorized: a boolean mask over the rows is built by the frame library, and
only the failing count and a few sample rows come back to Python. Neither library is
imported here: a frame's library is told by the module its type comes from, and only the
frame's own methods are called, so `import arco_flow.checks` loads neither.

Nulls: only `not_null` fails on them. Like SQL (and dbt's tests), `unique`, range and
accepted-values rules ignore null cells; NaN counts as null in both libraries.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from arco_flow.core.errors import DefinitionError, did_you_mean

__all__ = [
    "SAMPLE_ROWS",
    "FrameOutcome",
    "evaluate_accepted_values",
    "evaluate_not_null",
    "evaluate_range",
    "evaluate_row_count",
    "evaluate_schema",
    "evaluate_unique",
    "frame_library",
    "plain_cell",
    "sample_rows",
]

SAMPLE_ROWS = 5
"""How many failing rows a result shows."""

FrameLibrary = Literal["pandas", "polars"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameOutcome:
    """What a rule found: pass or fail, in words, and the metadata to report."""

    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)
    """Plain values; ``failing_rows_sample`` is a list of row dicts of plain cells."""


def frame_library(value: object, what: str) -> FrameLibrary:
    """``"pandas"`` or ``"polars"``, the library of the DataFrame `value`.

    Args:
        value: The asset's value.
        what: Names the check in the error.

    Raises:
        DefinitionError: `value` is not a pandas or polars DataFrame.
    """
    module = type(value).__module__.partition(".")[0]
    name = type(value).__name__
    if module == "pandas" and name == "DataFrame":
        return "pandas"
    if module == "polars" and name == "DataFrame":
        return "polars"
    hint = " (collect a polars LazyFrame before returning it)" if name == "LazyFrame" else ""
    raise DefinitionError(
        f"{what} checks a pandas or polars DataFrame, but the asset's value is a "
        f"{type(value).__module__}.{name}{hint}; return a DataFrame from the asset or "
        "write the check with @asset_check"
    )


def _columns(frame: Any) -> list[str]:
    return [str(column) for column in frame.columns]


def _missing_column(frame: Any, column: str) -> FrameOutcome | None:
    columns = _columns(frame)
    if column in columns:
        return None
    hint = did_you_mean(column, columns)
    return FrameOutcome(
        passed=False,
        description=f"column {column!r} is missing{hint}; the frame has {columns}",
        metadata={"missing_column": column, "columns": columns},
    )


def _series(frame: Any, library: FrameLibrary, column: str) -> Any:
    return frame[column] if library == "pandas" else frame.get_column(column)


def _null_mask(series: Any, library: FrameLibrary) -> Any:
    if library == "pandas":
        return series.isna()  # None, NaN, NaT and pd.NA alike
    mask = series.is_null()
    if series.dtype.is_float():
        mask = mask | series.is_nan().fill_null(False)
    return mask


def _failing(frame: Any, library: FrameLibrary, mask: Any, rule: str, column: str) -> FrameOutcome:
    """The outcome of a rule whose failing rows are those where `mask` is true."""
    count = int(mask.sum())
    rows = len(frame)
    metadata: dict[str, Any] = {"row_count": rows, "failing_row_count": count}
    if count == 0:
        return FrameOutcome(
            passed=True,
            description=f"column {column!r}: all {rows} rows pass {rule}",
            metadata=metadata,
        )
    failing = frame[mask] if library == "pandas" else frame.filter(mask)
    metadata["failing_rows_sample"] = sample_rows(failing, library)
    return FrameOutcome(
        passed=False,
        description=f"column {column!r}: {count} of {rows} rows fail {rule}",
        metadata=metadata,
    )


def sample_rows(
    frame: Any, library: FrameLibrary, limit: int = SAMPLE_ROWS
) -> list[dict[str, Any]]:
    """The first `limit` rows of `frame` as dicts of plain cells."""
    head = frame.head(limit)
    records = head.to_dict(orient="records") if library == "pandas" else head.to_dicts()
    return [{str(name): plain_cell(cell) for name, cell in row.items()} for row in records]


def plain_cell(cell: object) -> str | int | float | bool | None:
    """A cell as metadata can hold it.

    numpy scalars are unwrapped, NaN/NaT/NA become None, dates ISO strings, decimals floats
    when exact, anything else its str.
    """
    if cell is None or isinstance(cell, str | bool | int):
        return cell
    if isinstance(cell, float):
        return cell if math.isfinite(cell) else (None if math.isnan(cell) else str(cell))
    if type(cell).__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return None
    if isinstance(cell, datetime | date | time):
        return cell.isoformat()
    if isinstance(cell, timedelta):
        return str(cell)
    if isinstance(cell, Decimal):  # SQL numerics: a float when that is exact
        as_float = float(cell)
        return (
            as_float if math.isfinite(as_float) and Decimal(repr(as_float)) == cell else str(cell)
        )
    item = getattr(cell, "item", None)  # numpy scalars
    if callable(item) and type(cell).__module__ == "numpy":
        return plain_cell(item())
    return str(cell)


def evaluate_not_null(frame: Any, library: FrameLibrary, column: str) -> FrameOutcome:
    """Fails on each row whose `column` is null (None, NaN, NaT, NA)."""
    missing = _missing_column(frame, column)
    if missing is not None:
        return missing
    mask = _null_mask(_series(frame, library, column), library)
    return _failing(frame, library, mask, "not_null", column)


def evaluate_unique(frame: Any, library: FrameLibrary, column: str) -> FrameOutcome:
    """Fails on each row whose non-null `column` value appears in another row too."""
    missing = _missing_column(frame, column)
    if missing is not None:
        return missing
    series = _series(frame, library, column)
    present = ~_null_mask(series, library)
    if library == "pandas":
        mask = series.duplicated(keep=False) & present
    else:
        mask = series.is_duplicated() & present
    outcome = _failing(frame, library, mask, "unique", column)
    if not outcome.passed:
        duplicated = series[mask] if library == "pandas" else series.filter(mask)
        outcome.metadata["duplicated_value_count"] = int(
            duplicated.nunique() if library == "pandas" else duplicated.n_unique()
        )
        outcome.metadata["duplicated_values_sample"] = [
            plain_cell(value) for value in _head_unique(duplicated, library)
        ]
    return outcome


def _head_unique(series: Any, library: FrameLibrary) -> list[Any]:
    unique = series.drop_duplicates() if library == "pandas" else series.unique(maintain_order=True)
    return list(unique.head(SAMPLE_ROWS).to_list())


def evaluate_range(
    frame: Any,
    library: FrameLibrary,
    column: str,
    min_value: Any = None,
    max_value: Any = None,
) -> FrameOutcome:
    """Fails on each row whose non-null `column` is below `min_value` or above `max_value`.

    Both bounds are inclusive; a bound of None is not checked.
    """
    missing = _missing_column(frame, column)
    if missing is not None:
        return missing
    if min_value is None and max_value is None:
        return FrameOutcome(passed=True, description=f"column {column!r}: no bound to check")
    series = _series(frame, library, column)
    present = ~_null_mask(series, library)
    try:
        if library == "pandas":
            # Compare only the present cells: None < "a" raises in an object column.
            mask = present & False
            mask[present.to_numpy()] = _outside(series[present], min_value, max_value).to_numpy()
        else:
            _check_polars_bounds(series, (min_value, max_value))
            mask = (_outside(series, min_value, max_value) & present).fill_null(False)
    except Exception as error:
        if not _is_comparison_error(error):
            raise
        return _incomparable(
            column, series, f"the bounds {_bounds_text(min_value, max_value)}", error
        )
    bounds = _bounds_text(min_value, max_value)
    outcome = _failing(frame, library, mask, f"the range {bounds}", column)
    outcome.metadata.update(
        {k: plain_cell(v) for k, v in (("min_value", min_value), ("max_value", max_value))}
    )
    return outcome


def _outside(values: Any, min_value: Any, max_value: Any) -> Any:
    below = values < min_value if min_value is not None else None
    above = values > max_value if max_value is not None else None
    if below is None:
        assert above is not None  # evaluate_range returns early without bounds
        return above
    return below if above is None else below | above


class _IncomparableError(TypeError):
    """A bound's type does not match the column's (polars would cast rather than fail)."""


def _check_polars_bounds(series: Any, bounds: tuple[Any, ...]) -> None:
    dtype = series.dtype
    textual = str(dtype).startswith(("String", "Utf8", "Categorical", "Enum"))
    for bound in bounds:
        if bound is None:
            continue
        numeric_bound = isinstance(bound, int | float) and not isinstance(bound, bool)
        if (isinstance(bound, str) and not textual) or (numeric_bound and not dtype.is_numeric()):
            raise _IncomparableError(f"a {type(bound).__name__} bound for a {dtype} column")


def _is_comparison_error(error: Exception) -> bool:
    """Whether comparing cells failed on their types: pandas raises TypeError, polars its own."""
    return isinstance(error, TypeError) or type(error).__module__.startswith("polars")


def _bounds_text(min_value: Any, max_value: Any) -> str:
    if min_value is not None and max_value is not None:
        return f"[{min_value!r}, {max_value!r}]"
    if min_value is not None:
        return f">= {min_value!r}"
    return f"<= {max_value!r}"


def _incomparable(column: str, series: Any, what: str, error: Exception) -> FrameOutcome:
    return FrameOutcome(
        passed=False,
        description=(
            f"column {column!r} of type {series.dtype} cannot be compared with {what}: {error}"
        ),
        metadata={"dtype": str(series.dtype)},
    )


def evaluate_accepted_values(
    frame: Any, library: FrameLibrary, column: str, accepted_values: Collection[Any]
) -> FrameOutcome:
    """Fails on each row whose non-null `column` is not one of `accepted_values`."""
    missing = _missing_column(frame, column)
    if missing is not None:
        return missing
    series = _series(frame, library, column)
    values = list(accepted_values)
    present = ~_null_mask(series, library)
    try:
        if library == "pandas":
            mask = ~series.isin(values) & present
        else:
            mask = (~series.is_in(values) & present).fill_null(False)
    except Exception as error:
        if not _is_comparison_error(error):
            raise
        return _incomparable(column, series, f"the accepted values {values!r}", error)
    outcome = _failing(frame, library, mask, "accepted_values", column)
    if not outcome.passed:
        unexpected = series[mask] if library == "pandas" else series.filter(mask)
        outcome.metadata["unexpected_values_sample"] = [
            plain_cell(value) for value in _head_unique(unexpected, library)
        ]
    return outcome


def evaluate_row_count(
    frame: Any, min_rows: int | None = None, max_rows: int | None = None
) -> FrameOutcome:
    """Fails when the frame has fewer than `min_rows` or more than `max_rows` rows."""
    rows = len(frame)
    metadata: dict[str, Any] = {"row_count": rows}
    if min_rows is not None:
        metadata["min_rows"] = min_rows
    if max_rows is not None:
        metadata["max_rows"] = max_rows
    if min_rows is not None and rows < min_rows:
        return FrameOutcome(
            passed=False,
            description=f"the frame has {rows} rows, fewer than the minimum {min_rows}",
            metadata=metadata,
        )
    if max_rows is not None and rows > max_rows:
        return FrameOutcome(
            passed=False,
            description=f"the frame has {rows} rows, more than the maximum {max_rows}",
            metadata=metadata,
        )
    return FrameOutcome(
        passed=True, description=f"the frame has {rows} rows, within bounds", metadata=metadata
    )


def evaluate_schema(
    frame: Any, expected: Mapping[str, str | None], *, ordered: bool = False
) -> FrameOutcome:
    """Fails unless the frame has exactly the expected columns (and types, where given).

    Args:
        frame: The DataFrame.
        expected: Column name to its type as ``str(dtype)`` writes it (``"int64"`` in
            pandas, ``"Int64"`` in polars), or None where any type will do.
        ordered: Whether the columns must also come in the expected order.
    """
    actual = {str(name): str(dtype) for name, dtype in _dtypes(frame)}
    missing = [name for name in expected if name not in actual]
    unexpected = [name for name in actual if name not in expected]
    mismatched = {
        name: {"expected": type_name, "actual": actual[name]}
        for name, type_name in expected.items()
        if type_name is not None and name in actual and actual[name] != type_name
    }
    out_of_order = ordered and not missing and not unexpected and list(actual) != list(expected)
    metadata: dict[str, Any] = {"columns": actual}
    problems: list[str] = []
    if missing:
        metadata["missing_columns"] = missing
        problems.append(f"missing columns {missing}")
    if unexpected:
        metadata["unexpected_columns"] = unexpected
        problems.append(f"unexpected columns {unexpected}")
    if mismatched:
        metadata["mismatched_types"] = mismatched
        problems.append(
            "columns of another type: "
            + ", ".join(
                f"{n!r} is {t['actual']}, not {t['expected']}" for n, t in mismatched.items()
            )
        )
    if out_of_order:
        problems.append(f"columns in the order {list(actual)}, not {list(expected)}")
    if problems:
        return FrameOutcome(
            passed=False,
            description="the frame's schema differs: " + "; ".join(problems),
            metadata=metadata,
        )
    return FrameOutcome(
        passed=True, description="the frame's schema is as expected", metadata=metadata
    )


def _dtypes(frame: Any) -> Sequence[tuple[Any, Any]]:
    schema = getattr(frame, "schema", None)  # polars: an ordered name -> dtype mapping
    if schema is not None and type(frame).__module__.startswith("polars"):
        return list(schema.items())
    return list(frame.dtypes.items())
