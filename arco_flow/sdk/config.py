"""Run and op config: Dagster's config API over pydantic v2, and the run config entry points.

Users write config as `Config` subclasses (pydantic models) or, in code ported from older
Dagster, as legacy schemas (`Field`, `Int`, `Shape`, ``{"x": int}``); the legacy schema lives
in `arco_flow.sdk._legacy_config` and is re-exported here. Run config is the plain-dict form
``{"ops": {name: {"config": ...}}, "resources": {key: {"config": ...}}}``, also written as
`RunConfig`. `resolve_op_config` is the one entry point the executor calls.

Invariants: no I/O except `EnvVar.get_value` (resources resolve env vars through an injected
mapping); validation reports every problem of a config at once, each with its full field path
(``ops.clean_orders.config.threshold``); `config_schema_to_data` is deterministic.
"""

from __future__ import annotations

import enum
import math
import os
import types
import typing
from collections.abc import Collection, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from arco_flow.core.errors import (
    ConfigError,
    ConfigValidationError,
    DefinitionError,
    did_you_mean,
)
from arco_flow.sdk._legacy_config import (
    Any,
    Array,
    Bool,
    ConfigType,
    Enum,
    EnumValue,
    Field,
    Float,
    Int,
    Noneable,
    Permissive,
    Shape,
    String,
    got_value,
    resolve_config_schema,
    validate_config_value,
)

__all__ = [
    "Any",
    "Array",
    "Bool",
    "Config",
    "ConfigType",
    "ConfigValidationError",
    "Enum",
    "EnumValue",
    "EnvVar",
    "Field",
    "Float",
    "Int",
    "IntEnvVar",
    "Noneable",
    "Permissive",
    "PermissiveConfig",
    "RunConfig",
    "Shape",
    "String",
    "config_schema_to_data",
    "normalize_run_config",
    "resolve_config_schema",
    "resolve_op_config",
    "to_config_data",
    "validate_config_model",
    "validate_config_value",
    "validate_run_config_keys",
]

_RUN_CONFIG_SECTIONS = ("ops", "resources", "loggers", "execution")


# --- Environment variables ----------------------------------------------------------------


def _direct_access_error(name: str) -> ConfigError:
    return ConfigError(
        f"EnvVar({name!r}) was read as a value. An EnvVar is resolved when the resource that "
        "holds it is built; use it only as a resource field value, or call .get_value()."
    )


class EnvVar(str):
    """A config value read from the environment variable `NAME` when its resource is built.

    It is a `str` so that ``token: str = EnvVar("TOKEN")`` type-checks; using it as a string
    before it is resolved raises `ConfigError`.
    """

    __slots__ = ()

    @classmethod
    def int(cls, name: str) -> IntEnvVar:
        """Returns an EnvVar whose value is parsed as an integer, for `int` fields."""
        return IntEnvVar.create(name)

    @property
    def env_var_name(self) -> str:
        """The name of the environment variable."""
        return str.__str__(self)

    def get_value(self, default: str | None = None) -> str | None:
        """Returns the variable's current value, or `default` when it is not set."""
        return os.environ.get(self.env_var_name, default)

    def __str__(self) -> str:
        raise _direct_access_error(self.env_var_name)

    def __repr__(self) -> str:
        return f"EnvVar({self.env_var_name!r})"


class IntEnvVar(int):
    """An integer config value read from an environment variable (see `EnvVar.int`)."""

    env_var_name: str

    @classmethod
    def create(cls, name: str) -> IntEnvVar:
        """Returns a placeholder for the integer value of the variable `name`."""
        var = cls(0)
        var.env_var_name = name
        return var

    def get_value(self, default: int | None = None) -> int | None:
        """Returns the variable's current value as an int, or `default` when it is not set."""
        value = EnvVar(self.env_var_name).get_value()
        return default if value is None else int(value)

    def __int__(self) -> int:
        raise _direct_access_error(self.env_var_name)

    def __str__(self) -> str:
        raise _direct_access_error(self.env_var_name)

    def __repr__(self) -> str:
        return f"EnvVar.int({self.env_var_name!r})"


# --- Pythonic config ----------------------------------------------------------------------


class Config(BaseModel):
    """Base class of op, asset and resource config: a frozen pydantic model.

    Unknown fields are rejected. As in Dagster, an enum field also takes a member's name
    (``"BLUE"``), and an ``Optional`` field with no default defaults to None.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _apply_dagster_conventions(cls, data: typing.Any) -> typing.Any:
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        for name, field in cls.model_fields.items():
            key = field.alias or name
            if key in out:
                out[key] = _enum_names_to_members(field.annotation, out[key])
            elif field.is_required() and _admits_none(field.annotation):
                out[key] = None
        return out

    def _config_items(self) -> list[tuple[str, object]]:
        """The (name, value) pairs that describe this config, extra fields included."""
        items: list[tuple[str, object]] = [(n, getattr(self, n)) for n in type(self).model_fields]
        items.extend((self.__pydantic_extra__ or {}).items())
        return items


class PermissiveConfig(Config):
    """A `Config` that also keeps fields it does not declare."""

    model_config = ConfigDict(frozen=True, extra="allow")


def _admits_none(annotation: object) -> bool:
    return type(None) in typing.get_args(annotation) and _is_union(annotation)


def _is_union(annotation: object) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _enum_names_to_members(annotation: object, value: object) -> object:
    """Replaces enum member names in `value` by the members `annotation` expects."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _enum_names_to_members(args[0], value)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        if isinstance(value, str) and value in annotation.__members__:
            return annotation[value]
        return value
    if _is_union(annotation):
        for arg in args:
            converted = _enum_names_to_members(arg, value)
            if converted is not value:
                return converted
        return value
    if origin in (list, set, frozenset, Sequence, Collection) and isinstance(value, list | tuple):
        return [_enum_names_to_members(args[0], v) for v in value] if args else value
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis and isinstance(value, list):
        return [_enum_names_to_members(args[0], v) for v in value]
    if origin in (dict, Mapping) and isinstance(value, Mapping) and len(args) == 2:
        return {k: _enum_names_to_members(args[1], v) for k, v in value.items()}
    return value


def to_config_data(value: object, *, json_only: bool = False) -> typing.Any:
    """Returns `value` as plain config data: dicts, lists, scalars and enum member names.

    Config models become dicts of their fields, and an unresolved `EnvVar` becomes
    ``{"env": "NAME"}``. With `json_only`, any other object becomes
    ``{"object": "module.Type"}`` so that the result is canonical-JSON-able and holds no value
    that could be a secret.
    """
    if isinstance(value, EnvVar | IntEnvVar):
        return {"env": value.env_var_name}
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) or not json_only else {"object": "float"}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Config):
        return {k: to_config_data(v, json_only=json_only) for k, v in value._config_items()}
    if isinstance(value, BaseModel):
        return {k: to_config_data(getattr(value, k), json_only=json_only) for k in value.__dict__}
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: to_config_data(v, json_only=json_only) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_config_data(v, json_only=json_only) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((to_config_data(v, json_only=json_only) for v in value), key=repr)
    if json_only:
        return {"object": f"{type(value).__module__}.{type(value).__qualname__}"}
    return value


# --- Run config ---------------------------------------------------------------------------


class RunConfig:
    """The config of one run: op/asset config and resource config (Dagster's `RunConfig`).

    Args:
        ops: Node name to a `Config` instance, or to a dict in run-config form
            (``{"config": {...}}``).
        resources: Resource key to a `Config` (or configurable resource) instance, or to a
            dict ``{"config": {...}}``.
        loggers: Logger config, passed through.
        execution: Executor config, passed through.
    """

    __slots__ = ("execution", "loggers", "ops", "resources")
    __hash__ = None  # type: ignore[assignment]  # equal by value, and mutable like Dagster's

    def __init__(
        self,
        ops: Mapping[str, typing.Any] | None = None,
        resources: Mapping[str, typing.Any] | None = None,
        loggers: Mapping[str, typing.Any] | None = None,
        execution: Mapping[str, typing.Any] | None = None,
    ) -> None:
        self.ops = dict(ops or {})
        self.resources = dict(resources or {})
        self.loggers = dict(loggers or {})
        self.execution = dict(execution or {})

    def to_config_dict(self) -> dict[str, typing.Any]:
        """Returns the plain-dict run config; `loggers`/`execution` only when given."""
        out = {"ops": _section_to_dict(self.ops), "resources": _section_to_dict(self.resources)}
        out.update(
            {k: dict(v) for k, v in (("loggers", self.loggers), ("execution", self.execution)) if v}
        )
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunConfig):
            return NotImplemented
        return self.to_config_dict() == other.to_config_dict()

    def __repr__(self) -> str:
        return f"RunConfig(ops={self.ops!r}, resources={self.resources!r})"


def _section_to_dict(section: Mapping[str, typing.Any]) -> dict[str, typing.Any]:
    """Converts the Config instances of an ``ops`` or ``resources`` section to plain data."""
    out: dict[str, typing.Any] = {}
    for name, value in section.items():
        if isinstance(value, Config):
            out[name] = {"config": to_config_data(value)}
        elif isinstance(value, Mapping):
            out[name] = {
                key: to_config_data(item)
                if key == "config" and isinstance(item, Config)
                else _section_to_dict(item)
                if key == "ops" and isinstance(item, Mapping)
                else item
                for key, item in value.items()
            }
        else:
            out[name] = value
    return out


def normalize_run_config(
    run_config: RunConfig | Mapping[str, typing.Any] | None,
) -> dict[str, typing.Any]:
    """Returns the plain-dict form of a run config, with ``ops`` and ``resources`` present.

    Raises:
        ConfigError: if the run config, or its ``ops`` or ``resources`` section, is not a
            mapping.
    """
    if run_config is None:
        return {"ops": {}, "resources": {}}
    if isinstance(run_config, RunConfig):
        return run_config.to_config_dict()
    if not isinstance(run_config, Mapping):
        raise ConfigError(
            f"run config must be a RunConfig or a dict, got {type(run_config).__name__}. "
            "Pass e.g. RunConfig(ops={'my_asset': MyConfig(...)})."
        )
    out = dict(run_config)
    for section in ("ops", "resources"):
        value = out.get(section) or {}
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"run config section {section!r} must be a dict of name to "
                f"{{'config': ...}}, got {value!r}."
            )
        out[section] = _section_to_dict(value)
    return out


def validate_run_config_keys(
    run_config: RunConfig | Mapping[str, typing.Any] | None,
    node_names: Collection[str],
    resource_keys: Collection[str],
) -> None:
    """Checks that every section, op and resource named in `run_config` exists.

    Raises:
        ConfigValidationError: listing every unknown name, each with a close match if any.
    """
    config = normalize_run_config(run_config)
    problems = [
        f"{key}: unknown run config section.{did_you_mean(key, _RUN_CONFIG_SECTIONS)} "
        f"Sections are {', '.join(_RUN_CONFIG_SECTIONS)}."
        for key in config
        if key not in _RUN_CONFIG_SECTIONS
    ]
    for section, known, kind in (
        ("ops", node_names, "op or asset"),
        ("resources", resource_keys, "resource"),
    ):
        problems.extend(
            f"{section}.{name}: no {kind} named {name!r} in this job.{did_you_mean(name, known)}"
            f" Remove it from the run config or fix the name."
            for name in config[section]
            if name not in known
        )
    if problems:
        raise ConfigValidationError("the run config", problems, "")


# --- Config model validation --------------------------------------------------------------


M = typing.TypeVar("M", bound=BaseModel)


def validate_config_model(
    model: type[M],
    value: object,
    *,
    path: str,
    subject: str,
    fix: str,
    env_fields: Mapping[str, str] | None = None,
) -> M:
    """Validates `value` into an instance of a pydantic `model`.

    Args:
        model: A `Config` subclass (or configurable resource class).
        value: A mapping of field values, or None for no config.
        path: The run config path of `value`, e.g. ``"resources.db.config"``.
        subject: Names the config's owner in the error.
        fix: The closing sentence of the error.
        env_fields: Field name to environment variable name for values that were read from
            the environment; their values never appear in an error.

    Raises:
        ConfigValidationError: listing every problem at once.
    """
    try:
        return model.model_validate({} if value is None else value)
    except ValidationError as error:
        problems = _describe_errors(model, error, path, env_fields or {})
        raise ConfigValidationError(subject, problems, fix) from None


def _describe_errors(
    model: type[BaseModel], error: ValidationError, path: str, env_fields: Mapping[str, str]
) -> list[str]:
    problems: list[str] = []
    for detail in error.errors():
        loc, kind, value = detail["loc"], detail["type"], detail.get("input")
        shown, annotation, where = _locate(model, loc, path)
        env = env_fields.get(str(loc[0])) if loc else None
        got = f"got the value of env var {env!r}" if env else got_value(value)
        if kind == "missing":
            problem = (
                f"{where}: missing required field {str(loc[-1])!r} ({_type_name(shown)}); add it."
            )
        elif kind == "extra_forbidden":
            known = _field_names(annotation)
            problem = (
                f"{where}: unknown field {str(loc[-1])!r}; remove it."
                f"{did_you_mean(str(loc[-1]), known)} Known fields: {', '.join(known) or 'none'}."
            )
        elif kind.endswith(("_type", "_parsing", "is_instance_of", "literal_error", "enum")):
            problem = f"{where}: expected {_type_name(shown)}, {got}."
        else:
            problem = f"{where}: {detail['msg']}; {got}."
        if problem not in problems:
            problems.append(problem)
    return problems


def _locate(
    model: type[BaseModel], loc: tuple[int | str, ...], path: str
) -> tuple[object, object, str]:
    """Walks an error location through the annotations of `model`.

    Returns the annotation to show in the message, the annotation of the parent (whose
    fields an unknown-field error lists) and the dotted path. A union member tag in `loc`
    stops the walk at the union: the message then names the whole union.
    """
    current: object = model
    parent: object = None
    for part in loc:
        parent = current
        while typing.get_origin(current) is typing.Annotated:
            current = typing.get_args(current)[0]
        if _is_union(current):
            members = [a for a in typing.get_args(current) if a is not type(None)]
            if len(members) != 1:
                return current, current, path
            current = members[0]
        origin, args = typing.get_origin(current), typing.get_args(current)
        if isinstance(part, int):
            path += f"[{part}]"
            current = args[0] if args else None
            continue
        path += f".{part}"
        if isinstance(current, type) and issubclass(current, BaseModel):
            parent = current
            field = current.model_fields.get(part)
            current = field.annotation if field else None
        elif origin in (dict, Mapping) and len(args) == 2:
            current = args[1]
        else:
            current = None
    return current, parent, path


def _field_names(annotation: object) -> list[str]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _type_name(annotation: object) -> str:
    """Returns a short, deterministic name of a type annotation, e.g. ``list[int] | None``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is None or annotation is type(None):
        return "None"
    if annotation is typing.Any:
        return "Any"
    if origin is typing.Annotated:
        return _type_name(args[0])
    if _is_union(annotation):
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return f"{annotation.__name__} (one of {', '.join(annotation.__members__)})"
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join('...' if a is Ellipsis else _type_name(a) for a in args)}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation)


# --- Op config entry point ----------------------------------------------------------------


def resolve_op_config(
    *,
    node_name: str,
    config_type: type[Config] | None,
    config_schema: object | None,
    run_config: RunConfig | Mapping[str, typing.Any] | None,
) -> object:
    """Returns the validated config of one op or asset node for a run.

    Picks ``run_config["ops"][node_name]["config"]`` and validates it against `config_type`
    (returning an instance of it) or the legacy `config_schema` (returning the value with
    defaults applied). A node with neither gets the raw value (None when absent), as in
    Dagster.

    Raises:
        ConfigValidationError: listing every problem of the node's config.
        DefinitionError: if both `config_type` and `config_schema` are given.
    """
    if config_type is not None and config_schema is not None:
        raise DefinitionError(
            f"{node_name!r} has both a Config class and a config_schema; keep one of them."
        )
    path = f"ops.{node_name}.config"
    subject = f"the config of {node_name!r}"
    entry = normalize_run_config(run_config)["ops"].get(node_name)
    if entry is not None and not (
        isinstance(entry, Mapping) and set(entry) <= {"config", "inputs", "outputs"}
    ):
        raise ConfigValidationError(
            subject,
            [f"ops.{node_name}: expected {{'config': {{...}}}}, got {entry!r}."],
            f"Wrap the values: {{'ops': {{{node_name!r}: {{'config': {{...}}}}}}}}.",
        )
    value = entry.get("config") if entry is not None else None
    if config_type is not None:
        fix = (
            f"Fix {path} in the run config, e.g. RunConfig(ops={{{node_name!r}: "
            f"{config_type.__name__}(...)}})."
        )
        return validate_config_model(config_type, value, path=path, subject=subject, fix=fix)
    if config_schema is not None:
        fix = f"Fix {path} in the run config: {{'ops': {{{node_name!r}: {{'config': {{...}}}}}}}}."
        return validate_config_value(config_schema, value, path=path, subject=subject, fix=fix)
    return value


# --- Manifest data ------------------------------------------------------------------------


def config_schema_to_data(config_schema: object) -> dict[str, typing.Any] | None:
    """Describes a `Config` class or a legacy schema as JSON-able data for the manifest.

    Fields map to ``{"type": str, "required": bool}`` plus ``"default"``, ``"description"``
    and nested ``"fields"`` when present. Returns None for None.

    Raises:
        DefinitionError: if `config_schema` is neither a Config class nor a legacy schema.
    """
    if config_schema is None:
        return None
    if isinstance(config_schema, type) and issubclass(config_schema, BaseModel):
        return {"kind": "class", **_model_data(config_schema)}
    if isinstance(config_schema, Field):
        return {"kind": "schema", **_field_data(config_schema)}
    return {"kind": "schema", **_type_data(resolve_config_schema(config_schema))}


def _model_data(model: type[BaseModel]) -> dict[str, typing.Any]:
    fields: dict[str, typing.Any] = {}
    for name, field in model.model_fields.items():
        data: dict[str, typing.Any] = {"type": _type_name(field.annotation)}
        data["required"] = field.is_required() and not _admits_none(field.annotation)
        if field.is_required() and not data["required"]:
            data["default"] = None
        elif not field.is_required() and field.default_factory is None:
            data["default"] = to_config_data(field.default, json_only=True)
        if field.description:
            data["description"] = field.description
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            data["fields"] = _model_data(annotation)["fields"]
        fields[name] = data
    return {
        "class": f"{model.__module__}.{model.__qualname__}",
        "permissive": model.model_config.get("extra") == "allow",
        "fields": fields,
    }


def _type_data(config_type: ConfigType) -> dict[str, typing.Any]:
    data: dict[str, typing.Any] = {"type": config_type.name}
    if isinstance(config_type, Shape):
        data["fields"] = {n: _field_data(f) for n, f in config_type.fields.items()}
    if isinstance(config_type, Enum):
        data["values"] = [v.config_value for v in config_type.enum_values]
    return data


def _field_data(field: Field) -> dict[str, typing.Any]:
    data = _type_data(field.config_type)
    data["required"] = field.is_required
    if field.has_default:
        data["default"] = to_config_data(field.default_value, json_only=True)
    if field.description:
        data["description"] = field.description
    return data
