import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_flow.core.backfill_policy import (
    BackfillPolicy,
    BackfillPolicyType,
    backfill_policy_from_data,
    backfill_policy_to_data,
    effective_backfill_policy,
)
from arco_flow.core.canonical_json import canonical_json, loads
from arco_flow.core.errors import DefinitionError
from arco_flow.core.partitions import DailyPartitionsDefinition, StaticPartitionsDefinition


def test_single_run_has_no_maximum_and_its_type_says_so():
    policy = BackfillPolicy.single_run()
    assert policy.max_partitions_per_run is None
    assert policy.policy_type is BackfillPolicyType.SINGLE_RUN
    assert str(policy) == "BackfillPolicy.single_run()"


def test_multi_run_defaults_to_one_partition_per_run():
    policy = BackfillPolicy.multi_run()
    assert policy.max_partitions_per_run == 1
    assert policy.policy_type is BackfillPolicyType.MULTI_RUN
    assert BackfillPolicy.multi_run(7) == BackfillPolicy(max_partitions_per_run=7)
    assert str(BackfillPolicy.multi_run(7)) == "BackfillPolicy.multi_run(max_partitions_per_run=7)"


@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "2"])
def test_multi_run_refuses_anything_but_a_positive_int(bad):
    with pytest.raises(DefinitionError, match="max_partitions_per_run must be a positive int"):
        BackfillPolicy.multi_run(bad)


def test_multi_run_of_none_points_to_single_run():
    with pytest.raises(DefinitionError, match="single_run"):
        BackfillPolicy.multi_run(None)  # type: ignore[arg-type]  # the mistake under test


@given(st.none() | st.integers(min_value=1, max_value=10**9))
def test_policies_round_trip_through_canonical_json(most):
    policy = BackfillPolicy(max_partitions_per_run=most)
    wire = canonical_json(backfill_policy_to_data(policy))
    assert backfill_policy_from_data(loads(wire)) == policy


def test_policies_are_hashable_values():
    assert {BackfillPolicy.multi_run(2), BackfillPolicy.multi_run(2)} == {
        BackfillPolicy.multi_run(2)
    }


def test_the_default_is_one_run_per_partition_for_every_partitioned_asset():
    # Dagster 1.13: an unset policy stays None, and backfills launch a run per partition,
    # for time-window partitions as for static ones.
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    static = StaticPartitionsDefinition(["a", "b"])
    assert effective_backfill_policy(None, daily) == BackfillPolicy.multi_run(1)
    assert effective_backfill_policy(None, static) == BackfillPolicy.multi_run(1)


def test_an_unpartitioned_asset_is_backfilled_in_one_run():
    assert effective_backfill_policy(None, None) == BackfillPolicy.single_run()


def test_an_own_policy_wins_over_the_default():
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    policy = BackfillPolicy.multi_run(30)
    assert effective_backfill_policy(policy, daily) is policy
