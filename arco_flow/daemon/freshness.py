"""`FreshnessDaemon`: evaluates every asset's freshness policy, records changes, remediates.

The thin shell around `core.freshness_policy.evaluate_freshness_policy`. Each pass reads
the latest materialization of every asset with a policy in one query, and re-evaluates an
asset only when a new update arrived or the time its evaluation said the state can next
change (`next_change`) has passed; everything else is skipped. A state different from the
one last recorded is appended as `FreshnessStateChanged` on ``freshness:<asset>``.

Remediation (`FreshnessPolicy(remediate=True)`, ours): when an asset goes ``FAIL`` (or
``WARN`` with ``remediate_on=WARN``) the loop records `FreshnessRemediationRequested` for
the overdue window (its idempotency key is the window: the log holds one per window), then
queues a run of the asset (`execution.run_queue.submit_run`) under the run id recorded
there, which is idempotent too; a daemon that dies in between queues it on its next
evaluation. The run is launched by the daemon's queue loop.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from arco_flow.core.errors import ArcoError
from arco_flow.core.events import (
    FreshnessRemediationRequested,
    FreshnessStateChanged,
    NewEvent,
    idempotency_key,
)
from arco_flow.core.freshness_policy import (
    FreshnessPolicy,
    FreshnessPolicyEvaluation,
    FreshnessState,
    evaluate_freshness_policy,
)
from arco_flow.core.keys import AssetKey
from arco_flow.core.manifest import Manifest, ManifestAsset
from arco_flow.core.partitions import TimeWindowPartitionsDefinition, partitions_def_from_data
from arco_flow.execution.launcher import Executor
from arco_flow.execution.run_queue import submit_named_run
from arco_flow.sdk.definitions import Definitions
from arco_flow.sdk.jobs import IMPLICIT_JOB_NAME
from arco_flow.storage.freshness_projection import (
    FreshnessStateRecord,
    freshness_stream,
    restore_freshness_state,
)
from arco_flow.storage.instance import ArcoInstance

__all__ = ["FRESHNESS_REMEDIATION_TAG", "FreshnessDaemon", "remediation_run_id"]

FRESHNESS_REMEDIATION_TAG = "arco/freshness_remediation"
"""Tag of a run the freshness loop requested: the asset and the overdue window."""

_LOG = logging.getLogger("arco_flow.daemon.freshness")


@dataclass(frozen=True, slots=True)
class _Target:
    key: AssetKey
    policy: FreshnessPolicy
    partitions_def: TimeWindowPartitionsDefinition | None


@dataclass(slots=True)
class _Known:
    """What the loop knows of one asset between passes."""

    update_marker: tuple[int, ...]
    evaluation: FreshnessPolicyEvaluation | None
    recorded: FreshnessStateRecord | None


def remediation_run_id(asset_key: AssetKey, window_key: str) -> str:
    """The run id of the remediation of `asset_key` for one overdue window (deterministic)."""
    name = f"arco-flow/freshness/{asset_key.to_user_string()}/{window_key}"
    return uuid.uuid5(uuid.NAMESPACE_URL, name).hex


def _target(asset: ManifestAsset) -> _Target | None:
    if asset.freshness_policy is None:
        return None
    partitions_def = (
        partitions_def_from_data(dict(asset.partitions)) if asset.partitions is not None else None
    )
    return _Target(
        asset.key,
        asset.freshness_policy,
        partitions_def if isinstance(partitions_def, TimeWindowPartitionsDefinition) else None,
    )


class FreshnessDaemon:
    """The daemon's freshness loop over the assets of `definitions` that have a policy.

    Args:
        instance: Where states are recorded and runs queued.
        definitions: The assets and their policies: the manifest (or the definitions, whose
            manifest is read).
        code_location: Recorded with each remediation run, so the queue loop can load it.
        executor: How remediation runs' tasks execute.
    """

    def __init__(
        self,
        instance: ArcoInstance,
        definitions: Manifest | Definitions,
        *,
        code_location: Mapping[str, str] | None = None,
        executor: Executor = "in_process",
    ) -> None:
        manifest = definitions.manifest if isinstance(definitions, Definitions) else definitions
        self._instance = instance
        self._code_location, self._executor = code_location, executor
        self._targets = [target for target in map(_target, manifest.assets) if target is not None]
        self._known: dict[AssetKey, _Known] = {}

    @property
    def asset_keys(self) -> list[AssetKey]:
        """The assets with a freshness policy."""
        return [target.key for target in self._targets]

    def tick(self, now: float) -> list[FreshnessPolicyEvaluation]:
        """One pass; returns the evaluations it (re)computed."""
        if not self._targets:
            return []
        records = {
            record.asset_key: record for record in self._instance.get_asset_records(self.asset_keys)
        }
        evaluated = []
        for target in self._targets:
            record = records.get(target.key)
            materialization = record.last_materialization if record else None
            marker = (materialization.event_id,) if materialization else ()
            known = self._known.get(target.key)
            if known is not None and known.update_marker == marker and not _due(known, now):
                continue
            if known is None:
                known = _Known(marker, None, self._recorded(target.key))
                self._known[target.key] = known
            evaluation = evaluate_freshness_policy(
                target.policy,
                now=now,
                last_updated=materialization.timestamp if materialization else None,
                partitions_def=target.partitions_def,
                partition_updated=functools.partial(self._updated, target.key),
            )
            known.update_marker, known.evaluation = marker, evaluation
            self._record(target, known, evaluation)
            if _remediates(target.policy, evaluation.state) and evaluation.window_key:
                self._remediate(target, evaluation, now)
            evaluated.append(evaluation)
        return evaluated

    def _recorded(self, key: AssetKey) -> FreshnessStateRecord | None:
        return restore_freshness_state(key, self._instance.read_stream(freshness_stream(key)))

    def _updated(self, key: AssetKey, partition_key: str) -> bool:
        found = self._instance.storage.latest_materializations(
            key,
            partition_keys=[partition_key],
            tenant_id=self._instance.tenant_id,
            workspace_id=self._instance.workspace_id,
        )
        return partition_key in found

    def _record(
        self, target: _Target, known: _Known, evaluation: FreshnessPolicyEvaluation
    ) -> None:
        previous = known.recorded
        if previous is not None and previous.state == evaluation.state.value:
            return
        event = FreshnessStateChanged(
            asset_name=target.key.to_user_string(),
            asset_key=target.key,
            new_state=evaluation.state.value,
            previous_state=previous.state if previous else None,
            timestamp=evaluation.now,
            lag_seconds=evaluation.lag_seconds,
            deadline=evaluation.deadline,
            partition_key=evaluation.partition_key,
            description=evaluation.description,
        )
        ordinal = previous.stream_sequence if previous else 0
        self._instance.append(
            [NewEvent(event=event, idempotency_key=idempotency_key(event, ordinal))]
        )
        known.recorded = self._recorded(target.key)

    def _remediate(
        self, target: _Target, evaluation: FreshnessPolicyEvaluation, now: float
    ) -> None:
        window = evaluation.window_key
        assert window is not None
        event = FreshnessRemediationRequested(
            asset_name=target.key.to_user_string(),
            asset_key=target.key,
            window_key=window,
            run_id=remediation_run_id(target.key, window),
            timestamp=now,
            partition_key=evaluation.partition_key,
        )
        (stored,) = self._instance.append(
            [NewEvent(event=event, idempotency_key=idempotency_key(event))]
        )
        assert isinstance(stored.event, FreshnessRemediationRequested)
        try:
            submit_named_run(
                self._instance,
                IMPLICIT_JOB_NAME,
                run_id=stored.event.run_id,
                code_location=self._code_location,
                executor=self._executor,
                asset_selection=[target.key],
                tags={FRESHNESS_REMEDIATION_TAG: f"{target.key.to_user_string()}@{window}"},
                partition_key=stored.event.partition_key,
            )
        except ArcoError as error:
            _LOG.error(
                "could not queue the freshness remediation of %s for %s: %s",
                target.key.to_user_string(),
                window,
                error,
            )
        known = self._known.get(target.key)
        if known is not None:
            known.recorded = self._recorded(target.key)


def _due(known: _Known, now: float) -> bool:
    """Whether the state can have changed since the last evaluation without an update."""
    evaluation = known.evaluation
    return evaluation is None or (
        evaluation.next_change is not None and now >= evaluation.next_change
    )


def _remediates(policy: FreshnessPolicy, state: FreshnessState) -> bool:
    if not policy.remediate:
        return False
    if policy.remediate_on is FreshnessState.WARN:
        return state in (FreshnessState.WARN, FreshnessState.FAIL)
    return state is FreshnessState.FAIL
