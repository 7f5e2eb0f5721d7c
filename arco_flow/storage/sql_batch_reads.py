"""Reads of many assets' state at once, for the daemon's ticks over thousands of assets.

Each function answers for a whole collection of assets in a few queries (one per chunk of
`sql_projection.chunks` keys) where reading asset by asset would cost a round trip and a
query compilation per asset: the automation daemon's first tick reads 10,000 assets, and
a tick after a run that named 5,000 assets reads those 5,000 again.

`BatchStatusRows` holds the rows of many assets' partition status (materialized caches,
failures, active runs, newer latest materializations) and hands out one
`partition_status.StatusSource` per asset, so `asset_partition_status` decides each status
exactly as it does for a single asset.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from arco_flow.core.canonical_json import loads
from arco_flow.core.keys import AssetKey
from arco_flow.storage import schema
from arco_flow.storage import sql_queries as queries
from arco_flow.storage.partition_status import (
    ActiveRun,
    MaterializedCache,
    PartitionFailure,
    ranges_from_data,
)
from arco_flow.storage.projector import planned_partition
from arco_flow.storage.records import (
    ACTIVE_RUN_STATUSES,
    MaterializationRecord,
    RunRecord,
    RunsFilter,
)
from arco_flow.storage.rows import asset_key_from_column, materialization_from_row
from arco_flow.storage.sql_projection import CHUNK_SIZE, chunks
from arco_flow.storage.sql_queries import in_scope

__all__ = [
    "BatchStatusRows",
    "latest_runs_by_asset",
    "materializations_after",
]


def _by_position(after_event_ids: Mapping[AssetKey, int]) -> list[tuple[int, str]]:
    """(after, key text) pairs sorted by `after`, so a chunk's assets read similar spans."""
    return sorted((after, key.to_user_string()) for key, after in after_event_ids.items())


def materializations_after(
    connection: Connection,
    tenant_id: str,
    workspace_id: str,
    after_event_ids: Mapping[AssetKey, int],
) -> dict[AssetKey, list[MaterializationRecord]]:
    """Each asset's materializations after its own event id, oldest first.

    A chunk's query reads from the smallest event id of its assets; assets are chunked in
    the order of their ids, so one asset far behind costs only its own chunk.
    """
    history = schema.materializations
    found: dict[AssetKey, list[MaterializationRecord]] = {}
    for batch in chunks(_by_position(after_event_ids)):
        floor = {text: after for after, text in batch}
        query = (
            select(history)
            .where(
                in_scope(history, tenant_id, workspace_id),
                history.c.asset_key.in_(sorted(floor)),
                history.c.event_id > batch[0][0],
            )
            .order_by(history.c.event_id)
        )
        for row in connection.execute(query):
            if row.event_id > floor[row.asset_key]:
                record = materialization_from_row(row._mapping)
                found.setdefault(record.asset_key, []).append(record)
    return found


def latest_runs_by_asset(
    connection: Connection, tenant_id: str, workspace_id: str, asset_keys: Collection[AssetKey]
) -> dict[AssetKey, RunRecord]:
    """The newest run that planned or materialized each asset (assets with none left out)."""
    runs, run_assets = schema.runs, schema.run_assets
    newest: dict[str, str] = {}
    for batch in chunks(sorted({key.to_user_string() for key in asset_keys})):
        ranked = (
            select(
                run_assets.c.asset_key,
                runs.c.run_id,
                func.row_number()
                .over(partition_by=run_assets.c.asset_key, order_by=runs.c.created_event_id.desc())
                .label("rank"),
            )
            .join(
                runs,
                (runs.c.tenant_id == run_assets.c.tenant_id)
                & (runs.c.workspace_id == run_assets.c.workspace_id)
                & (runs.c.run_id == run_assets.c.run_id),
            )
            .where(in_scope(run_assets, tenant_id, workspace_id), run_assets.c.asset_key.in_(batch))
            .subquery()
        )
        query = select(ranked.c.asset_key, ranked.c.run_id).where(ranked.c.rank == 1)
        newest.update((str(text), str(run_id)) for text, run_id in connection.execute(query))
    by_id = _runs_by_id(connection, tenant_id, workspace_id, set(newest.values()))
    return {
        asset_key_from_column(text): by_id[run_id]
        for text, run_id in newest.items()
        if run_id in by_id
    }


def _runs_by_id(
    connection: Connection, tenant_id: str, workspace_id: str, run_ids: Collection[str]
) -> dict[str, RunRecord]:
    return {
        run.run_id: run
        for batch in chunks(sorted(run_ids))
        for run in queries.list_runs(connection, tenant_id, workspace_id, RunsFilter(run_ids=batch))
    }


class BatchStatusRows:
    """The partition-status rows of many assets, read in a few queries.

    Args:
        connection: A read transaction; every read happens in it.
        tenant_id: The tenant of the assets.
        workspace_id: The workspace of the assets.
        fingerprints: Each asset's `indexing_fingerprint` (which cache is valid).
    """

    def __init__(
        self,
        connection: Connection,
        tenant_id: str,
        workspace_id: str,
        fingerprints: Mapping[AssetKey, str],
    ) -> None:
        self._connection = connection
        self._scope = (tenant_id, workspace_id)
        texts = {key: key.to_user_string() for key in fingerprints}
        self._caches = self._read_caches(
            {texts[key]: fingerprint for key, fingerprint in fingerprints.items()}
        )
        self._failures = self._read_failures(list(texts.values()))
        self._active = self._read_active_runs(set(texts.values()))
        self._recent_floor = {
            key: cache.through_event_id if (cache := self.cached(key)) is not None else 0
            for key in fingerprints
        }
        self._recent = self._read_latest_since(self._recent_floor)
        self.pending: dict[AssetKey, MaterializedCache] = {}
        """Caches to keep once the reads are over."""

    def cached(self, key: AssetKey) -> MaterializedCache | None:
        """The asset's cache under its current fingerprint, if any."""
        return self._caches.get(key.to_user_string())

    def source(self, key: AssetKey, index_versions: Any) -> _BatchSource:
        """The `StatusSource` of one asset over these rows.

        Args:
            key: The asset.
            index_versions: ``dependencies -> versions`` (`StatusSource.index_versions`),
                shared by the batch since dynamic definitions are shared by assets.
        """
        return _BatchSource(self, key, index_versions)

    def latest_since(self, key: AssetKey, after_event_id: int) -> list[tuple[int, str]]:
        """See `StatusSource.latest_since`; outside the rows read, one query of the asset."""
        if after_event_id >= self._recent_floor[key]:
            return [row for row in self._recent.get(key, ()) if row[0] > after_event_id]
        return queries.latest_since(self._connection, *self._scope, key, after_event_id)

    def failures(self, key: AssetKey) -> list[PartitionFailure]:
        """The asset's final task failures over partitions."""
        return self._failures.get(key.to_user_string(), [])

    def active_runs(self, key: AssetKey) -> list[ActiveRun]:
        """The asset's active runs over partitions."""
        return self._active.get(key.to_user_string(), [])

    # -- reads -------------------------------------------------------------------------

    def _read_caches(self, fingerprints: Mapping[str, str]) -> dict[str, MaterializedCache]:
        table = schema.materialized_partitions_cache
        found: dict[str, MaterializedCache] = {}
        for batch in chunks(sorted(fingerprints)):
            query = select(
                table.c.asset_key,
                table.c.indexing_fingerprint,
                table.c.through_event_id,
                table.c.ranges,
            ).where(in_scope(table, *self._scope), table.c.asset_key.in_(batch))
            for text, fingerprint, through, ranges in self._connection.execute(query):
                if fingerprints[text] == fingerprint:
                    found[text] = MaterializedCache(
                        fingerprint=fingerprint,
                        through_event_id=int(through),
                        ranges=ranges_from_data(loads(ranges)),
                    )
        return found

    def _read_failures(self, texts: Sequence[str]) -> dict[str, list[PartitionFailure]]:
        table = schema.partition_failures
        found: dict[str, list[PartitionFailure]] = {}
        for batch in chunks(sorted(texts)):
            query = select(table).where(in_scope(table, *self._scope), table.c.asset_key.in_(batch))
            for row in self._connection.execute(query):
                failure = PartitionFailure(**row._asdict())
                found.setdefault(failure.asset_key, []).append(failure)
        return found

    def _read_active_runs(self, texts: Collection[str]) -> dict[str, list[ActiveRun]]:
        """Which active run plans which of the assets, and over which partitions.

        Active runs are few: the assets each plans are read first, then the plans of the
        runs that plan some of these assets alone (a plan names every task of its run).
        """
        runs, run_assets = schema.runs, schema.run_assets
        active = select(runs.c.run_id).where(
            in_scope(runs, *self._scope),
            runs.c.status.in_(sorted(status.value for status in ACTIVE_RUN_STATUSES)),
        )
        pairs = select(run_assets.c.run_id, run_assets.c.asset_key).where(
            in_scope(run_assets, *self._scope), run_assets.c.run_id.in_(active)
        )
        if len(texts) <= CHUNK_SIZE:  # a few assets: let the database filter them too
            pairs = pairs.where(run_assets.c.asset_key.in_(sorted(texts)))
        assets_of: dict[str, list[str]] = {}
        for run_id, text in self._connection.execute(pairs):
            if text in texts:
                assets_of.setdefault(run_id, []).append(text)
        found: dict[str, list[ActiveRun]] = {}
        for batch in chunks(sorted(assets_of)):
            plans = select(runs.c.run_id, runs.c.created_event_id, runs.c.plan).where(
                in_scope(runs, *self._scope), runs.c.run_id.in_(batch)
            )
            for run_id, created_event_id, plan in self._connection.execute(plans):
                partition = planned_partition(loads(plan))
                if partition is None:
                    continue
                run = ActiveRun(
                    created_event_id=int(created_event_id),
                    range_start=partition[0],
                    range_end=partition[1],
                )
                for text in assets_of[run_id]:
                    found.setdefault(text, []).append(run)
        return found

    def _read_latest_since(
        self, floors: Mapping[AssetKey, int]
    ) -> dict[AssetKey, list[tuple[int, str]]]:
        latest = schema.latest_materializations
        found: dict[AssetKey, list[tuple[int, str]]] = {}
        for batch in chunks(_by_position(floors)):
            floor = {text: after for after, text in batch}
            query = select(latest.c.asset_key, latest.c.event_id, latest.c.partition_key).where(
                in_scope(latest, *self._scope),
                latest.c.asset_key.in_(sorted(floor)),
                latest.c.event_id > batch[0][0],
            )
            for text, event_id, partition_key in self._connection.execute(query):
                if event_id > floor[text]:
                    key = asset_key_from_column(text)
                    found.setdefault(key, []).append((int(event_id), partition_key))
        return found


class _BatchSource:
    """One asset's `StatusSource` over a `BatchStatusRows`."""

    def __init__(self, rows: BatchStatusRows, key: AssetKey, index_versions: Any) -> None:
        self._rows, self._key, self._index_versions = rows, key, index_versions

    def index_versions(self, dependencies: Sequence[tuple[str, bool]]) -> list[int]:
        return list(self._index_versions(dependencies))

    def cached(self, fingerprint: str) -> MaterializedCache | None:
        cache = self._rows.cached(self._key)
        return cache if cache is not None and cache.fingerprint == fingerprint else None

    def store_cache(self, cache: MaterializedCache) -> None:
        self._rows.pending[self._key] = cache

    def latest_since(self, after_event_id: int) -> list[tuple[int, str]]:
        return self._rows.latest_since(self._key, after_event_id)

    def failures(self) -> list[PartitionFailure]:
        return self._rows.failures(self._key)

    def active_runs(self) -> list[ActiveRun]:
        return self._rows.active_runs(self._key)
