"""The automation loop leaves no per-asset reference cycles behind a tick.

The daemon freezes what a tick leaves (`daemon.heap.QuietHeap`), so cyclic garbage stays
until the periodic full collection: a tick must make almost none, and none per asset.
"""

from __future__ import annotations

import gc
import uuid
from pathlib import Path

import arco_flow as af
from arco_flow.core.automation import AutomationCondition
from arco_flow.core.events import AssetMaterialized, NewEvent, RunStarted, RunSucceeded
from arco_flow.core.keys import AssetKey
from arco_flow.daemon.automation_loop import AutomationDaemon
from arco_flow.storage.instance import ArcoInstance

DAILY = af.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01")


class _Launcher:
    def __init__(self, instance: ArcoInstance) -> None:
        self.instance = instance

    def launch(self, request) -> None:  # type: ignore[no-untyped-def]
        keys = tuple(AssetKey(path) for path in request.request["asset_selection"])
        started = RunStarted(
            run_id=request.run_id, plan_id=request.run_id, job_name="j", asset_keys=keys
        )
        self.instance.append([_new(started), _new(RunSucceeded(run_id=request.run_id))])


def _new(event):  # type: ignore[no-untyped-def]
    return NewEvent(event=event, idempotency_key=str(uuid.uuid4()))


def _chain(count: int) -> af.Definitions:
    assets = []
    for index in range(count):
        deps = [f"n{index - 1}"] if index else []

        @af.asset(
            name=f"n{index}",
            deps=deps,
            partitions_def=DAILY,
            automation_condition=AutomationCondition.eager(),
        )
        def _node() -> None:
            return None

        assets.append(_node)
    return af.Definitions(assets=assets)


def _garbage_of_an_event_tick(home: Path, count: int) -> int:
    with ArcoInstance.from_home(home) as instance:
        daemon = AutomationDaemon(instance, _chain(count), launcher=_Launcher(instance))
        for _ in range(2):
            daemon.tick(1_709_251_200.0)
        root, run_id = AssetKey("n0"), str(uuid.uuid4())
        started = RunStarted(run_id=run_id, plan_id=run_id, job_name="j", asset_keys=(root,))
        done = AssetMaterialized(
            run_id=run_id, task_id="t", asset_key=root, partition_key="2024-02-29"
        )
        instance.append([_new(started), _new(done), _new(RunSucceeded(run_id=run_id))])
        gc.unfreeze()
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            requested = daemon.tick(1_709_251_260.0)
            assert requested  # the whole chain below the root was requested
            gc.unfreeze()  # the tick froze what it left, garbage included
            gc.collect()
            return len(gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()


def test_an_event_tick_makes_no_cyclic_garbage_per_asset(tmp_path: Path) -> None:
    small = _garbage_of_an_event_tick(tmp_path / "small", 10)
    large = _garbage_of_an_event_tick(tmp_path / "large", 80)
    # 70 more assets evaluated and recorded: a cycle per asset would add hundreds.
    assert large - small < 70
