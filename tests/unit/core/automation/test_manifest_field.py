"""A manifest carries each asset's automation condition in its data form."""

from __future__ import annotations

from arco_flow.core.automation import AutomationCondition, condition_from_data, condition_to_data
from arco_flow.core.canonical_json import canonical_json, fingerprint
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import (
    Manifest,
    ManifestAsset,
    manifest_from_data,
    manifest_json,
    manifest_to_data,
)


def test_the_condition_survives_the_manifest_codec_and_the_direct_writer():
    condition = AutomationCondition.on_cron("0 * * * *", "Europe/Berlin")
    asset = ManifestAsset(
        key=AssetKey("a"), node="a", automation_condition=condition_to_data(condition)
    )
    manifest = Manifest(assets=(asset, ManifestAsset(key=AssetKey("b"), node="b")))
    assert manifest_json(manifest) == canonical_json(manifest_to_data(manifest))
    assert manifest.fingerprint == fingerprint(manifest_to_data(manifest))
    again = manifest_from_data(manifest_to_data(manifest))
    data = again.assets[0].automation_condition
    assert data is not None
    assert condition_from_data(data) == condition


def test_an_asset_without_a_condition_keeps_its_fingerprint_form():
    asset = ManifestAsset(key=AssetKey("a"), node="a")
    assert "automation_condition" not in manifest_to_data(Manifest(assets=(asset,)))["assets"][0]
