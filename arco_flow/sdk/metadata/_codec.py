"""Typing raw metadata (`normalize_metadata`) and the one codec that stores typed metadata.

Pure. `metadata_to_data` / `metadata_from_data` convert typed values to and from plain data
that canonical JSON can hold. The codec round-trips every value exactly, including through
canonical JSON text: NaN, infinities, ``-0.0``, integral floats in table cells and integers
past ±(2**53 - 1) are written as strings and restored, and large floats in JSON data that
canonical JSON writes as integer literals come back as floats. The persisted ``"type"`` tags
are fixed strings, independent of the class names.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeAlias

from arco_flow.core.errors import ArcoError, DefinitionError, MetadataCodecError
from arco_flow.core.keys import AssetKey
from arco_flow.sdk.metadata._table import (
    TableCell,
    TableColumn,
    TableColumnConstraints,
    TableColumnDep,
    TableColumnLineage,
    TableConstraints,
    TableRecord,
    TableSchema,
)
from arco_flow.sdk.metadata._values import (
    MAX_SAFE_INT,
    BoolMetadataValue,
    DagsterAssetMetadataValue,
    DagsterJobMetadataValue,
    DagsterRunMetadataValue,
    FloatMetadataValue,
    IntMetadataValue,
    JsonMetadataValue,
    MarkdownMetadataValue,
    MetadataValue,
    NotebookMetadataValue,
    NullMetadataValue,
    PathMetadataValue,
    PoolMetadataValue,
    PythonArtifactMetadataValue,
    TableColumnLineageMetadataValue,
    TableMetadataValue,
    TableSchemaMetadataValue,
    TextMetadataValue,
    TimestampMetadataValue,
    UrlMetadataValue,
)

RawMetadataValue: TypeAlias = (
    MetadataValue[Any]
    | TableSchema
    | TableColumnLineage
    | AssetKey
    | os.PathLike[str]
    | dict[str, Any]
    | list[Any]
    | str
    | float
    | int
    | datetime
    | None
)
"""What users may pass as one metadata value; `normalize_metadata` types it."""

RawMetadataMapping: TypeAlias = Mapping[str, RawMetadataValue]


# Exact classes of the common raw values; subclasses take the isinstance chain.
_RAW_CONSTRUCTORS: dict[type, Callable[[Any], MetadataValue[Any]]] = {
    str: TextMetadataValue,
    int: IntMetadataValue,
    float: FloatMetadataValue,
    bool: BoolMetadataValue,
    type(None): lambda _: NullMetadataValue(),
    dict: JsonMetadataValue,
    list: JsonMetadataValue,
}


def normalize_metadata(raw: Mapping[str, Any]) -> dict[str, MetadataValue[Any]]:
    """Types each raw metadata value as Dagster does.

    str, int, float, bool and None become text, int, float, bool and null values; dicts and
    lists become JSON; an `AssetKey` an asset reference; an ``os.PathLike`` a path; a
    `TableSchema` or `TableColumnLineage` their metadata values; a timezone-aware datetime a
    timestamp. A `MetadataValue` is kept.

    Args:
        raw: metadata as the user wrote it.

    Returns:
        The same keys, in order, with typed values.

    Raises:
        DefinitionError: naming every key whose value cannot be typed, with the fix.
    """
    normalized: dict[str, MetadataValue[Any]] = {}
    problems: list[str] = []
    for key, value in raw.items():
        if not isinstance(key, str):
            problems.append(f"metadata key {key!r} has type {type(key).__name__}; use a str key")
            continue
        try:
            constructor = _RAW_CONSTRUCTORS.get(value.__class__)
            if constructor is not None:
                normalized[key] = constructor(value)
            elif isinstance(value, MetadataValue):
                normalized[key] = value
            else:
                normalized[key] = _normalize_other(key, value)
        except DefinitionError as error:
            problems.append(f"metadata {key!r}: {error}")
    if len(problems) == 1:
        raise DefinitionError(problems[0])
    if problems:
        raise DefinitionError(
            "\n".join([f"{len(problems)} problems in metadata:", *(f"  - {p}" for p in problems)])
        )
    return normalized


def _normalize_other(key: str, value: object) -> MetadataValue[Any]:
    if isinstance(value, str):
        return TextMetadataValue(value)
    if isinstance(value, float):
        return FloatMetadataValue(value)
    if isinstance(value, bool):
        return BoolMetadataValue(value)
    if isinstance(value, int):
        return IntMetadataValue(value)
    if isinstance(value, dict | list):
        return JsonMetadataValue(value)
    if isinstance(value, os.PathLike):
        return PathMetadataValue(value)
    if isinstance(value, AssetKey):
        return DagsterAssetMetadataValue(value)
    if isinstance(value, TableSchema):
        return TableSchemaMetadataValue(value)
    if isinstance(value, TableColumnLineage):
        return TableColumnLineageMetadataValue(value)
    if isinstance(value, datetime):
        return MetadataValue.timestamp(value)
    if isinstance(value, tuple | set | frozenset):
        wrapped = "MetadataValue.json(list(value))"
    else:
        wrapped = "MetadataValue.text(str(value))"
    raise DefinitionError(
        f"value {value!r} of type {type(value).__name__} has no metadata form; pass a str, "
        "int, float, bool, None, dict, list, AssetKey, path, TableSchema, TableColumnLineage "
        f"or aware datetime, or wrap it, e.g. {{{key!r}: {wrapped}}}"
    )


# --- Codec. Each entry is {"type": tag, "value": data}; tags never change once stored.

_FLOAT_NAMES = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _float_to_data(number: float) -> float | str:
    if number != 0.0 and number - number == 0.0:  # finite and nonzero: the common case
        return number
    if number == 0.0:
        return "-0.0" if math.copysign(1.0, number) < 0 else 0.0
    return _FLOAT_NAMES[repr(number)]


def _int_to_data(number: int) -> int | str:
    return number if -MAX_SAFE_INT <= number <= MAX_SAFE_INT else str(number)


def _cell_to_data(cell: TableCell) -> Any:
    # Canonical JSON writes 3.0 as 3, so integral floats are tagged too, or they return as ints.
    # TableRecord made every cell an exact builtin, so class identity suffices.
    if cell.__class__ is float:
        if _is_plain_float(cell):
            return cell
        return {"float": _FLOAT_NAMES.get(repr(cell), repr(cell))}
    if cell.__class__ is int and not -MAX_SAFE_INT <= cell <= MAX_SAFE_INT:
        return {"int": str(cell)}
    return cell


def _is_plain_float(number: float) -> bool:
    """Whether canonical JSON text of the float parses back as the same float."""
    return number - number == 0.0 and not number.is_integer()


def _cell_from_data(data: Any) -> TableCell:
    if data.__class__ is dict:
        if "float" in data:
            return float(data["float"])
        return int(data["int"])
    return data  # type: ignore[no-any-return]  # plain str, int, float, bool or None


def _schema_to_data(schema: TableSchema) -> dict[str, Any]:
    return {
        "columns": [
            {
                "name": column.name,
                "type": column.type,
                "description": column.description,
                "constraints": {
                    "nullable": column.constraints.nullable,
                    "unique": column.constraints.unique,
                    "other": list(column.constraints.other),
                },
                "tags": dict(column.tags),
            }
            for column in schema.columns
        ],
        "constraints": {"other": list(schema.constraints.other)},
    }


def _schema_from_data(data: Mapping[str, Any]) -> TableSchema:
    columns = [
        TableColumn(
            column["name"],
            column["type"],
            column["description"],
            TableColumnConstraints(
                column["constraints"]["nullable"],
                column["constraints"]["unique"],
                column["constraints"]["other"],
            ),
            column["tags"],
        )
        for column in data["columns"]
    ]
    return TableSchema(columns, TableConstraints(data["constraints"]["other"]))


def _table_to_data(value: TableMetadataValue) -> dict[str, Any]:
    return {
        "records": [
            {name: _cell_to_data(cell) for name, cell in record.data.items()}
            for record in value.records
        ],
        "schema": _schema_to_data(value.schema),
    }


def _table_from_data(data: Mapping[str, Any]) -> TableMetadataValue:
    records = [
        TableRecord({name: _cell_from_data(cell) for name, cell in record.items()})
        for record in data["records"]
    ]
    return TableMetadataValue(records, _schema_from_data(data["schema"]))


def _lineage_to_data(value: TableColumnLineageMetadataValue) -> dict[str, Any]:
    return {
        column: [
            {"asset_key": list(dep.asset_key.path), "column_name": dep.column_name} for dep in deps
        ]
        for column, deps in value.column_lineage.deps_by_column.items()
    }


def _lineage_from_data(data: Mapping[str, Any]) -> TableColumnLineageMetadataValue:
    deps_by_column = {
        column: [TableColumnDep(AssetKey(dep["asset_key"]), dep["column_name"]) for dep in deps]
        for column, deps in data.items()
    }
    return TableColumnLineageMetadataValue(TableColumnLineage(deps_by_column))


def _json_from_data(data: Any) -> JsonMetadataValue:
    # Stored JSON data was made plain when the value was built; skip copying it again.
    value = object.__new__(JsonMetadataValue)
    if _holds_unsafe_int(data):
        data = _unsafe_ints_to_floats(data)
    object.__setattr__(value, "data", data)
    return value


# Canonical JSON writes a float in [2**53, 1e21) as an integer literal, which Python parses
# as an int. JSON metadata never holds such ints (they are refused on construction), so any
# found when decoding were floats. The scan allocates nothing; the copy is the rare case.
def _holds_unsafe_int(data: Any) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        cls = item.__class__
        if cls is int:
            if not -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
                return True
        elif cls is dict:
            stack.extend(item.values())
        elif cls is list:
            stack.extend(item)
    return False


def _unsafe_ints_to_floats(data: Any) -> Any:
    cls = data.__class__
    if cls is int and not -MAX_SAFE_INT <= data <= MAX_SAFE_INT:
        return float(data)
    if cls is dict:
        return {key: _unsafe_ints_to_floats(item) for key, item in data.items()}
    if cls is list:
        return [_unsafe_ints_to_floats(item) for item in data]
    return data


# Encoders take the exact class they are registered under; Any is the user data inside.
_ENCODERS: dict[type, tuple[str, Callable[[Any], Any]]] = {
    TextMetadataValue: ("text", lambda v: v.text),
    IntMetadataValue: ("int", lambda v: _int_to_data(v.value)),
    FloatMetadataValue: ("float", lambda v: _float_to_data(v.value)),
    BoolMetadataValue: ("bool", lambda v: v.value),
    NullMetadataValue: ("null", lambda v: None),
    JsonMetadataValue: ("json", lambda v: v.data),
    MarkdownMetadataValue: ("md", lambda v: v.md_str),
    UrlMetadataValue: ("url", lambda v: v.url),
    PathMetadataValue: ("path", lambda v: v.path),
    NotebookMetadataValue: ("notebook", lambda v: v.path),
    TimestampMetadataValue: ("timestamp", lambda v: _float_to_data(v.value)),
    DagsterAssetMetadataValue: ("asset", lambda v: list(v.asset_key.path)),
    DagsterRunMetadataValue: ("dagster_run", lambda v: v.run_id),
    DagsterJobMetadataValue: (
        "job",
        lambda v: {
            "job_name": v.job_name,
            "location_name": v.location_name,
            "repository_name": v.repository_name,
        },
    ),
    PythonArtifactMetadataValue: (
        "python_artifact",
        lambda v: {"module": v.module, "name": v.name},
    ),
    PoolMetadataValue: ("pool", lambda v: v.pool),
    TableMetadataValue: ("table", _table_to_data),
    TableSchemaMetadataValue: ("table_schema", lambda v: _schema_to_data(v.schema)),
    TableColumnLineageMetadataValue: ("column_lineage", _lineage_to_data),
}

_DECODERS: dict[str, Callable[[Any], MetadataValue[Any]]] = {
    "text": TextMetadataValue,
    "int": lambda d: IntMetadataValue(int(d)),
    "float": lambda d: FloatMetadataValue(float(d)),
    "bool": BoolMetadataValue,
    "null": lambda d: NullMetadataValue(),
    "json": _json_from_data,
    "md": MarkdownMetadataValue,
    "url": UrlMetadataValue,
    "path": PathMetadataValue,
    "notebook": NotebookMetadataValue,
    "timestamp": lambda d: TimestampMetadataValue(float(d)),
    "asset": lambda d: DagsterAssetMetadataValue(AssetKey(d)),
    "dagster_run": DagsterRunMetadataValue,
    "job": lambda d: DagsterJobMetadataValue(
        d["job_name"], d["location_name"], d["repository_name"]
    ),
    "python_artifact": lambda d: PythonArtifactMetadataValue(d["module"], d["name"]),
    "pool": PoolMetadataValue,
    "table": _table_from_data,
    "table_schema": lambda d: TableSchemaMetadataValue(_schema_from_data(d)),
    "column_lineage": _lineage_from_data,
}


def metadata_to_data(values: Mapping[str, MetadataValue[Any]]) -> dict[str, Any]:
    """Converts typed metadata to plain data that canonical JSON can hold.

    ``{"rows": MetadataValue.int(3)}`` becomes ``{"rows": {"type": "int", "value": 3}}``.
    The result may share JSON data with the values; treat it as read-only.

    Args:
        values: typed metadata, as `normalize_metadata` returns it.

    Returns:
        One ``{"type": ..., "value": ...}`` entry per key, in order.

    Raises:
        MetadataCodecError: if a value is not a `MetadataValue`.
    """
    data: dict[str, Any] = {}
    for key, value in values.items():
        entry = _ENCODERS.get(value.__class__) or _encoder_of_subclass(key, value)
        data[key] = {"type": entry[0], "value": entry[1](value)}
    return data


def _encoder_of_subclass(key: str, value: object) -> tuple[str, Callable[[Any], Any]]:
    for cls in type(value).__mro__[1:]:
        entry = _ENCODERS.get(cls)
        if entry is not None:
            return entry
    raise MetadataCodecError(
        f"metadata {key!r} is a {type(value).__name__}, not a MetadataValue; "
        "pass the metadata through normalize_metadata first"
    )


def metadata_from_data(data: Mapping[str, Any]) -> dict[str, MetadataValue[Any]]:
    """Converts data written by `metadata_to_data` back to typed metadata.

    Args:
        data: ``{"type": ..., "value": ...}`` entries, as stored (or parsed from canonical JSON).

    Returns:
        Values equal to those that were written, with the same keys in order.

    Raises:
        MetadataCodecError: naming the key of an entry with an unknown type or a bad value.
    """
    values: dict[str, MetadataValue[Any]] = {}
    for key, entry in data.items():
        try:
            decode = _DECODERS[entry["type"]]
            values[key] = decode(entry["value"])
        except (AttributeError, KeyError, TypeError, ValueError, ArcoError) as error:
            raise MetadataCodecError(_decode_problem(key, entry, error)) from error
    return values


def _decode_problem(key: str, entry: object, error: Exception) -> str:
    tag = entry.get("type") if isinstance(entry, Mapping) else None
    if isinstance(tag, str) and tag not in _DECODERS:
        return (
            f"stored metadata {key!r} has the unknown type {tag!r} (known: "
            f"{', '.join(sorted(_DECODERS))}); it may come from a newer Arco Flow, so upgrade"
        )
    return (
        f"stored metadata {key!r} is not a valid encoded metadata value ({error!r}); "
        f"expected {{'type': ..., 'value': ...}} as written by metadata_to_data, got {entry!r}"
    )
