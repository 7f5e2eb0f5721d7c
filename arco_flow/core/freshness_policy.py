"""`FreshnessPolicy`: how stale an asset may get, and the pure evaluation of it.

Pure: "now", the asset's last update and whether a partition was updated are arguments.

Dagster 1.13's API and semantics, as one value with two constructors:

- `FreshnessPolicy.time_window(fail_window=, warn_window=)`: the asset is ``PASS`` while its
  last update is younger than `warn_window` (or `fail_window` without one), ``WARN`` until it
  is `fail_window` old, then ``FAIL``; ``UNKNOWN`` before its first update.
- `FreshnessPolicy.cron(deadline_cron=, lower_bound_delta=, timezone=)`: the asset is
  ``PASS`` when its last update is at or after ``latest tick - lower_bound_delta`` (the
  latest *completed* tick, as Dagster), ``FAIL`` otherwise, ``UNKNOWN`` before its first
  update (the rule of `core.freshness.evaluate_last_update_freshness`).

Ours, on top of Dagster's:

- Partition-aware (time-window partitioned assets): the partition of the latest complete
  window must be materialized; a time-window policy measures the lag from the end of that
  window (``PASS`` once it is materialized), a cron policy expects the partition due by the
  latest tick (`core.freshness.evaluate_time_partition_freshness`).
- `remediate=True`: the daemon requests a run of the asset (at most one per overdue window)
  when it goes ``FAIL``, or already at ``WARN`` with ``remediate_on=FreshnessState.WARN``.
- Each evaluation says when the state can next change without a new update
  (`FreshnessPolicyEvaluation.next_change`), so the daemon recomputes only then or when an
  update arrives.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from arco_flow.core.errors import DefinitionError

if TYPE_CHECKING:
    from arco_flow.core.partitions import TimeWindowPartitionsDefinition

# The partitions package and the cron math load on first evaluation (or on a cron policy's
# validation): the manifest and `import arco_flow` name this module and stay light.

__all__ = [
    "MIN_WINDOW_SECONDS",
    "FreshnessPolicy",
    "FreshnessPolicyEvaluation",
    "FreshnessState",
    "evaluate_freshness_policy",
    "freshness_policy_from_data",
    "freshness_policy_to_data",
]

MIN_WINDOW_SECONDS = 60.0
"""Dagster's smallest fail, warn and lower-bound window: one minute."""


class FreshnessState(enum.Enum):
    """Where an asset stands against its freshness policy (Dagster's `FreshnessState`)."""

    PASS = "PASS"  # noqa: S105  # a state, not a password
    WARN = "WARN"
    FAIL = "FAIL"
    UNKNOWN = "UNKNOWN"
    """The asset has never been updated: its freshness cannot be told."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FreshnessPolicy:
    """How stale an asset may get. Build one with `time_window` or `cron` (as Dagster).

    Exactly one of `fail_window_seconds` (a time-window policy) and `deadline_cron` (a cron
    policy) is set.
    """

    fail_window_seconds: float | None = None
    """The maximum lag: older than this, the asset fails its policy."""
    warn_window_seconds: float | None = None
    """Older than this (and younger than the fail window), the asset is ``WARN``."""
    deadline_cron: str | None = None
    """When updates are due (cron policies)."""
    lower_bound_delta_seconds: float | None = None
    """How long before a deadline an update counts for it (cron policies)."""
    timezone: str = "UTC"
    """The IANA zone `deadline_cron` is read in."""
    remediate: bool = False
    """Ours: the daemon requests a run of the asset when it becomes overdue."""
    remediate_on: FreshnessState = FreshnessState.FAIL
    """``FAIL`` (default) or ``WARN``: the state that triggers remediation."""

    def __post_init__(self) -> None:
        problem = _policy_problem(self)
        if problem is not None:
            raise DefinitionError(f"FreshnessPolicy: {problem}")

    @staticmethod
    def time_window(
        fail_window: timedelta,
        warn_window: timedelta | None = None,
        *,
        remediate: bool = False,
        remediate_on: FreshnessState = FreshnessState.FAIL,
    ) -> FreshnessPolicy:
        """The asset must be updated at least every `fail_window`; warn after `warn_window`.

        Raises:
            DefinitionError: a window is under a minute, or `warn_window` is not shorter
                than `fail_window`.
        """
        return FreshnessPolicy(
            fail_window_seconds=_seconds(fail_window, "fail_window"),
            warn_window_seconds=None
            if warn_window is None
            else _seconds(warn_window, "warn_window"),
            remediate=remediate,
            remediate_on=remediate_on,
        )

    @staticmethod
    def cron(
        deadline_cron: str,
        lower_bound_delta: timedelta,
        timezone: str = "UTC",
        *,
        remediate: bool = False,
    ) -> FreshnessPolicy:
        """The asset must be updated in ``[tick - lower_bound_delta, tick]`` of each tick.

        Raises:
            DefinitionError: the cron string or time zone is not valid, or
                `lower_bound_delta` is under a minute or longer than the shortest interval
                between two ticks of `deadline_cron` (as Dagster: measured in UTC).
        """
        return FreshnessPolicy(
            deadline_cron=deadline_cron,
            lower_bound_delta_seconds=_seconds(lower_bound_delta, "lower_bound_delta"),
            timezone=timezone,
            remediate=remediate,
        )

    @property
    def fail_window(self) -> timedelta | None:
        """The fail window of a time-window policy."""
        return _delta(self.fail_window_seconds)

    @property
    def warn_window(self) -> timedelta | None:
        """The warn window, when there is one."""
        return _delta(self.warn_window_seconds)

    @property
    def lower_bound_delta(self) -> timedelta | None:
        """The lower bound of a cron policy."""
        return _delta(self.lower_bound_delta_seconds)


def _seconds(value: object, name: str) -> float:
    if not isinstance(value, timedelta):
        raise DefinitionError(
            f"FreshnessPolicy: {name} must be a datetime.timedelta, got {type(value).__name__}; "
            f"pass e.g. {name}=timedelta(hours=1)"
        )
    return value.total_seconds()


def _delta(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


def _policy_problem(policy: FreshnessPolicy) -> str | None:
    if (policy.fail_window_seconds is None) == (policy.deadline_cron is None):
        return (
            "set exactly one of a fail window and a deadline cron; build the policy with "
            "FreshnessPolicy.time_window(...) or FreshnessPolicy.cron(...)"
        )
    if policy.remediate_on not in (FreshnessState.FAIL, FreshnessState.WARN):
        return f"remediate_on must be FreshnessState.FAIL or WARN, got {policy.remediate_on}"
    if policy.fail_window_seconds is not None:
        return _window_problem(policy.fail_window_seconds, policy.warn_window_seconds)
    if policy.warn_window_seconds is not None:
        return "a cron policy has no warn window; use FreshnessPolicy.time_window for one"
    lower = policy.lower_bound_delta_seconds
    if lower is None or lower < MIN_WINDOW_SECONDS:
        return f"lower_bound_delta must be at least 1 minute, got {lower} seconds"
    assert policy.deadline_cron is not None
    from arco_flow.core.partitions._ticks import get_zone, ticks_for

    try:
        ticks_for(policy.deadline_cron, get_zone(policy.timezone), 0.0)
    except (ValueError, KeyError) as error:
        return (
            f"deadline_cron {policy.deadline_cron!r} in time zone {policy.timezone!r} is not "
            f"valid ({error}); use a five-field cron string and an IANA zone"
        )
    shortest = _shortest_cron_interval_seconds(policy.deadline_cron)
    if lower > shortest:
        return (
            f"lower_bound_delta ({timedelta(seconds=lower)}) is longer than the shortest "
            f"interval between two ticks of deadline_cron {policy.deadline_cron!r} "
            f"({timedelta(seconds=shortest)}), so one update could count for two deadlines; "
            f"give a lower_bound_delta of at most {timedelta(seconds=shortest)}"
        )
    return None


_SAMPLE_START = 946_684_800.0  # 2000-01-01 UTC: a fixed start keeps the check pure
_SAMPLE_TICKS = 1000
_SAMPLE_HORIZON_S = 20 * 366 * 86_400.0


@functools.cache
def _shortest_cron_interval_seconds(cron: str) -> float:
    """The shortest time between two consecutive ticks of `cron`, as Dagster measures it.

    Dagster (`get_smallest_cron_interval`) reads the cron in UTC, whatever the policy's
    zone, and samples at most 1,000 ticks over at most 20 years; so do we, from a fixed
    instant instead of a year before now. Cached: a manifest repeats its policies.
    """
    from arco_flow.core.partitions._ticks import get_zone, ticks_for

    ticks = ticks_for(cron, get_zone("UTC"), _SAMPLE_START)
    ordinal = ticks.ordinal_at_or_before(_SAMPLE_START)
    previous = ticks.instant(ordinal)
    shortest = float("inf")
    for _ in range(_SAMPLE_TICKS - 1):
        ordinal += 1
        current = ticks.instant(ordinal)
        if current > _SAMPLE_START + _SAMPLE_HORIZON_S:
            break
        shortest = min(shortest, current - previous)
        previous = current
    return shortest


def _window_problem(fail: float, warn: float | None) -> str | None:
    if fail < MIN_WINDOW_SECONDS:
        return f"fail_window must be at least 1 minute, got {fail} seconds"
    if warn is not None and warn < MIN_WINDOW_SECONDS:
        return f"warn_window must be at least 1 minute, got {warn} seconds"
    if warn is not None and warn >= fail:
        return f"warn_window ({warn} s) must be shorter than fail_window ({fail} s)"
    return None


# -- codec ------------------------------------------------------------------------------


def freshness_policy_to_data(policy: FreshnessPolicy) -> dict[str, Any]:
    """The policy as plain data (defaults left out, so fingerprints stay stable)."""
    data: dict[str, Any] = {}
    if policy.fail_window_seconds is not None:
        data["fail_window_seconds"] = policy.fail_window_seconds
    if policy.warn_window_seconds is not None:
        data["warn_window_seconds"] = policy.warn_window_seconds
    if policy.deadline_cron is not None:
        data["deadline_cron"] = policy.deadline_cron
        data["lower_bound_delta_seconds"] = policy.lower_bound_delta_seconds
        data["timezone"] = policy.timezone
    if policy.remediate:
        data["remediate"] = True
    if policy.remediate_on is not FreshnessState.FAIL:
        data["remediate_on"] = policy.remediate_on.value
    return data


def freshness_policy_from_data(data: Mapping[str, Any]) -> FreshnessPolicy:
    """Inverse of `freshness_policy_to_data`."""
    return FreshnessPolicy(
        fail_window_seconds=data.get("fail_window_seconds"),
        warn_window_seconds=data.get("warn_window_seconds"),
        deadline_cron=data.get("deadline_cron"),
        lower_bound_delta_seconds=data.get("lower_bound_delta_seconds"),
        timezone=data.get("timezone", "UTC"),
        remediate=bool(data.get("remediate", False)),
        remediate_on=FreshnessState(data.get("remediate_on", "FAIL")),
    )


# -- evaluation -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FreshnessPolicyEvaluation:
    """One evaluation of a policy at `now`."""

    state: FreshnessState
    now: float
    lag_seconds: float | None
    """How old the evidence is: now minus the last update, or (partitioned) minus the end
    of the latest complete window while its partition is missing; None when unknown."""
    deadline: float | None
    """When the asset fails (or failed): last update + fail window, a window's end + fail
    window, or the cron tick the policy looks at."""
    window_key: str | None
    """What the asset is overdue for, for remediation run keys: the expected partition, or
    the deadline as an integer; None when the asset is not overdue."""
    partition_key: str | None = None
    """The partition a partition-aware evaluation expected."""
    next_change: float | None = None
    """The earliest time the state can change without a new update; None: only an update."""
    description: str = ""

    @property
    def is_overdue(self) -> bool:
        """``WARN`` or ``FAIL``."""
        return self.state in (FreshnessState.WARN, FreshnessState.FAIL)


def evaluate_freshness_policy(
    policy: FreshnessPolicy,
    *,
    now: float,
    last_updated: float | None,
    partitions_def: TimeWindowPartitionsDefinition | None = None,
    partition_updated: Callable[[str], bool] | None = None,
) -> FreshnessPolicyEvaluation:
    """Evaluates `policy` at `now` (POSIX seconds).

    Args:
        policy: The asset's policy.
        now: The evaluation time.
        last_updated: The asset's last update over all partitions; None if never.
        partitions_def: The asset's time partitions: the evaluation is partition-aware.
        partition_updated: With `partitions_def`: whether a partition has an update.
    """
    if partitions_def is not None:
        updated = partition_updated or (lambda _key: False)
        if policy.deadline_cron is not None:
            return _cron_partitioned(policy, now, last_updated, partitions_def, updated)
        return _window_partitioned(policy, now, last_updated, partitions_def, updated)
    if last_updated is None:
        return FreshnessPolicyEvaluation(
            state=FreshnessState.UNKNOWN,
            now=now,
            lag_seconds=None,
            deadline=None,
            window_key=None,
            description="Asset has never been observed/materialized.",
        )
    if policy.deadline_cron is not None:
        return _cron(policy, now, last_updated)
    assert policy.fail_window_seconds is not None
    return _by_lag(policy, now, now - last_updated, last_updated, None, "the last update")


def _by_lag(
    policy: FreshnessPolicy,
    now: float,
    lag: float,
    since: float,
    partition_key: str | None,
    what: str,
) -> FreshnessPolicyEvaluation:
    """States of a time-window policy, for evidence `lag` seconds old (aged from `since`)."""
    from arco_flow.core.freshness import seconds_in_words

    fail = policy.fail_window_seconds
    assert fail is not None
    warn = policy.warn_window_seconds
    deadline = since + fail
    if lag >= fail:
        state, next_change = FreshnessState.FAIL, None
    elif warn is not None and lag >= warn:
        state, next_change = FreshnessState.WARN, deadline
    else:
        state = FreshnessState.PASS
        next_change = since + warn if warn is not None else deadline
    window_key = None
    if state is not FreshnessState.PASS:
        window_key = partition_key if partition_key is not None else str(int(deadline))
    return FreshnessPolicyEvaluation(
        state=state,
        now=now,
        lag_seconds=lag,
        deadline=deadline,
        window_key=window_key,
        partition_key=partition_key,
        next_change=next_change,
        description=(
            f"{state.value}: {what} is {seconds_in_words(lag)} old; the policy fails at "
            f"{seconds_in_words(fail)}"
            + (f" and warns at {seconds_in_words(warn)}." if warn is not None else ".")
        ),
    )


def _cron(policy: FreshnessPolicy, now: float, last_updated: float) -> FreshnessPolicyEvaluation:
    from arco_flow.core.freshness import evaluate_last_update_freshness

    assert policy.deadline_cron is not None
    assert policy.lower_bound_delta_seconds is not None
    result = evaluate_last_update_freshness(
        now=now,
        last_updated=last_updated,
        lower_bound_delta_seconds=policy.lower_bound_delta_seconds,
        deadline_cron=policy.deadline_cron,
        timezone=policy.timezone,
    )
    state = FreshnessState.PASS if result.passed else FreshnessState.FAIL
    return FreshnessPolicyEvaluation(
        state=state,
        now=now,
        lag_seconds=now - last_updated,
        deadline=result.deadline,
        window_key=None if result.passed else str(int(result.deadline)),
        next_change=result.fresh_until,
        description=result.description,
    )


def _window_partitioned(
    policy: FreshnessPolicy,
    now: float,
    last_updated: float | None,
    partitions_def: TimeWindowPartitionsDefinition,
    partition_updated: Callable[[str], bool],
) -> FreshnessPolicyEvaluation:
    from arco_flow.core.partitions._ticks import get_zone

    zone = get_zone(partitions_def.timezone)
    window = partitions_def.get_last_partition_window(datetime.fromtimestamp(now, zone))
    if window is None:
        first = partitions_def.get_first_partition_window(None)
        return FreshnessPolicyEvaluation(
            state=FreshnessState.PASS,
            now=now,
            lag_seconds=None,
            deadline=None,
            window_key=None,
            next_change=first.end.timestamp() if first is not None else None,
            description="PASS: no partition is complete yet.",
        )
    end = window.end.timestamp()
    key = partitions_def.get_partition_key_for_timestamp(window.start.timestamp())
    next_end = _next_window_end(partitions_def, end)
    fail = policy.fail_window_seconds
    assert fail is not None
    if partition_updated(key):
        warn = policy.warn_window_seconds
        return FreshnessPolicyEvaluation(
            state=FreshnessState.PASS,
            now=now,
            lag_seconds=0.0,
            deadline=next_end + fail,
            window_key=None,
            partition_key=key,
            # The next window completes missing; it can warn or fail only after that.
            next_change=next_end + (warn if warn is not None else fail),
            description=f"PASS: partition {key} of the latest complete window is materialized.",
        )
    found = _by_lag(policy, now, now - end, end, key, f"partition {key} (missing)")
    # When the next window completes the expected partition changes, and with it the state.
    change = next_end if found.next_change is None else min(found.next_change, next_end)
    if last_updated is None and found.state is FreshnessState.PASS:
        found = replace(found, description=f"PASS: partition {key} is due, within its window.")
    return replace(found, next_change=change)


def _cron_partitioned(
    policy: FreshnessPolicy,
    now: float,
    last_updated: float | None,
    partitions_def: TimeWindowPartitionsDefinition,
    partition_updated: Callable[[str], bool],
) -> FreshnessPolicyEvaluation:
    from arco_flow.core.freshness import evaluate_time_partition_freshness
    from arco_flow.core.partitions._ticks import get_zone, ticks_for

    assert policy.deadline_cron is not None
    result = evaluate_time_partition_freshness(
        now=now,
        deadline_cron=policy.deadline_cron,
        timezone=policy.timezone,
        partitions_def=partitions_def,
        partition_updated=partition_updated,
        last_updated=last_updated,
    )
    key = result.expected_partition_key
    next_tick = ticks_for(policy.deadline_cron, get_zone(policy.timezone), now)
    following = next_tick.instant(next_tick.ordinal_at_or_before(now) + 1)
    return FreshnessPolicyEvaluation(
        state=FreshnessState.PASS if result.passed else FreshnessState.FAIL,
        now=now,
        lag_seconds=None if result.passed else now - result.deadline,
        deadline=result.deadline,
        window_key=None if result.passed else (key or str(int(result.deadline))),
        partition_key=key,
        next_change=following,
        description=result.description,
    )


def _next_window_end(partitions_def: TimeWindowPartitionsDefinition, end: float) -> float:
    """The end of the window that starts at `end` (in range or not)."""
    key = partitions_def.get_partition_key_for_timestamp(end)
    return partitions_def.end_time_for_partition_key(key).timestamp()
