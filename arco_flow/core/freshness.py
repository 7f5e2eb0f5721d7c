"""Freshness: whether an asset was updated recently enough, as Dagster's freshness checks decide.

Pure: "now", the last update and the partition found are arguments; cron math is the
project's own (`partitions._cron`, `partitions._ticks`), with Dagster's daylight-saving rules.

Two evaluations, one per Dagster builder:

- last update (`evaluate_last_update_freshness`): the deadline is the latest tick of
  `deadline_cron` at or before now (now itself without a cron); the asset is fresh when its
  last update is at or after ``deadline - lower_bound_delta``.
- time partition (`evaluate_time_partition_freshness`): the deadline is the latest tick of
  `deadline_cron`; the partition expected by then is the last complete window of the asset's
  time partitions as of the deadline; the asset is fresh when that partition has an update.

Both give Dagster's metadata values (`FreshnessEvaluation`) and its descriptions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from arco_flow.core.partitions import TimeWindowPartitionsDefinition
from arco_flow.core.partitions._ticks import get_zone, ticks_for

__all__ = [
    "DEADLINE_CRON_PARAM_KEY",
    "FRESHNESS_PARAMS_METADATA_KEY",
    "FRESH_UNTIL_METADATA_KEY",
    "LAST_UPDATED_TIMESTAMP_METADATA_KEY",
    "LATEST_CRON_TICK_METADATA_KEY",
    "LOWER_BOUND_DELTA_PARAM_KEY",
    "LOWER_BOUND_TIMESTAMP_METADATA_KEY",
    "OVERDUE_DEADLINE_METADATA_KEY",
    "OVERDUE_SECONDS_METADATA_KEY",
    "TIMEZONE_PARAM_KEY",
    "FreshnessEvaluation",
    "evaluate_last_update_freshness",
    "evaluate_time_partition_freshness",
    "expected_partition_key",
    "latest_cron_tick",
    "next_cron_tick",
    "seconds_in_words",
]

# Dagster's metadata keys: a UI or a tool that reads Dagster's freshness results reads ours.
LAST_UPDATED_TIMESTAMP_METADATA_KEY = "dagster/last_updated_timestamp"
FRESHNESS_PARAMS_METADATA_KEY = "dagster/freshness_params"
LOWER_BOUND_TIMESTAMP_METADATA_KEY = "dagster/freshness_lower_bound_timestamp"
FRESH_UNTIL_METADATA_KEY = "dagster/fresh_until_timestamp"
LATEST_CRON_TICK_METADATA_KEY = "dagster/latest_cron_tick_timestamp"
OVERDUE_SECONDS_METADATA_KEY = "dagster/overdue_seconds"
"""Documented by Dagster for overdue assets; Dagster 1.13 does not write it, we do."""
OVERDUE_DEADLINE_METADATA_KEY = "dagster/overdue_deadline_timestamp"
"""The deadline an overdue asset missed: the latest cron tick, or now without a cron
(documented by Dagster; Dagster 1.13 does not write it, we do)."""
LOWER_BOUND_DELTA_PARAM_KEY = "lower_bound_delta_seconds"
DEADLINE_CRON_PARAM_KEY = "deadline_cron"
TIMEZONE_PARAM_KEY = "timezone"


@dataclass(frozen=True, slots=True, kw_only=True)
class FreshnessEvaluation:
    """The outcome of one freshness evaluation, with what Dagster reports as metadata."""

    passed: bool
    description: str
    now: float
    """POSIX seconds at which the evaluation was made."""
    deadline: float
    """The latest cron tick at or before now, or now without a cron."""
    latest_cron_tick: float | None
    lower_bound: float | None
    """The earliest update that counts as fresh (last-update freshness only)."""
    last_updated: float | None
    """The asset's last update, None when it has none."""
    fresh_until: float | None
    """When a fresh asset can next become overdue; None when it is not fresh."""
    overdue_seconds: float | None
    """How long an overdue asset has been overdue: now minus the first deadline it missed
    (last update), or minus the latest deadline (time partition); None for a fresh asset or
    one never updated."""
    expected_partition_key: str | None = None
    """The partition the time-partition evaluation looked for."""

    def metadata_values(self) -> dict[str, float]:
        """The timestamp and duration values of Dagster's metadata keys, those that are set."""
        values = {
            LOWER_BOUND_TIMESTAMP_METADATA_KEY: self.lower_bound,
            LATEST_CRON_TICK_METADATA_KEY: self.latest_cron_tick,
            FRESH_UNTIL_METADATA_KEY: self.fresh_until,
            LAST_UPDATED_TIMESTAMP_METADATA_KEY: self.last_updated,
            OVERDUE_SECONDS_METADATA_KEY: self.overdue_seconds,
            OVERDUE_DEADLINE_METADATA_KEY: None if self.passed else self.deadline,
        }
        return {key: value for key, value in values.items() if value is not None}


def latest_cron_tick(deadline_cron: str, timezone: str, now: float) -> float:
    """The latest tick of `deadline_cron` in `timezone` at or before `now` (POSIX seconds).

    Raises:
        ValueError: The cron schedule or the time zone is not valid.
    """
    ticks = ticks_for(deadline_cron, get_zone(timezone), now)
    return ticks.instant(ticks.ordinal_at_or_before(now))


def next_cron_tick(deadline_cron: str, timezone: str, now: float) -> float:
    """The first tick of `deadline_cron` in `timezone` at or after `now` (as Dagster's).

    Raises:
        ValueError: The cron schedule or the time zone is not valid.
    """
    ticks = ticks_for(deadline_cron, get_zone(timezone), now)
    ordinal = ticks.ordinal_at_or_before(now)
    instant = ticks.instant(ordinal)
    return instant if instant == now else ticks.instant(ordinal + 1)


def evaluate_last_update_freshness(
    *,
    now: float,
    last_updated: float | None,
    lower_bound_delta_seconds: float,
    deadline_cron: str | None = None,
    timezone: str = "UTC",
) -> FreshnessEvaluation:
    """Whether an asset last updated at `last_updated` is fresh at `now`.

    Args:
        now: The evaluation time, POSIX seconds.
        last_updated: The asset's last update, POSIX seconds; None if it has never been
            updated.
        lower_bound_delta_seconds: How long before the deadline an update may be.
        deadline_cron: When updates are due; without it the deadline is `now`.
        timezone: The IANA zone `deadline_cron` is read in.

    Raises:
        ValueError: The cron schedule or the time zone is not valid.
    """
    tick = latest_cron_tick(deadline_cron, timezone, now) if deadline_cron else None
    deadline = tick if tick is not None else now
    lower_bound = deadline - lower_bound_delta_seconds
    passed = last_updated is not None and last_updated >= lower_bound
    fresh_until: float | None = None
    if passed:
        assert last_updated is not None
        fresh_until = (
            next_cron_tick(deadline_cron, timezone, now)
            if deadline_cron
            else last_updated + lower_bound_delta_seconds
        )
    allowed = seconds_in_words(now - lower_bound)
    if passed:
        assert last_updated is not None
        description = (
            f"Asset is currently fresh. The last update was "
            f"{seconds_in_words(now - last_updated)} ago, within the allowed time range of "
            f"{allowed}."
        )
    elif last_updated is None:
        description = "Asset has never been observed/materialized."
    else:
        description = (
            f"Asset is overdue for an update. The last update was "
            f"{seconds_in_words(now - last_updated)} ago, which is past the allowed distance "
            f"of {allowed} ago."
        )
    return FreshnessEvaluation(
        passed=passed,
        description=description,
        now=now,
        deadline=deadline,
        latest_cron_tick=tick,
        lower_bound=lower_bound,
        last_updated=last_updated,
        fresh_until=fresh_until,
        overdue_seconds=_overdue_seconds(
            now, last_updated, lower_bound_delta_seconds, deadline_cron, timezone
        )
        if not passed
        else None,
    )


def _overdue_seconds(
    now: float,
    last_updated: float | None,
    lower_bound_delta_seconds: float,
    deadline_cron: str | None,
    timezone: str,
) -> float | None:
    """Now minus the first deadline whose lower bound the last update was before."""
    if last_updated is None:
        return None
    stale_from = last_updated + lower_bound_delta_seconds
    if deadline_cron is None:
        return now - stale_from
    ticks = ticks_for(deadline_cron, get_zone(timezone), stale_from)
    # The first tick strictly after `stale_from`: at that tick the update is too old.
    return now - ticks.instant(ticks.ordinal_at_or_before(stale_from) + 1)


def expected_partition_key(
    partitions_def: TimeWindowPartitionsDefinition, deadline: float
) -> str | None:
    """The partition that should exist by `deadline`: the last one as of that time.

    None when the definition has no partition yet at `deadline`.
    """
    zone = get_zone(partitions_def.timezone)
    return partitions_def.get_last_partition_key(datetime.fromtimestamp(deadline, zone))


def evaluate_time_partition_freshness(
    *,
    now: float,
    deadline_cron: str,
    timezone: str,
    partitions_def: TimeWindowPartitionsDefinition,
    partition_updated: Callable[[str], bool],
    last_updated: float | None,
) -> FreshnessEvaluation:
    """Whether the partition due by the latest tick of `deadline_cron` has been updated.

    Args:
        now: The evaluation time, POSIX seconds.
        deadline_cron: When partitions are due.
        timezone: The IANA zone `deadline_cron` is read in.
        partitions_def: The asset's time partitions.
        partition_updated: Called with the expected partition key; returns whether that
            partition has a materialization (or an observation). Not called when no
            partition is due yet.
        last_updated: The asset's last update over all partitions, None if it has none.

    Raises:
        ValueError: The cron schedule or the time zone is not valid.
    """
    deadline = latest_cron_tick(deadline_cron, timezone, now)
    key = expected_partition_key(partitions_def, deadline)
    next_tick = next_cron_tick(deadline_cron, timezone, now)
    if key is None:
        # Dagster fails on an assertion here; no partition due means nothing is overdue.
        return FreshnessEvaluation(
            passed=True,
            description="Asset is currently fresh: no partition is due yet.",
            now=now,
            deadline=deadline,
            latest_cron_tick=deadline,
            lower_bound=None,
            last_updated=last_updated,
            fresh_until=next_tick,
            overdue_seconds=None,
        )
    passed = bool(partition_updated(key))
    if passed:
        description = (
            f"Asset is currently fresh, since partition {key} has been observed/materialized."
        )
    elif last_updated is None:
        description = (
            "The asset has never been observed/materialized. We currently expect partition "
            f"{key} to have arrived."
        )
    else:
        description = (
            f"Asset is overdue. We expected partition {key} to have arrived, and it has not."
        )
    return FreshnessEvaluation(
        passed=passed,
        description=description,
        now=now,
        deadline=deadline,
        latest_cron_tick=deadline,
        lower_bound=None,
        # Dagster reports the last update only when the expected partition is missing.
        last_updated=None if passed else last_updated,
        fresh_until=next_tick if passed else None,
        overdue_seconds=None if passed or last_updated is None else now - deadline,
        expected_partition_key=key,
    )


def seconds_in_words(delta: float) -> str:
    """``delta`` seconds as words: ``"1 day, 2 hours, 3 minutes, 4 seconds"`` (Dagster's form).

    Units that are zero are left out; zero is ``"0 seconds"``.
    """
    if delta == 0:
        return "0 seconds"
    parts = []
    remaining = int(abs(delta))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count > 1 else ''}")
    text = ", ".join(parts) or "0 seconds"
    return f"-{text}" if delta < 0 and parts else text
