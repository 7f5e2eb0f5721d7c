"""`Definitions.manifest` carries the partition mapping each asset declares for a dep."""

from __future__ import annotations

import arco_flow as af
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import manifest_json, manifest_to_data

DAILY = af.DailyPartitionsDefinition(start_date="2024-01-01")
REGIONS = af.StaticPartitionsDefinition(["eu", "us"])


def test_definitions_without_declared_mappings_keep_their_fingerprint():
    @af.asset(partitions_def=DAILY)
    def events():
        return 1

    @af.asset(partitions_def=DAILY)
    def cleaned(events):
        return events

    @af.asset(partitions_def=REGIONS, deps=[cleaned])
    def by_region():
        return 2

    @af.asset
    def summary(by_region):
        return by_region

    manifest = af.Definitions(assets=[events, cleaned, by_region, summary]).manifest
    assert "partition_mappings" not in manifest_json(manifest)
    # Pinned before the manifest carried mappings: the same definitions, the same manifest.
    assert manifest.fingerprint == (
        "699fb39f33532ae6b7bb574411c196a3d3283ba21790f2991de1135d56f9494b"
    )


def test_the_manifest_holds_what_partition_mapping_of_returns_for_each_dep():
    @af.asset(partitions_def=DAILY)
    def events():
        return 1

    @af.asset(partitions_def=DAILY)
    def clicks():
        return 1

    @af.asset(
        partitions_def=DAILY,
        ins={"events": af.AssetIn(partition_mapping=af.TimeWindowPartitionMapping(-1, 0))},
    )
    def rolling(events, clicks):
        return events

    defs = af.Definitions(assets=[events, clicks, rolling])
    (entry,) = [asset for asset in defs.manifest.assets if asset.key == AssetKey("rolling")]
    assert dict(entry.partition_mappings) == {
        AssetKey("events"): {
            "kind": "time_window",
            "start_offset": -1,
            "end_offset": 0,
            "allow_nonexistent_upstream_partitions": False,
        }
    }
    assert defs.partition_mapping_of(AssetKey("rolling"), AssetKey("clicks")) is None
    assert defs.resolve_asset_graph().get(AssetKey("rolling")) == entry
    rolling_data = manifest_to_data(defs.manifest)["assets"][2]
    assert rolling_data["key"] == ["rolling"]
    assert rolling_data["partition_mappings"] == [
        {"asset_key": ["events"], "partition_mapping": dict(entry.partition_mappings[events.key])}
    ]


def test_a_mapping_declared_on_a_dep_counts_as_on_an_input():
    # Dagster applies AssetDep(partition_mapping=) to a dependency the body does not load.
    from arco_flow.core.manifest_view import ManifestDefinitions

    previous_day = af.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)

    @af.asset(partitions_def=DAILY)
    def events():
        return 1

    @af.asset(partitions_def=DAILY, deps=[af.AssetDep(events, partition_mapping=previous_day)])
    def rollup():
        return 2

    defs = af.Definitions(assets=[events, rollup])
    assert defs.partition_mapping_of(AssetKey("rollup"), AssetKey("events")) == previous_day
    view = ManifestDefinitions(defs.manifest)
    assert view.partition_mapping_of(AssetKey("rollup"), AssetKey("events")) == previous_day


def test_an_external_asset_keeps_its_partitions_definition():
    from arco_flow.core.manifest_view import ManifestDefinitions

    landed = af.AssetSpec("landed", partitions_def=DAILY)

    @af.asset(partitions_def=DAILY, deps=[landed])
    def loaded():
        return 1

    defs = af.Definitions(assets=[landed, loaded])
    assert defs.partitions_def_of("landed") == DAILY
    assert ManifestDefinitions(defs.manifest).partitions_def_of(AssetKey("landed")) == DAILY
