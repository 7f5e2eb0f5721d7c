"""Alembic migrations of the SQL store, run by `arco_flow.storage.migrator` (no alembic.ini).

To change the schema, add a module to `versions/` named ``rNNNN_what.py`` with
``revision = "NNNN"`` and ``down_revision`` the previous head, write `upgrade` with explicit
`op` calls (never from `schema.metadata`, which follows the head), update `schema.py` to
match (a test compares them), and add a test that upgrades a database file saved from the
previous release.
"""
