import pytest

from arco_flow.core.errors import DefinitionError
from arco_flow.core.retry import (
    Backoff,
    Jitter,
    RetryPolicy,
    retry_delay,
    retry_policy_from_data,
    retry_policy_to_data,
)


def test_no_delay_means_immediate_retry():
    assert retry_delay(RetryPolicy(max_retries=3), 2) == 0.0


def test_linear_and_exponential_backoff_follow_dagster():
    linear = RetryPolicy(max_retries=5, delay=2, backoff=Backoff.LINEAR)
    assert [retry_delay(linear, n) for n in (1, 2, 3)] == [2, 4, 6]
    exponential = RetryPolicy(max_retries=5, delay=1, backoff=Backoff.EXPONENTIAL)
    assert [retry_delay(exponential, n) for n in (1, 2, 3, 4)] == [1, 3, 7, 15]


def test_jitter_uses_the_given_random_value():
    full = RetryPolicy(max_retries=1, delay=10, jitter=Jitter.FULL)
    assert retry_delay(full, 1, 0.25) == 2.5
    plus_minus = RetryPolicy(max_retries=1, delay=10, jitter=Jitter.PLUS_MINUS)
    assert retry_delay(plus_minus, 1, 0.0) == 0.0
    assert retry_delay(plus_minus, 1, 0.75) == 15.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"delay": -1},
        {"backoff": "LINEAR", "delay": 1},
        {"jitter": Jitter.FULL},
    ],
)
def test_invalid_policies_are_rejected(kwargs):
    with pytest.raises(DefinitionError, match="RetryPolicy"):
        RetryPolicy(**kwargs)


def test_policy_data_round_trips():
    policy = RetryPolicy(max_retries=2, delay=0.5, backoff=Backoff.LINEAR, jitter=Jitter.FULL)
    assert retry_policy_from_data(retry_policy_to_data(policy)) == policy
