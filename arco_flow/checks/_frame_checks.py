"""Column and table checks of DataFrame assets: `build_column_checks`, `build_table_checks`.

Each factory returns plain `@asset_check` definitions whose body receives the asset's value
(loaded through its IO manager) and evaluates one rule of `arco_flow.checks._frames` on it.
A failed result reports how many rows fail and a sample of them in its metadata.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from arco_flow.checks._frames import (
    FrameLibrary,
    FrameOutcome,
    evaluate_accepted_values,
    evaluate_not_null,
    evaluate_range,
    evaluate_row_count,
    evaluate_schema,
    evaluate_unique,
    frame_library,
)
from arco_flow.checks._targets import single_asset_key, validated_severity
from arco_flow.core.errors import DefinitionError
from arco_flow.core.keys import AssetKey
from arco_flow.sdk.checks import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    asset_check,
)

__all__ = ["build_column_checks", "build_table_checks"]

_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")
Rule = Callable[[Any, FrameLibrary], FrameOutcome]


def build_column_checks(
    asset: Any,
    *,
    column: str,
    not_null: bool = False,
    unique: bool = False,
    min_value: Any = None,
    max_value: Any = None,
    accepted_values: Collection[Any] | None = None,
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
    blocking: bool = False,
) -> list[AssetChecksDefinition]:
    """Checks of one column of a DataFrame asset (pandas or polars), one check per rule.

    The checks are named after the column (characters other than letters, digits and
    ``_`` become ``_``): ``<column>_not_null``, ``<column>_unique`` (non-null values
    appear once), ``<column>_in_range`` (non-null values within ``[min_value,
    max_value]``, both inclusive, either optional) and ``<column>_accepted_values``
    (non-null values are among `accepted_values`). Only ``not_null`` fails on nulls; NaN,
    NaT and NA count as null. A missing column fails every rule.

    A failed result's metadata holds ``failing_row_count``, ``row_count`` and
    ``failing_rows_sample`` (the first 5 failing rows), and for ``unique`` and
    ``accepted_values`` a sample of the offending values.

    Args:
        asset: The checked asset: a definition, a spec, a key or a ``"a/b"`` string.
        column: The column's name.
        not_null: Check that no value is null.
        unique: Check that no non-null value repeats.
        min_value: The smallest allowed value.
        max_value: The largest allowed value.
        accepted_values: The allowed values.
        severity: The severity of a failed result.
        blocking: Whether a failed ``ERROR`` result stops the asset's downstream.

    Returns:
        The checks, in the order of the arguments above.

    Raises:
        DefinitionError: No rule is asked for, or an argument is invalid.
    """
    where = f"build_column_checks(column={column!r})"
    key = single_asset_key(asset, where)
    if not isinstance(column, str) or not column:
        raise DefinitionError(f"{where}: column must be a non-empty str")
    severity = validated_severity(severity, where)
    if (
        min_value is not None
        and max_value is not None
        and _compares(min_value, max_value)
        and min_value > max_value
    ):
        raise DefinitionError(
            f"{where}: min_value {min_value!r} is greater than max_value {max_value!r}"
        )
    if accepted_values is not None and (
        isinstance(accepted_values, str | bytes) or not isinstance(accepted_values, Collection)
    ):
        raise DefinitionError(
            f"{where}: accepted_values must be a list of values, got {accepted_values!r}"
        )
    base = _NOT_NAME.sub("_", column)
    rules: list[tuple[str, str, Rule]] = []
    if not_null:
        rules.append(
            (
                f"{base}_not_null",
                f"{column!r} has no null values",
                _column_rule(evaluate_not_null, column),
            )
        )
    if unique:
        rules.append(
            (
                f"{base}_unique",
                f"{column!r} has no repeated values",
                _column_rule(evaluate_unique, column),
            )
        )
    if min_value is not None or max_value is not None:

        def in_range(frame: Any, library: FrameLibrary) -> FrameOutcome:
            return evaluate_range(frame, library, column, min_value, max_value)

        rules.append((f"{base}_in_range", f"{column!r} is within its bounds", in_range))
    if accepted_values is not None:
        values = list(accepted_values)

        def accepted(frame: Any, library: FrameLibrary) -> FrameOutcome:
            return evaluate_accepted_values(frame, library, column, values)

        rules.append(
            (f"{base}_accepted_values", f"{column!r} holds only accepted values", accepted)
        )
    if not rules:
        raise DefinitionError(
            f"{where}: no rule asked for; pass not_null=True, unique=True, min_value=, "
            "max_value= or accepted_values="
        )
    return [
        _frame_check(key, name, description, rule, severity, blocking)
        for name, description, rule in rules
    ]


def build_table_checks(
    asset: Any,
    *,
    min_rows: int | None = None,
    max_rows: int | None = None,
    schema: Mapping[str, str | None] | Sequence[str] | None = None,
    schema_ordered: bool = False,
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
    blocking: bool = False,
) -> list[AssetChecksDefinition]:
    """Checks of a whole DataFrame asset (pandas or polars): row count and schema.

    ``row_count`` passes when the frame has at least `min_rows` and at most `max_rows`
    rows; ``schema`` passes when the frame has exactly the columns of `schema` and, where
    a type is given, of that type as ``str(dtype)`` writes it (``"int64"`` in pandas,
    ``"Int64"`` in polars). Its metadata lists missing and unexpected columns and
    mismatched types.

    Args:
        asset: The checked asset: a definition, a spec, a key or a ``"a/b"`` string.
        min_rows: The fewest rows allowed.
        max_rows: The most rows allowed.
        schema: Column name to type (None: any type), or just the column names.
        schema_ordered: Whether the columns must also come in the order of `schema`.
        severity: The severity of a failed result.
        blocking: Whether a failed ``ERROR`` result stops the asset's downstream.

    Returns:
        ``row_count`` (if a bound is given), then ``schema`` (if given).

    Raises:
        DefinitionError: Nothing to check, or an argument is invalid.
    """
    where = "build_table_checks"
    key = single_asset_key(asset, where)
    severity = validated_severity(severity, where)
    for name, bound in (("min_rows", min_rows), ("max_rows", max_rows)):
        if bound is not None and (
            isinstance(bound, bool) or not isinstance(bound, int) or bound < 0
        ):
            raise DefinitionError(f"{where}: {name} must be a non-negative int, got {bound!r}")
    if min_rows is not None and max_rows is not None and min_rows > max_rows:
        raise DefinitionError(f"{where}: min_rows {min_rows} is greater than max_rows {max_rows}")
    checks: list[AssetChecksDefinition] = []
    if min_rows is not None or max_rows is not None:

        def row_count(frame: Any, library: FrameLibrary) -> FrameOutcome:
            return evaluate_row_count(frame, min_rows, max_rows)

        checks.append(
            _frame_check(
                key, "row_count", "the row count is within bounds", row_count, severity, blocking
            )
        )
    if schema is not None:
        expected = _expected_schema(where, schema)

        def schema_rule(frame: Any, library: FrameLibrary) -> FrameOutcome:
            return evaluate_schema(frame, expected, ordered=schema_ordered)

        checks.append(
            _frame_check(
                key,
                "schema",
                "the columns and their types are as expected",
                schema_rule,
                severity,
                blocking,
            )
        )
    if not checks:
        raise DefinitionError(f"{where}: nothing to check; pass min_rows=, max_rows= or schema=")
    return checks


def _expected_schema(
    where: str, schema: Mapping[str, str | None] | Sequence[str]
) -> dict[str, str | None]:
    if isinstance(schema, Mapping):
        expected = dict(schema)
    elif isinstance(schema, Sequence) and not isinstance(schema, str):
        expected = dict.fromkeys(schema)
        if len(expected) != len(schema):
            raise DefinitionError(f"{where}: schema lists a column twice")
    else:
        raise DefinitionError(
            f"{where}: schema must map column names to types or list column names, got {schema!r}"
        )
    bad = [
        name
        for name, kind in expected.items()
        if not isinstance(name, str) or not (kind is None or isinstance(kind, str))
    ]
    if bad:
        raise DefinitionError(
            f"{where}: schema entries {bad!r} are not column name -> type string (or None)"
        )
    return expected


def _compares(left: Any, right: Any) -> bool:
    try:
        left > right  # noqa: B015  # probing whether the bounds are comparable
    except TypeError:
        return False
    return True


def _column_rule(evaluate: Callable[[Any, FrameLibrary, str], FrameOutcome], column: str) -> Rule:
    def rule(frame: Any, library: FrameLibrary) -> FrameOutcome:
        return evaluate(frame, library, column)

    return rule


def _frame_check(
    key: AssetKey,
    name: str,
    description: str,
    rule: Rule,
    severity: AssetCheckSeverity,
    blocking: bool,
) -> AssetChecksDefinition:
    where = f"asset check {key.to_user_string()}:{name}"

    # The single parameter that is not the context is bound to the checked asset's value.
    def frame_check(value: Any) -> AssetCheckResult:
        outcome = rule(value, frame_library(value, where))
        return AssetCheckResult(
            passed=outcome.passed,
            asset_key=key,
            check_name=name,
            severity=severity,
            description=outcome.description,
            metadata=outcome.metadata,
        )

    return asset_check(asset=key, name=name, description=description, blocking=blocking)(
        frame_check
    )
