import time
from datetime import timedelta
from types import SimpleNamespace

import pytest

from arco_flow import (
    AssetKey,
    AssetSpec,
    DailyPartitionsDefinition,
    DefinitionError,
    asset,
    build_asset_context,
)
from arco_flow.checks import (
    build_last_update_freshness_checks,
    build_time_partition_freshness_checks,
)
from arco_flow.sdk.checks import AssetCheckSeverity
from arco_flow.sdk.metadata import MetadataValue


class FakeInstance:
    """Answers the two queries the freshness checks make, from fixed records."""

    def __init__(self, materialized=None, observed=None, partitions=()):
        self.materialized, self.observed = materialized or {}, observed or {}
        self.tenant_id = self.workspace_id = "default"
        self.storage = SimpleNamespace(latest_materializations=self._latest)
        self.partitions = set(partitions)

    def get_asset_records(self, keys):
        (key,) = keys
        if key not in self.materialized and key not in self.observed:
            return []
        return [
            SimpleNamespace(
                last_materialization=self.materialized.get(key),
                last_observation=self.observed.get(key),
            )
        ]

    def _latest(self, key, *, partition_keys, tenant_id, workspace_id):
        return {k: object() for k in partition_keys if (key, k) in self.partitions}


def _record(timestamp, metadata=None):
    return SimpleNamespace(timestamp=timestamp, metadata=metadata or {})


@asset
def feed():
    return 1


FEED = AssetKey("feed")


def _run(check, instance):
    return check(build_asset_context(instance=instance))


def test_one_check_per_asset_named_freshness_check_on_the_control_plane():
    checks = build_last_update_freshness_checks(
        assets=[feed, "other", AssetSpec("third")], lower_bound_delta=timedelta(hours=1)
    )
    assert [c.check_key.asset_key.to_user_string() for c in checks] == ["feed", "other", "third"]
    assert {c.check_key.name for c in checks} == {"freshness_check"}
    assert all(c.runs_on_control_plane for c in checks)
    (spec,) = checks[0].check_specs
    assert spec.metadata["dagster/freshness_params"] == MetadataValue.json(
        {"timezone": "UTC", "lower_bound_delta_seconds": 3600.0}
    )


def test_a_recent_materialization_is_fresh_and_an_old_one_overdue():
    (check,) = build_last_update_freshness_checks(
        assets=[feed], lower_bound_delta=timedelta(hours=1)
    )
    fresh = _run(check, FakeInstance({FEED: _record(time.time() - 60)}))
    assert fresh.passed
    assert fresh.severity is AssetCheckSeverity.WARN
    stale = _run(check, FakeInstance({FEED: _record(time.time() - 7200)}))
    assert not stale.passed
    assert stale.metadata["dagster/overdue_seconds"].value == pytest.approx(3600, abs=60)


def test_the_stated_last_updated_timestamp_wins_over_the_record_time():
    (check,) = build_last_update_freshness_checks(
        assets=[feed], lower_bound_delta=timedelta(hours=1)
    )
    stated = {"dagster/last_updated_timestamp": {"type": "timestamp", "value": time.time() - 7200}}
    assert not _run(check, FakeInstance({FEED: _record(time.time(), stated)})).passed


def test_an_observation_counts_only_when_it_states_its_update_time():
    (check,) = build_last_update_freshness_checks(
        assets=[feed], lower_bound_delta=timedelta(hours=1)
    )
    plain = FakeInstance(observed={FEED: _record(time.time())})
    assert not _run(check, plain).passed
    stated = {"dagster/last_updated_timestamp": MetadataValue.timestamp(time.time())}
    assert _run(check, FakeInstance(observed={FEED: _record(0.0, stated)})).passed


def test_never_materialized_is_overdue():
    (check,) = build_last_update_freshness_checks(
        assets=[feed], lower_bound_delta=timedelta(hours=1), severity=AssetCheckSeverity.ERROR
    )
    result = _run(check, FakeInstance())
    assert not result.passed
    assert result.severity is AssetCheckSeverity.ERROR
    assert result.description == "Asset has never been observed/materialized."


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"assets": [feed, "feed"]}, "'feed' more than once"),
        ({"assets": "feed"}, "list of assets"),
        ({"assets": [feed], "lower_bound_delta": 60}, "timedelta"),
        ({"assets": [feed], "lower_bound_delta": timedelta(-1)}, "non-negative"),
        ({"assets": [feed], "deadline_cron": "0 25 * * *"}, "hour field"),
        ({"assets": [feed], "timezone": "Mars/Base"}, "IANA"),
        ({"assets": [feed], "severity": "WARN"}, "AssetCheckSeverity"),
    ],
)
def test_invalid_last_update_arguments_are_definition_errors(kwargs, match):
    arguments = {"lower_bound_delta": timedelta(hours=1), **kwargs}
    with pytest.raises(DefinitionError, match=match):
        build_last_update_freshness_checks(**arguments)


daily = DailyPartitionsDefinition(start_date="2024-01-01")


@asset(partitions_def=daily)
def events():
    return 1


def test_time_partition_freshness_looks_up_the_partition_due():
    (check,) = build_time_partition_freshness_checks(assets=[events], deadline_cron="0 0 * * *")
    assert check.runs_on_control_plane
    missing = _run(check, FakeInstance())
    assert not missing.passed
    due = missing.metadata["expected_partition_key"]
    present = FakeInstance(
        {AssetKey("events"): _record(1.0)}, partitions=[(AssetKey("events"), due)]
    )
    result = _run(check, present)
    assert result.passed
    assert "dagster/fresh_until_timestamp" in result.metadata


def test_time_partition_freshness_needs_the_time_partitions():
    with pytest.raises(DefinitionError, match="'feed' has no time-window partitions"):
        build_time_partition_freshness_checks(assets=[feed], deadline_cron="0 0 * * *")
    with pytest.raises(DefinitionError, match="'events' has no time-window"):
        build_time_partition_freshness_checks(assets=["events"], deadline_cron="0 0 * * *")
    spec = AssetSpec("spec_events", partitions_def=daily)
    assert build_time_partition_freshness_checks(assets=[spec], deadline_cron="0 0 * * *")


def test_time_partition_freshness_needs_a_cron():
    with pytest.raises(DefinitionError, match="deadline_cron is required"):
        build_time_partition_freshness_checks(assets=[events], deadline_cron="")
