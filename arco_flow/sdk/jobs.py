"""Asset jobs: a named selection of assets with run config and tags.

`define_asset_job` returns an unresolved job (its selection is resolved against a
`Definitions`); `Definitions.get_job_def` returns the bound `JobDefinition`, whose
`execute_in_process` runs it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from arco_flow.core.errors import DefinitionError
from arco_flow.core.keys import AssetCheckKey, AssetKey, is_valid_name
from arco_flow.core.retry import RetryPolicy

if TYPE_CHECKING:
    from arco_flow.sdk.definitions import Definitions

__all__ = ["IMPLICIT_JOB_NAME", "JobDefinition", "UnresolvedAssetJobDefinition", "define_asset_job"]

IMPLICIT_JOB_NAME = "__asset_job"


@dataclass(frozen=True, slots=True, kw_only=True)
class UnresolvedAssetJobDefinition:
    """A job as declared: its selection is resolved when `Definitions` are built."""

    name: str
    selection: Any = None
    """An `AssetSelection`, a selection string, a list of keys/assets, or None for all."""
    config: Any = None
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    op_retry_policy: RetryPolicy | None = None
    partitions_def: Any = None


def define_asset_job(
    name: str,
    selection: Any = None,
    config: Any = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    run_tags: Mapping[str, str] | None = None,
    partitions_def: Any = None,
    op_retry_policy: RetryPolicy | None = None,
) -> UnresolvedAssetJobDefinition:
    """Declares a job that materializes a selection of assets (Dagster's name).

    Args:
        name: the job's name (letters, digits and ``_``).
        selection: what to materialize: an `AssetSelection`, a selection string such as
            ``"group:sales"``, a list of assets or keys, or None for every asset.
        config: run config used when none is given at launch (dict or `RunConfig`).
        description: shown in the UI.
        tags: tags of every run of the job.
        run_tags: Dagster's newer name for `tags`; merged with them.
        partitions_def: how the job's runs are partitioned.
        op_retry_policy: the retry policy of every task without its own.

    Returns:
        The unresolved job; pass it in `Definitions(jobs=[...])`.
    """
    if not is_valid_name(name):
        raise DefinitionError(f"job name {name!r} is not valid: use letters, digits and '_'")
    return UnresolvedAssetJobDefinition(
        name=name,
        selection=selection,
        config=config,
        description=description,
        tags={**(tags or {}), **(run_tags or {})},
        op_retry_policy=op_retry_policy,
        partitions_def=partitions_def,
    )


class JobDefinition:
    """A job bound to its `Definitions`: it knows its assets and can run them."""

    def __init__(
        self,
        definitions: Definitions,
        job: UnresolvedAssetJobDefinition,
        asset_keys: frozenset[AssetKey],
        check_keys: frozenset[AssetCheckKey] = frozenset(),
    ) -> None:
        self._definitions = definitions
        self._job = job
        self.asset_keys = asset_keys
        self.check_keys = check_keys
        """The asset checks the job evaluates (by default those of its assets)."""

    @property
    def name(self) -> str:
        """The job's name."""
        return self._job.name

    @property
    def tags(self) -> Mapping[str, str]:
        """Tags of every run of the job."""
        return self._job.tags

    @property
    def description(self) -> str | None:
        """The job's description."""
        return self._job.description

    @property
    def op_retry_policy(self) -> RetryPolicy | None:
        """The retry policy of tasks without their own."""
        return self._job.op_retry_policy

    @property
    def config(self) -> Any:
        """The job's default run config."""
        return self._job.config

    @property
    def definitions(self) -> Definitions:
        """The definitions the job belongs to."""
        return self._definitions

    def execute_in_process(
        self,
        run_config: Any = None,
        instance: Any = None,
        resources: Mapping[str, Any] | None = None,
        raise_on_error: bool = True,
        tags: Mapping[str, str] | None = None,
        asset_selection: Any = None,
        partition_key: str | None = None,
        partition_key_range: Any = None,
    ) -> Any:
        """Runs the job in this process and returns its result (Dagster's name).

        Args:
            run_config: config for this run; defaults to the job's own.
            instance: where the run is recorded; an ephemeral instance by default.
            resources: resources that replace the definitions' ones of the same key.
            raise_on_error: re-raise the user's exception when a task fails.
            tags: tags of this run, added to the job's.
            asset_selection: a subset of the job's assets to run.
            partition_key: the partition to run.
            partition_key_range: a `PartitionKeyRange` of partitions to run in this one run;
                excludes `partition_key`. Dagster's ``dagster/asset_partition_range_start``
                and ``_end`` tags (and ``dagster/partition``) are read too.

        Returns:
            An `ExecuteInProcessResult`.
        """
        # The engine sits in a higher layer than the SDK; the public shape of this method is
        # Dagster's, so it reaches the engine by name instead of importing it.
        engine = importlib.import_module("arco_flow.execution.materialize")
        return engine.execute_job_in_process(
            self,
            run_config=run_config if run_config is not None else self._job.config,
            instance=instance,
            resources=resources,
            raise_on_error=raise_on_error,
            tags=tags,
            asset_selection=asset_selection,
            partition_key=partition_key,
            partition_key_range=partition_key_range,
        )
