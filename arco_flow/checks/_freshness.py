"""Dagster's freshness check builders, evaluated by `arco_flow.core.freshness`.

Each builder returns one check per asset, named ``freshness_check`` as in Dagster, that
runs on the control plane (in the coordinator's process, with ``context.instance``): it
reads the asset's last update from the store, takes the clock, and hands both to the pure
evaluation. Differences from Dagster 1.13 are listed in the builders' docstrings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from arco_flow.checks._targets import asset_keys_of, partitions_def_of, validated_severity
from arco_flow.core.errors import DefinitionError
from arco_flow.core.freshness import (
    DEADLINE_CRON_PARAM_KEY,
    FRESHNESS_PARAMS_METADATA_KEY,
    LAST_UPDATED_TIMESTAMP_METADATA_KEY,
    LOWER_BOUND_DELTA_PARAM_KEY,
    OVERDUE_SECONDS_METADATA_KEY,
    TIMEZONE_PARAM_KEY,
    FreshnessEvaluation,
    evaluate_last_update_freshness,
    evaluate_time_partition_freshness,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import TimeWindowPartitionsDefinition
from arco_flow.core.partitions._cron import parse_cron
from arco_flow.core.partitions._ticks import get_zone
from arco_flow.sdk.checks import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    asset_check,
)
from arco_flow.sdk.metadata import MetadataValue, TimestampMetadataValue

__all__ = [
    "FRESHNESS_CHECK_NAME",
    "build_last_update_freshness_checks",
    "build_time_partition_freshness_checks",
    "last_update_timestamp",
]

FRESHNESS_CHECK_NAME = "freshness_check"
_DESCRIPTION = "Evaluates freshness for targeted asset."


def build_last_update_freshness_checks(
    *,
    assets: Sequence[Any],
    lower_bound_delta: timedelta,
    deadline_cron: str | None = None,
    timezone: str = "UTC",
    severity: AssetCheckSeverity = AssetCheckSeverity.WARN,
    blocking: bool = False,
) -> list[AssetChecksDefinition]:
    """Checks that each asset was updated recently enough (Dagster's builder).

    An asset is fresh when its last update (its latest materialization, or an observation
    or materialization stating ``dagster/last_updated_timestamp``) is at or after
    ``deadline - lower_bound_delta``. The deadline is the latest tick of `deadline_cron` at
    or before the evaluation, or the evaluation time itself without a cron. Example:
    ``deadline_cron="0 9 * * *"`` and 45 minutes mean "by 9:00 each day, an update since
    8:15".

    Results carry Dagster's metadata: ``dagster/freshness_params``,
    ``dagster/freshness_lower_bound_timestamp``, ``dagster/latest_cron_tick_timestamp``,
    ``dagster/last_updated_timestamp`` and, when fresh, ``dagster/fresh_until_timestamp``;
    when overdue also ``dagster/overdue_seconds`` and ``dagster/overdue_deadline_timestamp``
    (which Dagster documents but 1.13 does not write).

    Unlike Dagster 1.13, which returns one multi-asset check over all the assets, this
    returns one check per asset (the check keys are the same: ``<asset>:freshness_check``).

    Args:
        assets: The assets: definitions, specs, keys or ``"a/b"`` strings.
        lower_bound_delta: How long before the deadline an update may be.
        deadline_cron: When updates are due; the check's execution time if None.
        timezone: The IANA time zone `deadline_cron` is read in.
        severity: The severity of a failed result.
        blocking: Whether a failed ``ERROR`` result stops the asset's downstream.

    Returns:
        One `AssetChecksDefinition` per asset, in the order given.

    Raises:
        DefinitionError: An asset repeats or is not an asset, or an argument is invalid.
    """
    where = "build_last_update_freshness_checks"
    keys = asset_keys_of(assets, where)
    if not isinstance(lower_bound_delta, timedelta) or lower_bound_delta < timedelta(0):
        raise DefinitionError(
            f"{where}: lower_bound_delta must be a non-negative datetime.timedelta, got "
            f"{lower_bound_delta!r}; write e.g. lower_bound_delta=timedelta(hours=3)"
        )
    _validate_schedule(where, deadline_cron, timezone)
    severity = validated_severity(severity, where)
    params: dict[str, Any] = {
        TIMEZONE_PARAM_KEY: timezone,
        LOWER_BOUND_DELTA_PARAM_KEY: lower_bound_delta.total_seconds(),
    }
    if deadline_cron:
        params[DEADLINE_CRON_PARAM_KEY] = deadline_cron
    delta = lower_bound_delta.total_seconds()

    def evaluate(context: Any, key: AssetKey) -> FreshnessEvaluation:
        return evaluate_last_update_freshness(
            now=time.time(),
            last_updated=last_update_timestamp(context.instance, key),
            lower_bound_delta_seconds=delta,
            deadline_cron=deadline_cron or None,
            timezone=timezone,
        )

    return [_freshness_check(key, params, severity, blocking, evaluate) for key in keys]


def build_time_partition_freshness_checks(
    *,
    assets: Sequence[Any],
    deadline_cron: str,
    timezone: str = "UTC",
    severity: AssetCheckSeverity = AssetCheckSeverity.WARN,
    blocking: bool = False,
) -> list[AssetChecksDefinition]:
    """Checks that each time-partitioned asset has its latest due partition (Dagster's).

    At the latest tick of `deadline_cron` (the deadline), the partition expected is the
    last complete time window of the asset's partitions as of the deadline; the asset is
    fresh when that partition has a materialization. Results carry
    ``dagster/freshness_params`` and ``dagster/latest_cron_tick_timestamp``; when fresh,
    ``dagster/fresh_until_timestamp`` (the next tick); when overdue,
    ``dagster/last_updated_timestamp`` (the latest update of any partition),
    ``dagster/overdue_seconds`` and ``dagster/overdue_deadline_timestamp``.

    Differences from Dagster 1.13: one check per asset (same check keys); the assets must
    be passed as definitions or specs that carry a `TimeWindowPartitionsDefinition`
    (Dagster also takes bare keys and finds the definition in the job at run time); a
    deadline before the first partition passes (nothing is due yet) where Dagster fails.

    Args:
        assets: Time-partitioned asset definitions or specs.
        deadline_cron: When partitions are due.
        timezone: The IANA time zone `deadline_cron` is read in.
        severity: The severity of a failed result.
        blocking: Whether a failed ``ERROR`` result stops the asset's downstream.

    Returns:
        One `AssetChecksDefinition` per asset, in the order given.

    Raises:
        DefinitionError: An asset repeats, is not an asset or has no time partitions, or
            an argument is invalid.
    """
    where = "build_time_partition_freshness_checks"
    keys = asset_keys_of(assets, where)
    if not deadline_cron:
        raise DefinitionError(f"{where}: deadline_cron is required, e.g. '0 9 * * *'")
    _validate_schedule(where, deadline_cron, timezone)
    severity = validated_severity(severity, where)
    partitions = _time_partitions(where, assets, keys)
    params = {TIMEZONE_PARAM_KEY: timezone, DEADLINE_CRON_PARAM_KEY: deadline_cron}

    def evaluate(context: Any, key: AssetKey) -> FreshnessEvaluation:
        instance = context.instance
        return evaluate_time_partition_freshness(
            now=time.time(),
            deadline_cron=deadline_cron,
            timezone=timezone,
            partitions_def=partitions[key],
            partition_updated=lambda partition: _partition_updated(instance, key, partition),
            last_updated=last_update_timestamp(instance, key),
        )

    return [_freshness_check(key, params, severity, blocking, evaluate) for key in keys]


def _validate_schedule(where: str, deadline_cron: str | None, timezone: str) -> None:
    try:
        get_zone(timezone)
        if deadline_cron:
            parse_cron(deadline_cron)
    except (ValueError, TypeError) as error:
        raise DefinitionError(f"{where}: {error}") from None


def _time_partitions(
    where: str, assets: Sequence[Any], keys: Sequence[AssetKey]
) -> dict[AssetKey, TimeWindowPartitionsDefinition]:
    found: dict[AssetKey, TimeWindowPartitionsDefinition] = {}
    for asset in assets:
        for key in asset_keys_of([asset], where):
            partitions_def = partitions_def_of(asset, key)
            if isinstance(partitions_def, TimeWindowPartitionsDefinition):
                found[key] = partitions_def
    problems = [key.to_user_string() for key in keys if key not in found]
    if problems:
        raise DefinitionError(
            f"{where}: {', '.join(map(repr, problems))} has no time-window partitions "
            "definition here; pass the asset's definition (or AssetSpec) with "
            "partitions_def=DailyPartitionsDefinition(...) or another time-window definition, "
            "or use build_last_update_freshness_checks for unpartitioned assets"
        )
    return found


def _freshness_check(
    key: AssetKey,
    params: Mapping[str, Any],
    severity: AssetCheckSeverity,
    blocking: bool,
    evaluate: Callable[[Any, AssetKey], FreshnessEvaluation],
) -> AssetChecksDefinition:
    params_value = MetadataValue.json(dict(params))

    def freshness_check(context: Any) -> AssetCheckResult:
        evaluation = evaluate(context, key)
        metadata: dict[str, Any] = {FRESHNESS_PARAMS_METADATA_KEY: params_value}
        for name, value in evaluation.metadata_values().items():
            metadata[name] = (
                MetadataValue.float(value)
                if name == OVERDUE_SECONDS_METADATA_KEY
                else MetadataValue.timestamp(value)
            )
        if evaluation.expected_partition_key is not None:
            metadata["expected_partition_key"] = evaluation.expected_partition_key
        return AssetCheckResult(
            passed=evaluation.passed,
            asset_key=key,
            check_name=FRESHNESS_CHECK_NAME,
            severity=severity,
            description=evaluation.description,
            metadata=metadata,
        )

    return asset_check(
        asset=key,
        name=FRESHNESS_CHECK_NAME,
        description=_DESCRIPTION,
        blocking=blocking,
        metadata={FRESHNESS_PARAMS_METADATA_KEY: params_value},
        runs_on_control_plane=True,
    )(freshness_check)


def last_update_timestamp(instance: Any, key: AssetKey) -> float | None:
    """The asset's last update in the store, POSIX seconds, or None (Dagster's rule).

    The later of its latest materialization (its time, or the
    ``dagster/last_updated_timestamp`` it states) and its latest observation (only when it
    states ``dagster/last_updated_timestamp``).
    """
    records = instance.get_asset_records([key])
    if not records:
        return None
    record = records[0]
    candidates: list[float] = []
    materialization = record.last_materialization
    if materialization is not None:
        stated = _stated_timestamp(materialization.metadata)
        candidates.append(stated if stated is not None else materialization.timestamp)
    observation = record.last_observation
    if observation is not None:
        stated = _stated_timestamp(observation.metadata)
        if stated is not None:
            candidates.append(stated)
    return max(candidates, default=None)


def _stated_timestamp(metadata: Mapping[str, Any]) -> float | None:
    """``dagster/last_updated_timestamp`` of stored metadata (typed or in data form)."""
    value = metadata.get(LAST_UPDATED_TIMESTAMP_METADATA_KEY)
    if isinstance(value, TimestampMetadataValue):
        return value.value
    if isinstance(value, Mapping) and value.get("type") == "timestamp":
        return float(value["value"])
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _partition_updated(instance: Any, key: AssetKey, partition_key: str) -> bool:
    # The facade has no per-partition query; the storage protocol's is one indexed lookup.
    found = instance.storage.latest_materializations(
        key,
        partition_keys=[partition_key],
        tenant_id=instance.tenant_id,
        workspace_id=instance.workspace_id,
    )
    return partition_key in found
