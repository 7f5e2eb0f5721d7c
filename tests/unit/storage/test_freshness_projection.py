"""Folding an asset's ``freshness:<asset>`` stream into its latest state."""

from __future__ import annotations

from arco_flow.core.events import (
    EventRecord,
    FreshnessRemediationRequested,
    FreshnessStateChanged,
    stream_of,
)
from arco_flow.core.keys import AssetKey
from arco_flow.storage.freshness_projection import freshness_stream, restore_freshness_state

KEY = AssetKey(["warehouse", "orders"])


def _records(*events: FreshnessStateChanged | FreshnessRemediationRequested) -> list[EventRecord]:
    return [
        EventRecord(
            event_id=n,
            stream=stream_of(event),
            stream_sequence=n,
            timestamp=float(n),
            event=event,
            idempotency_key=str(n),
        )
        for n, event in enumerate(events, start=1)
    ]


def _changed(new: str, previous: str | None, at: float) -> FreshnessStateChanged:
    return FreshnessStateChanged(
        asset_name=KEY.to_user_string(),
        asset_key=KEY,
        new_state=new,
        previous_state=previous,
        timestamp=at,
        lag_seconds=at - 100,
    )


def test_the_stream_is_named_by_the_asset() -> None:
    assert freshness_stream(KEY) == "freshness:warehouse/orders"
    assert stream_of(_changed("PASS", None, 1.0)) == freshness_stream(KEY)


def test_no_events_no_state() -> None:
    assert restore_freshness_state(KEY, []) is None


def test_the_latest_change_wins_and_remediations_are_indexed_by_window() -> None:
    remediation = FreshnessRemediationRequested(
        asset_name=KEY.to_user_string(),
        asset_key=KEY,
        window_key="2024-01-01",
        run_id="run-1",
        timestamp=300.0,
    )
    state = restore_freshness_state(
        KEY,
        _records(
            _changed("PASS", None, 100.0),
            _changed("WARN", "PASS", 200.0),
            _changed("FAIL", "WARN", 300.0),
            remediation,
        ),
    )
    assert state is not None
    assert (state.state, state.previous_state, state.since) == ("FAIL", "WARN", 300.0)
    assert state.lag_seconds == 200.0
    assert state.remediation_run_ids == {"2024-01-01": "run-1"}
    assert state.stream_sequence == 4
