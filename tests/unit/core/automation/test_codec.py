"""The data form of automation conditions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_flow.core.automation import AutomationCondition, condition_from_data, condition_to_data
from arco_flow.core.canonical_json import canonical_json
from arco_flow.core.errors import DefinitionError

AC = AutomationCondition
_LEAVES = st.sampled_from(
    [
        AC.missing(),
        AC.in_progress(),
        AC.newly_updated(),
        AC.newly_requested(),
        AC.execution_failed(),
        AC.will_be_requested(),
        AC.initial_evaluation(),
        AC.cron_tick_passed("0 * * * *", "Europe/Berlin"),
        AC.in_latest_time_window(timedelta(days=2)),
        AC.eager(),
        AC.on_cron("0 0 * * *"),
        AC.on_missing(),
    ]
)
_CONDITIONS = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda p: p[0] & p[1]),
        st.tuples(inner, inner).map(lambda p: p[0] | p[1]),
        inner.map(lambda c: ~c),
        st.tuples(inner, inner).map(lambda p: p[0].since(p[1])),
        inner.map(lambda c: c.newly_true()),
        inner.map(AC.any_deps_match),
        inner.map(AC.all_deps_match),
        st.tuples(inner, st.text(max_size=5)).map(lambda p: p[0].with_label(p[1])),
    ),
    max_leaves=8,
)


@given(_CONDITIONS)
def test_data_round_trips_to_an_equal_condition(condition):
    data = condition_to_data(condition)
    assert condition_from_data(data) == condition
    canonical_json(data)  # the manifest can carry it


def test_unknown_type_is_a_definition_error_that_says_what_to_do():
    with pytest.raises(DefinitionError, match="redeploy"):
        condition_from_data({"type": "from_the_future"})


def test_invalid_cron_is_rejected_when_the_condition_is_built():
    with pytest.raises(DefinitionError, match="not a valid cron schedule"):
        AC.on_cron("every day")
