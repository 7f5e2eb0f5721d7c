"""`arco-flow schedules|sensors list|start|stop|preview|ticks`.

Start and stop are events on the instigator's stream (the daemon reads them at its next
pass); `preview` evaluates one tick without launching or recording anything; `ticks`
shows the tick history, newest first.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from arco_flow.core.errors import NotFoundError, did_you_mean
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import InstigatorState, TickRecord

__all__ = ["schedules", "sensors"]

F = TypeVar("F", bound=Callable[..., Any])


def _location(fn: F) -> F:
    fn = click.option("-a", "--attribute", help="Name of the Definitions object in the module.")(fn)
    fn = click.option("-f", "--file", "file", help="Python file holding the definitions.")(fn)
    fn = click.option("-m", "--module", help="Python module holding the definitions.")(fn)
    return fn


def _definitions(module: str | None, file: str | None, attribute: str | None) -> Any:
    from arco_flow.cli.main import _load

    if not module and not file:
        raise click.UsageError("give the code location: -m MODULE or -f FILE")
    return _load(module, file, attribute)


def _find(kind: str, items: Sequence[Any], name: str) -> Any:
    for item in items:
        if item.name == name:
            return item
    names = sorted(item.name for item in items)
    raise NotFoundError(
        f"no {kind} named {name!r}.{did_you_mean(name, names)} "
        f"{kind.capitalize()}s: {', '.join(names) or 'none'}"
    )


def _when(instant: float | None) -> str:
    if instant is None:
        return "-"
    return datetime.datetime.fromtimestamp(instant, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _status(state: InstigatorState, default_running: bool) -> str:
    status = state.status(default_running=default_running).value
    return status if state.user_status is not None else f"{status} (default)"


def _last_tick(state: InstigatorState) -> str:
    history = state.history(1)
    if not history:
        return "never ticked"
    tick = history[0]
    return f"last tick {tick.status.value} at {_when(tick.timestamp)}"


def _tick_line(tick: TickRecord) -> str:
    when = f"for {_when(tick.scheduled_time)} " if tick.scheduled_time is not None else ""
    line = f"{_when(tick.timestamp)}  {tick.tick_id}  {when}{tick.status.value}"
    if tick.run_ids:
        line += f"  runs: {', '.join(tick.run_ids)}"
    if tick.skip_reason:
        line += f"  ({tick.skip_reason})"
    if tick.error is not None:
        line += f"  error: {tick.error.message}"
    return line


def _is_default_running(definition: Any) -> bool:
    return str(getattr(definition.default_status, "value", "")) == "RUNNING"


def _group(kind: str, items_of: Callable[[Any], Sequence[Any]]) -> click.Group:
    @click.group(name=f"{kind}s", help=f"List, start, stop and preview {kind}s.")
    def group() -> None:
        pass

    @group.command("list")
    @_location
    def list_(module: str | None, file: str | None, attribute: str | None) -> None:
        """Every {kind} of the code location, its status and last tick."""
        items = items_of(_definitions(module, file, attribute))
        if not items:
            click.echo(f"no {kind}s in this code location")
            return
        with ArcoInstance.get() as instance:
            for item in sorted(items, key=lambda i: i.name):
                state = instance.get_instigator_state(item.name)
                when = _describe_definition(kind, item, state)
                status = _status(state, _is_default_running(item))
                click.echo(f"{item.name}  {status}  {when}  {_last_tick(state)}")

    def _set(running: bool) -> Callable[..., None]:
        def command(module: str | None, file: str | None, attribute: str | None, name: str) -> None:
            from arco_flow.daemon.ticks import set_instigator_status

            item = _find(kind, items_of(_definitions(module, file, attribute)), name)
            with ArcoInstance.get() as instance:
                set_instigator_status(instance, item.name, kind, running=running)  # type: ignore[arg-type]  # kind is schedule or sensor
            click.echo(f"{kind} {item.name} {'started' if running else 'stopped'}")

        return command

    for verb, running in (("start", True), ("stop", False)):
        command = _set(running)
        command.__doc__ = f"{verb.capitalize()} a {kind} (the daemon acts on it at its next pass)."
        group.command(verb)(_location(click.argument("name")(command)))

    @group.command("preview")
    @_location
    @click.argument("name")
    def preview(module: str | None, file: str | None, attribute: str | None, name: str) -> None:
        """Evaluate one tick now, without launching or recording anything."""
        item = _find(kind, items_of(_definitions(module, file, attribute)), name)
        with ArcoInstance.get() as instance:
            for line in _preview(kind, item, instance):
                click.echo(line)

    @group.command("ticks")
    @click.argument("name")
    @click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
    def ticks(name: str, limit: int) -> None:
        """The tick history of a {kind}, newest first."""
        with ArcoInstance.get() as instance:
            history = instance.get_ticks(name, limit=limit)
        if not history:
            click.echo(f"{kind} {name} has no tick in this store")
        for tick in history:
            click.echo(_tick_line(tick))

    list_.help = f"Every {kind} of the code location, its status and last tick."
    ticks.help = f"The tick history of a {kind}, newest first."
    return group


def _describe_definition(kind: str, item: Any, state: InstigatorState) -> str:
    if kind == "sensor":
        cursor = f", cursor {state.cursor!r}" if state.cursor is not None else ""
        return f"every {item.minimum_interval_seconds}s{cursor}"
    zone = getattr(item.timezone, "key", str(item.timezone))
    now = datetime.datetime.fromtimestamp(time.time(), datetime.UTC)
    upcoming = next(iter(item.fire_times(now)), None)
    return (
        f"{item.cron_schedule!s} ({zone}), next {_when(upcoming.timestamp() if upcoming else None)}"
    )


def _preview(kind: str, item: Any, instance: ArcoInstance) -> list[str]:
    if kind == "schedule":
        from arco_flow.sdk.schedules import ScheduleEvaluationContext

        now = datetime.datetime.fromtimestamp(time.time(), datetime.UTC)
        fire_time = next(iter(item.fire_times(now)))
        result = item.evaluate_tick(ScheduleEvaluationContext(fire_time, instance, None, item.name))
        lines = [f"schedule {item.name}: tick for {fire_time.isoformat()}"]
        cursor = None
    else:
        from arco_flow.sdk.sensors import SensorEvaluationContext

        state = instance.get_instigator_state(item.name)
        result = item.evaluate_tick(
            SensorEvaluationContext(
                state.cursor, instance, None, item.name, state.last_completion_time
            )
        )
        lines = [f"sensor {item.name}: tick from cursor {state.cursor!r}"]
        cursor = result.cursor
    if not result.run_requests:
        lines.append(f"  skipped: {result.skip_message or 'no run requested'}")
    for request in result.run_requests:
        parts = [f"job {request.job_name or item.job_name}"]
        if request.run_key is not None:
            parts.append(f"run_key {request.run_key}")
        if request.partition_key is not None:
            parts.append(f"partition {request.partition_key}")
        if request.tags:
            parts.append(f"tags {dict(request.tags)}")
        lines.append("  would request run: " + ", ".join(parts))
    for partitions in getattr(result, "dynamic_partitions_requests", ()):
        lines.append(f"  would change dynamic partitions: {partitions!r}")
    if kind == "sensor":
        lines.append(f"  cursor after: {cursor!r}")
    return lines


schedules = _group("schedule", lambda defs: defs.schedules)
sensors = _group("sensor", lambda defs: defs.sensors)
