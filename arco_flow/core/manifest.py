"""The manifest: everything the control plane knows of a code location, as pure data.

Pure. A `Manifest` is built by the SDK from user definitions and is the only thing the
planner, the store and the API ever see of them. Its canonical JSON is stable across
processes; the SHA-256 of that JSON is the manifest fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from arco_flow.core.backfill_policy import (
    BackfillPolicy,
    backfill_policy_from_data,
    backfill_policy_to_data,
)
from arco_flow.core.canonical_json import canonical_json
from arco_flow.core.freshness_policy import (
    FreshnessPolicy,
    freshness_policy_from_data,
    freshness_policy_to_data,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.retry import RetryPolicy, retry_policy_from_data, retry_policy_to_data

__all__ = [
    "Manifest",
    "ManifestAsset",
    "ManifestCheck",
    "ManifestJob",
    "manifest_from_data",
    "manifest_json",
    "manifest_to_data",
]

DEFAULT_GROUP = "default"


@dataclass(frozen=True, slots=True, kw_only=True)
class ManifestAsset:
    """One asset as the control plane sees it."""

    key: AssetKey
    node: str
    """The compute node (op) that produces this asset; a multi-asset's keys share one."""
    deps: tuple[AssetKey, ...] = ()
    """Upstream asset keys, data and ordering dependencies alike, in declaration order."""
    group: str = DEFAULT_GROUP
    tags: Mapping[str, str] = field(default_factory=dict)
    owners: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    description: str | None = None
    code_version: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Definition metadata, already in its JSON data form."""
    is_executable: bool = True
    """False for an external asset declared with a bare `AssetSpec`: never planned."""
    can_subset: bool = False
    """Whether the node may run for a subset of its keys (multi-assets)."""
    retry_policy: RetryPolicy | None = None
    timeout_s: float | None = None
    partitions: Mapping[str, Any] | None = None
    """The partitions definition in its data form; filled in by the partitions layer."""
    partition_mappings: Mapping[AssetKey, Mapping[str, Any]] = field(default_factory=dict)
    """The partition mapping the asset declares for a dep, by dep key, in its data form
    (`core.partitions.partition_mapping_to_data`); a dep left out declares none."""
    backfill_policy: BackfillPolicy | None = None
    """The asset's own policy; None means the default (`effective_backfill_policy`)."""
    automation_condition: Mapping[str, Any] | None = None
    """The automation condition in its data form (`core.automation.condition_to_data`)."""
    freshness_policy: FreshnessPolicy | None = None
    """How stale the asset may get; the daemon's freshness loop evaluates it."""
    quarantine_on_failed_check: bool = False
    """A value a blocking check fails goes to quarantine; with standalone blocking checks
    the planner holds it there until they pass (see `build_plan`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ManifestCheck:
    """One asset check as the control plane sees it."""

    asset_key: AssetKey
    name: str
    node: str
    """The compute node that evaluates it: the asset's own (a check in the asset's body)
    or a check node of its own (`@asset_check`, `@multi_asset_check`)."""
    blocking: bool = False
    description: str | None = None
    additional_deps: tuple[AssetKey, ...] = ()
    """Other assets the check reads; a run that plans them runs the check after them."""
    can_subset: bool = False
    """Whether its check node may evaluate part of its checks (`@multi_asset_check`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ManifestJob:
    """A named asset job: a resolved selection plus its tags."""

    name: str
    asset_keys: tuple[AssetKey, ...]
    selection: str | None = None
    """The selection as the user wrote it, where it was a string; for display only."""
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None
    op_retry_policy: RetryPolicy | None = None


@dataclass(frozen=True, kw_only=True)  # no slots: `fingerprint` is cached in __dict__
class Manifest:
    """A code location's definitions as data: assets sorted by key, checks, jobs."""

    assets: tuple[ManifestAsset, ...]
    checks: tuple[ManifestCheck, ...] = ()
    jobs: tuple[ManifestJob, ...] = ()
    resources: Mapping[str, Any] = field(default_factory=dict)
    """Resource keys with their configuration data (secrets as env-var references)."""

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the manifest's canonical JSON (`manifest_to_data`)."""
        return hashlib.sha256(manifest_json(self).encode("utf-8")).hexdigest()


def manifest_json(manifest: Manifest) -> str:
    """The canonical JSON of `manifest_to_data(manifest)`, written directly.

    Manifests of 10,000+ assets are fingerprinted on every plan, so an asset whose fields
    are all names and strings is written from a template (its keys in canonical order);
    any other asset goes through the general encoder. Both give the same text.
    """
    assets = ",".join(map(_asset_json, manifest.assets))
    data = manifest_to_data(
        Manifest(
            assets=(), checks=manifest.checks, jobs=manifest.jobs, resources=manifest.resources
        )
    )
    rest = canonical_json({k: v for k, v in data.items() if k != "assets"})
    # rest is '{"checks":…,"jobs":…,"resources":…,"version":1}': "assets" sorts first.
    return '{"assets":[' + assets + "]," + rest[1:]


_string = json.encoder.encode_basestring  # the canonical string form (C)


def _key_json(key: AssetKey) -> str:
    # Key parts are validated names ([A-Za-z0-9_.-]): nothing in them needs escaping.
    return '["' + '","'.join(key) + '"]'


def _asset_json(asset: ManifestAsset) -> str:
    if (
        asset.tags
        or asset.metadata
        or asset.partitions
        or asset.partition_mappings
        or asset.retry_policy is not None
        or asset.timeout_s is not None
        or asset.automation_condition is not None
        or asset.freshness_policy is not None
        or asset.quarantine_on_failed_check
    ):
        return canonical_json(_asset_to_data(asset))
    # Members in canonical (sorted) order, defaults left out as in `_asset_to_data`.
    parts = []
    policy = asset.backfill_policy
    if policy is not None:
        most = policy.max_partitions_per_run
        parts.append(
            '"backfill_policy":{"max_partitions_per_run":'
            + ("null" if most is None else str(most))
            + "}"
        )
    if asset.can_subset:
        parts.append('"can_subset":true')
    if asset.code_version is not None:
        parts.append('"code_version":' + _string(asset.code_version))
    if asset.deps:
        parts.append('"deps":[' + ",".join(map(_key_json, asset.deps)) + "]")
    if asset.description is not None:
        parts.append('"description":' + _string(asset.description))
    if asset.group != DEFAULT_GROUP:
        parts.append('"group":' + _string(asset.group))
    if not asset.is_executable:
        parts.append('"is_executable":false')
    parts.append('"key":' + _key_json(asset.key))
    if asset.kinds:
        parts.append('"kinds":[' + ",".join(map(_string, asset.kinds)) + "]")
    parts.append('"node":' + _string(asset.node))
    if asset.owners:
        parts.append('"owners":[' + ",".join(map(_string, asset.owners)) + "]")
    return "{" + ",".join(parts) + "}"


def _key_data(key: AssetKey) -> list[str]:
    return list(key.path)


def _item_path(item: tuple[AssetKey, Any]) -> tuple[str, ...]:
    return item[0].path


def _asset_to_data(asset: ManifestAsset) -> dict[str, Any]:
    data: dict[str, Any] = {"key": list(asset.key.path), "node": asset.node}
    # Defaults are left out, so that adding a field later keeps old fingerprints stable.
    if asset.deps:
        data["deps"] = [list(dep.path) for dep in asset.deps]
    if asset.group != DEFAULT_GROUP:
        data["group"] = asset.group
    if asset.tags:
        data["tags"] = dict(asset.tags)
    if asset.owners:
        data["owners"] = list(asset.owners)
    if asset.kinds:
        data["kinds"] = list(asset.kinds)
    if asset.description is not None:
        data["description"] = asset.description
    if asset.code_version is not None:
        data["code_version"] = asset.code_version
    if asset.metadata:
        data["metadata"] = dict(asset.metadata)
    if not asset.is_executable:
        data["is_executable"] = False
    if asset.can_subset:
        data["can_subset"] = True
    if asset.retry_policy is not None:
        data["retry_policy"] = retry_policy_to_data(asset.retry_policy)
    if asset.timeout_s is not None:
        data["timeout_s"] = asset.timeout_s
    if asset.partitions is not None:
        data["partitions"] = dict(asset.partitions)
    if asset.partition_mappings:
        data["partition_mappings"] = [
            {"asset_key": list(dep.path), "partition_mapping": dict(mapping)}
            for dep, mapping in sorted(asset.partition_mappings.items(), key=_item_path)
        ]
    if asset.backfill_policy is not None:
        data["backfill_policy"] = backfill_policy_to_data(asset.backfill_policy)
    if asset.automation_condition is not None:
        data["automation_condition"] = dict(asset.automation_condition)
    if asset.quarantine_on_failed_check:
        data["quarantine_on_failed_check"] = True
    if asset.freshness_policy is not None:
        data["freshness_policy"] = freshness_policy_to_data(asset.freshness_policy)
    return data


def _asset_from_data(data: Mapping[str, Any]) -> ManifestAsset:
    retry = data.get("retry_policy")
    backfill = data.get("backfill_policy")
    freshness = data.get("freshness_policy")
    return ManifestAsset(
        key=AssetKey(data["key"]),
        node=data["node"],
        deps=tuple(AssetKey(dep) for dep in data.get("deps", ())),
        group=data.get("group", DEFAULT_GROUP),
        tags=dict(data.get("tags", {})),
        owners=tuple(data.get("owners", ())),
        kinds=tuple(data.get("kinds", ())),
        description=data.get("description"),
        code_version=data.get("code_version"),
        metadata=dict(data.get("metadata", {})),
        is_executable=data.get("is_executable", True),
        can_subset=data.get("can_subset", False),
        retry_policy=retry_policy_from_data(retry) if retry is not None else None,
        timeout_s=data.get("timeout_s"),
        partitions=data.get("partitions"),
        partition_mappings={
            AssetKey(entry["asset_key"]): dict(entry["partition_mapping"])
            for entry in data.get("partition_mappings", ())
        },
        backfill_policy=backfill_policy_from_data(backfill) if backfill is not None else None,
        automation_condition=data.get("automation_condition"),
        quarantine_on_failed_check=data.get("quarantine_on_failed_check", False),
        freshness_policy=freshness_policy_from_data(freshness) if freshness is not None else None,
    )


def _check_to_data(check: ManifestCheck) -> dict[str, Any]:
    data: dict[str, Any] = {
        "asset_key": _key_data(check.asset_key),
        "name": check.name,
        "node": check.node,
        "blocking": check.blocking,
        "description": check.description,
    }
    if check.additional_deps:  # left out when empty, like the defaults of assets
        data["additional_deps"] = [_key_data(dep) for dep in check.additional_deps]
    if check.can_subset:
        data["can_subset"] = True
    return data


def manifest_to_data(manifest: Manifest) -> dict[str, Any]:
    """The manifest as plain data for canonical JSON (format version 1)."""
    return {
        "version": 1,
        "assets": [_asset_to_data(asset) for asset in manifest.assets],
        "checks": [_check_to_data(check) for check in manifest.checks],
        "jobs": [
            {
                "name": job.name,
                "asset_keys": [_key_data(key) for key in job.asset_keys],
                "selection": job.selection,
                "tags": dict(job.tags),
                "description": job.description,
                "op_retry_policy": (
                    retry_policy_to_data(job.op_retry_policy) if job.op_retry_policy else None
                ),
            }
            for job in manifest.jobs
        ],
        "resources": dict(manifest.resources),
    }


def manifest_from_data(data: Mapping[str, Any]) -> Manifest:
    """Rebuilds a manifest from `manifest_to_data` output."""
    return Manifest(
        assets=tuple(_asset_from_data(asset) for asset in data["assets"]),
        checks=tuple(
            ManifestCheck(
                asset_key=AssetKey(check["asset_key"]),
                name=check["name"],
                node=check["node"],
                blocking=check["blocking"],
                description=check.get("description"),
                additional_deps=tuple(AssetKey(dep) for dep in check.get("additional_deps", ())),
                can_subset=check.get("can_subset", False),
            )
            for check in data.get("checks", ())
        ),
        jobs=tuple(
            ManifestJob(
                name=job["name"],
                asset_keys=tuple(AssetKey(key) for key in job["asset_keys"]),
                selection=job.get("selection"),
                tags=dict(job.get("tags", {})),
                description=job.get("description"),
                op_retry_policy=(
                    retry_policy_from_data(job["op_retry_policy"])
                    if job.get("op_retry_policy")
                    else None
                ),
            )
            for job in data.get("jobs", ())
        ),
        resources=dict(data.get("resources", {})),
    )
