"""What schedules and sensors ask for: `RunRequest`, `SkipReason`, and tick targets.

A schedule or sensor function returns (or yields) run requests, a skip reason, or for
schedules a run-config dict; `collect_tick_results` turns every accepted shape into one list
of requests and a skip message, and `TickTarget` holds what a definition targets (a job by
name, or an asset selection run as an anonymous job) and checks each request against it.
Values only: nothing here launches a run.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import GeneratorType
from typing import Any

from arco_flow.core.errors import DefinitionError, PartitionError
from arco_flow.core.keys import AssetCheckKey, AssetKey, CoercibleToAssetKey
from arco_flow.core.partitions._requests import (
    AddDynamicPartitionsRequest,
    DeleteDynamicPartitionsRequest,
)

__all__ = [
    "AddDynamicPartitionsRequest",
    "DeleteDynamicPartitionsRequest",
    "RunRequest",
    "SkipReason",
    "TickTarget",
    "collect_tick_results",
    "context_parameter",
]


_set = object.__setattr__
_FIELDS = (
    "run_key",
    "run_config",
    "tags",
    "job_name",
    "asset_selection",
    "stale_assets_only",
    "partition_key",
    "asset_check_keys",
)


def _field(index: int, doc: str) -> Any:
    return property(lambda self: self._values[index], doc=doc)


class RunRequest:
    """A run a schedule or sensor asks for (Dagster's `RunRequest`); immutable.

    Args:
        run_key: Launched at most once per schedule or sensor; None launches on every
            request.
        run_config: A dict or a `RunConfig`; None for the target's default config.
        tags: Tags of the run.
        job_name: The job to run; None for the definition's target.
        asset_selection: The assets to materialize, instead of all of the job's.
        stale_assets_only: Only the selected assets that are stale.
        partition_key: The partition to run.
        asset_check_keys: The asset checks to run, instead of those of the assets.

    Raises:
        DefinitionError: A field has the wrong type (a non-string run key, tag or partition
            key).
    """

    # One slot holding a tuple, not a frozen dataclass: a frozen dataclass sets each field
    # through object.__setattr__, and sensors make hundreds of requests per tick.
    __slots__ = ("_values",)
    _values: tuple[Any, ...]

    def __init__(
        self,
        run_key: str | None = None,
        run_config: Any = None,
        tags: Mapping[str, str] | None = None,
        job_name: str | None = None,
        asset_selection: Sequence[CoercibleToAssetKey] | None = None,
        stale_assets_only: bool = False,
        partition_key: str | None = None,
        asset_check_keys: Sequence[AssetCheckKey] | None = None,
    ) -> None:
        if run_key is not None and type(run_key) is not str:
            if not isinstance(run_key, str):
                raise DefinitionError(f"RunRequest run_key must be a string, got {run_key!r}")
            run_key = str(run_key)  # e.g. a MultiPartitionKey: the key is its text
        if tags is None:
            tags = {}
        elif type(tags) is dict:
            for key, value in tags.items():
                if not (type(key) is str or isinstance(key, str)) or not (
                    type(value) is str or isinstance(value, str)
                ):
                    raise DefinitionError(
                        f"RunRequest tags must map strings to strings, got {tags!r}; "
                        "convert values with str()"
                    )
        elif not isinstance(tags, Mapping) or not _all_strings(tags):
            raise DefinitionError(
                f"RunRequest tags must map strings to strings, got {tags!r}; convert "
                "values with str()"
            )
        if partition_key is not None and not isinstance(partition_key, str):
            raise DefinitionError(
                f"RunRequest partition_key must be a string, got {partition_key!r}"
            )
        if asset_selection is not None:
            asset_selection = tuple(AssetKey.from_coercible(k) for k in asset_selection)
        if asset_check_keys is not None:
            asset_check_keys = tuple(asset_check_keys)
        _set(
            self,
            "_values",
            (
                run_key,
                run_config,
                tags,
                job_name,
                asset_selection,
                stale_assets_only,
                partition_key,
                asset_check_keys,
            ),
        )

    run_key: str | None = _field(0, "Launched at most once per schedule or sensor.")
    run_config: Any = _field(1, "A dict or a `RunConfig`; None for the target's default.")
    tags: Mapping[str, str] = _field(2, "Tags of the run.")
    job_name: str | None = _field(3, "The job to run; None for the definition's target.")
    asset_selection: tuple[AssetKey, ...] | None = _field(4, "The assets to materialize.")
    stale_assets_only: bool = _field(5, "Only the selected assets that are stale.")
    partition_key: str | None = _field(6, "The partition to run.")
    asset_check_keys: tuple[AssetCheckKey, ...] | None = _field(7, "The checks to run.")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"RunRequest is immutable; use with_replaced_attrs({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("RunRequest is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not RunRequest:
            return NotImplemented
        return self._values == other._values

    __hash__ = None  # type: ignore[assignment]  # tags and run config are dicts

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={value!r}" for name, value in zip(_FIELDS, self._values, strict=True)
        )
        return f"RunRequest({shown})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (RunRequest, self._values)

    def _targeted(self, job_name: str | None, tags: Mapping[str, str]) -> RunRequest:
        """A copy with `job_name` and `tags`, without checking again what was checked."""
        copy = object.__new__(RunRequest)
        values = self._values
        _set(copy, "_values", (values[0], values[1], tags, job_name, *values[4:]))
        return copy

    def with_replaced_attrs(self, **kwargs: Any) -> RunRequest:
        """A copy with the given fields replaced."""
        unknown = set(kwargs) - set(_FIELDS)
        if unknown:
            raise DefinitionError(f"RunRequest has no field {sorted(unknown)!r}; fields: {_FIELDS}")
        return RunRequest(**{**dict(zip(_FIELDS, self._values, strict=True)), **kwargs})


@dataclass(frozen=True, slots=True)
class SkipReason:
    """Why a tick requested no run (Dagster's `SkipReason`)."""

    skip_message: str | None = None


def context_parameter(
    fn: Callable[..., Any], resource_keys: Iterable[str]
) -> tuple[bool, tuple[str, ...]]:
    """Whether `fn` takes a context first, and the resource keys its other parameters name.

    A first parameter that is not a declared resource key is the context, as in Dagster.
    """
    params = list(inspect.signature(fn).parameters.values())
    declared = set(resource_keys)
    takes_context = bool(params) and params[0].name not in declared
    resources = tuple(p.name for p in params[1 if takes_context else 0 :])
    return takes_context, resources


def collect_tick_results(
    value: Any, owner: str, *, allow_run_config: bool
) -> tuple[list[RunRequest], str | None, list[Any]]:
    """The run requests, skip message and other items (e.g. a `SensorResult`) of a result.

    Accepts a `RunRequest`, a `SkipReason`, None, a list or generator of those, and for
    schedules a run-config dict (one request with that config).

    Raises:
        DefinitionError: The function returned something else.
    """
    if type(value) is RunRequest:
        return [value], None, []
    if isinstance(value, SkipReason):
        return [], value.skip_message, []
    if value is None:
        return [], f"{owner} returned no run request", []
    if isinstance(value, Mapping):
        if allow_run_config:
            return [RunRequest(run_config=dict(value))], None, []
    elif isinstance(value, list | tuple | GeneratorType) or inspect.isgenerator(value):
        items = list(value)
        if items and set(map(type, items)) == {RunRequest}:
            return items, None, []  # the common case, checked at C speed
        requests: list[RunRequest] = []
        skip: str | None = None
        others: list[Any] = []
        for item in items:
            if type(item) is RunRequest:
                requests.append(item)
            elif isinstance(item, SkipReason):
                skip = item.skip_message
            elif isinstance(item, RunRequest):
                requests.append(item)
            else:
                others.append(item)
        if requests:
            skip = None
        elif skip is None and not others:
            skip = f"{owner} returned no run request"
        return requests, skip, others
    elif isinstance(value, RunRequest):
        return [value], None, []
    else:
        return [], None, [value]
    raise DefinitionError(
        f"{owner} returned {value!r}; return a RunRequest, a SkipReason, or a list of them"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TickTarget:
    """What a schedule or sensor launches: a job by name, or assets as an anonymous job.

    `job` is the job object when one was given, to check partition keys against its
    partitions definition.
    """

    job_name: str | None = None
    job: Any = None
    asset_selection: Any = None
    """An `AssetSelection`, selection string or list of assets/keys run as an anonymous job."""

    @property
    def has_target(self) -> bool:
        """Whether anything is targeted."""
        return self.job_name is not None

    def partitions_def(self) -> Any:
        """The target's partitions definition, when it can be known without `Definitions`."""
        job = self.job
        found = getattr(job, "partitions_def", None)
        if found is None and job is not None:
            inner = getattr(job, "_job", None)  # a bound JobDefinition keeps its declaration
            found = getattr(inner, "partitions_def", None)
            selection = getattr(inner, "selection", None) or getattr(job, "selection", None)
            found = found or _selection_partitions_def(selection)
        if found is None and self.asset_selection is not None:
            found = _selection_partitions_def(self.asset_selection)
        return found


def resolve_target(
    owner: str,
    name: str,
    *,
    job: Any = None,
    job_name: str | None = None,
    target: Any = None,
    asset_selection: Any = None,
    required: bool,
) -> TickTarget:
    """The target of a schedule or sensor from its keyword arguments.

    Raises:
        DefinitionError: More than one target was given, or none when one is `required`.
    """
    given = [
        n
        for n, v in (
            ("job", job),
            ("job_name", job_name),
            ("target", target),
            ("asset_selection", asset_selection),
        )
        if v is not None
    ]
    if len(given) > 1:
        raise DefinitionError(
            f"{owner} {name!r} got {' and '.join(given)}; give exactly one target"
        )
    if target is not None:
        if isinstance(target, str) and _looks_like_job_name(target):
            job_name = target
        elif _is_job(target):
            job = target
        else:
            asset_selection = target
    if job is not None:
        if not _is_job(job):
            raise DefinitionError(
                f"{owner} {name!r}: job= takes a job from define_asset_job, got {job!r}"
            )
        return TickTarget(job_name=job.name, job=job)
    if job_name is not None:
        if not isinstance(job_name, str):
            raise DefinitionError(f"{owner} {name!r}: job_name must be a string, got {job_name!r}")
        return TickTarget(job_name=job_name)
    if asset_selection is not None:
        return TickTarget(job_name=f"__anonymous_asset_job_{name}", asset_selection=asset_selection)
    if required:
        raise DefinitionError(
            f"{owner} {name!r} has no target: pass job=, job_name= or target= (a job or an "
            "asset selection)"
        )
    return TickTarget()


def _is_job(value: Any) -> bool:
    from arco_flow.sdk.jobs import JobDefinition, UnresolvedAssetJobDefinition

    return isinstance(value, JobDefinition | UnresolvedAssetJobDefinition)


def _looks_like_job_name(text: str) -> bool:
    # A selection string has a ':' (``group:x``), a '*'/'+' or spaces; a job name has none.
    return text.replace("_", "a").isalnum()


def _selection_partitions_def(selection: Any) -> Any:
    if not isinstance(selection, list | tuple):
        return None
    found = {getattr(item, "partitions_def", None) for item in selection} - {None}
    return found.pop() if len(found) == 1 else None


def resolve_run_requests(
    requests: Sequence[RunRequest],
    *,
    owner: str,
    target: TickTarget,
    tags: Mapping[str, str],
    current_time: datetime | None,
    dynamic_partitions_store: Any,
    added_partitions: Mapping[str, Sequence[str]] | None = None,
    fill_job_name: bool = True,
) -> list[RunRequest]:
    """The requests with their tags (and job name) filled in, each checked against the target.

    With `fill_job_name` False (sensors, as Dagster) a request without a job name keeps
    None, which means the definition's target.

    Raises:
        DefinitionError: A request has no job and the definition no target.
        PartitionError: A request's partition key is not a partition of the target.
    """
    if not requests:
        return requests if isinstance(requests, list) else list(requests)
    job_name = target.job_name
    if not tags and job_name is not None and all(r._values[6] is None for r in requests):
        # The common case: no partition to check, no tag to add.
        if not fill_job_name:
            return requests if isinstance(requests, list) else list(requests)
        return [
            r if r._values[3] is not None else r._targeted(job_name, r._values[2]) for r in requests
        ]
    partitions_def = None
    checked = False
    resolved: list[RunRequest] = []
    append = resolved.append
    for request in requests:
        job_name = request.job_name
        if job_name is None:
            job_name = target.job_name
            if job_name is None and request.asset_selection is None:
                raise DefinitionError(
                    f"{owner} has no target and returned {request!r} without a job_name or "
                    "asset_selection; give the definition a job= or the request a job_name="
                )
        if request.partition_key is not None and job_name == target.job_name:
            if not checked:
                partitions_def, checked = target.partitions_def(), True
            _check_partition(
                owner,
                target,
                partitions_def,
                request.partition_key,
                current_time,
                dynamic_partitions_store,
                added_partitions or {},
            )
        if not fill_job_name:
            job_name = request.job_name
        if tags:
            append(request._targeted(job_name, {**request.tags, **tags}))
        elif job_name != request.job_name:
            append(request._targeted(job_name, request.tags))
        else:
            append(request)
    return resolved


def _all_strings(tags: Mapping[Any, Any]) -> bool:
    return all(isinstance(key, str) and isinstance(value, str) for key, value in tags.items())


def _check_partition(
    owner: str,
    target: TickTarget,
    partitions_def: Any,
    key: str,
    current_time: datetime | None,
    store: Any,
    added: Mapping[str, Sequence[str]],
) -> None:
    if partitions_def is None:
        if target.job is not None:
            raise PartitionError(
                f"{owner} asked for partition {key!r} of job {target.job_name!r}, which is not "
                "partitioned; drop partition_key= or give the job a partitions_def"
            )
        return  # the target's partitions are known only to Definitions
    name = getattr(partitions_def, "name", None)
    if isinstance(name, str) and key in added.get(name, ()):
        return
    from arco_flow.core.partitions._static import DynamicPartitionsDefinition

    if isinstance(partitions_def, DynamicPartitionsDefinition) and store is None:
        return  # no instance to read the keys from: the launch checks
    if current_time is not None:
        current_time = current_time.astimezone(UTC)  # see partitioned_schedules: fold
    if not partitions_def.has_partition_key(key, current_time, store):
        raise PartitionError(
            f"{owner} asked for partition {key!r} of {target.job_name!r}, which has no such "
            f"partition ({partitions_def!r}); request one of its keys"
        )
