"""Connecting to a SQL store: URLs, SQLite settings, and transactions that write.

The only module that knows SQLite's connection settings. A file store runs in WAL mode
(readers never block the writer), with ``synchronous=NORMAL`` (a commit survives a crash of
the process; only a power loss can lose the last commits), foreign keys on and a busy
timeout. Writes begin with ``BEGIN IMMEDIATE``, so the one writer takes the lock before it
reads the log's head and two processes never both place event N+1; reads begin a
transaction too, so that the statements of one query see one snapshot.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from arco_flow.core.errors import StoreError

__all__ = [
    "DEFAULT_BUSY_TIMEOUT_S",
    "DEFAULT_DATABASE_NAME",
    "create_store_engine",
    "database_url",
    "default_database_path",
    "transaction",
]

DEFAULT_DATABASE_NAME = "arco.db"
DEFAULT_BUSY_TIMEOUT_S = 30.0


def default_database_path(home: str | os.PathLike[str]) -> Path:
    """Where the embedded store lives under an Arco Flow home directory (``ARCO_HOME``)."""
    return Path(home) / DEFAULT_DATABASE_NAME


def database_url(target: str | os.PathLike[str]) -> str:
    """The SQLAlchemy URL of `target`: a URL (``sqlite:///...``) or a path to a SQLite file.

    Raises:
        StoreError: `target` looks like a URL but is not one.
    """
    text = os.fspath(target)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    try:
        make_url(text)
    except ArgumentError as error:
        raise StoreError(
            f"{text!r} is not a database URL: {error}. Pass a path to a SQLite file, or a "
            "URL such as 'sqlite:////var/lib/arco/arco.db'."
        ) from error
    return text


def create_store_engine(url: str, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Engine:
    """An engine for the store at `url`, with the connection settings of the store.

    For a SQLite file, its directory is created when missing.

    Raises:
        StoreError: The database kind is not supported, or the directory cannot be made.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend != "sqlite":
        raise StoreError(
            f"the store URL {parsed.render_as_string(hide_password=True)!r} uses "
            f"{backend!r}; this version supports SQLite ('sqlite:///path/to/arco.db')."
        )
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        directory = Path(database).parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"cannot create the directory {str(directory)!r} for the store: {error}. "
                "Choose a writable location (ARCO_HOME) for the store."
            ) from error
    engine = create_engine(url)
    _configure_sqlite(engine, busy_timeout_s)
    return engine


@contextmanager
def transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """A connection in a transaction, committed when the block ends without an error.

    Every statement in it sees one snapshot of the database. A write transaction takes the
    write lock when it begins (SQLite's ``BEGIN IMMEDIATE``), so it never fails half way
    because another process wrote first.
    """
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            # The driver is in autocommit mode (see `_configure_sqlite`): begin ourselves.
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
        yield connection


def _configure_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's implicit BEGIN cannot take the write lock up front; `transaction`
        # begins explicitly instead. (A connection-level "begin" listener would do the same,
        # but any such listener slows every statement SQLAlchemy runs.)
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()
