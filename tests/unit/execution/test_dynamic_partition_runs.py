"""Runs of dynamically partitioned assets in this process: one snapshot of the keys per run."""

import pytest

import arco_flow as af
from arco_flow.core.errors import PartitionError
from arco_flow.core.events import AssetMaterialized, RunStarted
from arco_flow.execution.launcher import prepare_run
from arco_flow.storage.instance import ArcoInstance

CUSTOMERS = af.DynamicPartitionsDefinition(name="customers")
REGIONS = af.StaticPartitionsDefinition(["eu", "us"])
BY_REGION = af.MultiPartitionsDefinition({"customer": CUSTOMERS, "region": REGIONS})


@af.asset(partitions_def=CUSTOMERS)
def orders(context):
    if context.has_partition_key_range:
        return {key: f"orders of {key}" for key in context.partition_keys}
    return f"orders of {context.partition_key}"


@af.asset(partitions_def=CUSTOMERS)
def invoices(context, orders):
    if isinstance(orders, dict):
        return {key: value.upper() for key, value in orders.items()}
    return orders.upper()


@pytest.fixture
def instance():
    instance = ArcoInstance.ephemeral()
    instance.add_dynamic_partitions("customers", ["acme", "globex", "initech"])
    yield instance
    instance.dispose()


def materialized(result):
    return sorted(
        (e.asset_key.to_user_string(), e.partition_key)
        for e in result.all_events
        if isinstance(e, AssetMaterialized)
    )


def test_a_dynamic_asset_runs_for_a_key_the_instance_holds(instance):
    result = af.materialize_to_memory([orders], instance=instance, partition_key="globex")
    assert result.asset_value("orders") == "orders of globex"
    assert materialized(result) == [("orders", "globex")]


def test_a_dynamic_upstream_feeds_a_dynamic_downstream_by_identity(instance):
    result = af.materialize([orders, invoices], instance=instance, partition_key="acme")
    assert result.asset_value("invoices") == "ORDERS OF ACME"
    assert materialized(result) == [("invoices", "acme"), ("orders", "acme")]


def test_a_range_run_of_dynamic_assets_covers_every_key_between_its_ends(instance):
    key_range = af.PartitionKeyRange("acme", "initech")
    result = af.materialize_to_memory(
        [orders, invoices], instance=instance, partition_key_range=key_range
    )
    assert result.asset_value("invoices") == {
        "acme": "ORDERS OF ACME",
        "globex": "ORDERS OF GLOBEX",
        "initech": "ORDERS OF INITECH",
    }


def test_execute_in_process_reads_the_keys_from_its_instance(instance):
    defs = af.Definitions(assets=[orders, invoices])
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=instance, partition_key="initech")
    assert result.asset_value("invoices") == "ORDERS OF INITECH"


def test_a_static_by_dynamic_asset_runs_for_one_key_of_each_dimension(instance):
    @af.asset(partitions_def=BY_REGION)
    def sales(context):
        return context.partition_key

    @af.asset(partitions_def=CUSTOMERS)
    def customer_sales(sales):
        return sorted(sales.values())

    result = af.materialize_to_memory([sales], instance=instance, partition_key="globex|us")
    assert result.asset_value("sales") == "globex|us"
    for region in ("eu", "us"):
        af.materialize([sales], instance=instance, partition_key=f"acme|{region}")
    # A dynamic downstream reads its dimension of the multi-partitioned upstream.
    result = af.materialize(
        [sales, customer_sales], instance=instance, partition_key="acme", selection=[customer_sales]
    )
    assert result.asset_value("customer_sales") == ["acme|eu", "acme|us"]


def test_keys_added_or_deleted_while_a_run_goes_do_not_change_it(instance):
    @af.asset(partitions_def=CUSTOMERS)
    def churn(context):
        context.instance.delete_dynamic_partition("customers", "globex")
        context.instance.add_dynamic_partitions("customers", ["hooli"])
        return dict.fromkeys(context.partition_keys, 1)

    @af.asset(partitions_def=CUSTOMERS)
    def counted(context, churn):
        return {key: sorted(churn) for key in context.partition_keys}

    key_range = af.PartitionKeyRange("acme", "initech")
    result = af.materialize_to_memory(
        [churn, counted], instance=instance, partition_key_range=key_range
    )
    everyone = ["acme", "globex", "initech"]
    assert result.asset_value("counted") == dict.fromkeys(everyone, everyone)
    assert instance.get_dynamic_partitions("customers") == ["acme", "initech", "hooli"]
    (started,) = [e for e in result.all_events if isinstance(e, RunStarted)]
    assert started.dynamic_partitions == {"customers": everyone}


def test_context_instance_in_process_is_the_arco_instance(instance):
    @af.asset(partitions_def=CUSTOMERS)
    def registers(context):
        context.instance.add_dynamic_partitions("customers", ["umbrella"])
        return context.partition_key

    af.materialize_to_memory([registers], instance=instance, partition_key="acme")
    assert instance.has_dynamic_partition("customers", "umbrella")


def test_an_unknown_key_error_says_how_to_add_it(instance):
    with pytest.raises(PartitionError) as raised:
        af.materialize_to_memory([orders], instance=instance, partition_key="hooli")
    message = str(raised.value)
    assert "not a key of dynamic partitions 'customers'" in message
    assert "instance.add_dynamic_partitions('customers', ['hooli'])" in message
    assert "arco-flow partitions add customers hooli" in message


def test_an_unknown_range_end_error_names_the_end(instance):
    with pytest.raises(PartitionError, match=r"the end 'zeta' of partition range .*'zeta'\]"):
        af.materialize_to_memory(
            [orders], instance=instance, partition_key_range=af.PartitionKeyRange("acme", "zeta")
        )


def test_an_unknown_dynamic_part_of_a_multi_key_is_named(instance):
    @af.asset(partitions_def=BY_REGION)
    def sales(context):
        return 1

    with pytest.raises(PartitionError, match=r"its part 'hooli' is not a key of dynamic"):
        af.materialize_to_memory([sales], instance=instance, partition_key="hooli|eu")


def test_a_dynamic_run_without_an_instance_says_to_pass_one():
    with pytest.raises(PartitionError, match=r"keys live in an instance: pass instance="):
        af.materialize_to_memory([orders], partition_key="acme")
    job = af.Definitions(assets=[orders]).resolve_implicit_global_asset_job_def()
    with pytest.raises(PartitionError, match=r"'customers', whose keys live in an instance"):
        job.execute_in_process(partition_key="acme")


def test_an_unpartitioned_or_static_run_reads_no_dynamic_keys():
    class CountingStore:
        reads = 0

        def get_dynamic_partitions(self, name):
            CountingStore.reads += 1
            return ()

        def has_dynamic_partition(self, name, key):
            CountingStore.reads += 1
            return False

    @af.asset
    def plain():
        return 1

    @af.asset(partitions_def=REGIONS)
    def regional(context):
        return context.partition_key

    for assets, key in (([plain], None), ([regional], "eu")):
        job = af.Definitions(assets=assets).resolve_implicit_global_asset_job_def()
        prepared = prepare_run(job, partition_key=key, dynamic_partitions_store=CountingStore())
        assert prepared.dynamic_partitions == {}
    assert CountingStore.reads == 0
