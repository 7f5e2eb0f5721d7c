"""`@asset` and `@multi_asset`: turn a function into an `AssetsDefinition`.

Decorators do all their work when they run and return a plain definition. Reading a
body's signature uses the code object, not `inspect.signature`, because defining 10,000
assets must take milliseconds.
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, overload

from arco_flow.core.backfill_policy import BackfillPolicy, BackfillPolicyType
from arco_flow.core.errors import DefinitionError
from arco_flow.core.keys import AssetKey, CoercibleToAssetKey, is_valid_name
from arco_flow.core.retry import RetryPolicy
from arco_flow.sdk.asset_spec import (
    EMPTY_MAPPING,
    AssetDep,
    AssetIn,
    AssetOut,
    AssetSpec,
    coerce_deps,
)
from arco_flow.sdk.assets import (
    DEFAULT_IO_MANAGER_KEY,
    AssetsDefinition,
    BodySignature,
    InputBinding,
    OutputBinding,
)
from arco_flow.sdk.checks import AssetCheckSpec
from arco_flow.sdk.context import AssetExecutionContext
from arco_flow.sdk.results import MaterializeResult

__all__ = ["analyze_body", "asset", "multi_asset"]

_CONTEXT_NAMES = frozenset({"context", "_context", "ctx"})
_NO_PARAMETERS = BodySignature()


def _annotations(fn: Callable[..., Any]) -> dict[str, Any]:
    raw: dict[str, Any] = getattr(fn, "__annotations__", {}) or {}
    if not any(isinstance(value, str) for value in raw.values()):
        return raw
    try:
        return typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001  # names only known under TYPE_CHECKING: keep strings
        return raw


def _is_subclass(annotation: Any, base: type[Any] | None) -> bool:
    return base is not None and isinstance(annotation, type) and issubclass(annotation, base)


def _loaded_class(module: str, name: str) -> type[Any] | None:
    """A class of a module only if that module is loaded.

    `Config` and `ConfigurableResource` are pydantic models, loaded on first use to keep
    `import arco_flow` light; a body annotated with a subclass of one implies it is loaded.
    """
    loaded = sys.modules.get(module)
    return getattr(loaded, name, None) if loaded is not None else None


def analyze_body(fn: Callable[..., Any], where: str) -> BodySignature:
    """How each parameter of `fn` is filled in (context, config, resources, inputs)."""
    code = fn.__code__
    if code.co_flags & 0x0C:  # *args or **kwargs
        raise DefinitionError(
            f"{where}: the body takes *args or **kwargs; name each input as a parameter"
        )
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    if not names and not fn.__annotations__:
        return _NO_PARAMETERS  # the common case of a source asset: nothing to bind
    annotations = _annotations(fn) if fn.__annotations__ else {}
    config_class = _loaded_class("arco_flow.sdk.config", "Config")
    resource_class = _loaded_class("arco_flow.sdk.resources", "ConfigurableResource")
    context_param: str | None = None
    config_param: str | None = None
    config_type: type[Any] | None = None
    resources: dict[str, str] = {}
    inputs: list[str] = []
    for position, name in enumerate(names):
        annotation = annotations.get(name)
        if position == 0 and (
            name in _CONTEXT_NAMES or _is_subclass(annotation, AssetExecutionContext)
        ):
            context_param = name
        elif _is_subclass(annotation, resource_class) or _is_resource_param(annotation):
            # before the Config test: a ConfigurableResource is a Config too
            resources[name] = name
        elif _is_subclass(annotation, config_class):
            if config_param is not None:
                raise DefinitionError(f"{where}: only one parameter may be a Config")
            config_param, config_type = name, annotation
        elif name in _CONTEXT_NAMES:
            raise DefinitionError(
                f"{where}: the context parameter {name!r} must be the first parameter"
            )
        else:
            inputs.append(name)
    returns = annotations.get("return", "missing")
    returns_nothing = returns is None or returns is type(None) or returns is MaterializeResult
    if not names and not returns_nothing:
        return _NO_PARAMETERS
    return BodySignature(
        context_param=context_param,
        config_param=config_param,
        config_type=config_type,
        resource_params=resources or EMPTY_MAPPING,
        input_params=tuple(inputs),
        returns_nothing=returns_nothing,
    )


def _is_resource_param(annotation: Any) -> bool:
    """``ResourceParam[T]`` is ``Annotated[T, "resource_param"]`` in Dagster and here."""
    metadata = getattr(annotation, "__metadata__", ())
    return "arco_flow.resource_param" in metadata


def _bind_inputs(
    signature: BodySignature,
    ins: Mapping[str, AssetIn] | None,
    where: str,
) -> list[InputBinding]:
    if not ins and not signature.input_params:
        return []
    ins = dict(ins or {})
    unknown = sorted(set(ins) - set(signature.input_params))
    if unknown:
        raise DefinitionError(
            f"{where}: ins names {', '.join(map(repr, unknown))}, which the body does not "
            f"take as parameters (it takes {', '.join(signature.input_params) or 'none'}); "
            "add the parameter or remove it from ins"
        )
    bindings = []
    for name in signature.input_params:
        spec = ins.get(name)
        if spec is None:
            bindings.append(InputBinding(name=name, key=AssetKey._trusted((name,))))
        else:
            bindings.append(
                InputBinding(
                    name=name,
                    key=spec.resolve_key(name),
                    metadata=dict(spec.metadata or {}),
                    input_manager_key=spec.input_manager_key,
                    partition_mapping=spec.partition_mapping,
                )
            )
    return bindings


def _check_name(name: str, what: str) -> None:
    if not is_valid_name(name):
        raise DefinitionError(
            f"{what} name {name!r} is not valid: use letters, digits and '_' "
            "(it becomes the compute node's name)"
        )


@overload
def asset(compute_fn: Callable[..., Any], /) -> AssetsDefinition: ...


@overload
def asset(
    compute_fn: None = None,
    /,
    *,
    name: str | None = ...,
    key_prefix: str | Sequence[str] | None = ...,
    key: CoercibleToAssetKey | None = ...,
    ins: Mapping[str, AssetIn] | None = ...,
    deps: Iterable[Any] | None = ...,
    metadata: Mapping[str, Any] | None = ...,
    tags: Mapping[str, str] | None = ...,
    description: str | None = ...,
    config_schema: Any = ...,
    required_resource_keys: Iterable[str] | None = ...,
    io_manager_key: str | None = ...,
    partitions_def: Any = ...,
    op_tags: Mapping[str, Any] | None = ...,
    group_name: str | None = ...,
    output_required: bool = ...,
    automation_condition: Any = ...,
    freshness_policy: Any = ...,
    backfill_policy: BackfillPolicy | None = ...,
    retry_policy: RetryPolicy | None = ...,
    code_version: str | None = ...,
    check_specs: Sequence[Any] | None = ...,
    owners: Sequence[str] | None = ...,
    kinds: Iterable[str] | None = ...,
    compute_kind: str | None = ...,
    timeout_s: float | None = ...,
    quarantine_on_failed_check: bool = ...,
    **unsupported: Any,
) -> Callable[[Callable[..., Any]], AssetsDefinition]: ...


def asset(
    compute_fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
    key: CoercibleToAssetKey | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    config_schema: Any = None,
    required_resource_keys: Iterable[str] | None = None,
    io_manager_key: str | None = None,
    partitions_def: Any = None,
    op_tags: Mapping[str, Any] | None = None,
    group_name: str | None = None,
    output_required: bool = True,
    automation_condition: Any = None,
    freshness_policy: Any = None,
    backfill_policy: BackfillPolicy | None = None,
    retry_policy: RetryPolicy | None = None,
    code_version: str | None = None,
    check_specs: Sequence[Any] | None = None,
    owners: Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    compute_kind: str | None = None,
    timeout_s: float | None = None,
    quarantine_on_failed_check: bool = False,
    **unsupported: Any,
) -> AssetsDefinition | Callable[[Callable[..., Any]], AssetsDefinition]:
    """Declares an asset computed by the decorated function (Dagster's ``@asset``).

    Parameters of the body are filled in by name and annotation: the first parameter
    named ``context`` (or annotated `AssetExecutionContext`) gets the run context; one
    annotated with a `Config` subclass gets the node's config; those annotated with a
    `ConfigurableResource` subclass get the resource of that name; every other
    parameter is an input loaded from the upstream asset of that name (or per `ins`).

    Args:
        compute_fn: the body, when used as ``@asset`` without arguments.
        name: the last part of the key; defaults to the function's name.
        key_prefix: parts put before `name`.
        key: the whole key; excludes `name` and `key_prefix`.
        ins: upstream keys of parameters whose names differ from the upstream's.
        deps: upstream assets whose values the body does not load.
        metadata: definition metadata.
        tags: string tags of the asset.
        description: shown in the catalog; defaults to the body's docstring.
        config_schema: a legacy config schema (``{"x": Field(int)}``).
        required_resource_keys: resources the body reads from ``context.resources``.
        io_manager_key: the resource key of the IO manager that stores the value.
        partitions_def: how the asset is partitioned.
        op_tags: tags of the compute node.
        group_name: the asset's group; defaults to ``"default"``.
        output_required: accepted for Dagster code.
        automation_condition: when the asset materializes by itself.
        freshness_policy: how stale the asset may get.
        backfill_policy: how backfills split the asset's partitions into runs; an
            unpartitioned asset takes only ``BackfillPolicy.single_run()``.
        retry_policy: how failed attempts are retried.
        code_version: a version of the body; changes mark the asset stale.
        check_specs: checks evaluated in the body.
        owners: people or teams owning the asset.
        kinds: technologies the asset uses (``{"pandas", "duckdb"}``).
        compute_kind: Dagster's older single kind; added to `kinds`.
        timeout_s: seconds an attempt may run before it is killed and failed (enforced by
            the process_pool executor; an in-process attempt cannot be interrupted).
        quarantine_on_failed_check: when a blocking check in `check_specs` fails with
            ``ERROR``, store the value in quarantine (through its IO manager) instead of
            the normal location, until ``arco-flow checks release`` or ``discard``.
        **unsupported: Dagster arguments that Arco Flow does not take; raises.

    Returns:
        The asset definition.

    Raises:
        DefinitionError: an argument is invalid; the message says which and why.
    """
    if unsupported:
        raise DefinitionError(
            f"@asset got argument(s) it does not take: {', '.join(sorted(unsupported))}"
        )

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        if key is not None and (name is not None or key_prefix is not None):
            raise DefinitionError(
                f"@asset on {fn.__name__!r}: pass key=, or name=/key_prefix=, not both"
            )
        if key is not None:
            asset_key = AssetKey.from_coercible(key)
        else:
            asset_key = AssetKey(name or fn.__name__)
            if key_prefix is not None:
                asset_key = asset_key.with_prefix(key_prefix)
        where = f"asset {'/'.join(asset_key)!r}"
        node_name = "__".join(asset_key)
        if "-" in node_name or "." in node_name:
            node_name = node_name.replace("-", "_").replace(".", "_")
        signature = analyze_body(fn, where)
        inputs = _bind_inputs(signature, ins, where)
        _check_backfill_policy(backfill_policy, partitions_def is not None, where)
        all_deps: list[Any] = [
            AssetDep(binding.key, partition_mapping=binding.partition_mapping) for binding in inputs
        ]
        if deps is not None:
            if deps.__class__ is str or isinstance(deps, AssetKey):
                raise DefinitionError(f"{where}: deps must be a list, e.g. deps=[{deps!r}]")
            all_deps.extend(deps)
        all_kinds: Iterable[str] | None = kinds
        if compute_kind:
            all_kinds = {*(kinds or ()), compute_kind}
        spec = AssetSpec(
            asset_key,
            deps=all_deps,
            description=description or _doc(fn),
            metadata=metadata,
            group_name=group_name,
            code_version=code_version,
            owners=owners,
            tags=tags,
            kinds=all_kinds,
            partitions_def=partitions_def,
            automation_condition=automation_condition,
            freshness_policy=freshness_policy,
            quarantine_on_failed_check=quarantine_on_failed_check,
        )
        return AssetsDefinition(
            node_name=node_name,
            compute_fn=fn,
            specs=(spec,),
            inputs=inputs,
            outputs=(
                OutputBinding(
                    name="result",
                    key=asset_key,
                    io_manager_key=io_manager_key or DEFAULT_IO_MANAGER_KEY,
                ),
            ),
            signature=signature,
            config_schema=config_schema,
            required_resource_keys=_resource_keys(signature, required_resource_keys),
            retry_policy=retry_policy,
            op_tags=op_tags,
            partitions_def=partitions_def,
            backfill_policy=backfill_policy,
            check_specs=_check_specs(check_specs, {asset_key}, where),
            timeout_s=timeout_s,
        )

    if compute_fn is not None:
        return decorate(compute_fn)
    return decorate


def multi_asset(
    *,
    outs: Mapping[str, AssetOut] | None = None,
    specs: Sequence[AssetSpec] | None = None,
    name: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    description: str | None = None,
    config_schema: Any = None,
    required_resource_keys: Iterable[str] | None = None,
    internal_asset_deps: Mapping[str, Iterable[AssetKey]] | None = None,
    partitions_def: Any = None,
    backfill_policy: BackfillPolicy | None = None,
    op_tags: Mapping[str, Any] | None = None,
    can_subset: bool = False,
    group_name: str | None = None,
    retry_policy: RetryPolicy | None = None,
    code_version: str | None = None,
    check_specs: Sequence[Any] | None = None,
    compute_kind: str | None = None,
    timeout_s: float | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """Declares several assets computed by one function (Dagster's ``@multi_asset``).

    Give the assets either as `outs` (output name -> `AssetOut`) or as `specs`. The body
    returns one value per output, in order (a tuple), or yields `Output(value,
    output_name=...)` / `MaterializeResult(asset_key=...)` for each.

    Args:
        outs: output name -> `AssetOut`.
        specs: the assets as `AssetSpec`s; output names are their keys joined by ``__``.
        name: the compute node's name; defaults to the function's name.
        ins: upstream keys of parameters whose names differ from the upstream's.
        deps: upstream assets whose values the body does not load.
        description: the node's description.
        config_schema: a legacy config schema.
        required_resource_keys: resources the body reads from ``context.resources``.
        internal_asset_deps: output name -> the upstream keys that output depends on;
            by default every output depends on every input and dep.
        partitions_def: how the assets are partitioned.
        backfill_policy: how backfills split the partitions into runs.
        op_tags: tags of the compute node.
        can_subset: whether a run may materialize only some of the assets.
        group_name: the group of every asset that does not name its own.
        retry_policy: how failed attempts are retried.
        code_version: the version of every asset that does not name its own.
        check_specs: checks evaluated in the body.
        compute_kind: a kind added to every asset.
        timeout_s: seconds an attempt may run before it is failed.

    Returns:
        A decorator that makes the definition.
    """

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        node_name = name or fn.__name__
        _check_name(node_name, "multi_asset")
        where = f"multi_asset {node_name!r}"
        if (outs is None) == (specs is None):
            raise DefinitionError(f"{where}: pass outs= or specs=, exactly one of them")
        signature = analyze_body(fn, where)
        inputs = _bind_inputs(signature, ins, where)
        shared: list[AssetDep] = [
            AssetDep(b.key, partition_mapping=b.partition_mapping) for b in inputs
        ]
        if deps is not None:
            shared.extend(coerce_deps(deps))
        internal = {
            out: {AssetKey.from_coercible(k) for k in keys}
            for out, keys in (internal_asset_deps or {}).items()
        }
        outputs: list[OutputBinding] = []
        asset_specs: list[AssetSpec] = []
        kind_extra = {compute_kind} if compute_kind else set()
        if outs is not None:
            for out_name, out in outs.items():
                _check_name(out_name, f"{where}: output")
                key = out.resolve_key(out_name)
                out_deps = _restricted(shared, internal.get(out_name))
                asset_specs.append(
                    AssetSpec(
                        key,
                        deps=out_deps,
                        description=out.description,
                        metadata=out.metadata,
                        group_name=out.group_name or group_name,
                        code_version=out.code_version or code_version,
                        owners=out.owners,
                        tags=out.tags,
                        kinds=set(out.kinds or ()) | kind_extra,
                        partitions_def=partitions_def,
                        quarantine_on_failed_check=out.quarantine_on_failed_check,
                        automation_condition=out.automation_condition,
                        freshness_policy=out.freshness_policy,
                    )
                )
                outputs.append(
                    OutputBinding(
                        name=out_name,
                        key=key,
                        io_manager_key=out.io_manager_key or DEFAULT_IO_MANAGER_KEY,
                        is_required=out.is_required,
                    )
                )
        else:
            for spec in specs or ():
                out_name = "__".join(spec.key.path)
                extra = _restricted(shared, internal.get(out_name))
                asset_specs.append(
                    spec.replace_attributes(
                        deps=(*spec.deps, *extra),
                        group_name=spec.group_name or group_name,
                        code_version=spec.code_version or code_version,
                        kinds=spec.kinds | kind_extra,
                        partitions_def=spec.partitions_def or partitions_def,
                    )
                )
                outputs.append(
                    OutputBinding(
                        name=out_name,
                        key=spec.key,
                        io_manager_key=spec.metadata.get(
                            "arco/io_manager_key", DEFAULT_IO_MANAGER_KEY
                        ),
                        is_required=not spec.skippable,
                    )
                )
        if not asset_specs:
            raise DefinitionError(f"{where}: declares no assets; add outs or specs")
        _check_backfill_policy(
            backfill_policy, any(spec.partitions_def is not None for spec in asset_specs), where
        )
        unknown_internal = sorted(set(internal) - {o.name for o in outputs})
        if unknown_internal:
            raise DefinitionError(
                f"{where}: internal_asset_deps names unknown outputs {unknown_internal}"
            )
        return AssetsDefinition(
            node_name=node_name,
            compute_fn=fn,
            specs=asset_specs,
            inputs=inputs,
            outputs=outputs,
            signature=signature,
            config_schema=config_schema,
            required_resource_keys=_resource_keys(signature, required_resource_keys),
            retry_policy=retry_policy,
            can_subset=can_subset,
            op_tags=op_tags,
            partitions_def=partitions_def,
            backfill_policy=backfill_policy,
            check_specs=_check_specs(check_specs, {s.key for s in asset_specs}, where),
            timeout_s=timeout_s,
        )

    return decorate


def _check_specs(
    specs: Sequence[Any] | None, keys: set[AssetKey], where: str
) -> tuple[AssetCheckSpec, ...]:
    """The `check_specs=` of an asset body: each on one of its assets, each name once."""
    if not specs:
        return ()
    seen: set[tuple[AssetKey, str]] = set()
    for spec in specs:
        if not isinstance(spec, AssetCheckSpec):
            raise DefinitionError(
                f"{where}: check_specs holds {spec!r}; pass AssetCheckSpec(name, asset=...)"
            )
        if spec.asset_key not in keys:
            own = ", ".join(sorted(k.to_user_string() for k in keys))
            raise DefinitionError(
                f"{where}: check spec {spec.name!r} targets asset "
                f"{spec.asset_key.to_user_string()!r}, which this body does not materialize "
                f"({own}); set asset= to one of them, or declare the check with @asset_check"
            )
        if (spec.asset_key, spec.name) in seen:
            raise DefinitionError(
                f"{where}: check {spec.asset_key.to_user_string()}:{spec.name} is declared "
                "twice in check_specs; give each check its own name"
            )
        seen.add((spec.asset_key, spec.name))
    return tuple(specs)


def _check_backfill_policy(policy: Any, partitioned: bool, where: str) -> None:
    if policy is None:
        return
    if not isinstance(policy, BackfillPolicy):
        raise DefinitionError(
            f"{where}: backfill_policy must be a BackfillPolicy (BackfillPolicy.single_run() "
            f"or BackfillPolicy.multi_run(n)), got {type(policy).__name__}"
        )
    if not partitioned and policy.policy_type is BackfillPolicyType.MULTI_RUN:
        # As Dagster: an unpartitioned asset has nothing to split into several runs.
        raise DefinitionError(
            f"{where}: {policy} splits partitions into runs, but the asset is not "
            "partitioned; use BackfillPolicy.single_run(), or set partitions_def="
        )


def _restricted(deps: Sequence[AssetDep], allowed: set[AssetKey] | None) -> list[AssetDep]:
    if allowed is None:
        return list(deps)
    return [dep for dep in deps if dep.asset_key in allowed] + [
        AssetDep(key) for key in allowed - {dep.asset_key for dep in deps}
    ]


def _resource_keys(signature: BodySignature, declared: Iterable[str] | None) -> Iterable[str]:
    if not declared and not signature.resource_params:
        return ()
    return set(declared or ()) | set(signature.resource_params.values())


def _doc(fn: Callable[..., Any]) -> str | None:
    doc = fn.__doc__
    if not doc:
        return None
    return doc.strip() or None
