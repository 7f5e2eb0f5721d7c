"""Asset checks in a run carried out by worker processes."""

from __future__ import annotations

import os

from arco_flow.core.events import AssetCheckEvaluated, AssetMaterialized, RunFailed, TaskSkipped
from arco_flow.execution.run_operations import launch_into_instance
from arco_flow.storage.instance import ArcoInstance
from tests.integration.execution import pool_check_assets

LOCATION = {"module": pool_check_assets.MODULE, "attribute": "defs"}


def test_checks_gate_downstream_in_worker_processes_and_store_checks_run_here(tmp_path):
    job = pool_check_assets.defs.resolve_implicit_global_asset_job_def()
    instance = ArcoInstance.ephemeral(storage_dir=str(tmp_path))
    try:
        outcome = launch_into_instance(
            job, instance, code_location=LOCATION, executor="process_pool", max_concurrent=2
        )
        events = [record.event for record in instance.all_logs(outcome.run_id)]
    finally:
        instance.dispose()
    assert not outcome.succeeded
    assert outcome.failed_blocking_checks == ["orders:no_nulls"]
    materialized = sorted(
        e.asset_key.to_user_string() for e in events if isinstance(e, AssetMaterialized)
    )
    assert materialized == ["customer_report", "customers", "orders"]  # WARN stops nothing
    (skipped,) = [e for e in events if isinstance(e, TaskSkipped)]
    assert skipped.task_id == "cleaned"
    assert skipped.reason == "blocking check orders:no_nulls failed"
    evaluations = {e.check_name: e for e in events if isinstance(e, AssetCheckEvaluated)}
    assert sorted(evaluations) == ["customers_recorded", "few_customers", "no_nulls"]
    assert not evaluations["no_nulls"].passed
    assert evaluations["few_customers"].severity == "WARN"
    assert evaluations["customers_recorded"].passed
    here = os.getpid()
    # a store-reading check runs in the coordinator's process; the others in workers
    assert evaluations["customers_recorded"].metadata["pid"]["value"] == here
    assert evaluations["no_nulls"].metadata["pid"]["value"] != here
    assert evaluations["no_nulls"].target_run_id == outcome.run_id
    assert evaluations["no_nulls"].target_event_id is not None
    (failed,) = [e for e in events if isinstance(e, RunFailed)]
    assert failed.error is not None
    assert failed.error.class_name == "AssetCheckFailedError"
