"""Asset checks: `AssetCheckSpec`, `AssetCheckResult`, `@asset_check`, `@multi_asset_check`.

Dagster's names and semantics. A check is declared standalone (`@asset_check`,
`@multi_asset_check`: an `AssetChecksDefinition`, run as its own task after its asset) or
inside an asset (`@asset(check_specs=[...])`: the body returns `AssetCheckResult`s next to
its outputs). Light: importing this module loads no third-party library.

Binding problems of a check body (a parameter that is neither the checked asset, an
additional input, the context, config nor a resource) are kept on the definition and
reported by `Definitions.validate()` with every other problem, so one load lists them all.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any, overload

from arco_flow.core.errors import DefinitionError, ExecutionError
from arco_flow.core.keys import AssetCheckKey, AssetKey, CoercibleToAssetKey, is_valid_name
from arco_flow.core.manifest import ManifestCheck
from arco_flow.core.retry import RetryPolicy
from arco_flow.sdk.asset_spec import EMPTY_MAPPING, AssetIn, AssetSpec, coerce_dep_keys
from arco_flow.sdk.assets import (
    DEFAULT_IO_MANAGER_KEY,
    AssetsDefinition,
    BodySignature,
    InputBinding,
)
from arco_flow.sdk.context import AssetExecutionContext

__all__ = [
    "quarantine_problems",
    "AssetCheckExecutionContext",
    "AssetCheckFailedError",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetCheckSpec",
    "AssetChecksDefinition",
    "asset_check",
    "build_asset_check_context",
    "check_node_name",
    "multi_asset_check",
    "resolve_check_results",
    "results_of",
]


class AssetCheckFailedError(ExecutionError):
    """Blocking checks failed with ``ERROR`` severity (Dagster's ``DagsterAssetCheckFailedError``).

    Raised by ``materialize(raise_on_error=True)`` after the run ended.
    """


class AssetCheckSeverity(Enum):
    """How bad a failed check is: ``ERROR`` may block downstream, ``WARN`` never does."""

    WARN = "WARN"
    ERROR = "ERROR"


def _asset_key_of(asset: Any, where: str) -> AssetKey:
    if isinstance(asset, AssetsDefinition):
        if len(asset.specs) != 1:
            raise DefinitionError(
                f"{where}: {asset!r} materializes several assets; pass asset=AssetKey(...) "
                "naming the one to check"
            )
        return asset.specs[0].key
    if isinstance(asset, AssetSpec):
        return asset.key
    try:
        return AssetKey.from_coercible(asset)
    except DefinitionError as error:
        raise DefinitionError(f"{where}: asset={asset!r} is not an asset: {error}") from None


@dataclass(frozen=True, slots=True, init=False)
class AssetCheckSpec:
    """A check declared on an asset (Dagster's name and constructor).

    Args:
        name: the check's name, unique among the asset's checks.
        asset: the checked asset: a key, a ``"a/b"`` string, a spec or a definition.
        description: shown with the check's results.
        additional_deps: other assets the check reads.
        blocking: a failed ``ERROR`` result stops the asset's downstream in the run.
        metadata: definition metadata of the check.
    """

    name: str
    asset_key: AssetKey
    description: str | None
    additional_deps: tuple[AssetKey, ...]
    blocking: bool
    metadata: Mapping[str, Any]

    def __init__(
        self,
        name: str,
        *,
        asset: Any,
        description: str | None = None,
        additional_deps: Iterable[Any] | None = None,
        blocking: bool = False,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        where = f"AssetCheckSpec({name!r})"
        if not isinstance(name, str) or not is_valid_name(name):
            raise DefinitionError(f"{where}: the name must use letters, digits and '_'")
        key = _asset_key_of(asset, where)
        deps = tuple(coerce_dep_keys(additional_deps or ()))
        if key in deps:
            raise DefinitionError(
                f"{where}: additional_deps names the checked asset {key.to_user_string()!r}; "
                "the checked asset is a dependency already, remove it"
            )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "asset_key", key)
        object.__setattr__(self, "description", description)
        object.__setattr__(self, "additional_deps", deps)
        object.__setattr__(self, "blocking", bool(blocking))
        object.__setattr__(self, "metadata", MappingProxyType(dict(metadata or {})))

    @property
    def key(self) -> AssetCheckKey:
        """The check's key: the asset and the name."""
        return AssetCheckKey(self.asset_key, self.name)

    def to_manifest_check(self, node: str, *, can_subset: bool = False) -> ManifestCheck:
        """The check as manifest data, evaluated by compute node `node`.

        `can_subset`: whether the node may evaluate part of its checks.
        """
        return ManifestCheck(
            asset_key=self.asset_key,
            name=self.name,
            node=node,
            blocking=self.blocking,
            description=self.description,
            can_subset=can_subset,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetCheckResult:
    """The result of evaluating one check (Dagster's name and fields).

    Args:
        passed: whether the data passed the check.
        asset_key: the checked asset; needed only when a body evaluates checks of several.
        check_name: the check; needed only when a body evaluates several checks.
        metadata: what the check saw (row counts, failing samples ...).
        severity: how bad a failure is; ``ERROR`` failures of blocking checks stop the
            asset's downstream.
        description: shown with the result.
    """

    passed: bool
    asset_key: CoercibleToAssetKey | None = None
    check_name: str | None = None
    metadata: Mapping[str, Any] | None = None
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR
    description: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.passed, bool):
            raise DefinitionError(
                f"AssetCheckResult(passed={self.passed!r}): passed must be True or False; "
                "write passed=bool(...)"
            )
        if not isinstance(self.severity, AssetCheckSeverity):
            raise DefinitionError(
                f"AssetCheckResult(severity={self.severity!r}): use AssetCheckSeverity.ERROR "
                "or AssetCheckSeverity.WARN"
            )
        if self.asset_key is not None and not isinstance(self.asset_key, AssetKey):
            object.__setattr__(self, "asset_key", AssetKey.from_coercible(self.asset_key))

    @property
    def resolved_asset_key(self) -> AssetKey | None:
        """`asset_key` as an `AssetKey`."""
        return None if self.asset_key is None else AssetKey.from_coercible(self.asset_key)


class AssetCheckExecutionContext(AssetExecutionContext):
    """What a check body sees of its run (Dagster's name).

    ``log``, ``resources``, ``run_id``, ``instance``, ``op_config`` and the partition
    members are those of an asset context; `check_specs` lists the checks evaluated.

    Args:
        check_specs: the checks this attempt evaluates.
        **kwargs: as for `AssetExecutionContext`.
    """

    def __init__(self, *, check_specs: Iterable[AssetCheckSpec] = (), **kwargs: Any) -> None:
        specs = tuple(check_specs)
        kwargs.setdefault("selected_asset_check_keys", [spec.key for spec in specs])
        super().__init__(**kwargs)
        self._check_specs = specs

    @property
    def check_specs(self) -> list[AssetCheckSpec]:
        """The specs of the checks this attempt evaluates."""
        return list(self._check_specs)


def build_asset_check_context(
    resources: Mapping[str, Any] | None = None,
    resources_config: Mapping[str, Any] | None = None,
    asset_config: Any = None,
    instance: Any = None,
    *,
    check_specs: Iterable[AssetCheckSpec] = (),
    partition_key: str | None = None,
    partitions_def: Any = None,
    run_tags: Mapping[str, str] | None = None,
) -> AssetCheckExecutionContext:
    """A context for calling a check body directly in a unit test (Dagster's name).

    ``my_check(build_asset_check_context(resources={"db": db}), orders=[1, 2])`` runs the
    body as a run would, with the value passed in. Resources are used as given: a
    `ConfigurableResource` is not set up, as in Dagster's direct invocation.

    Args:
        resources: resource key -> resource.
        resources_config: not supported: pass resources built with their config instead.
        asset_config: the check node's config (``context.op_config``).
        instance: handed on as ``context.instance``.
        check_specs: the checks the call evaluates (``context.check_specs`` and
            ``context.selected_asset_check_keys``); none by default.
        partition_key: the partition of the checked asset the call checks.
        partitions_def: the checked asset's partitions definition.
        run_tags: the run's tags.

    Raises:
        DefinitionError: `resources_config` is given, or a check spec is not an
            `AssetCheckSpec`.
    """
    if resources_config:
        raise DefinitionError(
            "build_asset_check_context(resources_config=...) is not supported: build the "
            "resources with their config and pass them as resources={...}"
        )
    specs = tuple(check_specs)
    for spec in specs:
        if not isinstance(spec, AssetCheckSpec):
            raise DefinitionError(
                f"build_asset_check_context(check_specs=...) got {spec!r}; pass "
                "AssetCheckSpec(name, asset=...)"
            )
    return AssetCheckExecutionContext(
        check_specs=specs,
        run_id="direct-invocation",
        node_name="direct_invocation",
        asset_keys=sorted({spec.asset_key for spec in specs}, key=lambda key: key.path),
        op_config=asset_config,
        resources=resources,
        run_tags=run_tags,
        partition_key=partition_key,
        partitions_def=partitions_def,
        instance=instance,
    )


def check_node_name(asset_key: AssetKey, name: str) -> str:
    """The compute node of a standalone check: ``<asset path joined by __>_<name>``."""
    node = "__".join(asset_key.path) + "_" + name
    return node.replace("-", "_").replace(".", "_")


class AssetChecksDefinition:
    """One or more checks evaluated by one body, run as their own task.

    Made by `@asset_check` or `@multi_asset_check`. Calling it runs the body directly,
    as Dagster allows in unit tests.
    """

    __slots__ = (
        "can_subset",
        "compute_fn",
        "config_schema",
        "definition_problems",
        "inputs",
        "node_name",
        "op_tags",
        "outputs",
        "partitions_def",
        "required_resource_keys",
        "retry_policy",
        "runs_on_control_plane",
        "signature",
        "specs",
        "timeout_s",
    )

    def __init__(
        self,
        *,
        node_name: str,
        compute_fn: Callable[..., Any],
        specs: Iterable[AssetCheckSpec],
        inputs: Iterable[InputBinding] = (),
        signature: BodySignature | None = None,
        config_schema: Any = None,
        required_resource_keys: Iterable[str] = (),
        retry_policy: RetryPolicy | None = None,
        can_subset: bool = False,
        op_tags: Mapping[str, Any] | None = None,
        runs_on_control_plane: bool = False,
        definition_problems: Iterable[str] = (),
    ) -> None:
        self.node_name = node_name
        self.compute_fn = compute_fn
        self.specs = tuple(specs)
        if not self.specs:
            raise DefinitionError(f"asset check node {node_name!r} declares no check specs")
        self.inputs = tuple(inputs)
        self.signature = signature or BodySignature()
        self.config_schema = config_schema
        self.required_resource_keys = frozenset(required_resource_keys)
        self.retry_policy = retry_policy
        self.can_subset = can_subset
        self.op_tags = MappingProxyType(dict(op_tags)) if op_tags else EMPTY_MAPPING
        self.runs_on_control_plane = runs_on_control_plane
        """Evaluated in the coordinator's process with ``context.instance`` (built-in
        checks that only read the store, such as freshness); never in a pool worker."""
        self.definition_problems = tuple(definition_problems)
        """Binding problems found when decorating, reported by `Definitions.validate()`."""
        self.outputs: tuple[()] = ()  # a check stores no value: code over nodes sees none
        self.partitions_def: Any = None
        self.timeout_s: float | None = None

    # -- Dagster's members ----------------------------------------------------------

    @property
    def check_specs(self) -> tuple[AssetCheckSpec, ...]:
        """The checks this body evaluates."""
        return self.specs

    @property
    def check_keys(self) -> set[AssetCheckKey]:
        """The keys of the checks this body evaluates."""
        return {spec.key for spec in self.specs}

    @property
    def check_key(self) -> AssetCheckKey:
        """The key of a single check.

        Raises:
            DefinitionError: the definition evaluates several checks.
        """
        if len(self.specs) != 1:
            raise DefinitionError(
                f"{self.node_name!r} evaluates {len(self.specs)} checks, so it has no single "
                "check_key; use check_keys"
            )
        return self.specs[0].key

    @property
    def asset_keys(self) -> set[AssetKey]:
        """The assets checked."""
        return {spec.asset_key for spec in self.specs}

    @property
    def dependency_keys(self) -> set[AssetKey]:
        """Every asset the checks read: checked assets, additional ins and deps."""
        keys = self.asset_keys | {binding.key for binding in self.inputs}
        for spec in self.specs:
            keys.update(spec.additional_deps)
        return keys

    @property
    def needed_resource_keys(self) -> frozenset[str]:
        """Resources a run of the checks needs (IO managers of inputs are added by the run)."""
        return self.required_resource_keys | {
            b.input_manager_key for b in self.inputs if b.input_manager_key
        }

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Runs the body directly, as in a unit test (Dagster's direct invocation)."""
        return self.compute_fn(*args, **kwargs)

    def __repr__(self) -> str:
        keys = ", ".join(sorted(key.to_user_string() for key in self.check_keys))
        return f"<AssetChecksDefinition {self.node_name!r}: {keys}>"

    def to_manifest_checks(self) -> list[ManifestCheck]:
        """The checks as manifest data."""
        return [
            spec.to_manifest_check(self.node_name, can_subset=self.can_subset)
            for spec in self.specs
        ]


def _bind_check_inputs(
    signature: BodySignature,
    checked: Sequence[AssetKey],
    additional_ins: Mapping[str, AssetIn] | None,
    where: str,
) -> tuple[list[InputBinding], list[str]]:
    """Binds a check body's input parameters; returns the bindings and the problems."""
    ins = dict(additional_ins or {})
    unknown = sorted(set(ins) - set(signature.input_params))
    if unknown:
        raise DefinitionError(
            f"{where}: additional_ins names {', '.join(map(repr, unknown))}, which the body "
            f"does not take as parameters (it takes {', '.join(signature.input_params) or 'none'}"
            "); add the parameter or remove it from additional_ins"
        )
    by_name = {key.path[-1]: key for key in checked}
    bindings: list[InputBinding] = []
    leftover: list[str] = []
    bound_assets: set[AssetKey] = set()
    for name in signature.input_params:
        spec = ins.get(name)
        if spec is not None:
            bindings.append(
                InputBinding(
                    name=name,
                    key=spec.resolve_key(name),
                    metadata=dict(spec.metadata or {}),
                    input_manager_key=spec.input_manager_key,
                    partition_mapping=spec.partition_mapping,
                )
            )
        elif name in by_name:
            bindings.append(InputBinding(name=name, key=by_name[name]))
            bound_assets.add(by_name[name])
        else:
            leftover.append(name)
    # As in Dagster, one parameter of another name is the checked asset's value.
    if len(leftover) == 1 and len(checked) == 1 and not bound_assets:
        bindings.append(InputBinding(name=leftover[0], key=checked[0]))
        leftover = []
    names = ", ".join(repr(key.path[-1]) for key in checked)
    problems = [
        f"{where}: parameter {name!r} matches neither the checked asset ({names}), nor "
        f"additional_ins, nor the context, a Config or a resource; rename it to the asset's "
        f"name, add it to additional_ins={{{name!r}: AssetIn(...)}}, or annotate it with a "
        "Config or ConfigurableResource class"
        for name in leftover
    ]
    return bindings, problems


def _resource_keys(signature: BodySignature, declared: Iterable[str] | None) -> set[str]:
    return set(declared or ()) | set(signature.resource_params.values())


@overload
def asset_check(compute_fn: Callable[..., Any], /) -> AssetChecksDefinition: ...


@overload
def asset_check(
    compute_fn: None = None,
    /,
    *,
    asset: Any,
    name: str | None = ...,
    description: str | None = ...,
    blocking: bool = ...,
    additional_ins: Mapping[str, AssetIn] | None = ...,
    additional_deps: Iterable[Any] | None = ...,
    required_resource_keys: Iterable[str] | None = ...,
    config_schema: Any = ...,
    retry_policy: RetryPolicy | None = ...,
    compute_kind: str | None = ...,
    op_tags: Mapping[str, Any] | None = ...,
    metadata: Mapping[str, Any] | None = ...,
    runs_on_control_plane: bool = ...,
) -> Callable[[Callable[..., Any]], AssetChecksDefinition]: ...


def asset_check(
    compute_fn: Callable[..., Any] | None = None,
    /,
    *,
    asset: Any = None,
    name: str | None = None,
    description: str | None = None,
    blocking: bool = False,
    additional_ins: Mapping[str, AssetIn] | None = None,
    additional_deps: Iterable[Any] | None = None,
    required_resource_keys: Iterable[str] | None = None,
    config_schema: Any = None,
    retry_policy: RetryPolicy | None = None,
    compute_kind: str | None = None,
    op_tags: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    runs_on_control_plane: bool = False,
) -> AssetChecksDefinition | Callable[[Callable[..., Any]], AssetChecksDefinition]:
    """Declares a check of one asset, evaluated by the decorated function (Dagster's name).

    The body returns an `AssetCheckResult`. It may take the context first
    (`AssetCheckExecutionContext`), the checked asset's value as a parameter named like
    the asset (loaded through its IO manager: this run's materialization, or the latest
    one when the check runs alone), `additional_ins`, a `Config` and resources.

    Args:
        compute_fn: not supported bare: `asset` is required.
        asset: the checked asset: a key, a ``"a/b"`` string, a spec or a definition.
        name: the check's name; defaults to the function's name.
        description: defaults to the body's docstring.
        blocking: a failed ``ERROR`` result stops the asset's downstream in the run.
        additional_ins: parameter name -> `AssetIn` of other assets the body loads.
        additional_deps: other assets the check depends on without loading them.
        required_resource_keys: resources the body reads from ``context.resources``.
        config_schema: a legacy config schema.
        retry_policy: how failed attempts (a body that raised) are retried.
        compute_kind: accepted for Dagster code.
        op_tags: tags of the compute node.
        metadata: definition metadata of the check.
        runs_on_control_plane: internal (built-in checks that only read the store): the
            check runs in the coordinator's process with ``context.instance`` set, also
            in a process-pool run.

    Returns:
        A decorator that makes the `AssetChecksDefinition`.

    Raises:
        DefinitionError: `asset` is missing or not an asset, or an argument is invalid.
    """
    if compute_fn is not None or asset is None:
        raise DefinitionError(
            "@asset_check needs the asset it checks: write @asset_check(asset=my_asset)"
        )

    def decorate(fn: Callable[..., Any]) -> AssetChecksDefinition:
        check_name = name or fn.__name__
        where = f"asset check {check_name!r}"
        asset_key = _asset_key_of(asset, where)
        where = f"asset check {asset_key.to_user_string()}:{check_name}"
        signature = _signature(fn, where)
        inputs, problems = _bind_check_inputs(signature, [asset_key], additional_ins, where)
        in_keys = [binding.key for binding in inputs if binding.key != asset_key]
        spec = AssetCheckSpec(
            check_name,
            asset=asset_key,
            description=description or _doc(fn),
            additional_deps=[*coerce_dep_keys(additional_deps or ()), *in_keys],
            blocking=blocking,
            metadata=metadata,
        )
        return AssetChecksDefinition(
            node_name=check_node_name(asset_key, check_name),
            compute_fn=fn,
            specs=(spec,),
            inputs=inputs,
            signature=signature,
            config_schema=config_schema,
            required_resource_keys=_resource_keys(signature, required_resource_keys),
            retry_policy=retry_policy,
            op_tags=op_tags,
            runs_on_control_plane=runs_on_control_plane,
            definition_problems=problems,
        )

    return decorate


def multi_asset_check(
    *,
    specs: Sequence[AssetCheckSpec],
    name: str | None = None,
    description: str | None = None,
    can_subset: bool = False,
    ins: Mapping[str, AssetIn] | None = None,
    required_resource_keys: Iterable[str] | None = None,
    config_schema: Any = None,
    retry_policy: RetryPolicy | None = None,
    compute_kind: str | None = None,
    op_tags: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], AssetChecksDefinition]:
    """Declares several checks evaluated by one function (Dagster's name).

    The body returns or yields one `AssetCheckResult` per selected check, each naming
    its check (``check_name=``, and ``asset_key=`` when names repeat across assets).

    Args:
        specs: the checks.
        name: the compute node's name; defaults to the function's name.
        description: the node's description.
        can_subset: whether a run may evaluate only some of the checks.
        ins: parameter name -> `AssetIn` of assets the body loads; a parameter named like
            a checked asset loads that asset without one.
        required_resource_keys: resources the body reads from ``context.resources``.
        config_schema: a legacy config schema.
        retry_policy: how failed attempts are retried.
        compute_kind: accepted for Dagster code.
        op_tags: tags of the compute node.

    Returns:
        A decorator that makes the `AssetChecksDefinition`.
    """
    check_specs = tuple(specs)
    for spec in check_specs:
        if not isinstance(spec, AssetCheckSpec):
            raise DefinitionError(
                f"@multi_asset_check(specs=...) got {spec!r}; pass AssetCheckSpec(name, asset=...)"
            )

    def decorate(fn: Callable[..., Any]) -> AssetChecksDefinition:
        node_name = name or fn.__name__
        where = f"multi_asset_check {node_name!r}"
        if not is_valid_name(node_name):
            raise DefinitionError(f"{where}: the name must use letters, digits and '_'")
        if not check_specs:
            raise DefinitionError(f"{where}: declares no checks; pass specs=[AssetCheckSpec(...)]")
        keys = [spec.key for spec in check_specs]
        if len(set(keys)) != len(keys):
            raise DefinitionError(f"{where}: a check is declared twice in specs")
        signature = _signature(fn, where)
        checked = sorted({spec.asset_key for spec in check_specs}, key=lambda k: k.path)
        inputs, problems = _bind_check_inputs(signature, checked, ins, where)
        return AssetChecksDefinition(
            node_name=node_name,
            compute_fn=fn,
            specs=check_specs,
            inputs=inputs,
            signature=signature,
            config_schema=config_schema,
            required_resource_keys=_resource_keys(signature, required_resource_keys),
            retry_policy=retry_policy,
            can_subset=can_subset,
            op_tags=op_tags,
            definition_problems=problems,
        )

    return decorate


def resolve_check_results(
    specs: Sequence[AssetCheckSpec],
    selected: Iterable[AssetCheckKey],
    results: Iterable[Any],
    where: str,
) -> list[tuple[AssetCheckSpec, AssetCheckResult]]:
    """Pairs each result with the spec it is for; every selected spec needs one.

    Args:
        specs: the checks the body declares.
        selected: the checks this run evaluates (results of others are dropped).
        results: what the body produced (`AssetCheckResult`s only).
        where: names the body in messages.

    Raises:
        DefinitionError: a result is not an `AssetCheckResult`, names no declared check,
            is ambiguous, repeats, or a selected check got no result.
    """
    chosen = set(selected)
    paired: dict[AssetCheckKey, tuple[AssetCheckSpec, AssetCheckResult]] = {}
    declared = ", ".join(spec.key.to_user_string() for spec in specs) or "none"
    for result in results:
        if not isinstance(result, AssetCheckResult):
            raise DefinitionError(
                f"{where} produced {type(result).__name__} {result!r} where an "
                "AssetCheckResult was expected; return AssetCheckResult(passed=...)"
            )
        spec = _spec_for(specs, result, where, declared)
        if spec.key in paired:
            raise DefinitionError(
                f"{where} produced two results for check {spec.key.to_user_string()!r}; "
                "produce one per check"
            )
        if spec.key in chosen:
            paired[spec.key] = (spec, result)
    missing = sorted(key for key in chosen if key not in paired)
    if missing:
        raise DefinitionError(
            f"{where} produced no result for check(s) "
            f"{', '.join(key.to_user_string() for key in missing)}; return or yield an "
            "AssetCheckResult(check_name=...) for each declared check"
        )
    return [paired[spec.key] for spec in specs if spec.key in paired]


def _spec_for(
    specs: Sequence[AssetCheckSpec], result: AssetCheckResult, where: str, declared: str
) -> AssetCheckSpec:
    asset_key, check_name = result.resolved_asset_key, result.check_name
    candidates = [
        spec
        for spec in specs
        if (asset_key is None or spec.asset_key == asset_key)
        and (check_name is None or spec.name == check_name)
    ]
    if len(candidates) == 1:
        return candidates[0]
    named = ":".join(
        part
        for part in (
            asset_key.to_user_string() if asset_key is not None else None,
            check_name,
        )
        if part
    )
    if not candidates:
        raise DefinitionError(
            f"{where} produced a result for check {named or '(unnamed)'!r}, which it does "
            f"not declare (declared: {declared}); fix check_name=/asset_key=, or declare it "
            "with check_specs=[AssetCheckSpec(...)]"
        )
    raise DefinitionError(
        f"{where} declares several checks ({declared}), and a result names "
        f"{named or 'none of them'}; set check_name= (and asset_key=) on each AssetCheckResult"
    )


def results_of(returned: Any) -> list[Any]:
    """The results a check body produced: one, or each of an iterable or generator."""
    if isinstance(returned, AssetCheckResult):
        return [returned]
    if inspect.isgenerator(returned) or isinstance(returned, list | tuple):
        return list(returned)
    return [returned]


def _signature(fn: Callable[..., Any], where: str) -> BodySignature:
    # Imported here: the decorators module imports this one for `check_specs=`.
    from arco_flow.sdk.decorators import analyze_body

    return analyze_body(fn, where)


def _doc(fn: Callable[..., Any]) -> str | None:
    doc = fn.__doc__
    return (doc.strip() or None) if doc else None


def quarantine_problems(
    assets: Iterable[AssetsDefinition],
    checks: Iterable[AssetChecksDefinition],
    resources: Mapping[str, Any],
) -> list[str]:
    """What keeps the assets that quarantine on a failed check from doing so, as messages.

    An asset with ``quarantine_on_failed_check`` needs a blocking check: declared in its
    body (``check_specs``: the quarantine is decided with the value in hand) or standalone
    (``@asset_check(blocking=True)``: a run that plans it holds the value in quarantine
    until the check passes, then promotes it). Its IO manager must support quarantine
    (`QuarantiningIOManager`); an unbound key gets the default filesystem or in-memory
    manager, which do.
    """
    from arco_flow.sdk.io_managers import supports_quarantine

    standalone = {
        spec.asset_key for definition in checks for spec in definition.specs if spec.blocking
    }
    problems: list[str] = []
    for definition in assets:
        blocking = {spec.asset_key for spec in definition.check_specs if spec.blocking}
        managers = {output.key: output.io_manager_key for output in definition.outputs}
        for spec in definition.specs:
            if not spec.quarantine_on_failed_check:
                continue
            where = f"asset {spec.key.to_user_string()!r} quarantines on a failed check"
            if spec.key not in blocking and spec.key not in standalone:
                problems.append(
                    f"{where} but has no blocking check; add check_specs=[AssetCheckSpec(..., "
                    "blocking=True)] or an @asset_check(asset=..., blocking=True), or drop "
                    "quarantine_on_failed_check"
                )
            key = managers.get(spec.key, DEFAULT_IO_MANAGER_KEY)
            manager = resources.get(key)
            if manager is not None and not supports_quarantine(manager):
                problems.append(
                    f"{where}, but its IO manager {key!r} ({type(manager).__name__}) cannot keep "
                    "values in quarantine; implement delete_quarantined(context) and honour "
                    "context.quarantine in it (QuarantiningIOManager), or use "
                    "FilesystemIOManager"
                )
    return problems
