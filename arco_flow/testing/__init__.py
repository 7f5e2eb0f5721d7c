"""Helpers for testing assets: run them in memory, or call a body with a built context."""

from __future__ import annotations

from arco_flow.execution.materialize import materialize_to_memory
from arco_flow.sdk.context import build_asset_context
from arco_flow.sdk.io_managers import InMemoryIOManager
from arco_flow.sdk.resources import build_init_resource_context

__all__ = [
    "InMemoryIOManager",
    "build_asset_context",
    "build_init_resource_context",
    "materialize_to_memory",
]
