from __future__ import annotations

import enum
from typing import Any as TypingAny
from typing import Literal

import pytest
from pydantic import ValidationError

from arco_flow.core.canonical_json import canonical_json
from arco_flow.core.errors import ConfigError, DefinitionError
from arco_flow.sdk.config import (
    Any,
    Array,
    Bool,
    Config,
    ConfigValidationError,
    Enum,
    EnumValue,
    EnvVar,
    Field,
    Float,
    Int,
    Noneable,
    Permissive,
    PermissiveConfig,
    RunConfig,
    Shape,
    String,
    config_schema_to_data,
    normalize_run_config,
    resolve_op_config,
    to_config_data,
    validate_run_config_keys,
)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Window(Config):
    days: int = 7


class CleanOrdersConfig(Config):
    threshold: float
    limit: int = 10
    note: str | None = None
    color: Color = Color.RED
    window: Window = Window()
    tags: list[str] = []  # noqa: RUF012  # pydantic copies field defaults
    mode: Literal["fast", "safe"] = "safe"


def resolve(
    config: TypingAny,
    *,
    config_type: type[Config] | None = CleanOrdersConfig,
    config_schema: object = None,
    node: str = "clean_orders",
) -> TypingAny:
    run_config = {"ops": {node: {"config": config}}} if config is not None else {}
    return resolve_op_config(
        node_name=node, config_type=config_type, config_schema=config_schema, run_config=run_config
    )


# --- Config classes ---


def test_config_is_frozen():
    config = CleanOrdersConfig(threshold=1.0)
    with pytest.raises(ValidationError):
        config.limit = 3  # type: ignore[misc]


def test_config_rejects_unknown_fields_on_construction():
    with pytest.raises(ValidationError, match="limt"):
        CleanOrdersConfig(threshold=1.0, limt=3)  # type: ignore[call-arg]


def test_optional_field_without_default_defaults_to_none_like_dagster():
    class WithOptional(Config):
        note: str | None

    assert WithOptional().note is None  # type: ignore[call-arg]  # Dagster's convention


def test_enum_field_takes_member_name_or_value():
    assert CleanOrdersConfig(threshold=1, color="BLUE").color is Color.BLUE
    assert CleanOrdersConfig(threshold=1, color="blue").color is Color.BLUE


def test_enum_names_are_converted_inside_lists_and_dicts():
    class Palette(Config):
        colors: list[Color]
        by_name: dict[str, Color] = {}  # noqa: RUF012  # pydantic copies field defaults

    palette = Palette.model_validate({"colors": ["RED", "blue"], "by_name": {"a": "BLUE"}})
    assert palette.colors == [Color.RED, Color.BLUE]
    assert palette.by_name == {"a": Color.BLUE}


def test_permissive_config_keeps_undeclared_fields():
    class Loose(PermissiveConfig):
        a: int = 1

    config = resolve({"b": 2}, config_type=Loose, node="loose")
    assert isinstance(config, Loose)
    assert config.model_dump() == {"a": 1, "b": 2}


# --- resolve_op_config with Config classes ---


def test_resolve_returns_config_instance_with_defaults():
    config = resolve({"threshold": 0.5, "color": "BLUE", "window": {"days": 3}})
    assert config == CleanOrdersConfig(threshold=0.5, color=Color.BLUE, window=Window(days=3))


def test_resolve_uses_defaults_when_run_config_has_no_entry():
    config = resolve(None, config_type=Window, node="window")
    assert config == Window()


def test_missing_required_field_names_path_type_and_fix():
    with pytest.raises(ConfigValidationError) as info:
        resolve(None)
    message = str(info.value)
    assert (
        "ops.clean_orders.config.threshold: missing required field 'threshold' (float)" in message
    )
    assert "RunConfig(ops={'clean_orders': CleanOrdersConfig(...)})" in message


def test_wrong_type_names_expected_type_and_given_value():
    with pytest.raises(ConfigError) as info:
        resolve({"threshold": 1.0, "limit": "many"})
    assert "ops.clean_orders.config.limit: expected int, got 'many' (str)" in str(info.value)


def test_unknown_field_suggests_the_close_match():
    with pytest.raises(ConfigError) as info:
        resolve({"threshold": 1.0, "limt": 3})
    message = str(info.value)
    assert "ops.clean_orders.config.limt: unknown field 'limt'" in message
    assert "Did you mean 'limit'?" in message


def test_all_problems_of_one_config_are_reported_at_once():
    with pytest.raises(ConfigValidationError) as info:
        resolve(
            {
                "limit": "x",
                "limt": 1,
                "color": "GREEN",
                "window": {"days": "z", "dayz": 1},
                "tags": ["a", 2],
                "mode": "slow",
            }
        )
    paths = [problem.split(":")[0] for problem in info.value.problems]
    assert sorted(paths) == sorted(
        [
            "ops.clean_orders.config.threshold",
            "ops.clean_orders.config.limit",
            "ops.clean_orders.config.limt",
            "ops.clean_orders.config.color",
            "ops.clean_orders.config.window.days",
            "ops.clean_orders.config.window.dayz",
            "ops.clean_orders.config.tags[1]",
            "ops.clean_orders.config.mode",
        ]
    )
    assert "has 8 problems" in str(info.value)
    assert "Did you mean 'days'?" in str(info.value)
    assert "Color (one of RED, BLUE)" in str(info.value)


def test_union_type_error_is_reported_once_naming_the_union():
    class U(Config):
        value: int | str

    with pytest.raises(ConfigValidationError) as info:
        resolve({"value": [1]}, config_type=U, node="u")
    assert info.value.problems == ("ops.u.config.value: expected int | str, got [1] (list).",)


def test_config_that_is_not_a_mapping_is_an_error():
    with pytest.raises(ConfigError, match=r"ops.clean_orders.config: expected CleanOrdersConfig"):
        resolve(5)


def test_op_entry_without_config_wrapper_says_how_to_wrap():
    with pytest.raises(ConfigError) as info:
        resolve_op_config(
            node_name="w",
            config_type=Window,
            config_schema=None,
            run_config={"ops": {"w": {"days": 3}}},
        )
    assert "{'ops': {'w': {'config': {...}}}}" in str(info.value)


def test_node_without_schema_gets_the_raw_config_like_dagster():
    assert resolve({"x": 1}, config_type=None) == {"x": 1}
    assert resolve(None, config_type=None) is None


def test_both_config_class_and_schema_is_a_definition_error():
    with pytest.raises(DefinitionError, match="keep one"):
        resolve(None, config_schema={"x": int})


# --- RunConfig ---


def test_run_config_to_config_dict_uses_plain_dict_form():
    run_config = RunConfig(
        ops={"clean_orders": CleanOrdersConfig(threshold=0.5, color=Color.BLUE)},
        resources={"db": {"config": {"host": "h"}}},
    )
    assert run_config.to_config_dict() == {
        "ops": {
            "clean_orders": {
                "config": {
                    "threshold": 0.5,
                    "limit": 10,
                    "note": None,
                    "color": "BLUE",
                    "window": {"days": 7},
                    "tags": [],
                    "mode": "safe",
                }
            }
        },
        "resources": {"db": {"config": {"host": "h"}}},
    }


def test_run_config_round_trips_through_resolve():
    original = CleanOrdersConfig(threshold=0.5, color=Color.BLUE, window=Window(days=1))
    run_config = RunConfig(ops={"clean_orders": original})
    for form in (run_config, run_config.to_config_dict()):
        resolved = resolve_op_config(
            node_name="clean_orders",
            config_type=CleanOrdersConfig,
            config_schema=None,
            run_config=form,
        )
        assert resolved == original


def test_run_config_equality_is_by_config_dict():
    assert RunConfig(ops={"w": Window(days=2)}) == RunConfig(ops={"w": {"config": {"days": 2}}})
    assert RunConfig(ops={"w": Window(days=2)}) != RunConfig(ops={"w": Window(days=3)})


def test_normalize_converts_config_instances_in_a_plain_dict():
    normalized = normalize_run_config({"ops": {"w": {"config": Window(days=2)}, "v": Window()}})
    assert normalized["ops"] == {"w": {"config": {"days": 2}}, "v": {"config": {"days": 7}}}
    assert normalized["resources"] == {}


def test_normalize_rejects_a_run_config_that_is_not_a_mapping():
    with pytest.raises(ConfigError, match="RunConfig or a dict"):
        normalize_run_config(["ops"])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'ops' must be a dict"):
        normalize_run_config({"ops": ["x"]})


def test_normalize_of_none_is_empty():
    assert normalize_run_config(None) == {"ops": {}, "resources": {}}


# --- validate_run_config_keys ---


def test_unknown_op_resource_and_section_are_all_reported_with_suggestions():
    with pytest.raises(ConfigValidationError) as info:
        validate_run_config_keys(
            {"ops": {"clean_ordrs": {}}, "resources": {"warehous": {}}, "resource": {}},
            node_names=["clean_orders"],
            resource_keys=["warehouse"],
        )
    message = str(info.value)
    assert len(info.value.problems) == 3
    assert "ops.clean_ordrs: no op or asset named 'clean_ordrs'" in message
    assert "Did you mean 'clean_orders'?" in message
    assert "Did you mean 'warehouse'?" in message
    assert "Did you mean 'resources'?" in message


def test_known_keys_pass_validation():
    validate_run_config_keys(
        RunConfig(ops={"w": Window()}, resources={"db": {"config": {}}}), ["w"], ["db"]
    )


# --- legacy schemas ---


LEGACY = {
    "limit": Field(int, default_value=3, description="rows"),
    "name": str,
    "maybe": Noneable(int),
    "nested": {"flag": Field(bool, default_value=True)},
    "ids": [int],
}


def test_legacy_schema_applies_defaults():
    config = resolve({"name": "a", "ids": []}, config_type=None, config_schema=LEGACY)
    assert config == {"name": "a", "ids": [], "limit": 3, "maybe": None, "nested": {"flag": True}}


def test_legacy_schema_reports_every_problem_with_paths():
    with pytest.raises(ConfigValidationError) as info:
        resolve(
            {"nam": "a", "ids": [1, "x"], "limit": True}, config_type=None, config_schema=LEGACY
        )
    assert set(info.value.problems) == {
        "ops.clean_orders.config.nam: unknown field 'nam'; remove it. Did you mean 'name'? "
        "Known fields: ids, limit, maybe, name, nested.",
        "ops.clean_orders.config.ids[1]: expected Int, got 'x' (str).",
        "ops.clean_orders.config.limit: expected Int, got True (bool).",
        "ops.clean_orders.config.name: missing required field 'name' (String); add it.",
    }
    assert "{'ops': {'clean_orders': {'config': {...}}}}" in str(info.value)


def test_legacy_scalars_are_strict_like_dagster():
    assert resolve(5, config_type=None, config_schema=Float) == 5.0
    assert resolve(True, config_type=None, config_schema=Bool) is True
    assert resolve("x", config_type=None, config_schema=String) == "x"
    assert resolve([1, "a"], config_type=None, config_schema=list) == [1, "a"]
    assert resolve({"k": 1}, config_type=None, config_schema=dict) == {"k": 1}
    with pytest.raises(ConfigError, match="expected Int, got '5' "):
        resolve("5", config_type=None, config_schema=int)
    with pytest.raises(ConfigError, match="expected Bool, got 1 "):
        resolve(1, config_type=None, config_schema=Bool)


def test_legacy_scalar_schema_without_value_is_missing():
    with pytest.raises(ConfigError, match=r"ops\.clean_orders\.config: required config value"):
        resolve(None, config_type=None, config_schema=Int)


def test_legacy_top_level_field_default_is_used():
    assert resolve(None, config_type=None, config_schema=Field(Int, default_value=4)) == 4


def test_legacy_none_for_a_non_noneable_field_is_an_error():
    with pytest.raises(ConfigError, match=r"ops\.clean_orders\.config\.name: must not be None"):
        resolve({"name": None, "ids": []}, config_type=None, config_schema=LEGACY)


def test_legacy_shape_and_permissive():
    schema = {"s": Shape({"a": Int}), "p": Permissive({"a": Field(Int, is_required=False)})}
    config = resolve({"s": {"a": 1}, "p": {"b": 2}}, config_type=None, config_schema=schema)
    assert config == {"s": {"a": 1}, "p": {"b": 2}}
    with pytest.raises(ConfigError, match=r"config\.s: expected a dict with fields \['a'\]"):
        resolve({"s": 3, "p": {}}, config_type=None, config_schema=schema)


def test_legacy_array_and_any():
    schema = {"a": Array(String), "b": Any}
    assert resolve({"a": ("x",), "b": object}, config_type=None, config_schema=schema) == {
        "a": ["x"],
        "b": object,
    }
    with pytest.raises(ConfigError, match="expected a list"):
        resolve({"a": "x", "b": 1}, config_type=None, config_schema=schema)


def test_legacy_enum_maps_names_to_python_values():
    schema = {"e": Enum("Speed", [EnumValue("FAST", 1), EnumValue("SLOW")])}
    assert resolve({"e": "FAST"}, config_type=None, config_schema=schema) == {"e": 1}
    assert resolve({"e": "SLOW"}, config_type=None, config_schema=schema) == {"e": "SLOW"}
    with pytest.raises(ConfigError, match="Did you mean 'FAST'"):
        resolve({"e": "FASTT"}, config_type=None, config_schema=schema)
    from_python = {"c": Enum.from_python_enum(Color)}
    assert resolve({"c": "BLUE"}, config_type=None, config_schema=from_python) == {"c": Color.BLUE}


def test_legacy_defaults_are_not_shared_between_runs():
    schema = {"items": Field(list, default_value=[])}
    first = resolve(None, config_type=None, config_schema=schema)
    first["items"].append(1)
    assert resolve(None, config_type=None, config_schema=schema) == {"items": []}


def test_required_field_with_default_is_a_definition_error():
    with pytest.raises(DefinitionError, match="drop is_required=True"):
        Field(int, default_value=1, is_required=True)


def test_invalid_legacy_schema_is_a_definition_error():
    with pytest.raises(DefinitionError, match="is not a config schema"):
        resolve(None, config_type=None, config_schema={"x": 3})


# --- manifest data ---


def test_config_class_data_describes_fields():
    data = config_schema_to_data(CleanOrdersConfig)
    assert data is not None
    fields = data["fields"]
    assert fields["threshold"] == {"type": "float", "required": True}
    assert fields["limit"] == {"type": "int", "required": False, "default": 10}
    assert fields["note"] == {"type": "str | None", "required": False, "default": None}
    assert fields["color"]["default"] == "RED"
    assert fields["window"]["fields"] == {"days": {"type": "int", "required": False, "default": 7}}
    assert data["class"].endswith("CleanOrdersConfig")


def test_legacy_schema_data_describes_fields():
    data = config_schema_to_data(LEGACY)
    assert data is not None
    assert data["type"] == "Shape"
    assert data["fields"]["limit"] == {
        "type": "Int",
        "required": False,
        "default": 3,
        "description": "rows",
    }
    assert data["fields"]["ids"] == {"type": "Array[Int]", "required": True}
    assert data["fields"]["maybe"] == {"type": "Noneable[Int]", "required": False}


def test_schema_data_is_deterministic_and_canonical_json_able():
    for schema in (CleanOrdersConfig, LEGACY, Int, Field(Float, default_value=1.5)):
        assert canonical_json(config_schema_to_data(schema)) == canonical_json(
            config_schema_to_data(schema)
        )
    assert config_schema_to_data(None) is None


def test_to_config_data_of_unknown_objects_is_json_safe():
    assert to_config_data({"o": object()}, json_only=True) == {"o": {"object": "builtins.object"}}


# --- EnvVar ---


def test_env_var_reads_the_environment_only_on_request(monkeypatch):
    monkeypatch.setenv("ARCO_TEST_TOKEN", "abc")
    monkeypatch.setenv("ARCO_TEST_PORT", "5432")
    assert EnvVar("ARCO_TEST_TOKEN").get_value() == "abc"
    assert EnvVar.int("ARCO_TEST_PORT").get_value() == 5432
    monkeypatch.delenv("ARCO_TEST_TOKEN")
    assert EnvVar("ARCO_TEST_TOKEN").get_value(default="d") == "d"
    assert EnvVar.int("ARCO_TEST_NOPE").get_value(default=1) == 1


def test_env_var_used_as_a_string_raises():
    with pytest.raises(ConfigError, match="EnvVar\\('TOKEN'\\) was read as a value"):
        str(EnvVar("TOKEN"))
    assert repr(EnvVar("TOKEN")) == "EnvVar('TOKEN')"
    assert repr(EnvVar.int("N")) == "EnvVar.int('N')"
