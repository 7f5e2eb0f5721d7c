"""Promotion of held values: the control plane's part of a run with standalone blocking checks.

A run that holds an asset's value in quarantine for its standalone blocking checks (see
`arco_flow.core.plan.build_plan`) has a promotion task per held asset, after the asset's
checks and gated by its blocking ones: a failed ``ERROR`` check skips it and the value
stays quarantined (listed by ``arco-flow checks quarantined``, released or discarded as
any other). When it runs, it promotes the value through the asset's IO manager and
records `AssetMaterialized` with `AssetQuarantineReleased`.

It runs here, in the coordinator's process, and not in a worker: the materialization it
records must be the one the asset task would have recorded (its metadata, data and code
versions, kept by the run's `AssetQuarantined`), and only the store holds that, which
workers never reach. Its events are held by the recorder until its outcome, so the
promotion is recorded whole or not at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from arco_flow.core.errors import ExecutionError
from arco_flow.core.events import (
    AssetMaterialized,
    AssetQuarantineReleased,
    ErrorInfo,
    Event,
    TaskStarted,
    TaskUsage,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.messages import TaskOutcome, TaskRequest
from arco_flow.execution.dispatcher import Dispatcher
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.io_managers import IOManager, OutputContext, promote_quarantined
from arco_flow.sdk.metadata import metadata_to_data, normalize_metadata
from arco_flow.storage.records import QuarantineRecord

__all__ = ["HeldLookup", "Promoter", "PromotingDispatcher", "held_lookup"]

HeldLookup = Callable[[AssetKey, str], list[QuarantineRecord]]
"""(asset key, run id) -> the values of that run still waiting in quarantine."""

PROMOTION_REASON = "blocking checks passed"


def held_lookup(source: Any) -> HeldLookup | None:
    """The quarantined values of a run, read from an instance (None: `source` has none)."""
    get_quarantines = getattr(source, "get_quarantines", None)
    if not callable(get_quarantines):
        return None

    def lookup(key: AssetKey, run_id: str) -> list[QuarantineRecord]:
        return [record for record in get_quarantines(key) if record.run_id == run_id]

    return lookup


class Promoter:
    """Runs promotion tasks: IO through the run's IO managers, events through `emit`.

    Args:
        definitions: the run's definitions.
        resources: the run's resources (holding the held assets' IO managers).
        find_held: reads the run's quarantined values from the store.
        emit: the run recorder's `record`.
    """

    def __init__(
        self,
        definitions: Definitions,
        resources: Mapping[str, Any],
        find_held: HeldLookup | None,
        emit: Callable[[Event], None],
    ) -> None:
        self._definitions = definitions
        self._resources = dict(resources)
        self._find_held = find_held
        self._emit = emit

    def __call__(self, request: TaskRequest) -> TaskOutcome:
        """Runs one attempt of a promotion task and reports how it ended."""
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        self._emit(
            TaskStarted(run_id=request.run_id, task_id=request.task_id, attempt=request.attempt)
        )
        try:
            for key in request.promoted_asset_keys:
                self._promote(request, key)
        except Exception as error:  # noqa: BLE001  # IO manager failures become the outcome
            return TaskOutcome(
                request=request,
                succeeded=False,
                error=ErrorInfo.from_exception(error),
                usage=_usage(started_wall, started_cpu),
                exception=error,
            )
        return TaskOutcome(request=request, succeeded=True, usage=_usage(started_wall, started_cpu))

    def _promote(self, request: TaskRequest, key: AssetKey) -> None:
        shown = key.to_user_string()
        if self._find_held is None:
            raise ExecutionError(
                f"asset {shown!r} is held for its blocking checks, but the run records to a "
                "store that cannot list quarantined values; run it on an ArcoInstance"
            )
        records = self._find_held(key, request.run_id)
        if not records:
            raise ExecutionError(
                f"asset {shown!r} has no value of run {request.run_id} in quarantine to "
                "promote; it was released or discarded already (`arco-flow checks "
                "quarantined --all` shows which)"
            )
        definition = self._definitions.get_assets_def(key)
        output = next(o for o in definition.outputs if o.key == key)
        manager = self._resources.get(output.io_manager_key)
        for record in records:
            added: dict[str, Any] = {}
            if record.has_value:
                if not isinstance(manager, IOManager):
                    raise ExecutionError(
                        f"asset {shown!r} is stored by IO manager {output.io_manager_key!r}, "
                        "which the run's resources do not hold; bind an IOManager to it"
                    )
                context = OutputContext(
                    asset_key=key,
                    name=output.name,
                    run_id=record.run_id,
                    node_name=definition.node_name,
                    definition_metadata=definition.specs_by_key[key].metadata,
                    partition_key=record.partition_key,
                    resources=self._resources,
                    quarantine=True,
                )
                added = promote_quarantined(manager, context)
            metadata = dict(record.metadata)
            if added:
                metadata.update(metadata_to_data(normalize_metadata(added)))
            self._emit(
                AssetMaterialized(
                    run_id=request.run_id,
                    task_id=request.task_id,
                    asset_key=key,
                    partition_key=record.partition_key,
                    metadata=metadata,
                    data_version=record.data_version,
                    code_version=record.code_version,
                )
            )
            self._emit(
                AssetQuarantineReleased(
                    asset_key=key,
                    partition_key=record.partition_key,
                    run_id=record.run_id,
                    reason=PROMOTION_REASON,
                    task_id=request.task_id,
                )
            )


def _usage(started_wall: float, started_cpu: float) -> TaskUsage:
    return TaskUsage(
        wall_s=time.perf_counter() - started_wall,
        cpu_s=time.process_time() - started_cpu,
        peak_rss_mb=0.0,
    )


class PromotingDispatcher:
    """Runs promotion tasks in this process; hands every other attempt to `inner`.

    Args:
        inner: where every other attempt runs (in process, or the pool).
        promote: runs one promotion attempt (a `Promoter`).
    """

    def __init__(self, inner: Dispatcher, promote: Callable[[TaskRequest], TaskOutcome]):
        self._inner = inner
        self._promote = promote
        self._done: list[TaskOutcome] = []

    @property
    def capacity(self) -> int:
        """The inner dispatcher's capacity."""
        return self._inner.capacity

    def submit(self, request: TaskRequest) -> None:
        """Promotes now (its outcome comes with the next `wait`), or hands the attempt on."""
        if request.promoted_asset_keys:
            self._done.append(self._promote(request))
        else:
            self._inner.submit(request)

    def wait(self, timeout: float | None) -> list[TaskOutcome]:
        """Promotion outcomes at once; else waits on the inner dispatcher."""
        if self._done:
            done, self._done = self._done, []
            return done
        return self._inner.wait(timeout)

    def cancel(self, run_id: str, *, grace_s: float | None = None) -> None:
        """Cancels the run's attempts on the inner dispatcher (promotions never linger)."""
        self._inner.cancel(run_id, grace_s=grace_s)

    def end_run(self, run_id: str) -> None:
        """Ends the run on the inner dispatcher."""
        self._inner.end_run(run_id)

    def close(self) -> None:
        """Closes the inner dispatcher."""
        self._inner.close()
