"""Five-field cron expressions: parsing and matching wall-clock dates and times.

Pure, standard library only. Fields are minute, hour, day of month, month and day of week
(0 or 7 is Sunday), each ``*``, a number, a name (``jan``, ``mon``), a range ``a-b``, a step
``*/n`` or ``a-b/n``, or a comma-separated list of those; ``@hourly``, ``@daily``,
``@midnight``, ``@weekly``, ``@monthly``, ``@yearly`` and ``@annually`` are accepted. When
both day fields are restricted a day matches either of them (Vixie cron, as croniter does).
Time zones and daylight-saving time are the business of `_ticks`; this module only knows
wall-clock dates and times.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

__all__ = ["CronSchedule", "parse_cron"]

_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTH_NAMES = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAY_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
# (name, low, high, names) per field.
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTH_NAMES),
    ("day of week", 0, 7, _DAY_NAMES),
)
_DAYS_IN_MONTH_MAX = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A parsed cron expression: the values each field allows, sorted."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: tuple[int, ...]
    months: tuple[int, ...]
    days_of_week: tuple[int, ...]
    """0 is Sunday."""
    day_of_month_restricted: bool
    day_of_week_restricted: bool
    _sets: tuple[frozenset[int], frozenset[int], frozenset[int]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        sets = (frozenset(self.months), frozenset(self.days_of_month), frozenset(self.days_of_week))
        object.__setattr__(self, "_sets", sets)

    @property
    def every_hour(self) -> bool:
        """Whether it fires in every hour of a matching day (Dagster's "repeats every hour").

        Such schedules follow absolute time across daylight-saving changes: a wall time that
        does not exist is skipped and one that occurs twice fires twice.
        """
        return len(self.hours) == 24

    def matches_date(self, day: date) -> bool:
        """Whether `day` is a day on which the schedule fires."""
        months, days_of_month, days_of_week = self._sets
        if day.month not in months:
            return False
        in_month = day.day in days_of_month
        in_week = day.isoweekday() % 7 in days_of_week
        if self.day_of_month_restricted and self.day_of_week_restricted:
            return in_month or in_week
        return in_month and in_week


def parse_cron(text: str) -> CronSchedule:
    """Parses a five-field cron expression.

    Raises:
        ValueError: The expression is malformed or can never fire; the message says which
            field is wrong.
    """
    if not isinstance(text, str):
        raise ValueError(f"a cron schedule is a string, got {text!r}")
    expanded = _MACROS.get(text.strip().lower(), text)
    parts = expanded.split()
    if len(parts) != 5:
        raise ValueError(
            f"cron schedule {text!r} has {len(parts)} fields; it needs 5 "
            "(minute hour day-of-month month day-of-week), e.g. '0 0 * * *'"
        )
    values = [_parse_field(text, part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    days_of_week = tuple(sorted({d % 7 for d in values[4]}))
    schedule = CronSchedule(
        text=text,
        minutes=values[0],
        hours=values[1],
        days_of_month=values[2],
        months=values[3],
        days_of_week=days_of_week,
        day_of_month_restricted=parts[2] not in ("*", "?"),
        day_of_week_restricted=parts[4] not in ("*", "?"),
    )
    if not schedule.day_of_week_restricted and not any(
        day <= _DAYS_IN_MONTH_MAX[month - 1]
        for month in schedule.months
        for day in schedule.days_of_month
    ):
        raise ValueError(f"cron schedule {text!r} can never fire: no month has that day")
    return schedule


def _parse_field(
    text: str, part: str, name: str, low: int, high: int, names: dict[str, int]
) -> tuple[int, ...]:
    allowed: set[int] = set()
    for item in part.lower().split(","):
        body, _, step_text = item.partition("/")
        step = _number(text, name, step_text, names={}) if step_text else 1
        if step < 1:
            raise ValueError(f"cron schedule {text!r}: the {name} step must be at least 1")
        if body in ("*", "?"):
            first, last = low, high
        elif "-" in body:
            first_text, _, last_text = body.partition("-")
            first = _number(text, name, first_text, names)
            last = _number(text, name, last_text, names)
        else:
            first = _number(text, name, body, names)
            last = high if step_text else first
        if not low <= first <= last <= high:
            raise ValueError(
                f"cron schedule {text!r}: the {name} field {part!r} is outside {low}-{high}"
            )
        allowed.update(range(first, last + 1, step))
    return tuple(sorted(allowed))


def _number(text: str, name: str, token: str, names: dict[str, int]) -> int:
    if token in names:
        return names[token]
    if not token.isdigit():
        raise ValueError(f"cron schedule {text!r}: {token!r} is not a valid {name}")
    return int(token)
