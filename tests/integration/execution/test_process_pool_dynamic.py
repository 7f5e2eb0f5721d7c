"""Dynamically partitioned runs carried out by worker processes, and resumed after a crash.

Workers hold no store: each task request carries the run's snapshot of the keys it uses.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from arco_flow.core.events import AssetMaterialized, RunStarted, TaskFailed, TaskSucceeded
from arco_flow.core.partitions import PartitionKeyRange
from arco_flow.execution.run_operations import launch_into_instance, resume_run
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.records import RunStatus
from tests.integration.execution import pool_dynamic_assets

LOCATION = {"module": pool_dynamic_assets.MODULE, "attribute": "defs"}
CUSTOMERS = ["acme", "globex", "initech"]


@pytest.fixture
def instance(tmp_path):
    instance = ArcoInstance.get(tmp_path / "home")
    instance.add_dynamic_partitions("customers", CUSTOMERS)
    yield instance
    instance.dispose()


def launch(instance, executor="process_pool", **kwargs):
    selection = kwargs.pop("selection", None)
    job = pool_dynamic_assets.defs.resolve_implicit_global_asset_job_def()
    return launch_into_instance(
        job,
        instance,
        code_location=LOCATION,
        executor=executor,
        max_concurrent=2,
        asset_selection=selection,
        **kwargs,
    )


def materialized(instance, run_id):
    return sorted(
        (r.event.asset_key.to_user_string(), r.event.partition_key)
        for r in instance.all_logs(run_id)
        if isinstance(r.event, AssetMaterialized)
    )


def stored(instance, asset, key):
    return pickle.loads((Path(instance.storage_dir) / asset / key).read_bytes())


def test_a_dynamic_upstream_and_downstream_run_in_worker_processes(instance):
    outcome = launch(
        instance, partition_key="globex", selection=["customer_orders", "customer_invoices"]
    )
    assert outcome.succeeded
    assert materialized(instance, outcome.run_id) == [
        ("customer_invoices", "globex"),
        ("customer_orders", "globex"),
    ]
    assert stored(instance, "customer_invoices", "globex") == [["globex"], "ORDERS OF GLOBEX"]


def test_a_range_of_dynamic_keys_runs_in_worker_processes(instance):
    outcome = launch(
        instance,
        partition_key_range=PartitionKeyRange("acme", "initech"),
        selection=["customer_orders", "customer_invoices"],
    )
    assert outcome.succeeded
    assert stored(instance, "customer_invoices", "initech") == [CUSTOMERS, "orders of initech"]


def test_a_static_by_dynamic_upstream_feeds_a_dynamic_downstream_in_workers(instance):
    for region in ("eu", "us"):
        done = launch(instance, partition_key=f"acme|{region}", selection=["regional_sales"])
        assert done.succeeded
    outcome = launch(instance, partition_key="acme", selection=["customer_sales"])
    assert outcome.succeeded
    assert stored(instance, "customer_sales", "acme") == ["sales acme|eu", "sales acme|us"]


def test_context_instance_in_a_worker_process_says_why_there_is_none(instance):
    job = pool_dynamic_assets.instance_defs.resolve_implicit_global_asset_job_def()
    outcome = launch_into_instance(
        job,
        instance,
        code_location={"module": pool_dynamic_assets.MODULE, "attribute": "instance_defs"},
        executor="process_pool",
        max_concurrent=1,
        partition_key="acme",
    )
    assert not outcome.succeeded
    (failed,) = [
        r.event for r in instance.all_logs(outcome.run_id) if isinstance(r.event, TaskFailed)
    ]
    assert failed.error.class_name == "ExecutionError"
    assert "workers hold no store credentials" in failed.error.message


class _CoordinatorCrash(BaseException):
    """Stops the coordinator where it stands, as a crash would (nothing records an end)."""


@pytest.mark.parametrize("executor", ["process_pool", "in_process"])
def test_a_resumed_dynamic_run_uses_the_keys_it_started_with(instance, executor):
    def crash_after_orders(record):
        event = record.event
        if isinstance(event, TaskSucceeded) and event.task_id.startswith("customer_orders"):
            raise _CoordinatorCrash

    key_range = PartitionKeyRange("acme", "initech")
    with pytest.raises(_CoordinatorCrash):
        launch(
            instance,
            executor=executor,
            partition_key_range=key_range,
            selection=["customer_orders", "customer_invoices"],
            on_record=crash_after_orders,
        )
    (run,) = instance.get_runs()
    assert run.status is RunStatus.STARTED
    # The keys change while the run is down: the resumed run still sees the ones it began with.
    instance.delete_dynamic_partition("customers", "globex")
    instance.add_dynamic_partitions("customers", ["hooli"])

    outcome = resume_run(instance, run.run_id)

    assert outcome.succeeded
    assert instance.get_run(run.run_id).status is RunStatus.SUCCESS
    assert stored(instance, "customer_invoices", "globex") == [CUSTOMERS, "orders of globex"]
    (started,) = [r.event for r in instance.all_logs(run.run_id) if isinstance(r.event, RunStarted)]
    assert started.dynamic_partitions == {"customers": CUSTOMERS}
