"""`freshness_policy=` on `@asset`, `AssetSpec` and `AssetOut`, carried in the manifest."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

import arco_flow as af
from arco_flow.core.canonical_json import canonical_json
from arco_flow.core.errors import DefinitionError
from arco_flow.core.manifest import manifest_from_data, manifest_json, manifest_to_data

POLICY = af.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=2), warn_window=timedelta(hours=1), remediate=True
)
CRON = af.FreshnessPolicy.cron(
    deadline_cron="0 10 * * *", lower_bound_delta=timedelta(hours=1), timezone="Europe/Berlin"
)


@af.asset(freshness_policy=POLICY)
def orders() -> int:
    return 1


@af.multi_asset(outs={"a": af.AssetOut(freshness_policy=CRON), "b": af.AssetOut()})
def pair():
    return 1, 2


def _manifest() -> af.Manifest:
    return af.Definitions(
        assets=[orders, pair, af.AssetSpec("external", freshness_policy=CRON)]
    ).get_manifest()


def test_the_policies_reach_the_manifest() -> None:
    policies = {asset.key.to_user_string(): asset.freshness_policy for asset in _manifest().assets}
    assert policies == {"orders": POLICY, "a": CRON, "b": None, "external": CRON}


def test_the_manifest_codec_and_fast_writer_carry_the_policy() -> None:
    manifest = _manifest()
    data = manifest_to_data(manifest)
    assert manifest_from_data(data) == manifest
    assert manifest_json(manifest) == canonical_json(data)
    by_key = {tuple(a["key"]): a for a in json.loads(manifest_json(manifest))["assets"]}
    assert by_key[("orders",)]["freshness_policy"] == {
        "fail_window_seconds": 7200,
        "remediate": True,
        "warn_window_seconds": 3600,
    }
    assert "freshness_policy" not in by_key[("b",)]


def test_an_asset_without_a_policy_keeps_its_fingerprint_form() -> None:
    @af.asset
    def plain() -> int:
        return 1

    data = manifest_to_data(af.Definitions(assets=[plain]).get_manifest())
    assert "freshness_policy" not in data["assets"][0]


def test_a_policy_of_the_wrong_type_is_refused() -> None:
    @af.asset(freshness_policy="daily")
    def wrong() -> int:
        return 1

    with pytest.raises(DefinitionError, match=r"FreshnessPolicy\.time_window"):
        af.Definitions(assets=[wrong]).get_manifest()
