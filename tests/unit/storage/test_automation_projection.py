"""Splitting a recorded automation tick into one evaluation row per asset."""

from __future__ import annotations

import json

import pytest

from arco_flow.core.automation import (
    AutomationCondition,
    condition_to_data,
    evaluations_from_change,
)
from arco_flow.core.errors import StoreError
from arco_flow.core.events import EventRecord, TickSkipped, TickStarted
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import StaticPartitionsDefinition, partitions_def_to_data
from arco_flow.storage.automation_projection import evaluation_rows, record_from_row

EAGER = AutomationCondition.eager()
ON_MISSING = AutomationCondition.on_missing()
LETTERS = StaticPartitionsDefinition(["a", "b", "c"])


def _change() -> dict:
    return {
        "evaluation_id": 7,
        "evaluation_timestamp": 1000.5,
        "latest_event_ids": [[["up"], 3]],
        "requested": [[["plain"], True]],
        "volatile": [],
        "conditions": [condition_to_data(EAGER), condition_to_data(ON_MISSING)],
        "partitions": [partitions_def_to_data(LETTERS)],
        "assets": [
            {
                "key": ["plain"],
                "condition": 0,
                "partitions": None,
                "node_states": {"0.1": True},
                "requested": True,
                "result": {"true": True},
            },
            {
                "key": ["team", "lettered"],
                "condition": 1,
                "partitions": 0,
                "node_states": {"0": [[0, 3]]},
                "requested": [[0, 1], [2, 3]],
                "result": {"true": [[0, 3]]},
                "later_field": [1, 2],
            },
        ],
    }


def _record(change: dict, *, stream_event: TickStarted | TickSkipped | None = None) -> EventRecord:
    event = stream_event or TickStarted(
        instigator_name="automation",
        tick_id=f"e{change['evaluation_id']}",
        instigator_type="automation",
        timestamp=1000.5,
        cursor_after=json.dumps(change),
    )
    return EventRecord(
        event_id=1,
        stream="instigator:automation",
        stream_sequence=1,
        idempotency_key="k",
        timestamp=1000.5,
        event=event,
    )


def test_a_tick_gives_one_row_per_evaluated_asset_with_its_counts():
    rows = evaluation_rows([_record(_change())])
    assert [row.asset_key for row in rows] == [AssetKey("plain"), AssetKey(["team", "lettered"])]
    assert [(row.evaluation_id, row.timestamp) for row in rows] == [(7, 1000.5), (7, 1000.5)]
    assert [row.num_requested for row in rows] == [1, 2]


def test_a_row_reads_back_as_the_record_of_the_whole_change():
    change = _change()
    rows = evaluation_rows([_record(change)])
    read = [record_from_row(row.record, row.condition) for row in rows]
    assert read == evaluations_from_change(change)


def test_a_row_keeps_its_asset_alone_without_node_states_and_with_every_other_field():
    [plain, lettered] = evaluation_rows([_record(_change())])
    assert json.loads(lettered.condition) == condition_to_data(ON_MISSING)
    assert lettered.condition_fingerprint != plain.condition_fingerprint
    assert len(lettered.condition_fingerprint) == 64  # SHA-256, hex
    data = json.loads(lettered.record.replace("@condition@", lettered.condition))
    assert data["conditions"] == [condition_to_data(ON_MISSING)]
    assert data["partitions"] == [partitions_def_to_data(LETTERS)]
    [entry] = data["assets"]
    assert (entry["condition"], entry["partitions"]) == (0, 0)
    assert "node_states" not in entry
    assert entry["later_field"] == [1, 2]
    assert "latest_event_ids" not in data


def test_events_other_than_a_tick_with_a_change_give_no_row():
    skipped = TickSkipped(instigator_name="automation", tick_id="e1", reason="nothing")
    idle = TickStarted(
        instigator_name="automation", tick_id="e2", instigator_type="automation", timestamp=1.0
    )
    assert (
        evaluation_rows([_record({}, stream_event=skipped), _record({}, stream_event=idle)]) == []
    )


def test_a_malformed_change_is_a_store_error_naming_the_tick():
    change = _change()
    del change["conditions"]
    with pytest.raises(StoreError, match="'e7'"):
        evaluation_rows([_record(change)])


def test_a_malformed_row_is_a_store_error_saying_to_rebuild():
    with pytest.raises(StoreError, match="rebuild_projections"):
        record_from_row('{"evaluation_id": 1}', "{}")
