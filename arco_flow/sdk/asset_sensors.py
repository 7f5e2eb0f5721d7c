"""Asset sensors: `@asset_sensor` and `@multi_asset_sensor`, fired by new materializations.

Each tick reads the materializations recorded after the cursor from ``context.instance``
(``get_materialization_history(asset_key)``, newest first, as `ArcoInstance` gives them).
An asset sensor calls its function once per new materialization, oldest first, with the
record as the event, and its cursor is the last event id it saw, so each materialization
fires it exactly once. A multi-asset sensor keeps one event id per monitored asset in a
JSON cursor that its function advances.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from arco_flow.core.errors import DefinitionError
from arco_flow.core.keys import AssetKey, CoercibleToAssetKey
from arco_flow.sdk.sensors import (
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
)

__all__ = [
    "AssetSensorDefinition",
    "MultiAssetSensorDefinition",
    "MultiAssetSensorEvaluationContext",
    "asset_sensor",
    "build_multi_asset_sensor_context",
    "multi_asset_sensor",
]


def _new_materializations(instance: Any, key: AssetKey, after_event_id: int | None) -> list[Any]:
    """The materializations of `key` with an event id above `after_event_id`, oldest first."""
    history = instance.get_materialization_history(key)
    if after_event_id is None:
        return list(reversed(history))
    new = []
    for record in history:  # newest first: stop at the first one already seen
        if record.event_id <= after_event_id:
            break
        new.append(record)
    new.reverse()
    return new


def _event_id_cursor(owner: str, cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        return int(cursor)
    except ValueError as error:
        raise DefinitionError(
            f"{owner}: cursor {cursor!r} is not an event id; an asset sensor's cursor is the "
            "last event id it saw (reset it to None to start over)"
        ) from error


class AssetSensorDefinition(SensorDefinition):
    """A sensor called once per new materialization of one asset (Dagster's)."""

    def __init__(self, asset_key: CoercibleToAssetKey, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.asset_key = AssetKey.from_coercible(getattr(asset_key, "key", asset_key))
        # The second parameter is the event, not a resource.
        self._resource_params = self._resource_params[1:]
        declared = frozenset(kwargs.get("required_resource_keys") or ())
        self.required_resource_keys = declared | frozenset(self._resource_params)

    def _evaluate(self, context: SensorEvaluationContext) -> Any:
        after = _event_id_cursor(self._owner, context.cursor)
        records = _new_materializations(context.instance, self.asset_key, after)
        results: list[Any] = []
        for record in records:
            value = self._call_with_event(context, record)
            if isinstance(value, list | tuple) or hasattr(value, "__next__"):
                results.extend(value)
            elif value is not None:
                results.append(value)
        if records:
            context.update_cursor(str(records[-1].event_id))
        if not results and not records:
            return SensorResult(
                skip_reason=f"no new materialization of {self.asset_key.to_user_string()}"
            )
        return results

    def _call_with_event(self, context: SensorEvaluationContext, record: Any) -> Any:
        if self._resource_params:
            values = {key: context.resources[key] for key in self._resource_params}
            return self._fn(context, record, **values)
        return self._fn(context, record)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calls the function directly with a context and an event, as in Dagster."""
        return self._fn(*args, **kwargs)


def asset_sensor(
    asset_key: CoercibleToAssetKey,
    *,
    job_name: str | None = None,
    name: str | None = None,
    minimum_interval_seconds: int | None = None,
    description: str | None = None,
    job: Any = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    required_resource_keys: Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    target: Any = None,
) -> Callable[[Callable[..., Any]], AssetSensorDefinition]:
    """Declares a sensor on one asset (Dagster's `@asset_sensor`).

    The function takes ``(context, asset_event)`` and resources by name; `asset_event` is
    the materialization record (event id, asset key, partition key, run id, metadata). It is
    called once per materialization recorded since the last tick, oldest first.

    Args:
        asset_key: The asset to watch.
        job_name: The name of the job to run.
        name: The sensor's name; defaults to the function's.
        minimum_interval_seconds: The least time between two ticks; 30 by default.
        description: Shown in the UI.
        job: The job to run.
        default_status: Whether it runs before anyone starts it.
        required_resource_keys: Resources the function reads from the context.
        tags: Tags of the sensor.
        metadata: Free-form metadata.
        target: A job, or an asset selection.

    Returns:
        A decorator that turns the function into an `AssetSensorDefinition`.
    """

    def decorate(fn: Callable[..., Any]) -> AssetSensorDefinition:
        return AssetSensorDefinition(
            asset_key,
            name=name or fn.__name__,
            evaluation_fn=fn,
            job_name=job_name,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description or fn.__doc__,
            job=job,
            default_status=default_status,
            required_resource_keys=required_resource_keys,
            tags=tags,
            metadata=metadata,
            target=target,
        )

    return decorate


class MultiAssetSensorEvaluationContext(SensorEvaluationContext):
    """The context of a multi-asset sensor: new materializations of each monitored asset.

    The cursor is JSON: the last event id consumed per asset key. `advance_cursor` and
    `advance_all_cursors` move it; what is not consumed is seen again next tick.
    """

    __slots__ = ("_consumed", "_monitored")

    def __init__(
        self,
        monitored_assets: Sequence[AssetKey],
        cursor: str | None = None,
        instance: Any = None,
        resources: Mapping[str, Any] | None = None,
        sensor_name: str | None = None,
    ) -> None:
        super().__init__(cursor, instance, resources, sensor_name)
        self._monitored = tuple(monitored_assets)
        self._consumed = self._parse(cursor)

    def _parse(self, cursor: str | None) -> dict[str, int]:
        if cursor is None:
            return {}
        try:
            value = json.loads(cursor)
        except ValueError:
            value = None
        if not isinstance(value, dict) or not all(isinstance(v, int) for v in value.values()):
            raise DefinitionError(
                f"multi-asset sensor {self.sensor_name!r}: cursor {cursor!r} is not a JSON "
                "object of event ids by asset key; reset it to None to start over"
            )
        return value

    @property
    def asset_keys(self) -> tuple[AssetKey, ...]:
        """The monitored assets."""
        return self._monitored

    def _after(self, key: AssetKey) -> int | None:
        return self._consumed.get(key.to_user_string())

    def materialization_records_for_key(
        self, asset_key: CoercibleToAssetKey, limit: int | None = None
    ) -> list[Any]:
        """The unconsumed materializations of one monitored asset, oldest first."""
        key = self._monitored_key(asset_key)
        records = _new_materializations(self.instance, key, self._after(key))
        return records[:limit] if limit is not None else records

    def latest_materialization_records_by_key(
        self, asset_keys: Sequence[CoercibleToAssetKey] | None = None
    ) -> dict[AssetKey, Any]:
        """The newest unconsumed materialization of each asset, or None for it."""
        keys = [self._monitored_key(k) for k in asset_keys] if asset_keys else self._monitored
        found: dict[AssetKey, Any] = {}
        for key in keys:
            records = _new_materializations(self.instance, key, self._after(key))
            found[key] = records[-1] if records else None
        return found

    def advance_cursor(self, materialization_records_by_key: Mapping[AssetKey, Any]) -> None:
        """Marks each given record (and every earlier one of its asset) as consumed."""
        for key, record in materialization_records_by_key.items():
            if record is not None:
                self._consumed[self._monitored_key(key).to_user_string()] = record.event_id
        self.update_cursor(json.dumps(self._consumed, sort_keys=True))

    def advance_all_cursors(self) -> None:
        """Marks the newest materialization of every monitored asset as consumed."""
        self.advance_cursor(self.latest_materialization_records_by_key())

    def _monitored_key(self, asset_key: CoercibleToAssetKey) -> AssetKey:
        key = AssetKey.from_coercible(asset_key)
        if key not in self._monitored:
            shown = [k.to_user_string() for k in self._monitored]
            raise DefinitionError(
                f"multi-asset sensor {self.sensor_name!r} does not monitor "
                f"{key.to_user_string()!r}; it monitors {shown}"
            )
        return key


def build_multi_asset_sensor_context(
    monitored_assets: Sequence[CoercibleToAssetKey],
    instance: Any = None,
    cursor: str | None = None,
    resources: Mapping[str, Any] | None = None,
    sensor_name: str | None = None,
) -> MultiAssetSensorEvaluationContext:
    """A multi-asset sensor context for tests and direct calls (Dagster's name)."""
    keys = [AssetKey.from_coercible(k) for k in monitored_assets]
    return MultiAssetSensorEvaluationContext(keys, cursor, instance, resources, sensor_name)


class MultiAssetSensorDefinition(SensorDefinition):
    """A sensor over several assets whose function reads and advances a cursor per asset."""

    def __init__(self, monitored_assets: Sequence[CoercibleToAssetKey], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(monitored_assets, str) or not monitored_assets:
            raise DefinitionError(
                f"multi-asset sensor {self.name!r}: monitored_assets must be a non-empty list "
                f"of asset keys, got {monitored_assets!r}"
            )
        self.monitored_assets = tuple(
            AssetKey.from_coercible(getattr(k, "key", k)) for k in monitored_assets
        )

    def evaluate_tick(self, context: SensorEvaluationContext) -> Any:
        """Evaluates one tick; a plain sensor context is wrapped in a multi-asset one."""
        if not isinstance(context, MultiAssetSensorEvaluationContext):
            context = MultiAssetSensorEvaluationContext(
                self.monitored_assets,
                context.cursor,
                context.instance_or_none,
                context._resources,
                self.name,
            )
        return super().evaluate_tick(context)


def multi_asset_sensor(
    monitored_assets: Sequence[CoercibleToAssetKey],
    *,
    job_name: str | None = None,
    name: str | None = None,
    minimum_interval_seconds: int | None = None,
    description: str | None = None,
    job: Any = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    required_resource_keys: Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    target: Any = None,
) -> Callable[[Callable[..., Any]], MultiAssetSensorDefinition]:
    """Declares a sensor over several assets (Dagster's `@multi_asset_sensor`).

    The function takes a `MultiAssetSensorEvaluationContext`, reads new materializations
    with ``latest_materialization_records_by_key()`` and marks them consumed with
    ``advance_cursor`` / ``advance_all_cursors``.

    Args:
        monitored_assets: The asset keys (or assets) to watch.
        job_name: The name of the job to run.
        name: The sensor's name; defaults to the function's.
        minimum_interval_seconds: The least time between two ticks; 30 by default.
        description: Shown in the UI.
        job: The job to run.
        default_status: Whether it runs before anyone starts it.
        required_resource_keys: Resources the function reads from the context.
        tags: Tags of the sensor.
        metadata: Free-form metadata.
        target: A job, or an asset selection.

    Returns:
        A decorator that turns the function into a `MultiAssetSensorDefinition`.
    """

    def decorate(fn: Callable[..., Any]) -> MultiAssetSensorDefinition:
        return MultiAssetSensorDefinition(
            monitored_assets,
            name=name or fn.__name__,
            evaluation_fn=fn,
            job_name=job_name,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description or fn.__doc__,
            job=job,
            default_status=default_status,
            required_resource_keys=required_resource_keys,
            tags=tags,
            metadata=metadata,
            target=target,
        )

    return decorate
