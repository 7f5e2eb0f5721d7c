"""Placing a batch of new events in the log: ids, stream sequences, de-duplication.

Pure. Every backend loads what this needs (the records already stored under the batch's
idempotency keys, the last event id, the head of each stream), calls `place_events`, and
writes the new records it returns. So the rules below hold alike in every backend:

- event ids continue the log's, in batch order; sequences continue each stream's;
- an event whose idempotency key is stored, or was placed earlier in the batch, is not
  placed again: the first record stands in its place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from arco_flow.core.events import EventRecord, NewEvent, stream_of

__all__ = ["Placement", "place_events", "streams_of"]


@dataclass(frozen=True, slots=True)
class Placement:
    """The outcome of placing a batch."""

    records: list[EventRecord]
    """One record per event of the batch, in order (the first record for a duplicate)."""
    new: list[EventRecord]
    """The records to write, in event id order."""


def streams_of(events: Sequence[NewEvent]) -> set[str]:
    """The streams the events of a batch belong to."""
    return {stream_of(item.event) for item in events}


def place_events(
    events: Sequence[NewEvent],
    *,
    stored: Mapping[str, EventRecord],
    last_event_id: int,
    stream_heads: Mapping[str, int],
    timestamp: float,
    tenant_id: str,
    workspace_id: str,
) -> Placement:
    """Gives each new event of `events` its place in the log.

    Args:
        events: The batch, in order.
        stored: Records already in the log under idempotency keys of the batch.
        last_event_id: The highest event id in the log (0 when empty).
        stream_heads: The last sequence of each stream of the batch (absent: empty stream).
        timestamp: When the batch is appended.
        tenant_id: The tenant of the batch.
        workspace_id: The workspace of the batch.

    Returns:
        The records, one per event, and those among them to write.
    """
    heads = dict(stream_heads)
    placed: dict[str, EventRecord] = {}
    records: list[EventRecord] = []
    new: list[EventRecord] = []
    event_id = last_event_id
    for item in events:
        key = item.idempotency_key
        first = stored.get(key) or placed.get(key)
        if first is not None:
            records.append(first)
            continue
        stream = stream_of(item.event)
        sequence = heads.get(stream, 0) + 1
        heads[stream] = sequence
        event_id += 1
        record = EventRecord(
            event_id=event_id,
            stream=stream,
            stream_sequence=sequence,
            timestamp=timestamp,
            event=item.event,
            idempotency_key=key,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            actor=item.actor,
            trace_context=item.trace_context,
        )
        placed[key] = record
        records.append(record)
        new.append(record)
    return Placement(records=records, new=new)
