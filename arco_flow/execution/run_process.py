"""The run process: one run, carried out in a process of its own that loads the user's code.

The daemon never imports user code to run it: it starts ``python -m
arco_flow.execution.run_process`` once per run, and this process loads the code location,
plans the run and carries it to its end. The protocol over the process's standard streams:

- stdin: one JSON object (`message_to_data` of a `RunProcessMessage`), then end of file.
  It names the store (`StoreAddress`), the code location, the executor and the action:
  ``launch`` a run a tick requested (`RunProcessMessage.request`: the fields of a
  `TickRunRequested` request), ``start_queued`` a queued run, or ``resume`` a run whose
  coordinator died.
- stdout: exactly one JSON line, as soon as the run is planned: ``{"planned": true, "pid":
  ...}``, or ``{"error": ...}`` (an `ErrorInfo` as data) when it cannot be planned. Then
  stdout is closed: anything user code prints goes to stderr.
- exit status: 0 once the run ended (whatever its status) or there was nothing to do,
  1 when it could not be planned (after reporting why), 2 when it failed after planning
  (the run's own record says how).

Invariants: this process is the run's coordinator (`launcher.coordinator_info` records its
pid and host with `RunStarted` or `RunResumed`), so once the daemon that started it is
gone the run goes on, and the daemon's monitor sees a live coordinator and leaves it
alone. A run id that already has a run is not launched again. A queued run is claimed by
this process (`run_queue.claim_queued_run`) before it is planned: the claim names this
process, not the daemon, so a daemon that dies after spawning it leaves a claim whose
holder still lives, and the next daemon does not start the run a second time.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from arco_flow.core.errors import ArcoError, ExecutionError, NotFoundError
from arco_flow.core.events import ErrorInfo
from arco_flow.execution.launcher import Executor
from arco_flow.execution.run_operations import (
    Loader,
    launch_requested_run,
    load_code_location,
    resume_run,
)
from arco_flow.execution.run_queue import RunClaimedError, launch_queued_run
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.memory_store import MemoryEventStore

__all__ = [
    "RUN_PROCESS_MODULE",
    "RunProcessAction",
    "RunProcessError",
    "RunProcessMessage",
    "StoreAddress",
    "carry_out",
    "launch_error_info",
    "main",
    "message_from_data",
    "message_to_data",
    "open_store",
    "store_address",
]

RUN_PROCESS_MODULE = "arco_flow.execution.run_process"
"""What ``python -m`` runs to start a run process."""

RunProcessAction = Literal["launch", "start_queued", "resume"]

_ACTIONS: tuple[RunProcessAction, ...] = ("launch", "start_queued", "resume")
_LOG = logging.getLogger("arco_flow.run_process")


class RunProcessError(ExecutionError):
    """A run process could not plan its run (`info` is the error it reported), or died.

    Args:
        message: What happened, naming the run.
        info: The error the run process reported, when it reported one.
    """

    def __init__(self, message: str, info: ErrorInfo | None = None) -> None:
        super().__init__(message)
        self.info = info


def launch_error_info(error: BaseException) -> ErrorInfo:
    """The error to record when a launch failed: a run process's own report as the cause."""
    info = ErrorInfo.from_exception(error)
    if isinstance(error, RunProcessError) and error.info is not None:
        return replace(info, cause=error.info)
    return info


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreAddress:
    """How another process opens the same store as an `ArcoInstance` on disk."""

    url: str
    """The event store's SQLAlchemy URL."""
    storage_dir: str
    """The folder of the default filesystem IO manager."""
    tenant_id: str
    workspace_id: str


def store_address(instance: ArcoInstance) -> StoreAddress | None:
    """Where `instance` lives, for another process; None when only this process can see it.

    An in-memory store (an ephemeral instance) and an instance without a storage folder
    have no address: their runs can only run in this process.
    """
    storage = instance.storage
    if isinstance(storage, MemoryEventStore) or instance.storage_dir is None:
        return None
    url = getattr(storage, "url", None)  # the SQL store's; other backends have none yet
    if not isinstance(url, str):
        return None
    return StoreAddress(
        url=url,
        storage_dir=instance.storage_dir,
        tenant_id=instance.tenant_id,
        workspace_id=instance.workspace_id,
    )


def open_store(address: StoreAddress) -> ArcoInstance:
    """The instance at `address` (the caller disposes of it)."""
    from arco_flow.storage.sql_store import SqlEventStore  # SQLAlchemy loads only here

    return ArcoInstance(
        SqlEventStore(address.url),
        address.storage_dir,
        tenant_id=address.tenant_id,
        workspace_id=address.workspace_id,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunProcessMessage:
    """What one run process is asked to do."""

    action: RunProcessAction
    run_id: str
    store: StoreAddress
    code_location: Mapping[str, str]
    """``{"module"|"file": ..., "attribute"?: ...}``; a queued or resumed run's own
    recorded location wins when it has one."""
    executor: Executor = "in_process"
    """How a launched run's tasks execute (a queued or resumed run keeps its own)."""
    request: Mapping[str, Any] = field(default_factory=dict)
    """With ``launch``: ``job_name``, ``run_config``, ``asset_selection`` (key paths),
    ``tags`` and ``partition_key``, as a tick recorded them."""
    sys_path: tuple[str, ...] = ()
    """The parent's import path, so the code location is found as the parent would."""

    def __post_init__(self) -> None:
        if self.action not in _ACTIONS:
            raise ArcoError(
                f"run process action {self.action!r} is not one of {', '.join(_ACTIONS)}"
            )
        if self.action == "launch" and not self.request.get("job_name"):
            raise ArcoError(f"launching run {self.run_id} needs a request with a job_name")


def message_to_data(message: RunProcessMessage) -> dict[str, Any]:
    """`message` as JSON-ready data (the run process's stdin)."""
    store = message.store
    return {
        "action": message.action,
        "run_id": message.run_id,
        "store": {
            "url": store.url,
            "storage_dir": store.storage_dir,
            "tenant_id": store.tenant_id,
            "workspace_id": store.workspace_id,
        },
        "code_location": dict(message.code_location),
        "executor": message.executor,
        "request": dict(message.request),
        "sys_path": list(message.sys_path),
    }


def message_from_data(data: Mapping[str, Any]) -> RunProcessMessage:
    """Inverse of `message_to_data`.

    Raises:
        ArcoError: the data is not a run process message.
    """
    try:
        store = data["store"]
        executor: Executor = "process_pool" if data["executor"] == "process_pool" else "in_process"
        return RunProcessMessage(
            action=data["action"],
            run_id=str(data["run_id"]),
            store=StoreAddress(
                url=str(store["url"]),
                storage_dir=str(store["storage_dir"]),
                tenant_id=str(store["tenant_id"]),
                workspace_id=str(store["workspace_id"]),
            ),
            code_location={str(k): str(v) for k, v in dict(data["code_location"]).items()},
            executor=executor,
            request=dict(data.get("request") or {}),
            sys_path=tuple(str(entry) for entry in data.get("sys_path") or ()),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ArcoError(
            f"the run process got a message it cannot read ({error!r}); start it with "
            "`SubprocessRunLauncher`, which writes one"
        ) from error


def _run_exists(instance: ArcoInstance, run_id: str) -> bool:
    try:
        instance.get_run(run_id)
    except NotFoundError:
        return False
    return True


def carry_out(
    message: RunProcessMessage,
    instance: ArcoInstance,
    *,
    on_planned: Callable[[], None],
    loader: Loader = load_code_location,
) -> None:
    """Does what `message` asks, in this process, until the run ends.

    Args:
        message: The action and its run.
        instance: The store `message` names, opened.
        on_planned: Called once the run is planned (or found launched already), before
            any task runs.
        loader: Loads a code location (the message's, or the run's recorded one).

    Raises:
        ArcoError: the run cannot be planned (unknown job, bad partition or config, a
            queued run that is no longer queued, a resumed run that already ended).
    """

    def load(recorded: Mapping[str, Any]) -> Any:
        return loader(recorded or message.code_location)

    if message.action == "launch":
        if _run_exists(instance, message.run_id):
            on_planned()  # launched already (by an earlier daemon): nothing to do
            return
        launch_requested_run(
            load(message.code_location),
            instance,
            message.request,
            run_id=message.run_id,
            code_location=message.code_location,
            executor=message.executor,
            on_planned=on_planned,
        )
    elif message.action == "start_queued":
        launch_queued_run(
            instance, message.run_id, loader=load, on_planned=lambda _prepared: on_planned()
        )
    else:
        resume_run(
            instance,
            message.run_id,
            force=True,
            loader=load,
            on_planned=lambda _prepared: on_planned(),
        )


class _Report:
    """The run process's one line to its parent, on a private copy of the real stdout."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @property
    def sent(self) -> bool:
        return self._fd is None

    def send(self, data: Mapping[str, Any]) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.write(fd, (json.dumps(data) + "\n").encode("utf-8"))
        except OSError:
            pass  # the parent is gone: the run goes on without it
        finally:
            os.close(fd)


def main() -> int:
    """The run process: reads its message on stdin, reports planning on stdout, runs.

    Returns:
        The exit status (see the module docstring).
    """
    report = _Report(os.dup(1))
    os.dup2(2, 1)  # user code's prints must never reach the report pipe
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s run-process[%(process)d] %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("arco_flow").setLevel(logging.INFO)
    try:
        message = message_from_data(json.loads(sys.stdin.buffer.read()))
    except (ArcoError, ValueError) as error:
        report.send({"error": ErrorInfo.from_exception(error, is_user_code=False).to_data()})
        return 1
    sys.path[:0] = [entry for entry in message.sys_path if entry not in sys.path]
    _LOG.info("%s run %s from %s", message.action, message.run_id, dict(message.code_location))

    def planned() -> None:
        report.send({"planned": True, "pid": os.getpid()})

    try:
        with open_store(message.store) as instance:
            carry_out(message, instance, on_planned=planned)
    except BaseException as error:  # noqa: BLE001  # reported to the parent, or logged
        if not report.sent:
            if isinstance(error, RunClaimedError):  # another process starts it: no fault
                _LOG.info("run %s is left to another process: %s", message.run_id, error)
            else:
                _LOG.error("run %s could not be planned", message.run_id, exc_info=error)
            report.send({"error": ErrorInfo.from_exception(error).to_data()})
            return 1
        _LOG.exception("run %s failed after it was planned", message.run_id)
        return 2
    _LOG.info("run %s ended", message.run_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
