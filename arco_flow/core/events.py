"""Event types: the closed union of everything that can happen to a run.

Pure. Each event is a small frozen class whose persisted name (`EVENT_TYPE`, with a
version) stays fixed when the class is renamed. Events are the source of truth; the
engine's projections are derived from them. `event_to_data` / `event_from_data` are the
only codec.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, TypeAlias

from arco_flow.core.errors import ArcoError
from arco_flow.core.keys import AssetKey

__all__ = [
    "AssetMaterialized",
    "ErrorInfo",
    "Event",
    "EventRecord",
    "LogRecorded",
    "RunCanceled",
    "RunFailed",
    "RunStarted",
    "RunSucceeded",
    "TaskFailed",
    "TaskSkipped",
    "TaskStarted",
    "TaskSucceeded",
    "TaskUsage",
    "event_from_data",
    "event_to_data",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorInfo:
    """A structured error: what was raised, where, and whether user code raised it."""

    class_name: str
    message: str
    stack: str = ""
    is_user_code: bool = True
    cause: ErrorInfo | None = None

    @staticmethod
    def from_exception(error: BaseException, *, is_user_code: bool = True) -> ErrorInfo:
        """Captures `error` with its traceback and its cause chain."""
        cause = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
        return ErrorInfo(
            class_name=type(error).__name__,
            message=str(error),
            stack="".join(traceback.format_exception(type(error), error, error.__traceback__)),
            is_user_code=is_user_code and not isinstance(error, ArcoError),
            cause=ErrorInfo.from_exception(cause, is_user_code=is_user_code) if cause else None,
        )

    def to_data(self) -> dict[str, Any]:
        """Plain data for canonical JSON."""
        return {
            "class_name": self.class_name,
            "message": self.message,
            "stack": self.stack,
            "is_user_code": self.is_user_code,
            "cause": self.cause.to_data() if self.cause else None,
        }

    @staticmethod
    def from_data(data: Mapping[str, Any]) -> ErrorInfo:
        """Inverse of `to_data`."""
        cause = data.get("cause")
        return ErrorInfo(
            class_name=data["class_name"],
            message=data["message"],
            stack=data.get("stack", ""),
            is_user_code=data.get("is_user_code", True),
            cause=ErrorInfo.from_data(cause) if cause else None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskUsage:
    """What a task attempt consumed, for cost attribution."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted:
    """A run began executing its plan."""

    EVENT_TYPE: ClassVar[str] = "run.started/1"
    run_id: str
    plan_id: str
    job_name: str
    asset_keys: tuple[AssetKey, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    parent_run_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSucceeded:
    """Every task of the run succeeded."""

    EVENT_TYPE: ClassVar[str] = "run.succeeded/1"
    run_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFailed:
    """At least one task failed for good, or the engine could not go on."""

    EVENT_TYPE: ClassVar[str] = "run.failed/1"
    run_id: str
    failed_task_ids: tuple[str, ...] = ()
    error: ErrorInfo | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCanceled:
    """The run was canceled before every task finished."""

    EVENT_TYPE: ClassVar[str] = "run.canceled/1"
    run_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskStarted:
    """An attempt of a task began in a worker."""

    EVENT_TYPE: ClassVar[str] = "task.started/1"
    run_id: str
    task_id: str
    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetMaterialized:
    """A task stored a new value (or recorded a new state) of an asset."""

    EVENT_TYPE: ClassVar[str] = "asset.materialized/1"
    run_id: str
    task_id: str
    asset_key: AssetKey
    partition_key: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Metadata values in their data form (see `arco_flow.sdk.metadata`)."""
    data_version: str | None = None
    code_version: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LogRecorded:
    """A log line from user code or the engine, tied to a run and maybe a task."""

    EVENT_TYPE: ClassVar[str] = "log.recorded/1"
    run_id: str
    task_id: str | None
    level: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskSucceeded:
    """An attempt of a task finished and every output was stored."""

    EVENT_TYPE: ClassVar[str] = "task.succeeded/1"
    run_id: str
    task_id: str
    attempt: int
    usage: TaskUsage | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskFailed:
    """An attempt of a task failed; `retry_in_s` is set when another attempt follows."""

    EVENT_TYPE: ClassVar[str] = "task.failed/1"
    run_id: str
    task_id: str
    attempt: int
    error: ErrorInfo
    retry_in_s: float | None = None
    usage: TaskUsage | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskSkipped:
    """A task did not run because tasks it needs did not succeed."""

    EVENT_TYPE: ClassVar[str] = "task.skipped/1"
    run_id: str
    task_id: str
    reason: str
    blocked_by: tuple[str, ...] = ()


Event: TypeAlias = (
    RunStarted
    | RunSucceeded
    | RunFailed
    | RunCanceled
    | TaskStarted
    | AssetMaterialized
    | LogRecorded
    | TaskSucceeded
    | TaskFailed
    | TaskSkipped
)

EVENT_TYPES: dict[str, type[Any]] = {
    cls.EVENT_TYPE: cls
    for cls in (
        RunStarted,
        RunSucceeded,
        RunFailed,
        RunCanceled,
        TaskStarted,
        AssetMaterialized,
        LogRecorded,
        TaskSucceeded,
        TaskFailed,
        TaskSkipped,
    )
}


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRecord:
    """An event with its place in the log: a sequence number and the time it was recorded."""

    sequence: int
    timestamp: float
    event: Event

    @property
    def event_type(self) -> str:
        """The persisted type name of the event."""
        return self.event.EVENT_TYPE

    @property
    def run_id(self) -> str:
        """The run the event belongs to."""
        return self.event.run_id


def _value_to_data(value: Any) -> Any:
    if isinstance(value, AssetKey):
        return {"$key": list(value.path)}
    if isinstance(value, ErrorInfo):
        return value.to_data()
    if isinstance(value, TaskUsage):
        return {"wall_s": value.wall_s, "cpu_s": value.cpu_s, "peak_rss_mb": value.peak_rss_mb}
    if isinstance(value, tuple):
        return [_value_to_data(item) for item in value]
    if isinstance(value, Mapping):
        return dict(value)
    return value


def event_to_data(event: Event) -> dict[str, Any]:
    """The event as plain data: its type name and its fields."""
    body = {f.name: _value_to_data(getattr(event, f.name)) for f in fields(event)}
    return {"type": event.EVENT_TYPE, "data": body}


def event_from_data(data: Mapping[str, Any]) -> Event:
    """Inverse of `event_to_data`."""
    cls = EVENT_TYPES[data["type"]]
    body = dict(data["data"])
    for name, value in body.items():
        if name == "error" and value is not None:
            body[name] = ErrorInfo.from_data(value)
        elif name == "usage" and value is not None:
            body[name] = TaskUsage(**value)
        elif name == "asset_key":
            body[name] = AssetKey(value["$key"])
        elif name == "asset_keys":
            body[name] = tuple(AssetKey(item["$key"]) for item in value)
        elif isinstance(value, list):
            body[name] = tuple(value)
    event: Event = cls(**body)
    return event
