from hypothesis import given, settings
from hypothesis import strategies as st

from arco_flow.core.backfill_policy import BackfillPolicy
from arco_flow.core.canonical_json import canonical_json, fingerprint
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import (
    Manifest,
    ManifestAsset,
    ManifestJob,
    manifest_from_data,
    manifest_json,
    manifest_to_data,
)
from arco_flow.core.retry import RetryPolicy

names = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,6}", fullmatch=True)
keys = st.lists(names, min_size=1, max_size=3).map(AssetKey)
text = st.text(max_size=12)


backfill_policies = st.just(BackfillPolicy.single_run()) | st.integers(1, 10**6).map(
    BackfillPolicy.multi_run
)


mapping_data = st.sampled_from(
    [
        {"kind": "identity"},
        {
            "kind": "time_window",
            "start_offset": -1,
            "end_offset": 0,
            "allow_nonexistent_upstream_partitions": False,
        },
        {"kind": "custom", "class": "users.module.Mapping"},
    ]
)


@st.composite
def assets(draw):
    return ManifestAsset(
        key=draw(keys),
        node=draw(names).replace("-", "_").replace(".", "_"),
        deps=tuple(draw(st.lists(keys, max_size=3))),
        group=draw(st.sampled_from(["default", "raw", 'ünïcode "quoted"'])),
        tags=draw(st.dictionaries(text, text, max_size=2)),
        owners=tuple(draw(st.lists(text, max_size=2))),
        kinds=tuple(draw(st.lists(text, max_size=2))),
        description=draw(st.none() | text),
        code_version=draw(st.none() | text),
        metadata=draw(
            st.dictionaries(
                text,
                st.fixed_dictionaries(
                    {
                        "type": st.just("float"),
                        "value": st.floats(allow_nan=False, allow_infinity=False),
                    }
                ),
                max_size=1,
            )
        ),
        is_executable=draw(st.booleans()),
        can_subset=draw(st.booleans()),
        retry_policy=draw(st.none() | st.just(RetryPolicy(max_retries=2, delay=0.5))),
        timeout_s=draw(st.none() | st.floats(min_value=0.1, max_value=1e6)),
        backfill_policy=draw(st.none() | backfill_policies),
        partition_mappings=draw(st.dictionaries(keys, mapping_data, max_size=3)),
    )


@settings(max_examples=60)
@given(st.lists(assets(), max_size=6))
def test_the_direct_manifest_writer_matches_the_canonical_encoder(asset_list):
    manifest = Manifest(
        assets=tuple(asset_list),
        jobs=(ManifestJob(name="j", asset_keys=tuple(a.key for a in asset_list)),),
        resources={"db": {"url": {"env": "DB_URL"}}},
    )
    assert manifest_json(manifest) == canonical_json(manifest_to_data(manifest))
    assert manifest.fingerprint == fingerprint(manifest_to_data(manifest))


@given(st.lists(assets(), max_size=4))
def test_manifest_data_round_trips(asset_list):
    manifest = Manifest(assets=tuple(asset_list))
    again = manifest_from_data(manifest_to_data(manifest))
    assert manifest_to_data(again) == manifest_to_data(manifest)
    assert again.fingerprint == manifest.fingerprint


@given(backfill_policies)
def test_a_backfill_policy_survives_the_manifest_codec_and_the_direct_writer(policy):
    plain = ManifestAsset(key=AssetKey("a"), node="a", backfill_policy=policy)
    manifest = Manifest(assets=(plain,))
    assert manifest_json(manifest) == canonical_json(manifest_to_data(manifest))
    (again,) = manifest_from_data(manifest_to_data(manifest)).assets
    assert again.backfill_policy == policy


def test_an_asset_without_a_backfill_policy_keeps_its_old_fingerprint():
    manifest = Manifest(assets=(ManifestAsset(key=AssetKey("a"), node="a"),))
    assert "backfill_policy" not in manifest_json(manifest)
    assert manifest_to_data(manifest)["assets"] == [{"key": ["a"], "node": "a"}]


def test_an_asset_without_partition_mappings_keeps_its_old_fingerprint():
    manifest = Manifest(assets=(ManifestAsset(key=AssetKey("a"), node="a", deps=(AssetKey("b"),)),))
    assert "partition_mappings" not in manifest_json(manifest)
    assert manifest_to_data(manifest)["assets"] == [{"deps": [["b"]], "key": ["a"], "node": "a"}]


def test_partition_mappings_are_written_in_key_order_whatever_order_they_were_given_in():
    identity = {"kind": "identity"}
    last = {"kind": "last"}
    forward = ManifestAsset(
        key=AssetKey("c"),
        node="c",
        deps=(AssetKey("a"), AssetKey("b")),
        partition_mappings={AssetKey("a"): identity, AssetKey("b"): last},
    )
    backward = ManifestAsset(
        key=AssetKey("c"),
        node="c",
        deps=(AssetKey("a"), AssetKey("b")),
        partition_mappings={AssetKey("b"): last, AssetKey("a"): identity},
    )
    assert manifest_to_data(Manifest(assets=(backward,)))["assets"][0]["partition_mappings"] == [
        {"asset_key": ["a"], "partition_mapping": identity},
        {"asset_key": ["b"], "partition_mapping": last},
    ]
    assert Manifest(assets=(forward,)).fingerprint == Manifest(assets=(backward,)).fingerprint
    (again,) = manifest_from_data(manifest_to_data(Manifest(assets=(forward,)))).assets
    assert again == forward
