from __future__ import annotations

import dataclasses
import enum
import math
import pathlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_flow.core.canonical_json import canonical_json, loads
from arco_flow.core.errors import ArcoError, DefinitionError
from arco_flow.core.keys import AssetKey
from arco_flow.sdk import metadata
from arco_flow.sdk.metadata import (
    BoolMetadataValue,
    DagsterAssetMetadataValue,
    DagsterJobMetadataValue,
    DagsterRunMetadataValue,
    FloatMetadataValue,
    IntMetadataValue,
    JsonMetadataValue,
    MarkdownMetadataValue,
    MetadataCodecError,
    MetadataValue,
    NotebookMetadataValue,
    NullMetadataValue,
    PathMetadataValue,
    PoolMetadataValue,
    PythonArtifactMetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableColumnDep,
    TableColumnLineage,
    TableColumnLineageMetadataValue,
    TableConstraints,
    TableMetadataValue,
    TableRecord,
    TableSchema,
    TableSchemaMetadataValue,
    TextMetadataValue,
    TimestampMetadataValue,
    UrlMetadataValue,
    metadata_from_data,
    metadata_to_data,
    normalize_metadata,
)

_MAX_SAFE_INT = 2**53 - 1


def _round_trip(values: dict[str, Any]) -> dict[str, Any]:
    return metadata_from_data(metadata_to_data(values))


def _round_trip_text(values: dict[str, Any]) -> dict[str, Any]:
    return metadata_from_data(loads(canonical_json(metadata_to_data(values))))


def _same_float(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _an_artifact() -> None: ...


def test_module_all_is_pinned():
    assert metadata.__all__ == [
        "BoolMetadataValue",
        "DagsterAssetMetadataValue",
        "DagsterJobMetadataValue",
        "DagsterRunMetadataValue",
        "FloatMetadataValue",
        "IntMetadataValue",
        "JsonMetadataValue",
        "MarkdownMetadataValue",
        "MetadataCodecError",
        "MetadataValue",
        "NotebookMetadataValue",
        "NullMetadataValue",
        "PathMetadataValue",
        "PoolMetadataValue",
        "PythonArtifactMetadataValue",
        "RawMetadataMapping",
        "RawMetadataValue",
        "TableColumn",
        "TableColumnConstraints",
        "TableColumnDep",
        "TableColumnLineage",
        "TableColumnLineageMetadataValue",
        "TableConstraints",
        "TableMetadataValue",
        "TableRecord",
        "TableSchema",
        "TableSchemaMetadataValue",
        "TextMetadataValue",
        "TimestampMetadataValue",
        "UrlMetadataValue",
        "metadata_from_data",
        "metadata_to_data",
        "normalize_metadata",
    ]


# --- Constructors and attributes


def test_text_wraps_its_string():
    value = MetadataValue.text("hello")
    assert value == TextMetadataValue("hello")
    assert (value.text, value.value) == ("hello", "hello")


def test_url_wraps_its_string():
    value = MetadataValue.url("https://example.com")
    assert value == UrlMetadataValue("https://example.com")
    assert value.url == value.value == "https://example.com"


@pytest.mark.parametrize("path", ["data/out.csv", pathlib.PurePosixPath("data/out.csv")])
def test_path_accepts_str_and_pathlike(path):
    value = MetadataValue.path(path)
    assert value == PathMetadataValue("data/out.csv")
    assert value.path == value.value == "data/out.csv"


def test_notebook_accepts_pathlike():
    value = MetadataValue.notebook(pathlib.PurePosixPath("nb/report.ipynb"))
    assert value == NotebookMetadataValue("nb/report.ipynb")
    assert value.path == value.value == "nb/report.ipynb"


def test_md_wraps_markdown():
    value = MetadataValue.md("# Title")
    assert value == MarkdownMetadataValue("# Title")
    assert value.md_str == value.value == "# Title"


def test_json_copies_data_into_plain_json_like_json_dumps():
    inner: list[Any] = [True, 1.5]
    source: dict[Any, Any] = {"a": (1, 2), 3: None, "nested": {"b": inner}}
    value = MetadataValue.json(source)
    assert value.data == {"a": [1, 2], "3": None, "nested": {"b": [True, 1.5]}}
    assert value.value is value.data
    inner.append("later")
    assert value.data == {"a": [1, 2], "3": None, "nested": {"b": [True, 1.5]}}


def test_json_accepts_a_list():
    assert MetadataValue.json([1, "a", None]).data == [1, "a", None]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"a": float("nan")}, "finite numbers"),
        ({"a": object()}, "convert other values first"),
        ({"a": 2**60}, "outside ±(2**53 - 1)"),
        ({("tuple", "key"): 1}, "dicts"),
    ],
)
def test_json_refuses_what_canonical_json_cannot_hold(data, fragment):
    with pytest.raises(DefinitionError, match="JSON metadata") as info:
        MetadataValue.json(data)
    assert fragment in str(info.value)


def test_python_artifact_records_module_and_name():
    value = MetadataValue.python_artifact(_an_artifact)
    assert value == PythonArtifactMetadataValue(__name__, "_an_artifact")
    assert (value.module, value.name) == (__name__, "_an_artifact")
    assert value.value is value
    assert MetadataValue.python_artifact(AssetKey).name == "AssetKey"


def test_python_artifact_refuses_a_non_callable():
    with pytest.raises(DefinitionError, match="needs a class or function"):
        MetadataValue.python_artifact(3)  # type: ignore[arg-type]


def test_float_keeps_nan_and_converts_an_int():
    assert MetadataValue.float(1.5) == FloatMetadataValue(1.5)
    assert math.isnan(MetadataValue.float(float("nan")).value)
    converted = MetadataValue.float(3)
    assert converted.value == 3.0
    assert type(converted.value) is float


@pytest.mark.parametrize("bad", [True, "1.5", None])
def test_float_refuses_bool_str_and_none(bad):
    with pytest.raises(DefinitionError, match="float metadata must be a float"):
        MetadataValue.float(bad)


def test_int_holds_any_size_and_converts_an_int_enum():
    class Size(enum.IntEnum):
        BIG = 7

    assert MetadataValue.int(2**80).value == 2**80
    converted = MetadataValue.int(Size.BIG)
    assert converted == IntMetadataValue(7)
    assert type(converted.value) is int


@pytest.mark.parametrize("bad", [True, 1.0, "1"])
def test_int_refuses_bool_float_and_str(bad):
    with pytest.raises(DefinitionError, match="int metadata must be an int"):
        MetadataValue.int(bad)


def test_bool_wraps_a_bool_and_refuses_an_int():
    assert MetadataValue.bool(False) == BoolMetadataValue(False)
    assert MetadataValue.bool(True).value is True
    with pytest.raises(DefinitionError, match="bool metadata must be True or False"):
        MetadataValue.bool(1)  # type: ignore[arg-type]


def test_timestamp_from_seconds_and_aware_datetime():
    assert MetadataValue.timestamp(1.5) == TimestampMetadataValue(1.5)
    assert MetadataValue.timestamp(10).value == 10.0
    moment = datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    assert MetadataValue.timestamp(moment).value == 1704067200.0


def test_timestamp_refuses_a_naive_datetime_and_says_to_add_a_timezone():
    with pytest.raises(DefinitionError, match=r"naive datetime '2024-01-01T00:00:00'.*tzinfo"):
        MetadataValue.timestamp(datetime(2024, 1, 1))


def test_dagster_run_wraps_a_run_id():
    value = MetadataValue.dagster_run("run-123")
    assert value == DagsterRunMetadataValue("run-123")
    assert value.run_id == value.value == "run-123"


def test_asset_wraps_a_key_and_refuses_a_string():
    key = AssetKey(["raw", "orders"])
    value = MetadataValue.asset(key)
    assert value == DagsterAssetMetadataValue(key)
    assert value.asset_key is value.value is key
    with pytest.raises(DefinitionError, match="needs an AssetKey"):
        MetadataValue.asset("raw/orders")  # type: ignore[arg-type]


def test_job_names_job_and_location():
    value = MetadataValue.job("nightly", "warehouse", repository_name="repo")
    assert value == DagsterJobMetadataValue("nightly", "warehouse", "repo")
    assert value.value is value
    assert MetadataValue.job("nightly", "warehouse").repository_name is None


def test_null_has_value_none():
    assert MetadataValue.null() == NullMetadataValue()
    assert MetadataValue.null().value is None


def test_pool_wraps_a_pool_name():
    value = MetadataValue.pool("warehouse")
    assert value == PoolMetadataValue("warehouse")
    assert value.pool == value.value == "warehouse"


def test_table_infers_its_schema_from_the_first_record():
    value = MetadataValue.table([TableRecord({"n": 1, "ok": True, "x": 1.5, "s": "a", "z": None})])
    assert [(c.name, c.type) for c in value.schema.columns] == [
        ("n", "int"),
        ("ok", "bool"),
        ("x", "float"),
        ("s", "string"),
        ("z", "string"),
    ]
    assert value.value is value
    assert value.records == (TableRecord({"n": 1, "ok": True, "x": 1.5, "s": "a", "z": None}),)


def test_table_keeps_an_explicit_schema():
    schema = TableSchema([TableColumn("n", "bigint")])
    assert MetadataValue.table([TableRecord({"n": 1})], schema).schema is schema
    assert TableMetadataValue([], schema).records == ()


def test_table_without_records_needs_a_schema():
    with pytest.raises(DefinitionError, match="no records needs a schema"):
        MetadataValue.table([])


def test_table_records_need_the_same_columns():
    with pytest.raises(DefinitionError, match=r"table record 1 has columns \['b'\]"):
        MetadataValue.table([TableRecord({"a": 1}), TableRecord({"b": 1})])


def test_table_record_refuses_a_nested_cell_and_a_non_str_column():
    with pytest.raises(DefinitionError, match="column 'a' holds list"):
        TableRecord({"a": [1]})  # type: ignore[dict-item]
    with pytest.raises(DefinitionError, match="column 1 must be a str"):
        TableRecord({1: 1})  # type: ignore[dict-item]


def test_table_record_makes_enum_cells_plain():
    class Size(enum.IntEnum):
        BIG = 7

    record = TableRecord({"size": Size.BIG, "color": _Color.RED})
    assert [(type(v), v) for v in record.data.values()] == [(int, 7), (str, "red")]


def test_table_refuses_a_plain_dict_row_and_says_to_wrap_it():
    with pytest.raises(
        DefinitionError, match=r"table records must be TableRecord.*TableRecord\(\.\.\.\)"
    ):
        MetadataValue.table([{"a": 1}])  # type: ignore[list-item]


def test_schema_and_lineage_refuse_wrongly_typed_parts():
    with pytest.raises(DefinitionError, match="columns must be TableColumn objects"):
        TableSchema(["id"])  # type: ignore[list-item]
    with pytest.raises(DefinitionError, match="deps of 'c' must be TableColumnDep objects"):
        TableColumnLineage({"c": [("a", "x")]})  # type: ignore[list-item]
    with pytest.raises(DefinitionError, match="table column name must be a str"):
        TableColumn(3)  # type: ignore[arg-type]


def test_table_record_copies_its_data():
    data: dict[str, Any] = {"a": 1}
    record = TableRecord(data)
    data["a"] = 2
    assert record.data == {"a": 1}


def test_infer_column_type_checks_bool_before_int():
    assert [TableMetadataValue.infer_column_type(v) for v in (True, 1, 1.0, "a", None)] == [
        "bool",
        "int",
        "float",
        "string",
        "string",
    ]


def test_table_schema_defaults_match_dagster():
    column = TableColumn("id")
    assert column.type == "string"
    assert column.description is None
    assert column.constraints == TableColumnConstraints(nullable=True, unique=False, other=())
    assert column.tags == {}
    schema = TableSchema([column])
    assert schema.constraints == TableConstraints(())
    assert schema.columns == (column,)


def test_table_schema_and_constraints_accept_none_like_dagster():
    assert TableColumn("id", constraints=None).constraints == TableColumnConstraints()  # type: ignore[arg-type]
    assert TableColumnConstraints(other=None).other == ()  # type: ignore[arg-type]
    assert TableSchema([], constraints=None).constraints == TableConstraints([])  # type: ignore[arg-type]


def test_table_schema_from_name_type_dict():
    assert TableSchema.from_name_type_dict({"id": "int", "name": "string"}) == TableSchema(
        [TableColumn("id", "int"), TableColumn("name", "string")]
    )


def test_table_schema_value_wraps_the_schema():
    schema = TableSchema([TableColumn("id", "int")])
    value = MetadataValue.table_schema(schema)
    assert value == TableSchemaMetadataValue(schema)
    assert value.schema is value.value is schema


def test_column_lineage_sorts_deps_and_coerces_keys():
    lineage = TableColumnLineage(
        {"total": [TableColumnDep("b/c", "price"), TableColumnDep(AssetKey("a"), "qty")]}
    )
    assert lineage.deps_by_column["total"] == (
        TableColumnDep(AssetKey("a"), "qty"),
        TableColumnDep(AssetKey(["b", "c"]), "price"),
    )
    value = MetadataValue.column_lineage(lineage)
    assert value == TableColumnLineageMetadataValue(lineage)
    assert value.column_lineage is value.value is lineage


def test_column_lineage_refuses_a_repeated_dep():
    with pytest.raises(DefinitionError, match="'total' lists the same upstream column twice"):
        TableColumnLineage({"total": [TableColumnDep("a", "x"), TableColumnDep("a", "x")]})


def test_values_are_frozen_and_slotted():
    value = MetadataValue.int(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.value = 2  # type: ignore[misc]
    assert not hasattr(value, "__dict__")


# --- normalize_metadata


class _Color(enum.StrEnum):
    RED = "red"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a", TextMetadataValue("a")),
        (_Color.RED, TextMetadataValue("red")),
        (3, IntMetadataValue(3)),
        (2**70, IntMetadataValue(2**70)),
        (1.5, FloatMetadataValue(1.5)),
        (True, BoolMetadataValue(True)),
        (False, BoolMetadataValue(False)),
        (None, NullMetadataValue()),
        ({"a": 1}, JsonMetadataValue({"a": 1})),
        ([1, 2], JsonMetadataValue([1, 2])),
        (AssetKey(["a", "b"]), DagsterAssetMetadataValue(AssetKey(["a", "b"]))),
        (pathlib.PurePosixPath("a/b.csv"), PathMetadataValue("a/b.csv")),
        (
            TableSchema([TableColumn("id")]),
            TableSchemaMetadataValue(TableSchema([TableColumn("id")])),
        ),
        (
            TableColumnLineage({"c": [TableColumnDep("a", "x")]}),
            TableColumnLineageMetadataValue(TableColumnLineage({"c": [TableColumnDep("a", "x")]})),
        ),
        (datetime(2024, 1, 1, tzinfo=UTC), TimestampMetadataValue(1704067200.0)),
    ],
)
def test_normalize_types_each_raw_value(raw, expected):
    normalized = normalize_metadata({"k": raw})
    assert normalized == {"k": expected}
    assert type(normalized["k"]) is type(expected)


def test_normalize_keeps_bool_apart_from_int():
    normalized = normalize_metadata({"flag": True, "count": 1})
    assert type(normalized["flag"]) is BoolMetadataValue
    assert type(normalized["count"]) is IntMetadataValue


def test_normalize_keeps_a_metadata_value_and_the_key_order():
    value = MetadataValue.md("# x")
    normalized = normalize_metadata({"z": 1, "md": value, "a": 2})
    assert normalized["md"] is value
    assert list(normalized) == ["z", "md", "a"]


def test_normalize_error_names_key_type_and_fix():
    with pytest.raises(DefinitionError) as info:
        normalize_metadata({"owner": object()})
    message = str(info.value)
    assert "metadata 'owner'" in message
    assert "type object" in message
    assert "MetadataValue.text(str(value))" in message


def test_normalize_suggests_json_for_a_tuple():
    with pytest.raises(DefinitionError, match=r"MetadataValue\.json\(list\(value\)\)"):
        normalize_metadata({"pair": (1, 2)})


def test_normalize_refuses_a_naive_datetime_naming_the_key():
    with pytest.raises(DefinitionError, match=r"metadata 'at': .*naive datetime"):
        normalize_metadata({"at": datetime(2024, 1, 1)})


def test_normalize_reports_every_problem_at_once():
    with pytest.raises(DefinitionError) as info:
        normalize_metadata({"a": object(), 3: "x", "c": {"n": float("inf")}})  # type: ignore[dict-item]
    message = str(info.value)
    assert message.startswith("3 problems in metadata:")
    assert "metadata 'a'" in message
    assert "metadata key 3 has type int" in message
    assert "metadata 'c'" in message


# --- Codec


def _one_of_each() -> dict[str, Any]:
    schema = TableSchema(
        [
            TableColumn(
                "id",
                "int",
                "the id",
                TableColumnConstraints(nullable=False, unique=True, other=["> 0"]),
                {"pii": "no"},
            ),
            TableColumn("x"),
        ],
        TableConstraints(["id < 100"]),
    )
    return {
        "text": MetadataValue.text("hello"),
        "url": MetadataValue.url("https://example.com"),
        "path": MetadataValue.path("a/b.csv"),
        "notebook": MetadataValue.notebook("n.ipynb"),
        "json": MetadataValue.json({"a": [1, 2.5, None, {"b": True}]}),
        "md": MetadataValue.md("# Title"),
        "artifact": MetadataValue.python_artifact(_an_artifact),
        "float": MetadataValue.float(2.0),
        "float_nan": MetadataValue.float(float("nan")),
        "float_inf": MetadataValue.float(float("inf")),
        "float_ninf": MetadataValue.float(float("-inf")),
        "float_nzero": MetadataValue.float(-0.0),
        "int": MetadataValue.int(3),
        "int_big": MetadataValue.int(-(2**64)),
        "bool": MetadataValue.bool(True),
        "timestamp": MetadataValue.timestamp(1704067200.25),
        "run": MetadataValue.dagster_run("run-1"),
        "asset": MetadataValue.asset(AssetKey(["raw", "orders"])),
        "job": MetadataValue.job("nightly", "loc", repository_name="repo"),
        "job_no_repo": MetadataValue.job("nightly", "loc"),
        "table": MetadataValue.table(
            [
                TableRecord({"id": 1, "x": "a"}),
                TableRecord({"id": 2**60, "x": None}),
            ],
            schema,
        ),
        "table_floats": MetadataValue.table(
            [TableRecord({"f": 3.0}), TableRecord({"f": 0.1}), TableRecord({"f": -0.0})]
        ),
        "table_schema": MetadataValue.table_schema(schema),
        "lineage": MetadataValue.column_lineage(
            TableColumnLineage({"total": [TableColumnDep("a/b", "x"), TableColumnDep("c", "y")]})
        ),
        "null": MetadataValue.null(),
        "pool": MetadataValue.pool("db"),
    }


def _same_value(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, FloatMetadataValue | TimestampMetadataValue):
        return _same_float(a.value, b.value)
    if isinstance(a, TableMetadataValue):
        return a.schema == b.schema and [_cells(r) for r in a.records] == [
            _cells(r) for r in b.records
        ]
    return bool(a == b)


def _cells(record: TableRecord) -> list[tuple[str, type, str]]:
    return [(name, type(cell), repr(cell)) for name, cell in record.data.items()]


def test_every_value_class_has_a_sample():
    samples = {type(v) for v in _one_of_each().values()}
    value_classes = {
        cls
        for name in metadata.__all__
        if isinstance(cls := getattr(metadata, name), type)
        and issubclass(cls, MetadataValue)
        and cls is not MetadataValue
    }
    assert samples == value_classes


@pytest.mark.parametrize("key", list(_one_of_each()))
def test_codec_round_trips_each_value_exactly(key):
    value = _one_of_each()[key]
    for restored in (_round_trip({key: value}), _round_trip_text({key: value})):
        assert list(restored) == [key]
        assert _same_value(restored[key], value), (restored[key], value)


def test_codec_output_is_canonical_json_and_keeps_key_order():
    values = _one_of_each()
    data = metadata_to_data(values)
    canonical_json(data)
    assert list(data) == list(values)
    assert list(metadata_from_data(data)) == list(values)


def test_codec_data_shape():
    assert metadata_to_data({"rows": MetadataValue.int(3)}) == {"rows": {"type": "int", "value": 3}}
    assert metadata_to_data({"a": MetadataValue.asset(AssetKey(["x", "y"]))}) == {
        "a": {"type": "asset", "value": ["x", "y"]}
    }


def test_codec_restores_large_floats_that_canonical_json_wrote_as_integers():
    values = {"j": MetadataValue.json({"big": 3.966326117750889e16, "n": [2**53 - 1]})}
    text = canonical_json(metadata_to_data(values))
    assert '"big":39663261177508890' in text
    restored = metadata_from_data(loads(text))["j"].value
    assert restored == {"big": 3.966326117750889e16, "n": [2**53 - 1]}
    assert type(restored["big"]) is float
    assert type(restored["n"][0]) is int


@pytest.mark.parametrize(
    ("number", "stored"),
    [
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
        (-0.0, "-0.0"),
        (0.0, 0.0),
        (1.5, 1.5),
    ],
)
def test_codec_writes_non_json_floats_as_strings(number, stored):
    data = metadata_to_data({"f": MetadataValue.float(number)})
    assert data["f"]["value"] == stored
    assert type(data["f"]["value"]) is type(stored)


def test_codec_writes_integers_past_the_double_range_as_strings():
    assert metadata_to_data({"n": MetadataValue.int(2**53)})["n"]["value"] == str(2**53)
    assert metadata_to_data({"n": MetadataValue.int(2**53 - 1)})["n"]["value"] == 2**53 - 1


def test_codec_encodes_a_subclass_as_its_base():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Fancy(TextMetadataValue):
        pass

    assert metadata_to_data({"t": Fancy("x")}) == {"t": {"type": "text", "value": "x"}}


def test_codec_refuses_a_raw_value_and_says_to_normalize():
    with pytest.raises(MetadataCodecError, match="'rows' is a int, not a MetadataValue"):
        metadata_to_data({"rows": 3})  # type: ignore[dict-item]


def test_decoding_an_unknown_type_names_the_key_and_type():
    with pytest.raises(MetadataCodecError, match="'k' has the unknown type 'hologram'"):
        metadata_from_data({"k": {"type": "hologram", "value": 1}})


@pytest.mark.parametrize(
    "entry",
    [
        {"value": 1},
        {"type": "int"},
        {"type": "int", "value": "three"},
        {"type": "asset", "value": []},
        {"type": "text", "value": 3},
        {"type": "job", "value": "nightly"},
        {"type": "table", "value": {"records": [[1]], "schema": {}}},
        ["int", 3],
    ],
)
def test_decoding_a_malformed_entry_names_the_key(entry):
    with pytest.raises(MetadataCodecError, match="stored metadata 'k'") as info:
        metadata_from_data({"k": entry})
    assert isinstance(info.value, ArcoError)


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-_MAX_SAFE_INT, max_value=_MAX_SAFE_INT)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json_values = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), _json_values, max_size=6))
def test_codec_round_trips_any_json_dict(data):
    values = {"j": MetadataValue.json(data)}
    assert values["j"].data == data
    assert _round_trip(values) == values
    assert _round_trip_text(values) == values


@given(st.floats())
def test_codec_round_trips_any_float(number):
    for cls in (FloatMetadataValue, TimestampMetadataValue):
        for restored in (_round_trip({"f": cls(number)}), _round_trip_text({"f": cls(number)})):
            value = restored["f"]
            assert type(value) is cls
            assert type(value.value) is float
            assert _same_float(value.value, number)


@given(st.floats())
def test_codec_round_trips_any_float_in_a_table_cell(number):
    values = {"t": MetadataValue.table([TableRecord({"f": number})])}
    cell = _round_trip_text(values)["t"].records[0].data["f"]
    assert type(cell) is float
    assert _same_float(cell, number)


@given(st.integers())
def test_codec_round_trips_any_int(number):
    values = {
        "n": MetadataValue.int(number),
        "t": MetadataValue.table([TableRecord({"n": number})]),
    }
    restored = _round_trip_text(values)
    assert restored["n"] == values["n"]
    assert type(restored["t"].records[0].data["n"]) is int
    assert restored["t"] == values["t"]
