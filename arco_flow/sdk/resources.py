"""Resources: Dagster's pythonic `ConfigurableResource`, function resources, and their scope.

`ResourceScope` is the one entry point the executor uses: it builds the resources a run
needs, once each and dependencies first, and tears them down in reverse order.

Invariants: an `EnvVar` field is read when its resource is built, never at definition; its
value never appears in a repr, an error message or `resource_config_to_data`. Every
resource that was set up is torn down, whatever failed in between.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import logging
import os
import types
import typing
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, PrivateAttr, field_validator

from arco_flow.core.errors import (
    ArcoError,
    ConfigError,
    ConfigValidationError,
    DefinitionError,
    ResourceError,
    did_you_mean,
)
from arco_flow.sdk._legacy_config import resolve_config_schema, validate_config_value
from arco_flow.sdk.config import (
    Config,
    EnvVar,
    IntEnvVar,
    config_schema_to_data,
    to_config_data,
    validate_config_model,
)
from arco_flow.sdk.resource_map import Resources

__all__ = [
    "ConfigurableResource",
    "InitResourceContext",
    "PartialResource",
    "ResourceDefinition",
    "ResourceParam",
    "ResourceScope",
    "Resources",
    "build_init_resource_context",
    "resource",
    "resource_config_to_data",
]

T = typing.TypeVar("T")

ResourceParam = typing.Annotated[T, "arco_flow.resource_param"]
"""Marks a parameter as a plain resource (any object bound in ``resources={...}``)."""

_LOGGER = logging.getLogger("arco_flow.resources")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class InitResourceContext:
    """What a resource gets while it is set up."""

    resource_config: typing.Any = None
    """The resource's validated config (a ConfigurableResource's non-resource fields)."""
    resources: Resources = dataclasses.field(default_factory=Resources)
    """The resources this one depends on: its nested resources or required keys."""
    log: logging.Logger = _LOGGER
    """Where the resource should log."""
    instance: object | None = None
    """The instance of the run, when there is one."""


def build_init_resource_context(
    config: typing.Any = None,
    resources: Mapping[str, object] | None = None,
    instance: object | None = None,
) -> InitResourceContext:
    """Builds an `InitResourceContext` to call a resource function directly in a test."""
    return InitResourceContext(
        resource_config=config, resources=Resources(resources), instance=instance
    )


# --- Pythonic resources -------------------------------------------------------------------


class ConfigurableResource(Config):
    """Base class of configured resources: a frozen pydantic model whose fields are config.

    Field values may be `EnvVar`s, read when the resource is built, and other resources,
    set up before and torn down after this one. Override `setup_for_execution` and
    `teardown_after_execution`, or `yield_for_execution` for both at once.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    _env_fields: dict[str, str] = PrivateAttr(default_factory=dict)
    _resource_context: InitResourceContext | None = PrivateAttr(default=None)

    @field_validator("*", mode="wrap")
    @classmethod
    def _defer_env_vars_and_partials(
        cls, value: typing.Any, handler: Callable[[typing.Any], typing.Any]
    ) -> typing.Any:
        # An EnvVar or a partial resource is resolved when the resource is built, and
        # validated then against the field's type.
        if isinstance(value, EnvVar | IntEnvVar | PartialResource):
            return value
        return handler(value)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Called once before the run uses this resource."""

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """Called once after the run used this resource, also when the run failed."""

    @contextlib.contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[typing.Self]:
        """Sets up, yields this resource, and tears it down when the scope ends."""
        self.setup_for_execution(context)
        try:
            yield self
        finally:
            self.teardown_after_execution(context)

    def get_resource_context(self) -> InitResourceContext:
        """Returns the context this resource was set up with.

        Raises:
            ResourceError: if the resource is not being used by a run.
        """
        if self._resource_context is None:
            raise ResourceError(
                f"{type(self).__name__} has no resource context: it is set only while a run "
                "uses the resource (from setup_for_execution on)."
            )
        return self._resource_context

    @classmethod
    def configure_at_launch(cls, **values: typing.Any) -> PartialResource:
        """Returns this resource with the rest of its config taken from run config.

        The run config values are read from ``resources.<key>.config`` and win over `values`.

        Raises:
            DefinitionError: if a name in `values` is not a field of the resource.
        """
        for name in values:
            if name not in cls.model_fields:
                raise DefinitionError(
                    f"{cls.__name__}.configure_at_launch() got unknown field {name!r}."
                    f"{did_you_mean(name, cls.model_fields)} Fields: {list(cls.model_fields)}."
                )
        return PartialResource(resource_cls=cls, data=dict(values))

    def __repr_args__(self) -> Iterator[tuple[str | None, typing.Any]]:
        for name, value in super().__repr_args__():
            yield name, EnvVar(self._env_fields[name]) if name in self._env_fields else value

    def _config_items(self) -> list[tuple[str, object]]:
        return [
            (name, EnvVar(self._env_fields[name]) if name in self._env_fields else value)
            for name, value in super()._config_items()
        ]


@dataclasses.dataclass(frozen=True, slots=True)
class PartialResource:
    """A `ConfigurableResource` whose config is completed from run config at launch."""

    resource_cls: type[ConfigurableResource]
    """The resource class to build."""
    data: Mapping[str, typing.Any] = dataclasses.field(default_factory=dict)
    """The field values given at definition."""


# --- Function resources -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class ResourceDefinition:
    """A resource built by a function of its `InitResourceContext` (Dagster's `@resource`).

    The function returns the resource, or is a generator that yields it once; the code after
    the ``yield`` is its teardown and runs even when the run failed.
    """

    resource_fn: Callable[..., typing.Any]
    """The function that builds the resource."""
    config_schema: object = None
    """Legacy schema of ``resources.<key>.config``; None takes any config as is."""
    description: str | None = None
    """Shown in the UI."""
    required_resource_keys: frozenset[str] = frozenset()
    """Keys of other resources the function reads from ``context.resources``."""

    def __post_init__(self) -> None:
        if self.config_schema is not None:
            resolve_config_schema(self.config_schema)
        object.__setattr__(self, "required_resource_keys", frozenset(self.required_resource_keys))
        if len(inspect.signature(self.resource_fn).parameters) > 1:
            raise DefinitionError(
                f"resource function {self.resource_fn.__qualname__!r} takes more than one "
                "parameter; it takes the init context only: def my_resource(context): ..."
            )

    @staticmethod
    def hardcoded_resource(value: object, description: str | None = None) -> ResourceDefinition:
        """Returns a resource definition that provides `value` as is."""
        return ResourceDefinition(lambda: value, description=description)


@typing.overload
def resource(config_schema: Callable[..., typing.Any]) -> ResourceDefinition: ...  # type: ignore[overload-overlap]  # bare @resource, as in Dagster


@typing.overload
def resource(
    config_schema: object = None,
    description: str | None = None,
    required_resource_keys: Collection[str] | None = None,
) -> Callable[[Callable[..., typing.Any]], ResourceDefinition]: ...


def resource(
    config_schema: object = None,
    description: str | None = None,
    required_resource_keys: Collection[str] | None = None,
) -> ResourceDefinition | Callable[[Callable[..., typing.Any]], ResourceDefinition]:
    """Makes a function of its init context into a resource (``@resource`` or with args).

    Args:
        config_schema: Legacy schema of the resource's run config.
        description: Shown in the UI.
        required_resource_keys: Keys of other resources the function uses.

    Raises:
        DefinitionError: if the schema is invalid or the function takes more than one
            parameter.
    """
    if inspect.isfunction(config_schema):
        return ResourceDefinition(config_schema)

    def decorate(fn: Callable[..., typing.Any]) -> ResourceDefinition:
        return ResourceDefinition(
            fn,
            config_schema=config_schema,
            description=description,
            required_resource_keys=frozenset(required_resource_keys or ()),
        )

    return decorate


# --- Building resources -------------------------------------------------------------------

_Teardown = Callable[[BaseException | None], None]
_NOTHING = object()


class ResourceScope:
    """Builds the resources a run requires, and tears them down when the scope exits.

    Use as ``with ResourceScope(...) as scope: scope.get("db")``. Each resource, and each
    resource nested in one, is built once, dependencies first; the value bound to a key is
    the resource itself for a `ConfigurableResource`, the function's result for a
    `ResourceDefinition`, and the object as is for anything else.

    Args:
        resources: Every resource of the definitions, by key.
        run_config_resources: The ``resources`` section of the run config.
        required_keys: The keys the run uses.
        required_by: Key to the names of the assets that require it, for error messages.
        environ: Where `EnvVar`s are read from; the process environment by default.
        log: The logger given to resources.
        instance: Given to resources as ``context.instance``.
    """

    def __init__(
        self,
        resources: Mapping[str, object],
        run_config_resources: Mapping[str, typing.Any] | None,
        required_keys: Collection[str],
        *,
        required_by: Mapping[str, Sequence[str]] | None = None,
        environ: Mapping[str, str] | None = None,
        log: logging.Logger | None = None,
        instance: object | None = None,
    ) -> None:
        self._resources = dict(resources)
        self._run_config = dict(run_config_resources or {})
        self._required_keys = sorted(set(required_keys))
        self._required_by = required_by or {}
        self._environ = environ
        self._log = log or _LOGGER
        self._instance = instance
        self._built: dict[str, object] = {}
        self._field_values: dict[str, object] = {}
        self._nested: dict[int, object] = {}
        # A nested resource that is also bound to a key is that key's resource (Dagster's too).
        self._key_of = {id(self._resources[k]): k for k in sorted(self._resources, reverse=True)}
        self._teardowns: list[tuple[str, _Teardown]] = []
        self._entered = False

    def __enter__(self) -> ResourceScope:
        if self._entered:
            raise ResourceError("a ResourceScope can be entered once; create a new one per run.")
        self._entered = True
        self._check_keys()
        try:
            for key in self._required_keys:
                self._build_key(key, ())
        except BaseException as error:
            for label, failure in self._teardown(error):
                error.add_note(f"{label} also failed to tear down: {failure!r}")
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        failures = self._teardown(exc)
        if not failures:
            return
        if exc is not None:
            for label, failure in failures:
                exc.add_note(f"{label} also failed to tear down: {failure!r}")
            return
        listed = "; ".join(f"{label}: {type(f).__name__}: {f}" for label, f in failures)
        raise ResourceError(
            f"{len(failures)} resource(s) failed to tear down: {listed}. Every other resource "
            "was torn down; fix the teardown code."
        ) from failures[0][1]

    def get(self, key: str) -> object:
        """Returns the built resource bound to `key`.

        Raises:
            ResourceError: if `key` was not built by this scope.
        """
        if key not in self._built:
            raise ResourceError(
                f"resource {key!r} is not available in this scope.{did_you_mean(key, self._built)}"
                f" Built: {sorted(self._built)}. Add {key!r} to the asset's required resources."
            )
        return self._built[key]

    def as_dict(self) -> dict[str, object]:
        """Returns every built resource by key."""
        return dict(self._built)

    def _check_keys(self) -> None:
        problems = []
        for key in self._required_keys:
            if key not in self._resources:
                users = ", ".join(repr(name) for name in self._required_by.get(key, ()))
                problems.append(
                    f"resource {key!r} is required{f' by {users}' if users else ''} but not "
                    "provided."
                    f"{did_you_mean(key, self._resources)} Add it: Definitions(resources="
                    f'{{"{key}": ...}}).'
                )
        if problems:
            raise ResourceError("\n".join(problems))
        unknown = [
            f"resources.{key}: no resource named {key!r}.{did_you_mean(key, self._resources)}"
            for key in self._run_config
            if key not in self._resources
        ]
        if unknown:
            raise ConfigValidationError(
                "the resources run config", unknown, "Remove them or fix the names."
            )

    def _build_key(self, key: str, chain: tuple[str, ...]) -> object:
        if key in self._built:
            return self._built[key]
        if key in chain:
            cycle = " -> ".join([*chain[chain.index(key) :], key])
            raise ResourceError(f"resources depend on each other in a cycle: {cycle}. Break it.")
        if key not in self._resources:
            raise ResourceError(
                f"resource {key!r}, required by resource {chain[-1]!r}, is not provided."
                f"{did_you_mean(key, self._resources)} Add it: Definitions(resources="
                f'{{"{key}": ...}}).'
            )
        entry = self._run_config.get(key)
        if entry is not None and not (isinstance(entry, Mapping) and set(entry) <= {"config"}):
            raise ConfigError(
                f"resources.{key}: expected {{'config': {{...}}}}, got {entry!r}. Wrap the values: "
                f"{{'resources': {{{key!r}: {{'config': {{...}}}}}}}}."
            )
        config = entry.get("config") if entry is not None else None
        path, label = f"resources.{key}.config", f"resource {key!r}"
        value, field_value = self._build(self._resources[key], label, path, config, (*chain, key))
        self._built[key], self._field_values[key] = value, field_value
        return value

    def _build(
        self, value: object, label: str, path: str, config: object, chain: tuple[str, ...]
    ) -> tuple[object, object]:
        """Builds one resource; returns its bound value and the value a parent field gets."""
        if isinstance(value, PartialResource):
            if config is not None and not isinstance(config, Mapping):
                raise ConfigError(f"{path}: expected a dict of fields, got {config!r}.")
            data = {**value.data, **_env_references(value.resource_cls, config or {})}
            return self._build_configurable(value.resource_cls, data, label, path, chain)
        if config is not None and not isinstance(value, ResourceDefinition):
            hint = f", or bind {type(value).__name__}.configure_at_launch()"
            raise ConfigError(
                f"{path}: {label} is fully configured in Definitions, so it takes no run config. "
                f"Remove {path}{hint if isinstance(value, ConfigurableResource) else ''}."
            )
        if isinstance(value, ConfigurableResource):
            data = {name: getattr(value, name) for name in type(value).model_fields}
            return self._build_configurable(type(value), data, label, path, chain)
        if isinstance(value, ResourceDefinition):
            built = self._build_function(value, label, path, config, chain)
            return built, built
        return value, value

    def _build_nested(self, value: object, label: str, path: str, chain: tuple[str, ...]) -> object:
        key = self._key_of.get(id(value))
        if key is not None:
            self._build_key(key, chain)
            return self._field_values[key]
        if id(value) not in self._nested:
            if isinstance(value, PartialResource):
                raise ResourceError(
                    f"{label} is a configure_at_launch() resource that is bound to no key, so no "
                    "run config can reach it. Bind it: Definitions(resources={'key': it}), and "
                    "pass that same object here."
                )
            self._nested[id(value)] = self._build(value, label, path, None, chain)[1]
        return self._nested[id(value)]

    def _build_configurable(
        self,
        cls: type[ConfigurableResource],
        data: dict[str, typing.Any],
        label: str,
        path: str,
        chain: tuple[str, ...],
    ) -> tuple[object, object]:
        nested: dict[str, object] = {}
        for name, item in data.items():
            if isinstance(item, ConfigurableResource | PartialResource | ResourceDefinition):
                nested[name] = self._build_nested(
                    item, f"field {name!r} of {label}", f"{path}.{name}", chain
                )
        data.update(nested)
        env_fields = self._resolve_env_vars(data, label, path)
        instance = validate_config_model(
            cls,
            data,
            path=path,
            subject=f"the config of {label}",
            fix=f"Fix the fields of {cls.__name__}, or {path} in the run config.",
            env_fields=env_fields,
        )
        instance._env_fields = env_fields
        config = {n: getattr(instance, n) for n in cls.model_fields if n not in nested}
        context = self._context(config, nested)
        instance._resource_context = context
        manager = instance.yield_for_execution(context)
        value = _set_up(label, manager.__enter__)
        self._teardowns.append((label, _context_manager_exit(manager)))
        return value, instance

    def _build_function(
        self,
        definition: ResourceDefinition,
        label: str,
        path: str,
        config: object,
        chain: tuple[str, ...],
    ) -> object:
        deps = {
            key: self._build_key(key, chain) for key in sorted(definition.required_resource_keys)
        }
        if definition.config_schema is not None:
            config = validate_config_value(
                definition.config_schema,
                config,
                path=path,
                subject=f"the config of {label}",
                fix=f"Fix {path} in the run config.",
            )
        fn = definition.resource_fn
        takes_context = bool(inspect.signature(fn).parameters)
        result = _set_up(label, lambda: fn(self._context(config, deps)) if takes_context else fn())
        if not inspect.isgeneratorfunction(fn):
            return result
        value = _set_up(label, lambda: next(result, _NOTHING))
        if value is _NOTHING:
            raise ResourceError(f"{label} returned without yielding; yield the resource once.")
        self._teardowns.append((label, _generator_exit(label, result)))
        return value

    def _context(self, config: object, resources: Mapping[str, object]) -> InitResourceContext:
        return InitResourceContext(
            resource_config=config,
            resources=Resources(resources),
            log=self._log,
            instance=self._instance,
        )

    def _resolve_env_vars(
        self, data: dict[str, typing.Any], label: str, path: str
    ) -> dict[str, str]:
        """Replaces EnvVar field values by the variables' values; returns field -> name."""
        environ = os.environ if self._environ is None else self._environ
        env_fields: dict[str, str] = {}
        problems: list[str] = []
        for name, item in data.items():
            if not isinstance(item, EnvVar | IntEnvVar):
                continue
            var = item.env_var_name
            env_fields[name] = var
            raw = environ.get(var)
            if raw is None:
                problems.append(
                    f"{path}.{name}: environment variable {var!r} is not set; set it in the "
                    "run's environment, or give the field a value."
                )
            elif isinstance(item, IntEnvVar):
                try:
                    data[name] = int(raw)
                except ValueError:
                    problems.append(
                        f"{path}.{name}: environment variable {var!r} is not an integer."
                    )
            else:
                data[name] = raw
        if problems:
            raise ConfigValidationError(f"the config of {label}", problems, "")
        return env_fields

    def _teardown(self, error: BaseException | None) -> list[tuple[str, BaseException]]:
        failures: list[tuple[str, BaseException]] = []
        while self._teardowns:
            label, teardown = self._teardowns.pop()
            try:
                teardown(error)
            except BaseException as failure:  # noqa: BLE001  # reported after every teardown ran
                if failure is not error:
                    failures.append((label, failure))
        return failures


def _set_up(label: str, step: Callable[[], T]) -> T:
    try:
        return step()
    except ArcoError:
        raise
    except Exception as error:
        raise ResourceError(
            f"{label} failed to set up: {type(error).__name__}: {error}. Fix its setup code "
            "or its config; the original error is the cause."
        ) from error


def _context_manager_exit(manager: contextlib.AbstractContextManager[object]) -> _Teardown:
    def teardown(error: BaseException | None) -> None:
        # The manager's return value is ignored: a resource never hides the run's error.
        if error is None:
            manager.__exit__(None, None, None)
        else:
            manager.__exit__(type(error), error, error.__traceback__)

    return teardown


def _generator_exit(label: str, generator: Generator[object, typing.Any, object]) -> _Teardown:
    def teardown(error: BaseException | None) -> None:
        # As in Dagster, the code after the yield runs even when the run failed.
        try:
            next(generator)
        except StopIteration:
            return
        generator.close()
        raise ResourceError(f"{label} yielded more than once; a resource yields exactly once.")

    return teardown


def _env_references(
    cls: type[ConfigurableResource], config: Mapping[str, typing.Any]
) -> dict[str, typing.Any]:
    """Turns run-config ``{"env": "NAME"}`` values of scalar fields into `EnvVar`s."""
    out = dict(config)
    for name, value in config.items():
        field = cls.model_fields.get(name)
        if field is None or not (isinstance(value, Mapping) and set(value) == {"env"}):
            continue
        if isinstance(value["env"], str) and not _is_structured(field.annotation):
            out[name] = EnvVar(value["env"])
    return out


def _is_structured(annotation: object) -> bool:
    origin = typing.get_origin(annotation) or annotation
    return origin in (dict, Mapping) or (isinstance(origin, type) and issubclass(origin, BaseModel))


# --- Manifest data ------------------------------------------------------------------------


def resource_config_to_data(resources: Mapping[str, object]) -> dict[str, typing.Any]:
    """Describes bound resources as JSON-able data for the manifest, by key.

    An `EnvVar` field, also of a built resource, is shown as ``{"env": "NAME"}``, never as
    its value.
    """
    data: dict[str, typing.Any] = {}
    for key in sorted(resources):
        value = resources[key]
        if isinstance(value, ConfigurableResource):
            entry = {"kind": "configurable", "config": to_config_data(value, json_only=True)}
        elif isinstance(value, PartialResource):
            value_cls = value.resource_cls
            config = to_config_data(dict(value.data), json_only=True)
            entry = {"kind": "configure_at_launch", "class": _qualname(value_cls), "config": config}
        elif isinstance(value, ResourceDefinition):
            entry = {
                "kind": "function",
                "function": _qualname(value.resource_fn),
                "config_schema": config_schema_to_data(value.config_schema),
                "required_resource_keys": sorted(value.required_resource_keys),
            }
        else:
            entry = {"kind": "object"}
        entry.setdefault("class", _qualname(type(value)))
        data[key] = entry
    return data


def _qualname(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
