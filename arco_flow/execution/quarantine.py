"""Releasing and discarding quarantined values, in the control plane.

A value a failed blocking check sent to quarantine waits under its IO manager's quarantine
location (recorded as `AssetQuarantined`). An operator decides: release promotes it to the
normal location through the IO manager and records `AssetQuarantineReleased` with an
`AssetMaterialized` (in the quarantining run's stream, so downstream sees a new value);
discard drops it and records `AssetQuarantineDiscarded`. Both load the code location the
run recorded, to reach the asset's IO manager. The IO work happens before the events are
appended, in one transaction: a crash in between leaves the value still listed as
quarantined, and releasing it again redoes the promotion.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from arco_flow.core.errors import ArcoError, NotFoundError
from arco_flow.core.events import (
    AssetMaterialized,
    AssetQuarantineDiscarded,
    AssetQuarantineReleased,
    NewEvent,
    idempotency_key,
)
from arco_flow.core.keys import AssetKey, CoercibleToAssetKey
from arco_flow.execution.run_operations import Loader, load_code_location
from arco_flow.sdk.assets import DEFAULT_IO_MANAGER_KEY
from arco_flow.sdk.fs_io_manager import FilesystemIOManager
from arco_flow.sdk.io_managers import (
    OutputContext,
    promote_quarantined,
    supports_quarantine,
)
from arco_flow.sdk.metadata import metadata_to_data, normalize_metadata
from arco_flow.sdk.resources import ResourceScope
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import QuarantineRecord

__all__ = ["discard_quarantine", "find_quarantine", "release_quarantine"]


def find_quarantine(
    instance: ArcoInstance,
    asset_key: CoercibleToAssetKey,
    *,
    partition_key: str | None = None,
    run_id: str | None = None,
) -> QuarantineRecord:
    """The one value of `asset_key` waiting in quarantine that the arguments name.

    Raises:
        NotFoundError: no such value; the message lists the asset's quarantined values.
        ArcoError: several values match; the message says how to pick one.
    """
    key = AssetKey.from_coercible(asset_key)
    shown = key.to_user_string()
    waiting = instance.get_quarantines(key)
    found = [
        record
        for record in waiting
        if (partition_key is None or record.partition_key == partition_key)
        and (run_id is None or record.run_id == run_id)
    ]
    if len(found) == 1:
        return found[0]
    listed = ", ".join(_describe(record) for record in (found or waiting)[:10])
    if not found:
        if not waiting:
            raise NotFoundError(
                f"asset {shown!r} has no value in quarantine; `arco-flow checks quarantined` "
                "lists the values waiting there"
            )
        raise NotFoundError(
            f"asset {shown!r} has no quarantined value{_where(partition_key, run_id)}; it has: "
            f"{listed}"
        )
    raise ArcoError(
        f"asset {shown!r} has {len(found)} values in quarantine{_where(partition_key, run_id)}: "
        f"{listed}; pick one with --partition and/or --run"
    )


def release_quarantine(
    instance: ArcoInstance,
    asset_key: CoercibleToAssetKey,
    *,
    partition_key: str | None = None,
    run_id: str | None = None,
    reason: str = "",
    loader: Loader = load_code_location,
) -> QuarantineRecord:
    """Promotes a quarantined value to the asset's normal location and records it.

    The value is loaded from quarantine, stored normally and its quarantined copy dropped,
    all through the asset's IO manager; then `AssetQuarantineReleased` and an
    `AssetMaterialized` (the quarantining run's, with the metadata it had plus what the IO
    manager added) are appended together. To run the downstream the run skipped, re-execute
    the run from failure (`reexecute_run(instance, record.run_id, from_failure=True)`).

    Args:
        instance: the store holding the quarantine.
        asset_key: the asset.
        partition_key: the partition, when the asset has several values in quarantine.
        run_id: the quarantining run, when several runs quarantined a value.
        reason: why, kept in the release event.
        loader: loads the run's recorded code location.

    Returns:
        The quarantine record as it was before the release.

    Raises:
        NotFoundError: no such quarantined value, or its asset is gone from the code.
        ArcoError: several values match, or the IO manager cannot reach the value.
    """
    record = find_quarantine(instance, asset_key, partition_key=partition_key, run_id=run_id)
    added: dict[str, Any] = {}
    if record.has_value:
        with _quarantined_output(instance, record, loader) as (manager, context):
            added = promote_quarantined(manager, context)
    metadata = dict(record.metadata)
    if added:
        metadata.update(metadata_to_data(normalize_metadata(added)))
    released = AssetQuarantineReleased(
        asset_key=record.asset_key,
        partition_key=record.partition_key,
        run_id=record.run_id,
        reason=reason,
    )
    materialized = AssetMaterialized(
        run_id=record.run_id,
        task_id=record.task_id,
        asset_key=record.asset_key,
        partition_key=record.partition_key,
        metadata=metadata,
        data_version=record.data_version,
        code_version=record.code_version,
    )
    instance.append(
        [
            NewEvent(event=released, idempotency_key=idempotency_key(released), actor="user"),
            NewEvent(
                event=materialized,
                idempotency_key=idempotency_key(materialized, "released"),
                actor="user",
            ),
        ]
    )
    return record


def discard_quarantine(
    instance: ArcoInstance,
    asset_key: CoercibleToAssetKey,
    *,
    partition_key: str | None = None,
    run_id: str | None = None,
    reason: str = "",
    loader: Loader = load_code_location,
) -> QuarantineRecord:
    """Drops a quarantined value through its IO manager and records the discard.

    The asset's latest materialization stays as it was.

    Args:
        instance: the store holding the quarantine.
        asset_key: the asset.
        partition_key: the partition, when the asset has several values in quarantine.
        run_id: the quarantining run, when several runs quarantined a value.
        reason: why, kept in the discard event.
        loader: loads the run's recorded code location.

    Returns:
        The quarantine record as it was before the discard.

    Raises:
        NotFoundError: no such quarantined value, or its asset is gone from the code.
        ArcoError: several values match.
    """
    record = find_quarantine(instance, asset_key, partition_key=partition_key, run_id=run_id)
    if record.has_value:
        with _quarantined_output(instance, record, loader) as (manager, context):
            manager.delete_quarantined(context)
    discarded = AssetQuarantineDiscarded(
        asset_key=record.asset_key,
        partition_key=record.partition_key,
        run_id=record.run_id,
        reason=reason,
    )
    instance.append(
        [NewEvent(event=discarded, idempotency_key=idempotency_key(discarded), actor="user")]
    )
    return record


@contextmanager
def _quarantined_output(
    instance: ArcoInstance, record: QuarantineRecord, loader: Loader
) -> Iterator[tuple[Any, OutputContext]]:
    """The asset's IO manager (set up as the run had it) and the quarantined output."""
    run = instance.get_run(record.run_id)
    definitions = loader(run.code_location)
    shown = record.asset_key.to_user_string()
    try:
        definition = definitions.get_assets_def(record.asset_key)
    except ArcoError as error:
        raise NotFoundError(
            f"asset {shown!r} is no longer in the code location of run {record.run_id}, so its "
            f"quarantined value cannot be reached: {error}"
        ) from error
    output = next(o for o in definition.outputs if o.key == record.asset_key)
    resources: dict[str, Any] = dict(definitions.resources)
    if output.io_manager_key == DEFAULT_IO_MANAGER_KEY and DEFAULT_IO_MANAGER_KEY not in resources:
        if instance.storage_dir is None:
            raise ArcoError(
                f"asset {shown!r} was stored by the default IO manager, but the instance has no "
                "storage folder; bind an IO manager to 'io_manager'"
            )
        resources[DEFAULT_IO_MANAGER_KEY] = FilesystemIOManager(base_dir=instance.storage_dir)
    config: Mapping[str, Any] = run.run_config.get("resources", {})
    with ResourceScope(resources, config, {output.io_manager_key}) as scope:
        manager: Any = scope.as_dict()[output.io_manager_key]
        if not supports_quarantine(manager):
            raise ArcoError(
                f"the IO manager {output.io_manager_key!r} of asset {shown!r} "
                f"({type(manager).__name__}) cannot reach quarantined values; implement "
                "QuarantiningIOManager"
            )
        context = OutputContext(
            asset_key=record.asset_key,
            name=output.name,
            run_id=record.run_id,
            node_name=definition.node_name,
            definition_metadata=definition.specs_by_key[record.asset_key].metadata,
            partition_key=record.partition_key,
            resources=scope.as_dict(),
            quarantine=True,
        )
        yield manager, context


def _describe(record: QuarantineRecord) -> str:
    partition = f" partition {record.partition_key!r}" if record.partition_key else ""
    return f"run {record.run_id}{partition}"


def _where(partition_key: str | None, run_id: str | None) -> str:
    parts = []
    if partition_key is not None:
        parts.append(f"partition {partition_key!r}")
    if run_id is not None:
        parts.append(f"run {run_id}")
    return f" for {' and '.join(parts)}" if parts else ""
