"""Partition status: which partitions of an asset are materialized, failed, in progress, missing.

Pure, shared by every backend: a backend loads the rows (its cache of the materialized
ranges, the asset's failures, its active runs, the latest materializations newer than the
oldest of those) and these functions turn them into subsets of one resolved definition.
Every set is a range set of indices (`PartitionsSubset`), never a list of keys.

The four subsets are disjoint and, as in Dagster's partition health view, a partition in
several of them shows the strongest status: in progress, then failed, then materialized
(Dagster's ``PARTITION_RANGE_STATUS_PRIORITY``). So:

- materialized: has a materialization, and is neither failed nor in progress;
- failed: its latest final task failure (a `TaskFailed` with no retry, of a task whose run's
  plan covers the partition) is newer than its latest materialization;
- in progress: a QUEUED, STARTED or CANCELING run plans it and has not materialized it yet;
- missing: every other partition that exists at the current time.

The materialized subset only grows, so a backend keeps it as a cache (`MaterializedCache`)
brought up to date on read from the materializations newer than it. Cached ranges are
indices, which mean the same keys only under the same definition, so the cache carries
`indexing_fingerprint`: the definition's data and, for a dynamic definition, the change to
its key list after which old indices would name other keys.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from arco_flow.core.canonical_json import fingerprint
from arco_flow.core.errors import PartitionError
from arco_flow.core.partitions import (
    DynamicPartitionsDefinition,
    KeySpace,
    MultiPartitionsDefinition,
    PartitionKeyRange,
    PartitionsDefinition,
    PartitionsSubset,
    partitions_def_to_data,
)

__all__ = [
    "ActiveRun",
    "AssetPartitionStatus",
    "MaterializedCache",
    "PartitionFailure",
    "StatusSource",
    "asset_partition_status",
    "dynamic_dependencies",
    "extend_materialized",
    "indexing_fingerprint",
    "partition_status",
    "ranges_from_data",
    "ranges_of_keys",
    "ranges_to_data",
]

Ranges: TypeAlias = tuple[tuple[int, int], ...]
"""Sorted, disjoint half-open index ranges, as `PartitionsSubset.ranges` holds them."""


@dataclass(frozen=True, slots=True)
class AssetPartitionStatus:
    """The status of every partition of an asset, as four disjoint subsets.

    See the module docstring for what each status means and which one wins.
    """

    materialized: PartitionsSubset
    failed: PartitionsSubset
    in_progress: PartitionsSubset
    missing: PartitionsSubset

    @property
    def num_materialized(self) -> int:
        """How many partitions are materialized (and not failed or in progress since)."""
        return len(self.materialized)

    @property
    def num_failed(self) -> int:
        """How many partitions failed after their latest materialization."""
        return len(self.failed)

    @property
    def num_in_progress(self) -> int:
        """How many partitions an active run is materializing."""
        return len(self.in_progress)

    @property
    def num_missing(self) -> int:
        """How many partitions have no status yet."""
        return len(self.missing)

    @property
    def num_partitions(self) -> int:
        """How many partitions exist at the time the status was taken."""
        return self.num_materialized + self.num_failed + self.num_in_progress + self.num_missing


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionFailure:
    """A final task failure, for one asset of the task, over the partitions its run planned.

    One row per (asset, run, task); a later final failure of the same task replaces it.
    """

    tenant_id: str
    workspace_id: str
    asset_key: str
    """The asset key's user string (``a/b``)."""
    run_id: str
    task_id: str
    range_start: str
    """The first partition key the run planned (the key itself for a one-key run)."""
    range_end: str
    """The last partition key the run planned, included."""
    event_id: int
    """The `TaskFailed` event."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveRun:
    """A QUEUED, STARTED or CANCELING run that plans an asset, over its partitions."""

    created_event_id: int
    range_start: str
    range_end: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MaterializedCache:
    """An asset's materialized partitions as index ranges, current through an event."""

    fingerprint: str
    """The `indexing_fingerprint` the ranges are indices of."""
    through_event_id: int
    """Every materialization up to this event id is in `ranges`."""
    ranges: Ranges


def dynamic_dependencies(partitions_def: PartitionsDefinition) -> list[tuple[str, bool]]:
    """The dynamic definitions whose key lists index `partitions_def`, by name.

    Returns:
        ``(name, any_change)`` pairs: for a dynamic definition itself only a deletion moves
        the indices of the keys after it (``any_change`` False); as a dimension of a
        multi-partitions definition any change does, since the row length changes.
    """
    if isinstance(partitions_def, DynamicPartitionsDefinition):
        return [(partitions_def.name, False)]
    if isinstance(partitions_def, MultiPartitionsDefinition):
        return [
            (dimension.partitions_def.name, True)
            for dimension in partitions_def.partitions_defs
            if isinstance(dimension.partitions_def, DynamicPartitionsDefinition)
        ]
    return []


def indexing_fingerprint(partitions_def: PartitionsDefinition, versions: Sequence[int]) -> str:
    """What a cached index range depends on: the definition, and its dynamic key lists.

    Args:
        partitions_def: The definition.
        versions: For each of `dynamic_dependencies(partitions_def)`, the event id of the
            last change that moved indices (0 when none).
    """
    try:
        return _fingerprint_of(partitions_def, tuple(versions))
    except TypeError:  # a definition that cannot be hashed: computed each time
        return _fingerprint_data(partitions_def, tuple(versions))


def _fingerprint_data(partitions_def: PartitionsDefinition, versions: tuple[int, ...]) -> str:
    return fingerprint({"def": partitions_def_to_data(partitions_def), "dynamic": list(versions)})


_fingerprint_of = functools.lru_cache(maxsize=1024)(_fingerprint_data)
"""Memoized: a batch of thousands of assets shares a handful of definitions."""


def ranges_to_data(ranges: Ranges) -> list[int]:
    """A range set as a flat list ``[start, stop, start, stop, ...]`` for a JSON column."""
    return [bound for pair in ranges for bound in pair]


def ranges_from_data(data: Sequence[int]) -> Ranges:
    """Inverse of `ranges_to_data`."""
    return tuple(zip(data[::2], data[1::2], strict=True))


def ranges_of_keys(space: KeySpace, keys: Iterable[str]) -> Ranges:
    """The indices of `keys` in `space`, skipping keys the definition does not have.

    A materialization or failure may name a key the definition no longer has (a deleted
    dynamic key, a changed static list): as Dagster, such keys have no status.
    """
    listed = [key for key in keys if key]
    try:
        return space.ranges_of(listed, existing=False)
    except PartitionError:
        indices: list[int] = []
        for key in listed:
            try:
                indices.append(space.index_of(key, existing=False))
            except PartitionError:
                continue
        return _from_indices(space, indices)


def _from_indices(space: KeySpace, indices: Iterable[int]) -> Ranges:
    return PartitionsSubset.from_ranges(space, ((index, index + 1) for index in indices)).ranges


def extend_materialized(space: KeySpace, cached: Ranges, new_keys: Iterable[str]) -> Ranges:
    """`cached` plus the indices of partitions materialized since (the subset only grows)."""
    added = PartitionsSubset(space, ranges_of_keys(space, new_keys))
    return (PartitionsSubset(space, cached) | added).ranges


def _span(space: KeySpace, start: str, end: str) -> Ranges:
    """The indices from key `start` to key `end`, both included; empty if either is unknown."""
    try:
        return space.ranges_for_key_range(PartitionKeyRange(start, end), existing=False)
    except PartitionError:
        return ()


def partition_status(
    space: KeySpace,
    materialized: Ranges,
    failures: Sequence[PartitionFailure],
    active_runs: Sequence[ActiveRun],
    newer: Sequence[tuple[int, str]],
) -> AssetPartitionStatus:
    """The status of every partition of `space`.

    Args:
        space: The asset's definition resolved for "now" (which partitions exist).
        materialized: Indices of every partition ever materialized.
        failures: The asset's final task failures.
        active_runs: The asset's active runs.
        newer: ``(event_id, partition_key)`` of each partition's latest materialization,
            for at least every one newer than the oldest failure or active run.

    Returns:
        Four disjoint subsets of `space` (in progress, then failed, then materialized win).
    """
    existing = PartitionsSubset(space, space.all_ranges())
    latest = _LatestMaterializations(space, newer)
    failed = latest.not_materialized_since(
        [(f.event_id, f.range_start, f.range_end) for f in failures]
    )
    in_progress = latest.not_materialized_since(
        [(run.created_event_id, run.range_start, run.range_end) for run in active_runs]
    )
    in_progress = in_progress & existing
    failed = (failed & existing) - in_progress
    done = (PartitionsSubset(space, materialized) & existing) - failed - in_progress
    missing = existing - done - failed - in_progress
    return AssetPartitionStatus(
        materialized=done, failed=failed, in_progress=in_progress, missing=missing
    )


class _LatestMaterializations:
    """Each partition's latest materialization, to ask what was materialized after an event."""

    def __init__(self, space: KeySpace, newer: Sequence[tuple[int, str]]) -> None:
        self.space = space
        ordered = sorted(newer, reverse=True)
        self._negated_ids = [-event_id for event_id, _ in ordered]  # ascending, for bisect
        self._indices = _indices(space, [key for _, key in ordered])
        self._by_index: dict[int, int] = {}
        for (event_id, _), index in zip(ordered, self._indices, strict=True):
            if index is not None:
                self._by_index.setdefault(index, event_id)  # newest first: the first wins

    def not_materialized_since(self, spans: Sequence[tuple[int, str, str]]) -> PartitionsSubset:
        """The partitions of each ``(event_id, start, end)`` span not materialized after it.

        The rows given must hold every latest materialization newer than the spans' events.
        """
        out: list[tuple[int, int]] = []
        for event_id, start, end in spans:
            span = _span(self.space, start, end)
            if not span:
                continue
            if len(span) == 1 and span[0][1] - span[0][0] == 1:
                if self._by_index.get(span[0][0], 0) < event_id:
                    out.append(span[0])
                continue
            # The latest materializations newer than the event: a prefix of the list.
            newer_count = bisect.bisect_left(self._negated_ids, -event_id)
            if newer_count:
                low, high = span[0][0], span[-1][1]
                since = _from_indices(
                    self.space,
                    (
                        index
                        for index in self._indices[:newer_count]
                        if index is not None and low <= index < high
                    ),
                )
                span = (
                    PartitionsSubset(self.space, span) - PartitionsSubset(self.space, since)
                ).ranges
            out.extend(span)
        return PartitionsSubset.from_ranges(self.space, out)


def _indices(space: KeySpace, keys: Sequence[str]) -> list[int | None]:
    """The index of each key, None for one the definition does not have."""
    found: list[int | None] = []
    for key in keys:
        try:
            found.append(space.index_of(key, existing=False))
        except PartitionError:
            found.append(None)
    return found


class StatusSource(Protocol):
    """What a backend reads (and caches) for the status of one asset in one workspace."""

    def index_versions(self, dependencies: Sequence[tuple[str, bool]]) -> list[int]:
        """The event id of the last change that moved indices of each dynamic definition.

        One per ``(name, any_change)`` of `dynamic_dependencies`: the last change to its
        keys when `any_change`, else its last deletion (0 when none).
        """
        ...

    def cached(self, fingerprint: str) -> MaterializedCache | None:
        """The asset's materialized cache under `fingerprint`, if any."""
        ...

    def store_cache(self, cache: MaterializedCache) -> None:
        """Keeps `cache` unless a cache at least as recent is already kept."""
        ...

    def latest_since(self, after_event_id: int) -> list[tuple[int, str]]:
        """``(event_id, partition_key)`` of materializations after `after_event_id`.

        At least each partition's latest one, when it is newer ("" for unpartitioned).
        """
        ...

    def failures(self) -> list[PartitionFailure]:
        """The asset's final task failures over partitions."""
        ...

    def active_runs(self) -> list[ActiveRun]:
        """The QUEUED, STARTED and CANCELING runs that plan the asset for partitions."""
        ...


def asset_partition_status(space: KeySpace, source: StatusSource) -> AssetPartitionStatus:
    """The status of an asset's partitions, bringing its materialized cache up to date.

    Args:
        space: The asset's partitions definition, resolved for "now".
        source: The backend's rows for the asset.
    """
    definition = space.partitions_def
    fingerprint = indexing_fingerprint(
        definition, source.index_versions(dynamic_dependencies(definition))
    )
    cache = source.cached(fingerprint)
    through = cache.through_event_id if cache is not None else 0
    materialized = cache.ranges if cache is not None else ()
    recent = source.latest_since(through)
    if recent:
        materialized = extend_materialized(space, materialized, [key for _, key in recent])
        source.store_cache(
            MaterializedCache(
                fingerprint=fingerprint,
                through_event_id=max(event_id for event_id, _ in recent),
                ranges=materialized,
            )
        )
    failures, runs = source.failures(), source.active_runs()
    starts = [f.event_id for f in failures] + [run.created_event_id for run in runs]
    newer: list[tuple[int, str]] = []
    if starts:
        oldest = min(starts)
        if oldest >= through:  # the rows read for the cache hold every newer one
            newer = [row for row in recent if row[0] > oldest]
        else:
            newer = source.latest_since(oldest)
    return partition_status(space, materialized, failures, runs, newer)
