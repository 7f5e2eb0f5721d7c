"""Backfill policies: how a backfill splits an asset's partitions into runs.

Pure. `BackfillPolicy` has Dagster's names and meaning: a single-run policy backfills every
requested partition in one run (over a partition range), a multi-run policy in runs of at
most `max_partitions_per_run` partitions. `effective_backfill_policy` says what an asset
without a policy gets; the backfill planner reads only that.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from arco_flow.core.errors import DefinitionError

__all__ = [
    "BackfillPolicy",
    "BackfillPolicyType",
    "backfill_policy_from_data",
    "backfill_policy_to_data",
    "effective_backfill_policy",
]


class BackfillPolicyType(enum.Enum):
    """The two kinds of backfill policy."""

    SINGLE_RUN = "SINGLE_RUN"
    MULTI_RUN = "MULTI_RUN"


@dataclass(frozen=True, slots=True)
class BackfillPolicy:
    """How a backfill of an asset's partitions is split into runs (Dagster's `BackfillPolicy`).

    Build one with `BackfillPolicy.single_run()` or `BackfillPolicy.multi_run(n)`.
    """

    max_partitions_per_run: int | None = 1
    """The most partitions one run covers; None for a single run over every partition."""

    def __post_init__(self) -> None:
        value = self.max_partitions_per_run
        # bool is an int subclass: True would read as 1 and hide a mistake.
        if value is not None and (type(value) is not int or value < 1):
            raise DefinitionError(
                f"max_partitions_per_run must be a positive int (or None for a single run), "
                f"got {value!r}; use BackfillPolicy.multi_run(max_partitions_per_run=N) with "
                "N >= 1, or BackfillPolicy.single_run()"
            )

    @staticmethod
    def single_run() -> BackfillPolicy:
        """A policy that backfills every requested partition in one run."""
        return BackfillPolicy(max_partitions_per_run=None)

    @staticmethod
    def multi_run(max_partitions_per_run: int = 1) -> BackfillPolicy:
        """A policy that backfills in runs of at most `max_partitions_per_run` partitions.

        Args:
            max_partitions_per_run: The most partitions in each run; a positive int.

        Raises:
            DefinitionError: `max_partitions_per_run` is not a positive int.
        """
        if max_partitions_per_run is None:
            raise DefinitionError(
                "BackfillPolicy.multi_run() needs a positive max_partitions_per_run; for one "
                "run over every partition use BackfillPolicy.single_run()"
            )
        return BackfillPolicy(max_partitions_per_run=max_partitions_per_run)

    @property
    def policy_type(self) -> BackfillPolicyType:
        """`SINGLE_RUN` when there is no per-run maximum, else `MULTI_RUN`."""
        if self.max_partitions_per_run is None:
            return BackfillPolicyType.SINGLE_RUN
        return BackfillPolicyType.MULTI_RUN

    def __str__(self) -> str:
        if self.max_partitions_per_run is None:
            return "BackfillPolicy.single_run()"
        return f"BackfillPolicy.multi_run(max_partitions_per_run={self.max_partitions_per_run})"


def backfill_policy_to_data(policy: BackfillPolicy) -> dict[str, Any]:
    """The policy as plain data: ``{"max_partitions_per_run": n}`` (null for a single run)."""
    return {"max_partitions_per_run": policy.max_partitions_per_run}


def backfill_policy_from_data(data: Mapping[str, Any]) -> BackfillPolicy:
    """Inverse of `backfill_policy_to_data`."""
    return BackfillPolicy(max_partitions_per_run=data["max_partitions_per_run"])


def effective_backfill_policy(
    policy: BackfillPolicy | None, partitions_def: object | None
) -> BackfillPolicy:
    """The policy a backfill applies to an asset, its default filled in.

    Dagster 1.13 leaves ``AssetsDefinition.backfill_policy`` as None when it is not set, for
    every kind of partitions definition (time-window ones included), and its backfill
    daemon then launches one run per partition (`build_run_requests_with_backfill_policies`
    falls back to its single-partition path): that is ``multi_run(1)``. An unpartitioned
    asset is always backfilled in one run.

    Args:
        policy: The asset's own policy, if it has one.
        partitions_def: The asset's partitions definition, or None if it is unpartitioned.

    Returns:
        `policy` when set; else ``single_run()`` for an unpartitioned asset and
        ``multi_run(1)`` for a partitioned one.
    """
    if policy is not None:
        return policy
    if partitions_def is None:
        return BackfillPolicy.single_run()
    return BackfillPolicy.multi_run(1)
