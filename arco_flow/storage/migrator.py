"""Bringing a store's schema to the head revision with Alembic, run from code.

The migrations live in `arco_flow/storage/migrations` (no alembic.ini). Opening a store
upgrades it in the same write transaction that reads its revision, so two processes that
open a new file at once do not both create it. A store whose revision this version does not
know was written by a newer Arco Flow: it is refused and left exactly as it was.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from arco_flow.core.errors import StoreError
from arco_flow.storage.schema import SCHEMA_VERSION_TABLE

__all__ = ["MIGRATIONS_DIRECTORY", "current_revisions", "head_revision", "upgrade_schema"]

MIGRATIONS_DIRECTORY = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    # The config is a ConfigParser: a '%' in the path would start an interpolation.
    config.set_main_option("script_location", str(MIGRATIONS_DIRECTORY).replace("%", "%%"))
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The newest revision this version of Arco Flow knows."""
    head = _scripts().get_current_head()
    assert head is not None, "the migrations directory has no revision"
    return head


def current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions the database at `connection` is stamped with (none when new)."""
    context = MigrationContext.configure(connection, opts={"version_table": SCHEMA_VERSION_TABLE})
    return tuple(context.get_current_heads())


def upgrade_schema(connection: Connection, *, where: str) -> tuple[str, ...]:
    """Upgrades the database to the head revision, inside the caller's transaction.

    Args:
        connection: A connection in a write transaction.
        where: The store's location, for error messages.

    Returns:
        The revisions the database had before, when it was upgraded from an earlier
        revision; empty when it was new or already at the head.

    Raises:
        StoreError: The database has a revision this version does not know.
    """
    scripts = _scripts()
    current = current_revisions(connection)
    known = {script.revision for script in scripts.walk_revisions()}
    unknown = sorted(set(current) - known)
    if unknown:
        raise StoreError(
            f"the store at {where} has schema revision {', '.join(unknown)}, which this "
            f"version of Arco Flow does not know (it knows up to {head_revision()}): it was "
            "written by a newer Arco Flow. Upgrade arco-flow to open it; the store was not "
            "changed."
        )
    if set(current) == set(scripts.get_heads()):
        return ()
    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    return current
