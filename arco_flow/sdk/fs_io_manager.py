"""IO managers configured by fields: `ConfigurableIOManager` and `FilesystemIOManager`.

`FilesystemIOManager` pickles each value to one file per asset and partition, written to a
temporary file and renamed into place, so a reader never sees half a value, even after a
crash. These are pydantic models (like `ConfigurableResource`), loaded on first use.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from arco_flow.core.errors import ArcoError
from arco_flow.sdk.io_managers import (
    QUARANTINE_FOLDER,
    InputContext,
    IOManager,
    OutputContext,
    StoredValueNotFoundError,
    values_by_partition,
)
from arco_flow.sdk.resources import ConfigurableResource

__all__ = ["ConfigurableIOManager", "FilesystemIOManager"]


class ConfigurableIOManager(ConfigurableResource, IOManager):
    """An IO manager configured by fields, like a `ConfigurableResource`."""


class FilesystemIOManager(ConfigurableIOManager):
    """Pickles each value to ``<base_dir>/<key parts>[/<partition>]``.

    Writes go to a temporary file in the same folder and are renamed into place, so a
    reader never sees half a value, even after a crash. A run over a partition range
    stores one file per partition: its body returns a dict from each partition key of the
    range to that partition's value, and an input over several partitions loads such a
    dict back. A quarantined value goes under ``<base_dir>/_quarantine/<run_id>/`` and
    `delete_quarantined` removes it.
    """

    base_dir: str | None = None

    def _path(self, identifier: list[str]) -> Path:
        if self.base_dir is None:
            raise ArcoError(
                "FilesystemIOManager has no base_dir; pass base_dir=, or run through "
                "materialize(), which sets one under ARCO_HOME"
            )
        return Path(self.base_dir, *identifier)

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        """Pickles `obj` atomically (each partition's value to its own file, for a range)."""
        if not context.has_asset_partitions or context.has_partition_key:
            path = self._path(context.get_asset_identifier())
            _write(path, obj)
            context.add_output_metadata({"path": str(path)})
            return
        folder = self._path(context.get_asset_location())
        for key, value in values_by_partition(context, obj).items():
            _write(folder / key, value)
        context.add_output_metadata({"path": str(folder)})

    def delete_quarantined(self, context: OutputContext) -> None:
        """Removes the quarantined file (each partition's, for a range) and empty folders."""
        if not context.quarantine:
            raise ArcoError(
                f"delete_quarantined got asset {context.asset_key.to_user_string()!r} outside "
                "quarantine; it only removes quarantined values"
            )
        if not context.has_asset_partitions or context.has_partition_key:
            paths = [self._path(context.get_asset_identifier())]
        else:
            folder = self._path(context.get_asset_location())
            paths = [folder / key for key in context.asset_partition_keys]
        for path in paths:
            path.unlink(missing_ok=True)
        # Empty folders up to the run's quarantine folder go too, so `_quarantine` stays tidy.
        stop = self._path([QUARANTINE_FOLDER])
        folder = paths[0].parent
        while folder != stop and stop in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    def load_input(self, context: InputContext) -> Any:
        """Unpickles the upstream value (a dict by partition key for a range of partitions)."""
        if context.has_asset_partitions and not context.has_partition_key:
            folder = self._path(context.upstream_output.get_asset_location())
            return {key: _read(context, folder / key) for key in context.asset_partition_keys}
        return _read(context, self._path(context.get_asset_identifier()))


def _write(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            pickle.dump(obj, stream, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read(context: InputContext, path: Path) -> Any:
    try:
        with path.open("rb") as stream:
            return pickle.load(stream)  # noqa: S301  # our own files, written by handle_output
    except FileNotFoundError:
        raise StoredValueNotFoundError(
            f"input {context.name!r} needs the value of asset "
            f"{context.asset_key.to_user_string()!r}, which has not been stored at "
            f"{path}: materialize {context.asset_key.to_user_string()!r} first, or "
            "select it in this run"
        ) from None
