"""Values held for standalone blocking checks in a run carried out by worker processes."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from arco_flow.core.events import AssetMaterialized, AssetQuarantined, TaskSkipped
from arco_flow.execution.quarantine import release_quarantine
from arco_flow.execution.run_operations import launch_into_instance, reexecute_run
from arco_flow.storage.instance import ArcoInstance
from tests.integration.execution import pool_quarantine_assets

LOCATION = {"module": pool_quarantine_assets.MODULE, "attribute": "defs"}


def launch(instance, values):
    job = pool_quarantine_assets.defs.resolve_implicit_global_asset_job_def()
    config = {"ops": {"orders": {"config": {"values": values}}}}
    return launch_into_instance(
        job, instance, code_location=LOCATION, run_config=config, max_concurrent=2
    )


def stored(base: Path, *parts: str):
    return pickle.loads(base.joinpath(*parts).read_bytes())


def test_a_held_value_is_promoted_in_the_control_plane_or_stays_quarantined(tmp_path):
    instance = ArcoInstance.ephemeral(storage_dir=str(tmp_path))
    try:
        good = launch(instance, [1, 2])
        bad = launch(instance, [-5])
        good_events = [record.event for record in instance.all_logs(good.run_id)]
        bad_events = [record.event for record in instance.all_logs(bad.run_id)]
        latest = instance.get_latest_materialization_event("orders")
        [record] = instance.get_quarantines()
        files = sorted(
            p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()
        )

        assert good.succeeded
        assert stored(tmp_path, "report") == 3
        [held] = [e for e in good_events if isinstance(e, AssetQuarantined)]
        assert held.pending
        [promoted] = [
            e
            for e in good_events
            if isinstance(e, AssetMaterialized) and e.asset_key.to_user_string() == "orders"
        ]
        assert promoted.task_id == "orders.promote"
        # the asset ran in a worker; its metadata is kept by the promotion
        assert promoted.metadata["pid"]["value"] != os.getpid()

        assert not bad.succeeded
        assert bad.failed_blocking_checks == ["orders:positive"]
        skipped = sorted(e.task_id for e in bad_events if isinstance(e, TaskSkipped))
        assert skipped == ["orders.promote", "report"]
        assert latest.run_id == good.run_id
        assert stored(tmp_path, "orders") == [1, 2]
        assert record.run_id == bad.run_id
        assert f"_quarantine/{bad.run_id}/orders" in files

        release_quarantine(instance, "orders")
        again = reexecute_run(instance, bad.run_id, from_failure=True)

        assert again.succeeded
        assert stored(tmp_path, "orders") == [-5]
        assert stored(tmp_path, "report") == -5
        assert instance.verify() == []
    finally:
        instance.dispose()
