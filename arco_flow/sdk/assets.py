"""`AssetsDefinition`: a compute function and the assets it materializes.

A plain value made by `@asset` and `@multi_asset` when they run. It knows how the body's
parameters bind (context, config, resources, upstream inputs) and which output stores
which asset; it knows nothing of how or where it is run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from arco_flow.core.backfill_policy import BackfillPolicy
from arco_flow.core.errors import DefinitionError
from arco_flow.core.freshness_policy import FreshnessPolicy
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.core.manifest import DEFAULT_GROUP, ManifestAsset
from arco_flow.core.retry import RetryPolicy
from arco_flow.sdk.asset_spec import EMPTY_MAPPING, AssetSpec

__all__ = ["AssetsDefinition", "InputBinding", "NodeHandle", "OutputBinding"]

DEFAULT_IO_MANAGER_KEY = "io_manager"
_NO_KEYS: frozenset[str] = frozenset()
_DEFAULT_NEEDS: frozenset[str] = frozenset({DEFAULT_IO_MANAGER_KEY})


@dataclass(frozen=True, slots=True, kw_only=True)
class InputBinding:
    """A body parameter loaded from an upstream asset."""

    name: str
    key: AssetKey
    metadata: Mapping[str, Any] = field(default_factory=dict)
    input_manager_key: str | None = None
    partition_mapping: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputBinding:
    """An output of the body and the asset whose value it is."""

    name: str
    key: AssetKey
    io_manager_key: str = DEFAULT_IO_MANAGER_KEY
    is_required: bool = True


@dataclass(frozen=True, slots=True)
class NodeHandle:
    """The compute node of an asset definition (Dagster code reads ``asset.op.name``)."""

    name: str
    tags: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class BodySignature:
    """How each parameter of a body is filled in."""

    context_param: str | None = None
    config_param: str | None = None
    config_type: type[Any] | None = None
    resource_params: Mapping[str, str] = field(default_factory=dict)
    """Parameter name -> resource key."""
    input_params: tuple[str, ...] = ()
    returns_nothing: bool = False
    """The return annotation is None or MaterializeResult: no value for the IO manager."""


class AssetsDefinition:
    """A compute node and the assets it materializes; made by `@asset` or `@multi_asset`."""

    __slots__ = (
        "_specs_by_key",
        "backfill_policy",
        "can_subset",
        "check_specs",
        "compute_fn",
        "config_schema",
        "inputs",
        "node_name",
        "op_tags",
        "outputs",
        "partitions_def",
        "required_resource_keys",
        "retry_policy",
        "signature",
        "specs",
        "timeout_s",
    )

    def __init__(
        self,
        *,
        node_name: str,
        compute_fn: Callable[..., Any] | None,
        specs: Iterable[AssetSpec],
        inputs: Iterable[InputBinding] = (),
        outputs: Iterable[OutputBinding] = (),
        signature: BodySignature | None = None,
        config_schema: Any = None,
        required_resource_keys: Iterable[str] = (),
        retry_policy: RetryPolicy | None = None,
        can_subset: bool = False,
        op_tags: Mapping[str, Any] | None = None,
        partitions_def: Any = None,
        backfill_policy: BackfillPolicy | None = None,
        check_specs: Iterable[Any] = (),
        timeout_s: float | None = None,
    ) -> None:
        self.node_name = node_name
        self.compute_fn = compute_fn
        self.specs = tuple(specs)
        self._specs_by_key: dict[AssetKey, AssetSpec] | None = None
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)
        self.signature = signature or BodySignature()
        self.config_schema = config_schema
        self.required_resource_keys = (
            frozenset(required_resource_keys) if required_resource_keys else _NO_KEYS
        )
        self.retry_policy = retry_policy
        self.can_subset = can_subset
        self.op_tags = MappingProxyType(dict(op_tags)) if op_tags else EMPTY_MAPPING
        self.partitions_def = partitions_def
        self.backfill_policy = backfill_policy
        self.check_specs = tuple(check_specs)
        self.timeout_s = timeout_s

    @property
    def needed_resource_keys(self) -> frozenset[str]:
        """Every resource key a run of this definition needs: its own and its IO managers'."""
        outputs = self.outputs
        if (
            not self.required_resource_keys
            and len(outputs) == 1
            and outputs[0].io_manager_key == DEFAULT_IO_MANAGER_KEY
            and not any(binding.input_manager_key for binding in self.inputs)
        ):
            return _DEFAULT_NEEDS
        return (
            self.required_resource_keys
            | {output.io_manager_key for output in outputs}
            | {b.input_manager_key for b in self.inputs if b.input_manager_key}
        )

    def _spec_index(self) -> dict[AssetKey, AssetSpec]:
        # Built on first use: most definitions are never asked, and 10,000 assets would
        # otherwise allocate 10,000 dicts (and the collector would walk them).
        index = self._specs_by_key
        if index is None:
            index = self._specs_by_key = {spec.key: spec for spec in self.specs}
        return index

    # -- Dagster's members ----------------------------------------------------------

    @property
    def key(self) -> AssetKey:
        """The key of a single-asset definition."""
        if len(self.specs) != 1:
            raise DefinitionError(
                f"{self.node_name!r} materializes {len(self.specs)} assets, so it has no "
                "single key; use .keys"
            )
        return self.specs[0].key

    @property
    def keys(self) -> set[AssetKey]:
        """Every key this definition materializes."""
        return set(self._spec_index())

    @property
    def check_keys(self) -> set[AssetCheckKey]:
        """The keys of the checks evaluated in this body (`check_specs=`)."""
        return {spec.key for spec in self.check_specs}

    @property
    def keys_by_output_name(self) -> dict[str, AssetKey]:
        """Output name -> asset key."""
        return {output.name: output.key for output in self.outputs}

    @property
    def specs_by_key(self) -> Mapping[AssetKey, AssetSpec]:
        """Key -> spec."""
        return MappingProxyType(self._spec_index())

    @property
    def dependency_keys(self) -> set[AssetKey]:
        """Keys of every upstream asset, data and ordering deps alike, minus own keys."""
        own = self._spec_index()
        return {dep.asset_key for spec in self.specs for dep in spec.deps} - own.keys()

    @property
    def keys_by_input_name(self) -> dict[str, AssetKey]:
        """Input name -> upstream key."""
        return {binding.name: binding.key for binding in self.inputs}

    @property
    def group_names_by_key(self) -> dict[AssetKey, str]:
        """Key -> group name."""
        return {spec.key: spec.group_name or DEFAULT_GROUP for spec in self.specs}

    @property
    def op(self) -> NodeHandle:
        """The compute node (Dagster code reads ``.op.name``)."""
        return NodeHandle(self.node_name, self.op_tags)

    @property
    def node_def(self) -> NodeHandle:
        """Dagster's alias of `op`."""
        return self.op

    @property
    def is_executable(self) -> bool:
        """Whether the definition has a body to run."""
        return self.compute_fn is not None

    @property
    def is_external(self) -> bool:
        """Whether the definition declares external assets only."""
        return self.compute_fn is None

    def get_output_name_for_asset_key(self, key: AssetKey) -> str:
        """The output name that materializes `key`."""
        for output in self.outputs:
            if output.key == key:
                return output.name
        raise DefinitionError(f"{self.node_name!r} does not materialize {key.to_user_string()!r}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Runs the body directly, as in a unit test (Dagster's direct invocation)."""
        if self.compute_fn is None:
            raise DefinitionError(f"{self.node_name!r} is external and has no body to call")
        return self.compute_fn(*args, **kwargs)

    def __repr__(self) -> str:
        keys = ", ".join(sorted(k.to_user_string() for k in self._spec_index()))
        return f"<AssetsDefinition {self.node_name!r}: {keys}>"

    # -- manifest -------------------------------------------------------------------

    def to_manifest_assets(self) -> list[ManifestAsset]:
        """The assets of this definition as manifest data."""
        executable = self.compute_fn is not None
        result = []
        for spec in self.specs:
            metadata = _encoded_metadata(spec.metadata) if spec.metadata else EMPTY_MAPPING
            result.append(
                ManifestAsset(
                    key=spec.key,
                    node=self.node_name,
                    deps=tuple(dep.asset_key for dep in spec.deps),
                    group=spec.group_name or DEFAULT_GROUP,
                    tags=spec.tags,
                    owners=spec.owners,
                    kinds=tuple(sorted(spec.kinds)),
                    description=spec.description,
                    code_version=spec.code_version,
                    metadata=metadata,
                    is_executable=executable,
                    can_subset=self.can_subset,
                    retry_policy=self.retry_policy,
                    timeout_s=self.timeout_s,
                    backfill_policy=self.backfill_policy,
                    quarantine_on_failed_check=spec.quarantine_on_failed_check,
                    partitions=(
                        _partitions_data(spec.partitions_def)
                        if spec.partitions_def is not None
                        else None
                    ),
                    automation_condition=(
                        _condition_data(spec.key, spec.automation_condition)
                        if spec.automation_condition is not None
                        else None
                    ),
                    freshness_policy=_freshness_policy(spec.key, spec.freshness_policy),
                )
            )
        return result


def _encoded_metadata(raw: Mapping[str, Any]) -> dict[str, Any]:
    # The metadata codec loads only when there is metadata to encode: most assets have none.
    from arco_flow.sdk.metadata import metadata_to_data, normalize_metadata

    return metadata_to_data(normalize_metadata(raw))


def _partitions_data(partitions_def: Any) -> dict[str, Any]:
    # The partitions package loads only for partitioned assets: `import arco_flow` stays light.
    from arco_flow.core.partitions import partitions_def_to_data

    return partitions_def_to_data(partitions_def)


def _condition_data(key: AssetKey, condition: Any) -> dict[str, Any]:
    # The automation package loads only for automated assets: `import arco_flow` stays light.
    from arco_flow.core.automation import AutomationCondition, condition_to_data

    if not isinstance(condition, AutomationCondition):
        raise DefinitionError(
            f"asset {key.to_user_string()!r}: automation_condition must be an "
            f"AutomationCondition, got {type(condition).__name__}; build one with "
            "AutomationCondition.eager(), .on_cron(...) or .on_missing()"
        )
    return condition_to_data(condition)


def _freshness_policy(key: AssetKey, policy: Any) -> FreshnessPolicy | None:
    if policy is None or isinstance(policy, FreshnessPolicy):
        return policy
    raise DefinitionError(
        f"asset {key.to_user_string()!r}: freshness_policy must be a FreshnessPolicy, got "
        f"{type(policy).__name__}; build one with FreshnessPolicy.time_window(fail_window=...) "
        "or FreshnessPolicy.cron(deadline_cron=..., lower_bound_delta=...)"
    )
