"""`arco-flow daemon`: run the schedules, sensors and backfills of a code location.

Runs until Ctrl-C or SIGTERM, printing one line per tick outcome; on stop it waits for
the runs it launched. `register_daemon_commands` adds this command and the `schedules` and
`sensors` groups to the `arco-flow` command.
"""

from __future__ import annotations

import datetime
import signal
import threading
import time
from types import FrameType

import click

from arco_flow.cli.instigators import schedules, sensors

__all__ = ["daemon", "register_daemon_commands"]


@click.command("daemon")
@click.option("-m", "--module", help="Python module holding the definitions.")
@click.option("-f", "--file", "file", help="Python file holding the definitions.")
@click.option("-a", "--attribute", help="Name of the Definitions object in the module.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.01),
    default=1.0,
    show_default=True,
    help="Seconds between two passes of each loop.",
)
@click.option(
    "--missed-ticks",
    type=click.Choice(["skip", "catch_up"]),
    default="skip",
    show_default=True,
    help="Fire times missed while no daemon ran: only the latest (skip), or all (catch_up).",
)
@click.option(
    "--max-catch-up",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="With catch_up: the most missed fire times per schedule.",
)
@click.option(
    "--executor",
    type=click.Choice(["in_process", "process_pool"]),
    default="in_process",
    show_default=True,
    help="How the tasks of launched runs execute.",
)
# -- run queue and monitoring (issue 6) --
@click.option(
    "--queue/--no-queue",
    "enqueue",
    default=True,
    show_default=True,
    help="Schedules and sensors queue their runs (launched by priority under the limits).",
)
@click.option(
    "--max-concurrent-runs",
    type=click.IntRange(min=0),
    default=None,
    help="The most runs running at once (default: no limit).",
)
@click.option(
    "--tag-limit",
    "tag_limits",
    multiple=True,
    help="KEY=VALUE:N (runs with that tag) or KEY:N (per value of KEY); repeatable.",
)
@click.option(
    "--max-runtime",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds a run may take unless tagged arco/max_runtime_s (default: no deadline).",
)
# -- end run queue and monitoring --
@click.option(  # code server (issue 6, item 6)
    "--evaluation-timeout",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="Seconds one schedule or sensor evaluation may take in the code server.",
)
def daemon(
    module: str | None,
    file: str | None,
    attribute: str | None,
    interval: float,
    missed_ticks: str,
    max_catch_up: int,
    executor: str,
    enqueue: bool,
    max_concurrent_runs: int | None,
    tag_limits: tuple[str, ...],
    max_runtime: float | None,
    evaluation_timeout: float,
) -> None:
    """Run schedules, sensors, backfills, the run queue and run monitoring until stopped."""
    from arco_flow.cli.main import _code_location
    from arco_flow.daemon.runner import run_daemon
    from arco_flow.daemon.ticks import TickOutcome
    from arco_flow.execution.run_queue import QueueLimits, parse_tag_limit
    from arco_flow.storage.instance import ArcoInstance

    if not module and not file:
        raise click.UsageError("give the code location: -m MODULE or -f FILE")
    limits = QueueLimits(
        max_concurrent_runs=max_concurrent_runs,
        tag_limits=tuple(parse_tag_limit(text) for text in tag_limits),
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        click.echo(f"daemon: {signal.Signals(signum).name}, stopping after the current ticks")
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def on_tick(outcome: TickOutcome) -> None:
        now = datetime.datetime.fromtimestamp(time.time(), datetime.UTC)
        click.echo(f"{now:%H:%M:%S} {outcome.describe()}")

    def on_error(loop: str, error: BaseException) -> None:
        click.echo(f"daemon: the {loop} loop failed: {error}", err=True)

    with ArcoInstance.get() as instance:
        location = _code_location(module, file, attribute)
        click.echo(
            f"daemon: code location {location}, loaded by code servers and run processes "
            f"only; missed ticks: {missed_ticks}; Ctrl-C stops"
        )
        run_daemon(
            instance,
            location,
            stop_event=stop,
            interval_s=interval,
            missed_ticks="catch_up" if missed_ticks == "catch_up" else "skip",
            max_catch_up_ticks=max_catch_up,
            executor="process_pool" if executor == "process_pool" else "in_process",
            on_tick=on_tick,
            on_error=on_error,
            enqueue_runs=enqueue,
            queue_limits=limits,
            max_runtime_s=max_runtime,
            evaluate_in="code_server",  # code server (issue 6, item 6)
            evaluation_timeout_s=evaluation_timeout,
        )
    click.echo("daemon: stopped")


def register_daemon_commands(cli: click.Group) -> None:
    """Adds `daemon`, `schedules` and `sensors` to the `arco-flow` command."""
    cli.add_command(daemon)
    cli.add_command(schedules)
    cli.add_command(sensors)
