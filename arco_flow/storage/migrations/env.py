"""Alembic's environment: runs the migrations on the connection the store hands in.

Online, the connection comes in ``config.attributes["connection"]``, already inside the
store's transaction, so a migration and the check of the version before it are atomic.
Offline (``--sql``, for a DBA who applies SQL by hand), the URL comes from the config's
``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context

from arco_flow.storage.schema import SCHEMA_VERSION_TABLE, metadata


def run_migrations() -> None:
    """Runs the pending migrations, online or offline."""
    config = context.config
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=metadata,
            version_table=SCHEMA_VERSION_TABLE,
            literal_binds=True,
        )
    else:
        context.configure(
            connection=config.attributes["connection"],
            target_metadata=metadata,
            version_table=SCHEMA_VERSION_TABLE,
            render_as_batch=True,
        )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
