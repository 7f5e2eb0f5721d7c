"""Each asset's automation evaluation records, split out of the automation ticks on query.

The automation daemon records a tick as one `TickStarted` on the ``instigator:automation``
stream whose `cursor_after` is the tick's whole cursor change (`cursor_change_to_data`):
megabytes for a tick that evaluated thousands of assets. The append is on the path from
an event to its run request, so it does not decode that change. This projection is filled
lazily instead: a query folds the ticks it needs (`evaluation_history`), one row per
evaluated asset (`evaluation_rows`), writes the rows and the range of ticks they cover
(`FoldedRange`) in one transaction, then answers from the rows of the one asset.

Invariant: for every workspace, the rows hold exactly the evaluations of the ticks in its
kept range, which only grows. The rows derive from the immutable log alone, so emptying
them (`rebuild_projections`) loses nothing: the next query folds the stream again. Like
the materialized partitions cache, they are a derived value that `verify` does not compare.

A row keeps the tick's change reduced to its asset (the asset's entry as written, without
its node states, and its partitions definition), so records of every format the core codec
reads stay readable: `evaluations_from_change` decodes them. The asset's condition, which
thousands of assets share and which is larger than the rest of a row, is kept once per
workspace by its fingerprint (`EvaluationRow.condition_fingerprint`) and spliced back in
on reading (`record_from_row`).

Pure, except `InMemoryAutomationEvaluations`, the memory store's rows (no I/O either).
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from typing import TYPE_CHECKING, Any, Protocol

from arco_flow.core.errors import StoreError
from arco_flow.core.events import EventRecord, TickStarted
from arco_flow.core.keys import AssetKey
from arco_flow.storage.instigator_projection import instigator_stream

if TYPE_CHECKING:
    from arco_flow.core.automation import EvaluationRecord

__all__ = [
    "AUTOMATION_STREAM",
    "TICKS_PER_FOLD",
    "TICK_EVENT_TYPES",
    "EvaluationRow",
    "EvaluationRowStore",
    "FoldedRange",
    "InMemoryAutomationEvaluations",
    "evaluation_history",
    "evaluation_rows",
    "record_from_row",
]

AUTOMATION_STREAM = instigator_stream("automation")
"""The stream the daemon records automation ticks on (`AUTOMATION_INSTIGATOR`'s)."""
TICK_EVENT_TYPES = (TickStarted.EVENT_TYPE,)
"""The events of the stream that carry evaluations; a fold decodes no other."""
TICKS_PER_FOLD = 4
"""Ticks decoded, then written in one transaction: up to ~20,000 rows hold the write lock."""

# A row is a cursor change holding one asset, written by hand, less its condition: the
# tick's partitions definitions are encoded once, not once per asset, and `record_from_row`
# puts the condition (kept once by fingerprint) where `_CONDITION` stands.
_ROW = (
    '{{"evaluation_id":{evaluation_id},"evaluation_timestamp":{timestamp},'
    '"conditions":[{condition}],"partitions":[{partitions}],"assets":[{asset}]}}'
)
_CONDITION = "@condition@"
"""What a row holds in place of its condition (never valid JSON, so never a real one)."""
_COMPACT = (",", ":")


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationRow:
    """One asset's evaluation on one recorded tick, as the projection keeps it."""

    asset_key: AssetKey
    evaluation_id: int
    timestamp: float
    """When the tick evaluated (POSIX seconds; 0.0 when the tick recorded none)."""
    num_requested: int
    """Partitions requested (1 or 0 for an unpartitioned asset)."""
    record: str
    """The tick's change reduced to this asset, less its condition (see `record_from_row`)."""
    condition_fingerprint: str
    """SHA-256 of `condition`: the key it is kept under, once per workspace."""
    condition: str
    """The asset's condition in its data form, as JSON."""


def evaluation_rows(records: Iterable[EventRecord]) -> list[EvaluationRow]:
    """The rows of the automation ticks among `records`, in their order.

    Raises:
        StoreError: a tick holds a cursor change this version cannot read.
    """
    rows: list[EvaluationRow] = []
    for record in records:
        event = record.event
        if not isinstance(event, TickStarted) or not event.cursor_after:
            continue
        try:
            rows.extend(_change_rows(json.loads(event.cursor_after)))
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise StoreError(
                f"the automation tick {event.tick_id!r} (event {record.event_id} of stream "
                f"{record.stream!r}) holds a cursor change this version cannot read "
                f"({error!r}): upgrade Arco Flow to read its evaluation records"
            ) from error
    return rows


def _change_rows(change: Mapping[str, Any]) -> list[EvaluationRow]:
    evaluation_id = int(change["evaluation_id"])
    timestamp = float(change["evaluation_timestamp"] or 0.0)
    written_time = json.dumps(change["evaluation_timestamp"])
    conditions = [json.dumps(data, separators=_COMPACT) for data in change["conditions"]]
    fingerprints = [hashlib.sha256(text.encode("utf-8")).hexdigest() for text in conditions]
    partitions = [json.dumps(data, separators=_COMPACT) for data in change["partitions"]]
    rows = []
    for entry in change["assets"]:
        # Every other field stays as written, whichever format the codec wrote it in.
        own = {name: value for name, value in entry.items() if name != "node_states"}
        own["condition"] = 0
        if entry["partitions"] is not None:
            own["partitions"] = 0
        text = _ROW.format(
            evaluation_id=evaluation_id,
            timestamp=written_time,
            condition=_CONDITION,
            partitions="" if entry["partitions"] is None else partitions[entry["partitions"]],
            asset=json.dumps(own, separators=_COMPACT),
        )
        rows.append(
            EvaluationRow(
                asset_key=AssetKey(entry["key"]),
                evaluation_id=evaluation_id,
                timestamp=timestamp,
                num_requested=_count(entry["requested"]),
                record=text,
                condition_fingerprint=fingerprints[entry["condition"]],
                condition=conditions[entry["condition"]],
            )
        )
    return rows


def _count(status: Any) -> int:
    """Partitions in a written status: a bool, or ``[[start, stop], ...]`` index ranges."""
    if isinstance(status, bool):
        return int(status)
    return sum(stop - start for start, stop in status)


def record_from_row(record: str, condition: str) -> EvaluationRecord:
    """The evaluation record a row keeps (its `EvaluationRow.record` and `condition` texts).

    Raises:
        StoreError: the text is not a row this version wrote.
    """
    # The automation core loads only when records are read: opening a store stays as fast.
    from arco_flow.core.automation import evaluations_from_change

    try:
        [found] = evaluations_from_change(json.loads(record.replace(_CONDITION, condition, 1)))
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise StoreError(
            f"an automation evaluation row is malformed ({error!r}): run "
            "`rebuild_projections` to fold the automation ticks again"
        ) from error
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class FoldedRange:
    """The ticks of a workspace's automation stream whose rows are kept."""

    low: int
    """The first sequence folded: 1 once every tick up to `high` is."""
    high: int
    """The last sequence folded."""


class EvaluationRowStore(Protocol):
    """One workspace's evaluation rows and automation ticks, as a backend keeps them."""

    def folded(self) -> FoldedRange | None:
        """The range whose rows are kept (None: none yet)."""
        ...

    def head(self) -> int:
        """The sequence of the newest tick of the stream (0: none)."""
        ...

    def ticks_after(self, sequence: int, limit: int) -> Sequence[EventRecord]:
        """At most `limit` ticks (`TICK_EVENT_TYPES`) after `sequence`, oldest first."""
        ...

    def ticks_before(self, sequence: int, limit: int) -> Sequence[EventRecord]:
        """At most `limit` ticks before `sequence`, newest first."""
        ...

    def write(
        self, rows: Sequence[EvaluationRow], expected: FoldedRange | None, folded: FoldedRange
    ) -> FoldedRange | None:
        """Keeps `rows` and the range `folded` at once, if the kept range is `expected`.

        Returns:
            The range kept now: `folded`, or the one found instead (the rows not kept).
        """
        ...

    def count(self, asset_key: AssetKey, before_evaluation_id: int | None, at_most: int) -> int:
        """How many of the asset's rows are older than `before_evaluation_id`, up to `at_most`."""
        ...

    def page(
        self, asset_key: AssetKey, limit: int | None, before_evaluation_id: int | None
    ) -> list[tuple[str, str]]:
        """The asset's rows newest first, as `evaluation_history` pages them.

        Returns:
            ``(record, condition)`` texts of each row (`record_from_row` reads them).
        """
        ...


def evaluation_history(
    store: EvaluationRowStore,
    asset_key: AssetKey,
    *,
    limit: int | None,
    before_evaluation_id: int | None,
) -> list[EvaluationRecord]:
    """An asset's evaluation records, newest first, folding only the ticks they need.

    The kept range grows both ways, `TICKS_PER_FOLD` ticks a write: forward over every tick
    recorded since (so newer records are never missed), then backward from the oldest kept
    tick only while the page is short of `limit` (all the way for no limit). The first query
    of a long stream thus decodes its newest ticks, not all of them. Pages stay exact
    because evaluation ids grow along the stream: an unfolded older tick has a smaller id
    than every kept row.

    Args:
        store: The backend's rows and ticks of one workspace.
        asset_key: The asset.
        limit: At most this many records.
        before_evaluation_id: Only records of evaluations older than this one.

    Raises:
        StoreError: a tick holds a cursor change this version cannot read.
    """
    kept = store.folded()
    folded = kept or _empty_at(store.head())
    while True:
        ticks = store.ticks_after(folded.high, TICKS_PER_FOLD)
        if ticks:
            target = replace(folded, high=ticks[-1].stream_sequence)
        elif folded.low > 1 and (
            limit is None or store.count(asset_key, before_evaluation_id, limit) < limit
        ):
            ticks = store.ticks_before(folded.low, TICKS_PER_FOLD)
            low = ticks[-1].stream_sequence if len(ticks) == TICKS_PER_FOLD else 1
            target = replace(folded, low=low)
        else:
            break
        kept = store.write(evaluation_rows(ticks), kept, target)
        folded = kept or _empty_at(store.head())  # None: a rebuild emptied the rows
    page = store.page(asset_key, limit, before_evaluation_id)
    return [record_from_row(record, condition) for record, condition in page]


def _empty_at(head: int) -> FoldedRange:
    return FoldedRange(low=head + 1, high=head)


def _sequence(record: EventRecord) -> int:
    return record.stream_sequence


class _MemoryRows:
    """`EvaluationRowStore` over one workspace's rows in memory."""

    def __init__(self, read_stream: Callable[[], Sequence[EventRecord]]) -> None:
        self.read_ticks = read_stream
        self.range: FoldedRange | None = None
        self.evaluation_ids: dict[AssetKey, list[int]] = {}
        self.records: dict[AssetKey, list[tuple[str, str]]] = {}
        """Per asset, in evaluation id order (side by side with `evaluation_ids`): each
        record and its condition's fingerprint."""
        self.conditions: dict[str, str] = {}
        """Each condition once, by fingerprint."""

    def _ticks(self, records: Iterable[EventRecord], limit: int) -> list[EventRecord]:
        ticks = (r for r in records if r.event.EVENT_TYPE in TICK_EVENT_TYPES)
        return list(islice(ticks, limit))

    def folded(self) -> FoldedRange | None:
        return self.range

    def head(self) -> int:
        newest = self._ticks(reversed(self.read_ticks()), 1)
        return newest[0].stream_sequence if newest else 0

    def ticks_after(self, sequence: int, limit: int) -> Sequence[EventRecord]:
        records = self.read_ticks()
        start = bisect.bisect_right(records, sequence, key=_sequence)
        return self._ticks(islice(records, start, None), limit)

    def ticks_before(self, sequence: int, limit: int) -> Sequence[EventRecord]:
        records = self.read_ticks()
        end = bisect.bisect_left(records, sequence, key=_sequence)
        return self._ticks(reversed(records[:end]), limit)

    def write(
        self, rows: Sequence[EvaluationRow], expected: FoldedRange | None, folded: FoldedRange
    ) -> FoldedRange | None:
        if self.range != expected:
            return self.range
        for row in rows:
            ids = self.evaluation_ids.setdefault(row.asset_key, [])
            at = bisect.bisect_left(ids, row.evaluation_id)
            if at < len(ids) and ids[at] == row.evaluation_id:
                continue  # a tick id is recorded once per stream: the same tick again
            ids.insert(at, row.evaluation_id)
            kept = (row.record, row.condition_fingerprint)
            self.records.setdefault(row.asset_key, []).insert(at, kept)
            self.conditions.setdefault(row.condition_fingerprint, row.condition)
        self.range = folded
        return folded

    def _end(self, asset_key: AssetKey, before_evaluation_id: int | None) -> int:
        ids = self.evaluation_ids.get(asset_key, [])
        if before_evaluation_id is None:
            return len(ids)
        return bisect.bisect_left(ids, before_evaluation_id)

    def count(self, asset_key: AssetKey, before_evaluation_id: int | None, at_most: int) -> int:
        return min(self._end(asset_key, before_evaluation_id), at_most)

    def page(
        self, asset_key: AssetKey, limit: int | None, before_evaluation_id: int | None
    ) -> list[tuple[str, str]]:
        end = self._end(asset_key, before_evaluation_id)
        start = 0 if limit is None else max(end - limit, 0)
        rows = self.records.get(asset_key, [])[start:end][::-1]
        return [(record, self.conditions[fingerprint]) for record, fingerprint in rows]


class InMemoryAutomationEvaluations:
    """The memory store's evaluation rows, folded on query like the SQL stores' table.

    The caller serializes calls (the memory store holds its lock).
    """

    def __init__(self) -> None:
        self._scopes: dict[tuple[str, str], _MemoryRows] = {}

    def history(
        self,
        read_stream: Callable[[], Sequence[EventRecord]],
        asset_key: AssetKey,
        *,
        limit: int | None,
        before_evaluation_id: int | None,
        scope: tuple[str, str],
    ) -> list[EvaluationRecord]:
        """See `evaluation_history`.

        Args:
            read_stream: The scope's automation stream, in order.
            asset_key: The asset.
            limit: At most this many records.
            before_evaluation_id: Only records of evaluations older than this one.
            scope: The tenant and workspace.
        """
        rows = self._scopes.get(scope)
        if rows is None:
            rows = self._scopes[scope] = _MemoryRows(read_stream)
        rows.read_ticks = read_stream
        return evaluation_history(
            rows, asset_key, limit=limit, before_evaluation_id=before_evaluation_id
        )

    def clear(self) -> None:
        """Forgets every row; the next query folds the stream again."""
        self._scopes.clear()
