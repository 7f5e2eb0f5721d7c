"""Cron schedules as users write them: validation and fire times, backed by cronsim.

cronsim (a maintained, dependency-free cron library) decides which expressions are valid and
iterates the wall times of schedules without a regular cadence; the pure `core.cron` turns
wall times into instants under Dagster's daylight-saving rules and computes regular
cadences (hourly, daily, weekly, monthly) by arithmetic. cronsim is imported on first use,
never by ``import arco_flow``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, tzinfo
from functools import lru_cache

from arco_flow.core.cron import WallTimes, fast_ticks, fire_times, merge_fire_times
from arco_flow.core.errors import DefinitionError
from arco_flow.core.partitions._cron import parse_cron
from arco_flow.core.partitions._ticks import get_zone

__all__ = [
    "cron_fire_timestamps",
    "cron_string_iterator",
    "is_valid_cron_schedule",
    "resolve_timezone",
    "validate_cron_schedule",
]

_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_FIELD_HELP = (
    "five fields: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or jan-dec) "
    "day-of-week (0-7 or sun-sat), each '*', a number, a range 'a-b', a step '*/n' or a list "
    "'a,b'; or @hourly, @daily, @weekly, @monthly, @yearly"
)


def _library_form(cron: str) -> str:
    """`cron` as cronsim reads it: macros expanded, ``?`` (croniter's "any") as ``*``."""
    expanded = _MACROS.get(cron.strip().lower(), cron)
    return " ".join("*" if part == "?" else part for part in expanded.split())


@lru_cache(maxsize=1024)
def _check_one(cron: str) -> str:
    from cronsim import CronSim, CronSimError

    form = _library_form(cron)
    try:
        CronSim(form, datetime(2000, 1, 1))
    except CronSimError as error:
        try:
            parse_cron(form)
        except ValueError as ours:  # our message names the field and its range
            reason = str(ours)
        else:
            reason = f"cron schedule {cron!r}: {str(error).lower()}"
        raise DefinitionError(f"{reason}. A cron schedule has {_FIELD_HELP}") from error
    return form


def validate_cron_schedule(cron_schedule: str | Sequence[str], *, owner: str) -> tuple[str, ...]:
    """Checks a cron string or a non-empty list of them; returns them as a tuple.

    Args:
        cron_schedule: What the user gave.
        owner: The definition it belongs to, for messages (``"schedule 'daily'"``).

    Raises:
        DefinitionError: Not a string or list of strings, an empty list, or a malformed cron
            string (the message names the field and what it allows).
    """
    crons = (cron_schedule,) if isinstance(cron_schedule, str) else cron_schedule
    if (
        isinstance(crons, str | bytes)
        or not isinstance(crons, Sequence)
        or not crons
        or not all(isinstance(cron, str) for cron in crons)
    ):
        raise DefinitionError(
            f"{owner}: cron_schedule must be a cron string such as '0 0 * * *' or a non-empty "
            f"list of them, got {cron_schedule!r}"
        )
    for cron in crons:
        try:
            _check_one(cron)
        except DefinitionError as error:
            raise DefinitionError(f"{owner}: {error}") from error.__cause__
    return tuple(crons)


def is_valid_cron_schedule(cron_schedule: str | Sequence[str]) -> bool:
    """Whether `cron_schedule` is a valid cron string or non-empty list of them."""
    try:
        validate_cron_schedule(cron_schedule, owner="cron")
    except DefinitionError:
        return False
    return True


def resolve_timezone(name: str | None, *, owner: str) -> tzinfo:
    """The tzinfo of an IANA zone name (None is UTC).

    Raises:
        DefinitionError: The name is not a known IANA time zone.
    """
    if name is None:
        return get_zone("UTC")
    if not isinstance(name, str):
        raise DefinitionError(f"{owner}: execution_timezone must be a string, got {name!r}")
    try:
        return get_zone(name)
    except ValueError as error:
        raise DefinitionError(
            f"{owner}: execution_timezone {name!r} is not an IANA time zone; use a name such "
            "as 'UTC', 'Europe/Berlin' or 'America/New_York'"
        ) from error


def _wall_times(form: str) -> tuple[bool, WallTimes]:
    from cronsim import CronSim

    every_hour = len(CronSim(form, datetime(2000, 1, 1)).hours) == 24

    def wall_times(after: datetime) -> Iterator[datetime]:
        return iter(CronSim(form, after))

    return every_hour, wall_times


def cron_fire_timestamps(cron: str, zone: tzinfo, start: float) -> Iterator[float]:
    """The POSIX instants at or after `start` at which one valid cron string fires.

    Regular cadences are computed by arithmetic; other schedules iterate cronsim's wall
    times.
    """
    form = _check_one(cron)
    if fast_ticks(form, zone, start) is not None:
        return fire_times(form, zone, start)
    every_hour, wall_times = _wall_times(form)
    return fire_times(form, zone, start, wall_times=wall_times, every_hour=every_hour)


def cron_string_iterator(
    start_timestamp: float,
    cron_string: str | Sequence[str],
    execution_timezone: str | None = None,
) -> Iterator[datetime]:
    """The fire times at or after `start_timestamp`, as datetimes in the zone (Dagster's name).

    Raises:
        DefinitionError: The cron string or the time zone is not valid.
    """
    crons = validate_cron_schedule(cron_string, owner="cron_string_iterator")
    zone = resolve_timezone(execution_timezone, owner="cron_string_iterator")
    if len(crons) == 1:
        instants = cron_fire_timestamps(crons[0], zone, start_timestamp)
    else:
        instants = merge_fire_times(cron_fire_timestamps(c, zone, start_timestamp) for c in crons)
    from_timestamp = datetime.fromtimestamp
    return (from_timestamp(instant, zone) for instant in instants)
