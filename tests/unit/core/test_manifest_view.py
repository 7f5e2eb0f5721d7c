"""`ManifestDefinitions` answers from the manifest alone what `Definitions` answers in process."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import arco_flow as af
from arco_flow.core.automation import (
    AssetState,
    AutomationCondition,
    AutomationGraph,
    GraphState,
    MaterializationUpdate,
    TickResult,
    condition_from_data,
    evaluate,
)
from arco_flow.core.errors import DefinitionError, DefinitionsValidationError
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import Manifest, ManifestAsset, manifest_from_data, manifest_to_data
from arco_flow.core.manifest_view import AssetDefinitionsView, ManifestDefinitions
from arco_flow.core.partitions import (
    InMemoryDynamicPartitionsStore,
    PartitionsDefinition,
    PartitionsSubset,
)
from arco_flow.daemon.automation import build_automation_graph

DAILY = af.DailyPartitionsDefinition(start_date="2024-01-01")
HOURLY = af.HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
REGIONS = af.StaticPartitionsDefinition(["eu", "us"])
REGION_CODES = af.StaticPartitionsDefinition(["EU", "US"])
DAILY_BY_REGION = af.MultiPartitionsDefinition({"date": DAILY, "region": REGIONS})
CUSTOMERS = af.DynamicPartitionsDefinition(name="customers")
EAGER = af.AutomationCondition.eager()
NOW = datetime(2024, 1, 5, 12, 0, tzinfo=UTC)


def mixed_definitions() -> af.Definitions:
    """Every kind of partitions definition, declared and inferred mappings, plain assets."""

    @af.asset(partitions_def=DAILY)
    def events():
        return 1

    @af.asset(partitions_def=HOURLY)
    def clicks():
        return 1

    @af.asset(
        partitions_def=DAILY,
        ins={"events": af.AssetIn(partition_mapping=af.TimeWindowPartitionMapping(-1, 0))},
        automation_condition=EAGER,
    )
    def rolling(events):
        return events

    @af.asset(
        partitions_def=DAILY,
        ins={"events": af.AssetIn(partition_mapping=af.IdentityPartitionMapping())},
        automation_condition=EAGER,
    )
    def cleaned(events, clicks):
        return events

    @af.asset(partitions_def=REGIONS)
    def region_raw():
        return 1

    @af.asset(
        partitions_def=REGION_CODES,
        ins={
            "region_raw": af.AssetIn(
                partition_mapping=af.StaticPartitionMapping({"eu": "EU", "us": "US"})
            )
        },
        automation_condition=EAGER,
    )
    def region_report(region_raw):
        return region_raw

    @af.asset(partitions_def=DAILY_BY_REGION)
    def sales():
        return 1

    @af.asset(
        partitions_def=DAILY,
        ins={
            "sales": af.AssetIn(partition_mapping=af.MultiToSingleDimensionPartitionMapping("date"))
        },
        automation_condition=EAGER,
    )
    def daily_sales(sales):
        return sales

    @af.asset(partitions_def=CUSTOMERS)
    def customer_files():
        return 1

    @af.asset(partitions_def=CUSTOMERS, deps=[customer_files], automation_condition=EAGER)
    def customer_report():
        return 1

    @af.asset(automation_condition=EAGER)
    def summary(daily_sales, region_report):
        return 1

    @af.asset(deps=[summary], automation_condition=EAGER)
    def dashboard():
        return 1

    return af.Definitions(
        assets=[
            events,
            clicks,
            rolling,
            cleaned,
            region_raw,
            region_report,
            sales,
            daily_sales,
            customer_files,
            customer_report,
            summary,
            dashboard,
        ]
    )


def multi_asset_definitions() -> af.Definitions:
    """A multi-asset whose outputs read different inputs, one through a declared mapping."""

    @af.asset(partitions_def=DAILY)
    def upstream():
        return 1

    @af.asset(partitions_def=DAILY)
    def other():
        return 1

    @af.multi_asset(
        outs={"left": af.AssetOut(), "right": af.AssetOut()},
        ins={"upstream": af.AssetIn(partition_mapping=af.TimeWindowPartitionMapping(-2, -1))},
        internal_asset_deps={"left": {af.AssetKey("upstream")}, "right": {af.AssetKey("other")}},
        partitions_def=DAILY,
        can_subset=True,
    )
    def split(upstream, other):
        return 1, 2

    return af.Definitions(assets=[upstream, other, split])


def unpartitioned_definitions() -> af.Definitions:
    @af.asset
    def raw():
        return 1

    @af.asset(automation_condition=EAGER)
    def derived(raw):
        return raw

    return af.Definitions(assets=[raw, derived])


DEFINITIONS = {
    "mixed": mixed_definitions,
    "multi_asset": multi_asset_definitions,
    "unpartitioned": unpartitioned_definitions,
}


def view_of(defs: af.Definitions) -> ManifestDefinitions:
    """The view the daemon builds: from the manifest's data, through its JSON codec."""
    return ManifestDefinitions(manifest_from_data(manifest_to_data(defs.manifest)))


def answers(defs: AssetDefinitionsView) -> dict[str, Any]:
    """Everything automation reads of `defs`; typed with the protocol both satisfy."""
    graph = defs.resolve_asset_graph()
    return {
        "keys": graph.keys,
        "assets": graph.assets,
        "checks": graph.checks,
        "parents": [graph.parents_of(key) for key in graph.keys],
        "partitions": {key: defs.partitions_def_of(key) for key in graph.keys},
        "mappings": {
            (key, parent): defs.partition_mapping_of(key, parent)
            for key in graph.keys
            for parent in graph.parents_of(key)
        },
        "fingerprint": defs.manifest.fingerprint,
    }


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_the_view_answers_what_the_definitions_answer(name):
    defs = DEFINITIONS[name]()
    assert answers(view_of(defs)) == answers(defs)


def test_the_mixed_definitions_declare_every_kind_of_mapping():
    # Guards the comparison above: it compares real declared mappings, not only Nones.
    defs = mixed_definitions()
    declared = {
        type(mapping).__name__
        for mapping in answers(defs)["mappings"].values()
        if mapping is not None
    }
    assert declared == {
        "TimeWindowPartitionMapping",
        "IdentityPartitionMapping",
        "StaticPartitionMapping",
        "MultiToSingleDimensionPartitionMapping",
    }
    view = view_of(defs)
    assert view.partition_mapping_of(AssetKey("rolling"), AssetKey("events")) == (
        af.TimeWindowPartitionMapping(-1, 0)
    )
    assert view.partition_mapping_of(AssetKey("cleaned"), AssetKey("clicks")) is None
    assert view.partitions_def_of(AssetKey("customer_report")) == CUSTOMERS
    assert view.partitions_def_of("sales") == DAILY_BY_REGION
    assert view.partitions_def_of(AssetKey("summary")) is None


def test_a_multi_asset_output_carries_only_the_mappings_of_its_own_deps():
    view = view_of(multi_asset_definitions())
    mapping = af.TimeWindowPartitionMapping(-2, -1)
    assert view.partition_mapping_of(AssetKey("left"), AssetKey("upstream")) == mapping
    by_key = {asset.key: asset for asset in view.manifest.assets}
    assert dict(by_key[AssetKey("left")].partition_mappings) == {
        AssetKey("upstream"): {
            "kind": "time_window",
            "start_offset": -2,
            "end_offset": -1,
            "allow_nonexistent_upstream_partitions": False,
        }
    }
    assert not by_key[AssetKey("right")].partition_mappings  # it reads only "other"


def test_unknown_keys_have_no_partitions_and_no_mappings():
    view = view_of(mixed_definitions())
    assert view.partitions_def_of(AssetKey("nowhere")) is None
    assert view.partition_mapping_of(AssetKey("nowhere"), AssetKey("events")) is None
    assert view.partition_mapping_of(AssetKey("rolling"), AssetKey("nowhere")) is None


def test_the_view_builds_its_graph_once_and_each_distinct_partitions_definition_once():
    view = view_of(mixed_definitions())
    assert view.resolve_asset_graph() is view.resolve_asset_graph()
    events = view.partitions_def_of(AssetKey("events"))
    assert events is view.partitions_def_of(AssetKey("rolling"))  # equal data, one object
    assert events is view.partitions_def_of(AssetKey("events"))
    assert view.partition_mapping_of(AssetKey("rolling"), AssetKey("events")) is (
        view.partition_mapping_of(AssetKey("rolling"), AssetKey("events"))
    )


def test_a_manifest_whose_assets_do_not_form_a_graph_is_reported_with_every_problem():
    manifest = Manifest(
        assets=(
            ManifestAsset(key=AssetKey("a"), node="a", deps=(AssetKey("missing"),)),
            ManifestAsset(key=AssetKey("b"), node="b", deps=(AssetKey("gone"),)),
        )
    )
    with pytest.raises(DefinitionsValidationError) as raised:
        ManifestDefinitions(manifest).resolve_asset_graph()
    assert len(raised.value.problems) == 2
    assert "missing" in raised.value.problems[0]
    assert "gone" in raised.value.problems[1]


class EveryOtherDay(af.PartitionMapping):
    """A user's own mapping: it has no data form."""

    def validate_partition_mapping(self, upstream_partitions_def, downstream_partitions_def):
        return None

    def get_upstream_mapped_partitions_result_for_partitions(self, *args, **kwargs):
        raise NotImplementedError

    def get_downstream_partitions_for_partitions(self, *args, **kwargs):
        raise NotImplementedError


def test_a_custom_mapping_is_named_in_the_manifest_and_the_view_refuses_to_guess_it():
    @af.asset(partitions_def=DAILY)
    def upstream():
        return 1

    @af.asset(partitions_def=DAILY, ins={"upstream": af.AssetIn(partition_mapping=EveryOtherDay())})
    def downstream(upstream):
        return upstream

    defs = af.Definitions(assets=[upstream, downstream])
    data = manifest_to_data(defs.manifest)["assets"][0]["partition_mappings"]
    assert data == [
        {
            "asset_key": ["upstream"],
            "partition_mapping": {
                "kind": "custom",
                "class": f"{__name__}.EveryOtherDay",
            },
        }
    ]
    view = view_of(defs)
    with pytest.raises(DefinitionError, match=r"'downstream'.*EveryOtherDay.*'upstream'"):
        view.partition_mapping_of(AssetKey("downstream"), AssetKey("upstream"))
    assert view.partition_mapping_of(AssetKey("upstream"), AssetKey("downstream")) is None


# -- automation over the view -----------------------------------------------------------


def automation_graph_of(defs: AssetDefinitionsView) -> AutomationGraph:
    """The graph `build_automation_graph` builds, written against the protocol."""
    graph = defs.resolve_asset_graph()
    conditions: dict[AssetKey, AutomationCondition] = {
        asset.key: condition_from_data(asset.automation_condition)
        for asset in defs.manifest.assets
        if asset.automation_condition is not None
    }
    return AutomationGraph(
        graph,
        conditions,
        partitions_defs={key: defs.partitions_def_of(key) for key in graph.keys},
        mapping_of=defs.partition_mapping_of,
    )


def materialized(definition: PartitionsDefinition | None, *keys: str) -> AssetState:
    """An asset materialized for `keys` (or, unpartitioned, at all) by event 1."""
    if definition is None:
        status: PartitionsSubset | bool = True
    else:
        status = definition.subset_with_partition_keys(keys, NOW, STORE)
    update = MaterializationUpdate(event_id=1, timestamp=NOW.timestamp(), partitions=status)
    return AssetState(materialized=status, updates=(update,))


STORE = InMemoryDynamicPartitionsStore({"customers": ["acme", "globex"]})


def requests_of(result: TickResult) -> dict[AssetKey, object]:
    return {
        key: value.get_partition_keys() if isinstance(value, PartitionsSubset) else value
        for key, value in result.requests.items()
    }


def tick(graph: AutomationGraph, state: GraphState) -> dict[AssetKey, object]:
    first = evaluate(graph, GraphState(dynamic_partitions_store=STORE), None, NOW)
    return requests_of(evaluate(graph, state, first.cursor, NOW))


def test_automation_over_the_view_requests_what_it_requests_over_the_definitions():
    defs = mixed_definitions()
    state = GraphState(
        assets={
            AssetKey("events"): materialized(DAILY, "2024-01-02", "2024-01-03"),
            AssetKey("sales"): materialized(DAILY_BY_REGION, "2024-01-04|eu", "2024-01-04|us"),
            AssetKey("region_raw"): materialized(REGIONS, "eu"),
            AssetKey("customer_files"): materialized(CUSTOMERS, "acme"),
        },
        changed=None,
        dynamic_partitions_store=STORE,
    )
    expected = tick(automation_graph_of(defs), state)
    # Requests through the static, multi-to-single and (inferred) dynamic mappings.
    assert expected == {
        AssetKey("customer_report"): ["acme"],
        AssetKey("daily_sales"): ["2024-01-04"],
        AssetKey("region_report"): ["EU"],
    }
    assert tick(automation_graph_of(view_of(defs)), state) == expected


def test_build_automation_graph_takes_the_view_in_place_of_the_definitions():
    defs = mixed_definitions()
    state = GraphState(
        assets={AssetKey("events"): materialized(DAILY, "2024-01-03", "2024-01-04")},
        changed=None,
        dynamic_partitions_store=STORE,
    )
    # build_automation_graph is typed with Definitions until the automation loop takes the
    # protocol (issue 6); it reads only what AssetDefinitionsView offers.
    from_view, partitions = build_automation_graph(view_of(defs))
    from_defs, _ = build_automation_graph(defs)
    assert partitions == {key: defs.partitions_def_of(key) for key in defs.resolve_all_asset_keys()}
    requested = tick(from_view, state)
    assert requested == tick(from_defs, state)
    # Its window reaches back a day (declared mapping): both days are there.
    assert requested[AssetKey("rolling")] == ["2024-01-04"]
