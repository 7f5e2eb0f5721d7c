from datetime import date

import pytest

from arco_flow.core.partitions._cron import parse_cron


def test_fields_expand_to_sorted_values():
    cron = parse_cron("*/20 9-17/4 1,15 jan-mar mon-fri")
    assert cron.minutes == (0, 20, 40)
    assert cron.hours == (9, 13, 17)
    assert cron.days_of_month == (1, 15)
    assert cron.months == (1, 2, 3)
    assert cron.days_of_week == (1, 2, 3, 4, 5)


def test_sunday_is_zero_or_seven_and_macros_expand():
    assert parse_cron("0 0 * * 7").days_of_week == (0,)
    assert parse_cron("@daily").hours == (0,)
    assert parse_cron("@hourly").every_hour


def test_restricted_day_fields_match_either_day():
    cron = parse_cron("0 0 1 * mon")
    assert cron.matches_date(date(2024, 1, 1))  # the 1st
    assert cron.matches_date(date(2024, 1, 8))  # a Monday
    assert not cron.matches_date(date(2024, 1, 9))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("* * *", "has 3 fields"),
        ("60 * * * *", "outside 0-59"),
        ("0 0 30 2 *", "can never fire"),
        ("0 0 * * funday", "not a valid day of week"),
        ("*/0 * * * *", "step must be at least 1"),
    ],
)
def test_malformed_schedules_say_which_field_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_cron(text)
