"""The sensor daemon: ticks each running sensor at most once per `minimum_interval_seconds`.

A sensor tick reads the cursor the last finished tick left, evaluates the sensor (asset
sensors read new materializations and run-status sensors read runs through the instance
they are given), records the evaluation with its run and dynamic-partition requests and
the cursor it returned, applies the partition requests (before the runs, which may
target the new keys), launches the runs and records the end, which moves the cursor.
A tick a dead daemon left unfinished is finished from its record first, with the cursor
its evaluation returned, so a cursor never moves past requests that were not launched.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from arco_flow.core.errors import ArcoError
from arco_flow.core.events import (
    TickDynamicPartitionsRequested,
    TickFailed,
    TickSkipped,
    TickStarted,
)
from arco_flow.core.partitions._requests import AddDynamicPartitionsRequest
from arco_flow.daemon.code_server import (
    InProcessInstigators,
    Instigators,
    evaluation_error_info,
)
from arco_flow.daemon.ticks import (
    InstigatorStates,
    RunLauncher,
    TickOutcome,
    finish_tick,
    record_evaluation,
    request_event,
)
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.instigator_codec import InstigatorInfo, sensor_info
from arco_flow.sdk.sensors import SENSOR_NAME_TAG, SensorDefinition, SensorEvaluationResult
from arco_flow.storage.instance import ArcoInstance
from arco_flow.storage.instigator_projection import (
    InstigatorState,
    InstigatorStatus,
    TickRecord,
    TickStatus,
)

# SENSOR_NAME_TAG lives with the SDK's other tag constants; it is still importable here.
__all__ = ["SENSOR_NAME_TAG", "SensorDaemon"]


class SensorDaemon:
    """Ticks the sensors of one code location against one instance.

    Args:
        instance: Where ticks and runs are recorded, and what sensors read.
        definitions: Where the sensors are listed and evaluated: a `CodeServer` (the
            daemon's: no user code in this process), or `Definitions` evaluated in this
            process (unit tests, definitions built in code).
        launcher: Starts the runs ticks request.
    """

    def __init__(
        self,
        instance: ArcoInstance,
        definitions: Definitions | Instigators,
        *,
        launcher: RunLauncher,
    ) -> None:
        self._instance, self._launcher = instance, launcher
        self._instigators: Instigators = (
            InProcessInstigators(definitions, instance)
            if isinstance(definitions, Definitions)
            else definitions
        )
        self._states = InstigatorStates(instance)
        self._own: set[str] = set()
        """Ticks this daemon recorded (others it finishes were left by a dead daemon)."""
        self._applied: set[str] = set()

    def _finish(
        self, tick: TickRecord, *, resumed: bool, skipped: Sequence[str] = ()
    ) -> TickOutcome | None:
        return finish_tick(
            self._instance,
            self._launcher,
            tick,
            instigator_type="sensor",
            skipped_run_keys=skipped,
            resumed=resumed,
            applied=self._applied,
        )

    def tick(self, now: float) -> list[TickOutcome]:
        """One pass over every sensor at `now` (POSIX seconds)."""
        outcomes: list[TickOutcome] = []
        for info in self._instigators.sensors():
            outcomes.extend(self.tick_sensor(info, now))
        return outcomes

    def tick_sensor(
        self, sensor: SensorDefinition | InstigatorInfo, now: float
    ) -> list[TickOutcome]:
        """Finishes the sensor's unfinished ticks, then evaluates it if its interval passed."""
        if isinstance(sensor, SensorDefinition):
            sensor = sensor_info(sensor)
        state = self._states.get(sensor.name)
        outcomes = [
            outcome
            for tick in state.unfinished_ticks()
            if (outcome := self._finish(tick, resumed=tick.tick_id not in self._own)) is not None
        ]
        if self._states.get(sensor.name).unfinished_ticks():
            return outcomes  # its cursor moves when that tick ends; evaluate after
        if state.status(default_running=sensor.default_running) is InstigatorStatus.STOPPED:
            return outcomes
        last = state.last_tick_time
        if last is not None and now - last < (sensor.minimum_interval_seconds or 0):
            return outcomes
        outcome = self._evaluate(sensor, self._states.get(sensor.name), now)
        if outcome is not None:
            outcomes.append(outcome)
        return outcomes

    def _evaluate(
        self, sensor: InstigatorInfo, state: InstigatorState, now: float
    ) -> TickOutcome | None:
        name, tick_id = sensor.name, f"t{uuid.uuid4().hex}"
        outcome: dict[str, Any] = {
            "instigator_name": name,
            "instigator_type": "sensor",
            "tick_id": tick_id,
        }
        try:
            result = self._instigators.evaluate_sensor(
                name, cursor=state.cursor, last_completion_time=state.last_completion_time
            )
            started = TickStarted(
                instigator_name=name,
                tick_id=tick_id,
                instigator_type="sensor",
                timestamp=now,
                cursor_before=state.cursor,
                cursor_after=result.cursor,
            )
            tags = {SENSOR_NAME_TAG: name}
            requests = [
                request_event(name, tick_id, request, sensor.job_name, tags)
                for request in result.run_requests
            ]
            partitions = _partition_requests(name, tick_id, result)
            if not requests and not partitions:
                reason = result.skip_message or "the sensor requested no run"
                end = TickSkipped(
                    instigator_name=name, tick_id=tick_id, reason=reason, cursor=result.cursor
                )
                record_evaluation(self._instance, started, [], end=end)
                return TickOutcome(**outcome, status=TickStatus.SKIPPED, skip_reason=reason)
            recorded = record_evaluation(self._instance, started, requests, partitions)
        except ArcoError as error:
            info = evaluation_error_info(error)
            failed_start = TickStarted(
                instigator_name=name,
                tick_id=tick_id,
                instigator_type="sensor",
                timestamp=now,
                cursor_before=state.cursor,
                cursor_after=state.cursor,
            )
            failed = TickFailed(instigator_name=name, tick_id=tick_id, error=info)
            record_evaluation(self._instance, failed_start, [], end=failed)
            return TickOutcome(**outcome, status=TickStatus.FAILURE, error=info)
        assert recorded is not None  # a fresh tick id is never recorded before
        fresh, repeated = recorded
        self._own.add(tick_id)
        tick = TickRecord(
            instigator_name=name,
            tick_id=tick_id,
            status=TickStatus.STARTED,
            timestamp=now,
            event_id=0,
            cursor_before=state.cursor,
            cursor_after=result.cursor,
            run_requests=tuple(fresh),
            partition_requests=tuple(partitions),
        )
        return self._finish(tick, resumed=False, skipped=repeated)


def _partition_requests(
    name: str, tick_id: str, result: SensorEvaluationResult
) -> list[TickDynamicPartitionsRequested]:
    return [
        TickDynamicPartitionsRequested(
            instigator_name=name,
            tick_id=tick_id,
            ordinal=ordinal,
            partitions_def_name=request.partitions_def_name,
            partition_keys=tuple(request.partition_keys),
            added=isinstance(request, AddDynamicPartitionsRequest),
        )
        for ordinal, request in enumerate(result.dynamic_partitions_requests)
    ]
