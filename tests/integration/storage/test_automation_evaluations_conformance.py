"""Each asset's automation evaluations, folded from the recorded ticks on query, on every backend.

The ticks here are written as the daemon records them (a `TickStarted` whose `cursor_after`
is a cursor change), in the nested ``result`` form of the records already in stores; the
daemon's own ticks are checked in tests/integration/daemon/test_automation_loop.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from arco_flow.core.automation import (
    AutomationCondition,
    EvaluationRecord,
    condition_to_data,
    evaluations_from_change,
)
from arco_flow.core.errors import StoreError
from arco_flow.core.events import (
    AutomationCursorSnapshotted,
    NewEvent,
    TickSkipped,
    TickStarted,
    idempotency_key,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.partitions import StaticPartitionsDefinition, partitions_def_to_data
from arco_flow.storage import automation_projection
from arco_flow.storage.automation_projection import AUTOMATION_STREAM
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.memory_store import MemoryEventStore
from arco_flow.storage.sql_store import SqlEventStore

T0 = 1_709_289_000.0
EAGER = AutomationCondition.eager()
LETTERS = StaticPartitionsDefinition(["a", "b", "c", "d"])
DOWN, LETTERED, OTHER = AssetKey("down"), AssetKey("lettered"), AssetKey("other")


@pytest.fixture(params=["memory", "sqlite"])
def instance(request, tmp_path) -> Iterator[ArcoInstance]:
    if request.param == "memory":
        made = ArcoInstance(MemoryEventStore(), None)
    else:
        made = ArcoInstance(SqlEventStore(tmp_path / "arco.db"), None)
    yield made
    made.dispose()


def _change(evaluation_id: int, assets: Mapping[AssetKey, tuple[Any, Any]]) -> dict[str, Any]:
    """A cursor change in the nested form: per asset (requested, root's true status)."""
    return {
        "evaluation_id": evaluation_id,
        "evaluation_timestamp": T0 + evaluation_id,
        "latest_event_ids": [[["up"], evaluation_id]],
        "requested": [],
        "volatile": [],
        "conditions": [condition_to_data(EAGER)],
        "partitions": [partitions_def_to_data(LETTERS)],
        "assets": [
            {
                "key": list(key.path),
                "condition": 0,
                "partitions": 0 if key == LETTERED else None,
                "node_states": {"0.1": [[0, 4]] if key == LETTERED else True},
                "requested": requested,
                "result": {"true": true},
            }
            for key, (requested, true) in assets.items()
        ],
    }


def _tick(evaluation_id: int, assets: Mapping[AssetKey, tuple[Any, Any]]) -> list[NewEvent]:
    started = TickStarted(
        instigator_name="automation",
        tick_id=f"e{evaluation_id}",
        instigator_type="automation",
        timestamp=T0 + evaluation_id,
        cursor_after=json.dumps(_change(evaluation_id, assets)),
    )
    skipped = TickSkipped(
        instigator_name="automation", tick_id=started.tick_id, reason="no asset requested"
    )
    return [
        NewEvent(event=event, idempotency_key=idempotency_key(event))
        for event in (started, skipped)
    ]


def _record_ticks(instance: ArcoInstance, first: int, last: int) -> None:
    """Ticks `first`..`last`: down every tick (requested on even ones), lettered every
    other tick, and a cursor snapshot after the third."""
    for evaluation_id in range(first, last + 1):
        assets: dict[AssetKey, tuple[Any, Any]] = {DOWN: (evaluation_id % 2 == 0, True)}
        if evaluation_id % 2:
            assets[LETTERED] = ([[0, evaluation_id % 4]], [[0, 1], [2, 4]])
        instance.append(_tick(evaluation_id, assets))
        if evaluation_id == 3:
            snapshot = AutomationCursorSnapshotted(
                instigator_name="automation", evaluation_id=3, cursor=json.dumps(_change(3, {}))
            )
            instance.append(
                [NewEvent(event=snapshot, idempotency_key=idempotency_key(snapshot, 3))]
            )


def _folded(instance: ArcoInstance, key: AssetKey) -> list[EvaluationRecord]:
    """What decoding every recorded tick gives for `key`, newest first (the old query)."""
    found: list[EvaluationRecord] = []
    for record in instance.read_stream(AUTOMATION_STREAM):
        event = record.event
        if isinstance(event, TickStarted) and event.cursor_after:
            found.extend(evaluations_from_change(json.loads(event.cursor_after), asset_key=key))
    return found[::-1]


@pytest.fixture
def decoded(monkeypatch) -> list[int]:
    """The evaluation ids of the ticks each fold decodes, in order."""
    seen: list[int] = []
    original = automation_projection.evaluation_rows

    def counting(records):
        records = list(records)
        seen.extend(
            int(record.event.tick_id[1:])
            for record in records
            if isinstance(record.event, TickStarted)
        )
        return original(records)

    monkeypatch.setattr(automation_projection, "evaluation_rows", counting)
    return seen


def test_records_equal_the_fold_of_every_tick_newest_first(instance):
    _record_ticks(instance, 1, 9)
    for key in (DOWN, LETTERED):
        records = instance.get_automation_evaluations(key)
        assert records == _folded(instance, key)
    assert [r.evaluation_id for r in instance.get_automation_evaluations(DOWN)] == list(
        range(9, 0, -1)
    )
    assert [r.evaluation_id for r in instance.get_automation_evaluations(LETTERED)] == [
        9,
        7,
        5,
        3,
        1,
    ]


def test_a_record_carries_its_time_requests_and_condition_tree(instance):
    _record_ticks(instance, 1, 3)
    [latest, *_] = instance.get_automation_evaluations(LETTERED)
    assert latest.asset_key == LETTERED
    assert latest.timestamp == T0 + 3
    assert latest.num_requested == 3  # partitions [0, 3)
    assert latest.root.label == str(EAGER)
    assert latest.root.num_true == 3  # [0, 1) and [2, 4)
    [down] = instance.get_automation_evaluations(DOWN, limit=1)
    assert (down.num_requested, down.root.num_true) == (0, 1)


def test_limit_and_before_evaluation_id_page_through_the_history(instance):
    _record_ticks(instance, 1, 9)
    pages: list[list[int]] = []
    before = None
    while page := instance.get_automation_evaluations(DOWN, limit=4, before_evaluation_id=before):
        pages.append([record.evaluation_id for record in page])
        before = page[-1].evaluation_id
    assert pages == [[9, 8, 7, 6], [5, 4, 3, 2], [1]]
    assert (
        instance.get_automation_evaluations(LETTERED, before_evaluation_id=6)
        == _folded(instance, LETTERED)[2:]
    )
    assert instance.get_automation_evaluations(DOWN, limit=0) == []


def test_an_asset_no_tick_evaluated_has_no_record(instance):
    assert instance.get_automation_evaluations(DOWN) == []  # no tick at all
    _record_ticks(instance, 1, 2)
    assert instance.get_automation_evaluations(OTHER) == []


def test_another_tenant_sees_none_of_the_records_and_keeps_its_own(instance):
    _record_ticks(instance, 1, 4)
    other = ArcoInstance(instance.storage, None, tenant_id="other")
    elsewhere = ArcoInstance(instance.storage, None, workspace_id="elsewhere")
    assert other.get_automation_evaluations(DOWN) == []
    assert elsewhere.get_automation_evaluations(DOWN) == []
    other.append(_tick(1, {DOWN: (True, True), OTHER: (False, False)}))
    assert [r.evaluation_id for r in other.get_automation_evaluations(DOWN)] == [1]
    assert [r.num_requested for r in other.get_automation_evaluations(DOWN)] == [1]
    assert instance.get_automation_evaluations(OTHER) == []
    assert len(instance.get_automation_evaluations(DOWN)) == 4


def test_a_second_query_decodes_only_the_ticks_recorded_since(instance, decoded):
    _record_ticks(instance, 1, 5)
    instance.get_automation_evaluations(DOWN)
    assert sorted(decoded) == [1, 2, 3, 4, 5]
    instance.get_automation_evaluations(LETTERED)  # another asset: nothing new either
    assert sorted(decoded) == [1, 2, 3, 4, 5]
    _record_ticks(instance, 6, 7)
    assert [r.evaluation_id for r in instance.get_automation_evaluations(DOWN, limit=3)] == [
        7,
        6,
        5,
    ]
    assert sorted(decoded) == [1, 2, 3, 4, 5, 6, 7]


def test_a_first_query_with_a_limit_decodes_only_the_newest_ticks_it_needs(instance, decoded):
    assert automation_projection.TICKS_PER_FOLD == 4
    _record_ticks(instance, 1, 9)
    assert [r.evaluation_id for r in instance.get_automation_evaluations(DOWN, limit=2)] == [9, 8]
    assert decoded == [9, 8, 7, 6]
    lettered = instance.get_automation_evaluations(LETTERED, limit=3)  # odd ticks only
    assert [r.evaluation_id for r in lettered] == [9, 7, 5]
    assert decoded == [9, 8, 7, 6, 5, 4, 3, 2]
    _record_ticks(instance, 10, 10)
    page = instance.get_automation_evaluations(DOWN, limit=2, before_evaluation_id=2)
    assert [r.evaluation_id for r in page] == [1]
    assert decoded == [9, 8, 7, 6, 5, 4, 3, 2, 10, 1]
    assert instance.get_automation_evaluations(DOWN) == _folded(instance, DOWN)
    assert instance.get_automation_evaluations(LETTERED) == _folded(instance, LETTERED)
    assert sorted(decoded) == list(range(1, 11))  # each tick once


def test_a_rebuild_empties_the_records_and_the_next_query_folds_them_again(instance, decoded):
    _record_ticks(instance, 1, 6)
    before = instance.get_automation_evaluations(DOWN)
    assert instance.verify() == []  # derived on read: not a projection verify compares
    instance.rebuild_projections()
    assert sorted(decoded) == [1, 2, 3, 4, 5, 6]
    assert instance.get_automation_evaluations(DOWN) == before
    assert sorted(decoded) == sorted([1, 2, 3, 4, 5, 6] * 2)
    assert instance.verify() == []


def test_a_tick_this_version_cannot_read_names_the_tick(instance):
    broken = TickStarted(
        instigator_name="automation",
        tick_id="e1",
        instigator_type="automation",
        timestamp=T0,
        cursor_after=json.dumps({"evaluation_id": 1}),
    )
    instance.append([NewEvent(event=broken, idempotency_key=idempotency_key(broken))])
    with pytest.raises(StoreError, match=r"'e1'.*upgrade Arco Flow"):
        instance.get_automation_evaluations(DOWN)
