"""An asset's freshness state, folded from its ``freshness:<asset>`` stream.

Pure. The daemon's freshness loop appends `FreshnessStateChanged` on every change and
`FreshnessRemediationRequested` for each run it requests; `restore_freshness_state` folds
them, so what `arco-flow freshness list` shows is what the daemon last decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from arco_flow.core.events import (
    EventRecord,
    FreshnessRemediationRequested,
    FreshnessStateChanged,
)
from arco_flow.core.keys import AssetKey

__all__ = ["FreshnessStateRecord", "freshness_stream", "restore_freshness_state"]


def freshness_stream(asset_key: AssetKey) -> str:
    """The stream of an asset's freshness states and remediations."""
    return f"freshness:{asset_key.to_user_string()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class FreshnessStateRecord:
    """The latest freshness state the daemon recorded for an asset."""

    asset_key: AssetKey
    state: str
    """``PASS``, ``WARN``, ``FAIL`` or ``UNKNOWN``."""
    since: float
    """When the asset entered `state` (the daemon's clock)."""
    previous_state: str | None = None
    lag_seconds: float | None = None
    """The lag when the state was entered."""
    deadline: float | None = None
    partition_key: str | None = None
    description: str = ""
    remediation_run_ids: dict[str, str] = field(default_factory=dict)
    """The run requested for each overdue window, by window key."""
    stream_sequence: int = 0
    """The position in the stream this record was folded up to."""


def restore_freshness_state(
    asset_key: AssetKey, records: Iterable[EventRecord]
) -> FreshnessStateRecord | None:
    """Folds an asset's freshness stream; None when the daemon never evaluated it."""
    state: FreshnessStateRecord | None = None
    runs: dict[str, str] = {}
    sequence = 0
    for record in records:
        sequence = record.stream_sequence
        event = record.event
        if isinstance(event, FreshnessStateChanged):
            state = FreshnessStateRecord(
                asset_key=asset_key,
                state=event.new_state,
                since=event.timestamp,
                previous_state=event.previous_state,
                lag_seconds=event.lag_seconds,
                deadline=event.deadline,
                partition_key=event.partition_key,
                description=event.description,
            )
        elif isinstance(event, FreshnessRemediationRequested):
            runs[event.window_key] = event.run_id
    if state is None:
        return None
    return replace(state, remediation_run_ids=runs, stream_sequence=sequence)
