"""`Definitions`: a code location's assets, jobs and resources, and its `Manifest`.

Building a `Definitions` only stores what it is given. The manifest and the asset graph
are built on first use and cached; `validate()` checks everything and reports every
problem at once (unknown dependencies, cycles, duplicate keys, missing resources, jobs
selecting unknown assets, checks of unknown assets, duplicate checks, check bodies whose
parameters bind to nothing, schedules and sensors targeting unknown jobs or sharing a name).
A schedule or sensor given a job object or an asset selection brings that job along.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any

from arco_flow.core.errors import (
    ArcoError,
    DefinitionError,
    DefinitionsValidationError,
    NotFoundError,
    did_you_mean,
)
from arco_flow.core.gc_pause import gc_paused
from arco_flow.core.graph import AssetGraph
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.core.manifest import Manifest, ManifestAsset, ManifestCheck, ManifestJob
from arco_flow.core.selection import AssetSelection
from arco_flow.sdk.asset_spec import AssetSpec, coerce_dep_keys
from arco_flow.sdk.assets import DEFAULT_IO_MANAGER_KEY, AssetsDefinition
from arco_flow.sdk.checks import AssetChecksDefinition, AssetCheckSpec, quarantine_problems
from arco_flow.sdk.jobs import IMPLICIT_JOB_NAME, JobDefinition, UnresolvedAssetJobDefinition
from arco_flow.sdk.schedules import ScheduleDefinition
from arco_flow.sdk.sensors import SensorDefinition
from arco_flow.sdk.tick_validation import definition_problems, implied_jobs, type_problems

__all__ = ["Definitions", "NodeDefinition", "resolve_asset_selection", "resolve_check_selection"]

NodeDefinition = AssetsDefinition | AssetChecksDefinition
"""What a compute node runs: an asset body, or a standalone check body."""


class Definitions:
    """The definitions of one code location (Dagster's name and constructor).

    Args:
        assets: asset definitions, and `AssetSpec`s for external assets.
        asset_checks: asset check definitions.
        schedules: schedules (`@schedule`, `ScheduleDefinition`).
        sensors: sensors (`@sensor`, `@asset_sensor`, `@run_status_sensor` ...).
        jobs: jobs from `define_asset_job`.
        resources: resource key -> resource (a `ConfigurableResource`, an IO manager or
            any object).
        executor: accepted for Dagster code; the executor is chosen at launch.
        loggers: accepted for Dagster code.
        metadata: metadata of the code location.
    """

    def __init__(
        self,
        assets: Iterable[AssetsDefinition | AssetSpec] | None = None,
        schedules: Iterable[Any] | None = None,
        sensors: Iterable[Any] | None = None,
        jobs: Iterable[UnresolvedAssetJobDefinition] | None = None,
        resources: Mapping[str, Any] | None = None,
        executor: Any = None,
        loggers: Mapping[str, Any] | None = None,
        asset_checks: Iterable[Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.assets: tuple[AssetsDefinition | AssetSpec, ...] = tuple(assets or ())
        self.schedules: tuple[ScheduleDefinition, ...] = tuple(schedules or ())
        self.sensors: tuple[SensorDefinition, ...] = tuple(sensors or ())
        self.jobs = tuple(jobs or ())
        self.resources: dict[str, Any] = dict(resources or {})
        self.executor = executor
        self.loggers = dict(loggers or {})
        self.asset_checks: tuple[AssetChecksDefinition, ...] = tuple(asset_checks or ())
        self.metadata = dict(metadata or {})
        for item in self.assets:
            if not isinstance(item, AssetsDefinition | AssetSpec):
                raise DefinitionError(
                    f"Definitions(assets=...) got {item!r}, which is not an asset: pass "
                    "functions decorated with @asset or @multi_asset, or AssetSpecs"
                )
        for check in self.asset_checks:
            if not isinstance(check, AssetChecksDefinition):
                raise DefinitionError(
                    f"Definitions(asset_checks=...) got {check!r}, which is not an asset "
                    "check: pass functions decorated with @asset_check or @multi_asset_check"
                )
        wrong = type_problems(self.schedules, self.sensors)
        if wrong:
            raise DefinitionError("; ".join(wrong))

    @staticmethod
    def merge(*definitions: Definitions) -> Definitions:
        """One `Definitions` with everything of each.

        Raises:
            DefinitionError: a resource key is bound to different objects.
        """
        resources: dict[str, Any] = {}
        for defs in definitions:
            for key, value in defs.resources.items():
                if key in resources and resources[key] is not value:
                    raise DefinitionError(
                        f"Definitions.merge: resource {key!r} is bound to different objects; "
                        "bind it once"
                    )
                resources[key] = value
        return Definitions(
            assets=[a for d in definitions for a in d.assets],
            schedules=[s for d in definitions for s in d.schedules],
            sensors=[s for d in definitions for s in d.sensors],
            jobs=[j for d in definitions for j in d.jobs],
            resources=resources,
            asset_checks=[c for d in definitions for c in d.asset_checks],
            metadata={k: v for d in definitions for k, v in d.metadata.items()},
        )

    def with_resources(self, resources: Mapping[str, Any]) -> Definitions:
        """These definitions with `resources` bound over their own (same keys replaced)."""
        if not resources:
            return self
        return Definitions(
            assets=self.assets,
            schedules=self.schedules,
            sensors=self.sensors,
            jobs=self.jobs,
            resources={**self.resources, **resources},
            asset_checks=self.asset_checks,
            metadata=self.metadata,
        )

    # -- assets ---------------------------------------------------------------------

    @cached_property
    def _assets_defs(self) -> tuple[AssetsDefinition, ...]:
        return tuple(item for item in self.assets if isinstance(item, AssetsDefinition))

    @cached_property
    @gc_paused
    def _manifest_assets(self) -> tuple[list[ManifestAsset], list[str]]:
        problems: list[str] = []
        manifest_assets: list[ManifestAsset] = []
        seen_keys: dict[AssetKey, str] = {}
        seen_nodes: dict[str, AssetsDefinition] = {}
        for item in self.assets:
            if isinstance(item, AssetSpec):
                entries = [_external_asset(item)]
            else:
                other = seen_nodes.get(item.node_name)
                clashing_keys = any(key in seen_keys for key in item.keys)
                if other is not None and other is not item and not clashing_keys:
                    problems.append(
                        f"two asset definitions have the compute node name {item.node_name!r}; "
                        "give one of them another name="
                    )
                seen_nodes[item.node_name] = item
                entries = _with_partition_mappings(item, item.to_manifest_assets())
            for entry in entries:
                previous = seen_keys.get(entry.key)
                if previous is not None:
                    problems.append(
                        f"asset key {entry.key.to_user_string()!r} is defined twice; rename "
                        "one of the two definitions, or give one a key_prefix"
                    )
                    continue
                seen_keys[entry.key] = entry.node
                manifest_assets.append(entry)
        return manifest_assets, problems

    @cached_property
    def _graph_or_problems(self) -> tuple[AssetGraph | None, list[str]]:
        assets, problems = self._manifest_assets
        if problems:
            return None, problems
        checks, _ = self._manifest_checks
        try:
            return AssetGraph.from_assets(assets, checks), []
        except DefinitionError as error:
            return None, str(error).split("\n")

    @cached_property
    def _manifest_checks(self) -> tuple[list[ManifestCheck], list[str]]:
        """Every check whose asset is defined, and the problems of the others."""
        assets, _ = self._manifest_assets
        node_of = {asset.key: asset.node for asset in assets}
        asset_nodes = set(node_of.values())
        problems: list[str] = []
        checks: list[ManifestCheck] = []
        seen: dict[AssetCheckKey, str] = {}
        check_nodes: dict[str, AssetChecksDefinition] = {}
        sources: list[tuple[str, AssetCheckSpec, str]] = [
            (item.node_name, spec, f"asset {item.node_name!r}")
            for item in self._assets_defs
            for spec in item.check_specs
        ]
        for definition in self.asset_checks:
            problems.extend(definition.definition_problems)
            node = definition.node_name
            other = check_nodes.get(node)
            clash = other is not None and other is not definition
            if (
                clash and other is not None and not (other.check_keys & definition.check_keys)
            ) or node in asset_nodes:
                # (Two definitions of the same check are reported below, as a duplicate.)
                problems.append(
                    f"asset check node {node!r} has the name of another compute node; give "
                    "the check another name= (or the multi_asset_check another name=)"
                )
            check_nodes[node] = definition
            sources.extend((node, spec, f"asset check {node!r}") for spec in definition.specs)
        for node, spec, where in sources:
            key = spec.key
            shown = key.to_user_string()
            if spec.asset_key not in node_of:
                guess = did_you_mean(
                    spec.asset_key.to_user_string(), (k.to_user_string() for k in node_of)
                )
                problems.append(
                    f"asset check {shown!r} ({where}) targets asset "
                    f"{spec.asset_key.to_user_string()!r}, which is not defined.{guess} Fix "
                    "asset=, or add the asset to Definitions(assets=[...])"
                )
                continue
            if key in seen:
                problems.append(
                    f"asset check {shown!r} is defined twice ({seen[key]} and {where}); give "
                    "one of them another name"
                )
                continue
            seen[key] = where
            for dep in spec.additional_deps:
                if dep not in node_of:
                    guess = did_you_mean(
                        dep.to_user_string(), (k.to_user_string() for k in node_of)
                    )
                    problems.append(
                        f"asset check {shown!r} reads asset {dep.to_user_string()!r}, which is "
                        f"not defined.{guess} Fix additional_ins/additional_deps, or define it"
                    )
            checks.append(
                ManifestCheck(
                    asset_key=spec.asset_key,
                    name=spec.name,
                    node=node,
                    blocking=spec.blocking,
                    description=spec.description,
                    additional_deps=tuple(
                        sorted((d for d in spec.additional_deps if d in node_of), key=_path)
                    ),
                    can_subset=node in check_nodes and check_nodes[node].can_subset,
                )
            )
        checks.sort(key=lambda check: (check.asset_key.path, check.name))
        return checks, problems

    def resolve_asset_graph(self) -> AssetGraph:
        """The validated asset graph.

        Raises:
            DefinitionsValidationError: listing every problem with the assets.
        """
        graph, problems = self._graph_or_problems
        if graph is None:
            raise DefinitionsValidationError(problems)
        return graph

    def resolve_all_asset_keys(self) -> list[AssetKey]:
        """Every asset key, sorted."""
        return list(self.resolve_asset_graph().keys)

    def resolve_all_asset_specs(self) -> list[AssetSpec]:
        """The spec of every asset, sorted by key."""
        specs = [
            spec
            for item in self.assets
            for spec in (item.specs if isinstance(item, AssetsDefinition) else (item,))
        ]
        return sorted(specs, key=lambda spec: spec.key.path)

    def get_assets_def(self, key: AssetKey | str) -> AssetsDefinition:
        """The definition that materializes `key`."""
        asset_key = AssetKey.from_coercible(key)
        definition = self._assets_def_by_key.get(asset_key)
        if definition is None:
            raise NotFoundError(self.resolve_asset_graph().unknown_key_message(asset_key))
        return definition

    def partitions_def_of(self, key: AssetKey | str) -> Any:
        """The partitions definition of asset `key`, an external one's too.

        None when the asset is unpartitioned or unknown.
        """
        asset_key = AssetKey.from_coercible(key)
        definition = self._assets_def_by_key.get(asset_key)
        spec = (
            self._external_specs.get(asset_key)
            if definition is None
            else definition.specs_by_key.get(asset_key)
        )
        return None if spec is None else spec.partitions_def

    @cached_property
    def _external_specs(self) -> dict[AssetKey, AssetSpec]:
        return {item.key: item for item in self.assets if isinstance(item, AssetSpec)}

    def partition_mapping_of(self, child: AssetKey, parent: AssetKey) -> Any:
        """The partition mapping `child` declares for its input or dep `parent`.

        None when it declares none: Dagster's default between the two definitions applies.
        """
        definition = self._assets_def_by_key.get(child)
        if definition is None:
            return None
        return _declared_mapping(definition, child, parent)

    @cached_property
    def _assets_def_by_key(self) -> dict[AssetKey, AssetsDefinition]:
        return {key: item for item in self._assets_defs for key in item.keys}

    @cached_property
    def assets_defs_by_node(self) -> dict[str, AssetsDefinition]:
        """Compute node name -> the definition (what a worker looks tasks up by)."""
        return {item.node_name: item for item in self._assets_defs}

    @cached_property
    def checks_defs_by_node(self) -> dict[str, AssetChecksDefinition]:
        """Check node name -> the standalone check definition."""
        return {item.node_name: item for item in self.asset_checks}

    @cached_property
    def nodes_by_name(self) -> dict[str, NodeDefinition]:
        """Every compute node a task may run: asset nodes and standalone check nodes."""
        return {**self.checks_defs_by_node, **self.assets_defs_by_node}

    def resolve_all_asset_check_keys(self) -> list[AssetCheckKey]:
        """Every asset check key, sorted."""
        return sorted(self.resolve_asset_graph().asset_check_keys)

    # -- jobs -----------------------------------------------------------------------

    @cached_property
    def _all_jobs(self) -> tuple[UnresolvedAssetJobDefinition, ...]:
        """The declared jobs, then those schedules and sensors bring along."""
        return (*self.jobs, *implied_jobs(self.schedules, self.sensors, self.jobs))

    def _resolve_job_keys(self, job: UnresolvedAssetJobDefinition) -> frozenset[AssetKey]:
        graph = self.resolve_asset_graph()
        return frozenset(resolve_asset_selection(job.selection, graph))

    def _resolve_job_checks(self, job: UnresolvedAssetJobDefinition) -> frozenset[AssetCheckKey]:
        graph = self.resolve_asset_graph()
        return frozenset(resolve_check_selection(job.selection, graph))

    def resolve_job_def(self, name: str) -> JobDefinition:
        """The job called `name`, bound to these definitions.

        Raises:
            NotFoundError: no job has that name; the message suggests a close one.
        """
        if name == IMPLICIT_JOB_NAME:
            return self.resolve_implicit_global_asset_job_def()
        for job in self._all_jobs:
            if job.name == name:
                return JobDefinition(
                    self, job, self._resolve_job_keys(job), self._resolve_job_checks(job)
                )
        names = [job.name for job in self._all_jobs]
        raise NotFoundError(
            f"no job named {name!r}.{did_you_mean(name, names)} Jobs: {', '.join(names) or 'none'}"
        )

    def get_job_def(self, name: str) -> JobDefinition:
        """Dagster's older name for `resolve_job_def`."""
        return self.resolve_job_def(name)

    def resolve_implicit_global_asset_job_def(self) -> JobDefinition:
        """A job that materializes every executable asset."""
        job = UnresolvedAssetJobDefinition(name=IMPLICIT_JOB_NAME)
        graph = self.resolve_asset_graph()
        keys = frozenset(asset.key for asset in graph.assets if asset.is_executable)
        return JobDefinition(self, job, keys, graph.asset_check_keys)

    def get_implicit_global_asset_job_def(self) -> JobDefinition:
        """Dagster's older name for `resolve_implicit_global_asset_job_def`."""
        return self.resolve_implicit_global_asset_job_def()

    def get_all_job_defs(self) -> list[JobDefinition]:
        """Every declared job, bound."""
        return [self.resolve_job_def(job.name) for job in self._all_jobs]

    # -- schedules and sensors ------------------------------------------------------

    def get_schedule_def(self, name: str) -> ScheduleDefinition:
        """The schedule called `name` (Dagster's name).

        Raises:
            NotFoundError: no schedule has that name; the message suggests a close one.
        """
        for item in self.schedules:
            if item.name == name:
                return item
        names = [item.name for item in self.schedules]
        raise NotFoundError(
            f"no schedule named {name!r}.{did_you_mean(name, names)} "
            f"Schedules: {', '.join(names) or 'none'}"
        )

    def get_sensor_def(self, name: str) -> SensorDefinition:
        """The sensor called `name` (Dagster's name).

        Raises:
            NotFoundError: no sensor has that name; the message suggests a close one.
        """
        for item in self.sensors:
            if item.name == name:
                return item
        names = [item.name for item in self.sensors]
        raise NotFoundError(
            f"no sensor named {name!r}.{did_you_mean(name, names)} "
            f"Sensors: {', '.join(names) or 'none'}"
        )

    # -- manifest and validation ----------------------------------------------------

    def validate(self) -> None:
        """Checks everything and raises once with every problem found.

        Raises:
            DefinitionsValidationError: listing each problem with the thing it concerns
                and what to do.
        """
        problems = self.problems()
        if problems:
            raise DefinitionsValidationError(problems)

    @staticmethod
    def validate_loadable(defs: Definitions) -> None:
        """Dagster's name for `defs.validate()`."""
        defs.validate()

    def problems(self) -> list[str]:
        """Every problem with these definitions, as messages; empty when valid."""
        graph, problems = self._graph_or_problems
        problems = list(problems)
        problems.extend(self._manifest_checks[1])
        problems.extend(self._resource_problems())
        problems.extend(quarantine_problems(self._assets_defs, self.asset_checks, self.resources))
        job_names: set[str] = set()
        for job in self._all_jobs:
            if job.name in job_names:
                problems.append(f"job {job.name!r} is defined twice; rename one")
            job_names.add(job.name)
            try:
                if graph is not None:
                    resolve_asset_selection(job.selection, graph)
                    resolve_check_selection(job.selection, graph)
                elif isinstance(job.selection, str):
                    AssetSelection.from_string(job.selection)  # its syntax, at least
            except ArcoError as error:
                problems.append(f"job {job.name!r}: {error}")
        check = (lambda selection: resolve_asset_selection(selection, graph)) if graph else None
        problems.extend(definition_problems(self.schedules, self.sensors, job_names, check))
        return problems

    def _resource_problems(self) -> list[str]:
        problems = []
        available = set(self.resources) | {DEFAULT_IO_MANAGER_KEY}
        nodes: list[tuple[str, NodeDefinition]] = [
            *(("asset", item) for item in self._assets_defs),
            *(("asset check", item) for item in self.asset_checks),
        ]
        for what, item in nodes:
            needed = item.needed_resource_keys
            if needed <= available:
                continue
            for key in sorted(needed - available):
                guess = did_you_mean(key, available)
                problems.append(
                    f"{what} {item.node_name!r} requires resource {key!r}, which is not "
                    f"provided.{guess} Add it: Definitions(resources={{{key!r}: ...}})"
                )
        return problems

    @cached_property
    def manifest(self) -> Manifest:
        """The definitions as data: what the control plane sees."""
        self.validate()
        graph = self.resolve_asset_graph()
        jobs = tuple(
            ManifestJob(
                name=job.name,
                asset_keys=tuple(sorted(self._resolve_job_keys(job))),
                selection=job.selection if isinstance(job.selection, str) else None,
                tags=dict(job.tags),
                description=job.description,
                op_retry_policy=job.op_retry_policy,
            )
            for job in sorted(self._all_jobs, key=lambda job: job.name)
        )
        return Manifest(
            assets=graph.assets,
            checks=graph.checks,
            jobs=jobs,
            resources=_resources_data(self.resources) if self.resources else {},
        )

    def get_manifest(self) -> Manifest:
        """The manifest (see `manifest`)."""
        return self.manifest


def resolve_asset_selection(selection: Any, graph: AssetGraph) -> set[AssetKey]:
    """Resolves a job or launch selection to asset keys.

    Accepts None (every executable asset), a selection string, an `AssetSelection`, or a
    list of assets, specs and keys.
    """
    if selection is None:
        return {asset.key for asset in graph.assets if asset.is_executable}
    if isinstance(selection, AssetSelection):
        return selection.resolve(graph)
    if isinstance(selection, str):
        return AssetSelection.from_string(selection).resolve(graph)
    if isinstance(selection, Sequence | set | frozenset):
        keys = coerce_dep_keys(item for item in selection if not _is_check_item(item))
        return AssetSelection.assets(*keys).resolve(graph)
    raise DefinitionError(
        f"selection {selection!r} is not a selection: use an AssetSelection, a string such "
        "as 'group:sales', or a list of assets or keys"
    )


def resolve_check_selection(selection: Any, graph: AssetGraph) -> set[AssetCheckKey]:
    """Resolves a job or launch selection to asset check keys, as Dagster does.

    None selects every check; a selection string or `AssetSelection` picks the checks of
    its assets (and the checks it names); a list selects the checks of its assets and
    the check definitions or `AssetCheckKey`s in it.
    """
    if not graph.checks:
        return set()
    if selection is None:
        return set(graph.asset_check_keys)
    if isinstance(selection, AssetSelection):
        return selection.resolve_checks(graph)
    if isinstance(selection, str):
        return AssetSelection.from_string(selection).resolve_checks(graph)
    if isinstance(selection, Sequence | set | frozenset):
        checks = [item for item in selection if _is_check_item(item)]
        assets = [item for item in selection if not _is_check_item(item)]
        chosen = AssetSelection.assets(*coerce_dep_keys(assets)).resolve_checks(graph)
        return chosen | AssetSelection.checks(*checks).resolve_checks(graph)
    raise DefinitionError(
        f"selection {selection!r} is not a selection: use an AssetSelection, a string such "
        "as 'group:sales', or a list of assets, checks or keys"
    )


def _is_check_item(item: Any) -> bool:
    return isinstance(item, AssetCheckKey | AssetChecksDefinition)


def _path(key: AssetKey) -> tuple[str, ...]:
    return key.path


def _resources_data(resources: Mapping[str, Any]) -> dict[str, Any]:
    # Resource configuration is described by the pydantic-based resources module, loaded
    # here rather than with the SDK so that `import arco_flow` stays light.
    from arco_flow.sdk.resources import resource_config_to_data

    return resource_config_to_data(resources)


def _declared_mapping(definition: AssetsDefinition, child: AssetKey, parent: AssetKey) -> Any:
    """The partition mapping `definition` declares for `child`'s input or dep `parent`.

    An input's (`AssetIn`) first, then a dep's (`deps=[AssetDep(..., partition_mapping=)]`);
    None when neither declares one.
    """
    declared = next(
        (b.partition_mapping for b in definition.inputs if b.key == parent and b.partition_mapping),
        None,
    )
    if declared is not None:
        return declared
    spec = definition.specs_by_key.get(child)
    deps = spec.deps if spec is not None else ()
    return next(
        (
            dep.partition_mapping
            for dep in deps
            if dep.asset_key == parent and dep.partition_mapping is not None
        ),
        None,
    )


def _with_partition_mappings(
    definition: AssetsDefinition, entries: list[ManifestAsset]
) -> list[ManifestAsset]:
    """`entries` with the partition mappings they declare (`partition_mapping_of`) as data."""
    if all(binding.partition_mapping is None for binding in definition.inputs) and all(
        dep.partition_mapping is None
        for spec in definition.specs_by_key.values()
        for dep in spec.deps
    ):
        return entries  # most assets declare none: no copy, and no partitions import
    result = []
    for entry in entries:
        declared = {dep: _declared_mapping(definition, entry.key, dep) for dep in entry.deps}
        mappings = {
            dep: _mapping_data(mapping) for dep, mapping in declared.items() if mapping is not None
        }
        result.append(
            dataclasses.replace(entry, partition_mappings=mappings) if mappings else entry
        )
    return result


def _mapping_data(mapping: Any) -> dict[str, Any]:
    # The partitions package loads only for assets that declare a mapping.
    from arco_flow.core.manifest_view import partition_mapping_data

    return partition_mapping_data(mapping)


def _external_asset(spec: AssetSpec) -> ManifestAsset:
    node = "__".join(spec.key.path)
    return AssetsDefinition(node_name=node, compute_fn=None, specs=(spec,)).to_manifest_assets()[0]
