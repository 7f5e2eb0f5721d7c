"""The legacy config schema of older Dagster code, and validation against it.

Owns `Field`, the config types (`Int`, `String`, `Float`, `Bool`, `Any`, `Array`, `Noneable`,
`Shape`, `Permissive`, `Enum`), `resolve_config_schema`, which reads a schema written as
types, dicts and one-item lists, and `validate_config_value`. Users import these names from
`arco_flow.sdk.config` (or `arco_flow`), which re-exports them.

Invariants: pure, no I/O; validation reports every problem of a value at once, each with its
full field path, as one `ConfigValidationError`.
"""

from __future__ import annotations

import copy
import enum
import typing
from collections.abc import Mapping, Sequence

from arco_flow.core.errors import ConfigValidationError, DefinitionError, did_you_mean


class ConfigType:
    """A type of the legacy config schema (`Int`, `Array(String)`, `Shape({...})` ...)."""

    name: str = "Any"

    def __repr__(self) -> str:
        return self.name


class _ScalarType(ConfigType):
    def __init__(self, name: str, python_types: tuple[type, ...]) -> None:
        self.name = name
        self.python_types = python_types

    def accepts(self, value: object) -> bool:
        if isinstance(value, bool):
            return bool in self.python_types
        return isinstance(value, self.python_types)


Int = _ScalarType("Int", (int,))
Float = _ScalarType("Float", (float, int))
String = _ScalarType("String", (str,))
Bool = _ScalarType("Bool", (bool,))
Any = ConfigType()


class Array(ConfigType):
    """A list whose items all have one config type."""

    def __init__(self, inner_type: object) -> None:
        self.inner_type = resolve_config_schema(inner_type)
        self.name = f"Array[{self.inner_type.name}]"


class Noneable(ConfigType):
    """A value of `inner_type`, or None; a Noneable field defaults to None."""

    def __init__(self, inner_type: object) -> None:
        self.inner_type = resolve_config_schema(inner_type)
        self.name = f"Noneable[{self.inner_type.name}]"


class Shape(ConfigType):
    """A dict with the given fields; unknown keys are rejected."""

    permissive = False

    def __init__(self, fields: Mapping[str, object], description: str | None = None) -> None:
        self.fields = {name: _as_field(value) for name, value in fields.items()}
        self.description = description
        self.name = type(self).__name__


class Permissive(Shape):
    """A dict with the given fields that also keeps keys it does not declare."""

    permissive = True

    def __init__(
        self, fields: Mapping[str, object] | None = None, description: str | None = None
    ) -> None:
        super().__init__(fields or {}, description)


class EnumValue:
    """One value of an `Enum`: its name in config and the value the op receives."""

    def __init__(
        self, config_value: str, python_value: object = None, description: str | None = None
    ) -> None:
        self.config_value = config_value
        self.python_value = config_value if python_value is None else python_value
        self.description = description


class Enum(ConfigType):
    """A string config value restricted to the names of `enum_values`."""

    def __init__(self, name: str, enum_values: Sequence[EnumValue]) -> None:
        self.name = name
        self.enum_values = list(enum_values)

    @classmethod
    def from_python_enum(cls, enum_type: type[enum.Enum]) -> Enum:
        """Returns the config enum of a Python enum: member names map to members."""
        return cls(enum_type.__name__, [EnumValue(m.name, m) for m in enum_type])


_NO_DEFAULT = object()


class Field:
    """A field of a legacy schema: its type, default and whether it is required.

    Args:
        config: The field's type (a `ConfigType`, a Python type, a dict or a one-item list).
        default_value: Value used when the field is absent; makes it optional.
        is_required: Defaults to True unless there is a default or the type is optional
            (`Noneable`, or a `Shape` whose fields are all optional).
        description: Shown in docs and the manifest.

    Raises:
        DefinitionError: if `is_required` is True and a default is given.
    """

    def __init__(
        self,
        config: object,
        default_value: object = _NO_DEFAULT,
        is_required: bool | None = None,
        description: str | None = None,
    ) -> None:
        self.config_type = resolve_config_schema(config)
        self.default_value = default_value
        self.description = description
        if is_required and self.has_default:
            raise DefinitionError(
                f"Field({self.config_type.name}) is required and has a default value; "
                "drop is_required=True or the default."
            )
        optional = self.has_default or _is_optional_type(self.config_type)
        self.is_required = (not optional) if is_required is None else is_required

    @property
    def has_default(self) -> bool:
        """Whether a default value was given."""
        return self.default_value is not _NO_DEFAULT


def _is_optional_type(config_type: ConfigType) -> bool:
    if isinstance(config_type, Noneable):
        return True
    if isinstance(config_type, Shape):
        return not any(f.is_required for f in config_type.fields.values())
    return False


def _as_field(value: object) -> Field:
    return value if isinstance(value, Field) else Field(value)


_PYTHON_TYPES: dict[object, ConfigType] = {int: Int, float: Float, str: String, bool: Bool}


def resolve_config_schema(config_schema: object) -> ConfigType:
    """Returns the config type of a legacy schema (types, dicts, one-item lists, `Field`).

    Raises:
        DefinitionError: if `config_schema` is not a config schema.
    """
    if isinstance(config_schema, Field):
        return config_schema.config_type
    if isinstance(config_schema, ConfigType):
        return config_schema
    if isinstance(config_schema, dict):
        return Shape(config_schema)
    if isinstance(config_schema, list) and len(config_schema) == 1:
        return Array(config_schema[0])
    if isinstance(config_schema, type) and config_schema in _PYTHON_TYPES:
        return _PYTHON_TYPES[config_schema]
    if config_schema is list:
        return Array(Any)
    if config_schema is dict:
        return Permissive()
    if config_schema is typing.Any or config_schema is object:
        return Any
    raise DefinitionError(
        f"{config_schema!r} is not a config schema. Use a Config subclass, a type (int, str, "
        "float, bool, list, dict), Field(...), Shape/Permissive/Array/Noneable/Enum, or a "
        'dict of field name to type, e.g. {"limit": Field(int, default_value=10)}.'
    )


# --- Validation ---------------------------------------------------------------------------


def got_value(value: object) -> str:
    """Returns ``got 3 (int)``: how a config error shows the value it rejects."""
    return f"got {value!r} ({type(value).__name__})"


def _check(config_type: ConfigType, value: object, path: str, problems: list[str]) -> object:
    """Validates `value` against a legacy type, applies defaults and appends problems."""
    if isinstance(config_type, Noneable):
        return None if value is None else _check(config_type.inner_type, value, path, problems)
    if config_type is Any:
        return value
    if value is None:
        problems.append(f"{path}: must not be None; expected {config_type.name}.")
        return None
    if isinstance(config_type, _ScalarType):
        if not config_type.accepts(value):
            problems.append(f"{path}: expected {config_type.name}, {got_value(value)}.")
        if config_type is Float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    if isinstance(config_type, Array):
        if not isinstance(value, list | tuple):
            problems.append(f"{path}: expected a list ({config_type.name}), {got_value(value)}.")
            return value
        return [
            _check(config_type.inner_type, v, f"{path}[{i}]", problems) for i, v in enumerate(value)
        ]
    if isinstance(config_type, Enum):
        names = [v.config_value for v in config_type.enum_values]
        if value not in names:
            hint = did_you_mean(value, names) if isinstance(value, str) else ""
            problems.append(
                f"{path}: {value!r} is not one of {names} (enum {config_type.name}).{hint}"
            )
            return value
        return config_type.enum_values[names.index(value)].python_value
    if isinstance(config_type, Shape):
        return _check_shape(config_type, value, path, problems)
    raise AssertionError(f"unhandled config type {config_type!r}")


def _check_shape(shape: Shape, value: object, path: str, problems: list[str]) -> object:
    if not isinstance(value, Mapping):
        problems.append(
            f"{path}: expected a dict with fields {sorted(shape.fields)}, {got_value(value)}."
        )
        return value
    out: dict[str, object] = {}
    for key, item in value.items():
        if key in shape.fields:
            out[key] = _check(shape.fields[key].config_type, item, f"{path}.{key}", problems)
        elif shape.permissive:
            out[key] = item
        else:
            hint = did_you_mean(str(key), shape.fields)
            known = ", ".join(sorted(shape.fields)) or "none"
            problems.append(
                f"{path}.{key}: unknown field {key!r}; remove it.{hint} Known fields: {known}."
            )
    for name, field in shape.fields.items():
        if name in value:
            continue
        if field.has_default:
            out[name] = copy.deepcopy(field.default_value)
        elif field.is_required:
            kind = field.config_type.name
            problems.append(f"{path}.{name}: missing required field {name!r} ({kind}); add it.")
        elif isinstance(field.config_type, Noneable):
            out[name] = None
        elif isinstance(field.config_type, Shape):
            out[name] = _check_shape(field.config_type, {}, f"{path}.{name}", problems)
    return out


def validate_config_value(
    config_schema: object, value: object, *, path: str, subject: str, fix: str
) -> typing.Any:
    """Validates a value against a legacy schema and returns it with defaults applied.

    Args:
        config_schema: The legacy schema (see `resolve_config_schema`).
        value: The config value, or None when the run config gives none.
        path: The run config path of `value`, e.g. ``"ops.clean_orders.config"``.
        subject: Names the config's owner in the error.
        fix: The closing sentence of the error.

    Raises:
        ConfigValidationError: listing every problem at once.
    """
    config_type = resolve_config_schema(config_schema)
    problems: list[str] = []
    if value is None and isinstance(config_schema, Field) and config_schema.has_default:
        result = copy.deepcopy(config_schema.default_value)
    elif value is None and isinstance(config_type, Shape):
        result = _check_shape(config_type, {}, path, problems)
    elif value is None and not isinstance(config_type, Noneable) and config_type is not Any:
        problems.append(f"{path}: required config value is missing; expected {config_type.name}.")
        result = None
    else:
        result = _check(config_type, value, path, problems)
    if problems:
        raise ConfigValidationError(subject, problems, fix)
    return result
