"""Helpers for testing assets: `materialize_to_memory` and context builders."""
