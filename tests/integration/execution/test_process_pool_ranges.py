"""A run over a partition range carried out by worker processes."""

from __future__ import annotations

import pickle

from arco_flow.core.events import AssetMaterialized, LogRecorded
from arco_flow.core.partitions import PartitionKeyRange
from arco_flow.execution.run_operations import launch_into_instance
from arco_flow.storage.instance import ArcoInstance
from tests.integration.execution import pool_partition_assets

LOCATION = {"module": pool_partition_assets.MODULE, "attribute": "defs"}


def test_a_range_run_in_worker_processes_stores_and_reads_every_partition(tmp_path):
    defs = pool_partition_assets.defs
    job = defs.resolve_implicit_global_asset_job_def()
    instance = ArcoInstance.ephemeral(storage_dir=str(tmp_path))
    try:
        outcome = launch_into_instance(
            job,
            instance,
            code_location=LOCATION,
            executor="process_pool",
            max_concurrent=2,
            partition_key_range=PartitionKeyRange("2024-01-02", "2024-01-04"),
        )
        assert outcome.succeeded
        events = [record.event for record in instance.all_logs(outcome.run_id)]
    finally:
        instance.dispose()
    materialized = sorted(
        (e.asset_key.to_user_string(), e.partition_key)
        for e in events
        if isinstance(e, AssetMaterialized)
    )
    keys = ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert materialized == [
        *(("daily_doubled", key) for key in keys),
        *(("daily_numbers", key) for key in keys),
    ]
    assert any(
        isinstance(e, LogRecorded) and e.message == "window 2024-01-02 to 2024-01-05"
        for e in events
    )
    stored = tmp_path / "daily_doubled"
    assert sorted(p.name for p in stored.iterdir()) == keys
    assert pickle.loads((stored / "2024-01-03").read_bytes()) == 40480206
