"""What the evaluator reads each tick: the state of every asset, and what changed.

Pure data. The daemon builds a `GraphState` from its store before each tick (statuses as
`PartitionsSubset`s, or a bool for an unpartitioned asset) and names the assets whose
state changed since the previous tick; the evaluator trusts that list to skip the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import DynamicPartitionsStore, PartitionsSubset

__all__ = ["AssetState", "GraphState", "MaterializationUpdate", "Status"]

Status = PartitionsSubset | bool
"""Some partitions of a partitioned asset, or whether an unpartitioned asset is concerned."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MaterializationUpdate:
    """Materializations of one asset recorded by one event (or one run's batch)."""

    event_id: int
    """The storage id of the event; the cursor remembers the largest one seen per asset."""
    timestamp: float
    """When it was recorded (POSIX seconds); orders an update against a cron tick."""
    partitions: Status = True
    """What was materialized."""
    run_asset_keys: frozenset[AssetKey] = frozenset()
    """The assets the producing run targeted (for `executed_with_root_target`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetState:
    """One asset's state at a tick."""

    materialized: Status = False
    """What has been materialized at least once."""
    run_in_progress: Status = False
    """What an in-progress run targets and has not executed yet."""
    backfill_in_progress: Status = False
    """What an in-progress backfill targets and has not executed yet."""
    execution_failed: Status = False
    """What the latest run to target it failed to materialize."""
    updates: tuple[MaterializationUpdate, ...] = ()
    """Recent materializations, at least every one after the cursor's event id for this
    asset; older ones are ignored, so the daemon may hand in a window that overlaps."""

    @property
    def latest_event_id(self) -> int | None:
        """The largest event id among `updates`."""
        return max((update.event_id for update in self.updates), default=None)


_NOTHING = AssetState()


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphState:
    """The state of every asset at a tick, and which assets changed since the last one."""

    assets: Mapping[AssetKey, AssetState] = field(default_factory=dict)
    """Per asset; an asset left out was never materialized and has nothing in progress."""
    changed: frozenset[AssetKey] | None = None
    """The assets whose entry differs from the previous tick's, or that have new updates,
    or whose dynamic partitions changed; None: unknown, so every asset is evaluated."""
    dynamic_partitions_store: DynamicPartitionsStore | None = None
    """Where the keys of dynamic partitions definitions are read."""

    def get(self, key: AssetKey) -> AssetState:
        """The state of `key` (nothing materialized, nothing in progress if unknown)."""
        return self.assets.get(key, _NOTHING)
