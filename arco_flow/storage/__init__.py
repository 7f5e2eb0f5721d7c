"""Layer 2: the event store, its projections and migrations; never imports the worker.

Import names from their modules: `arco_flow.storage.protocols` (the protocols),
`arco_flow.storage.records` (what queries return), `arco_flow.storage.memory_store` and
`arco_flow.storage.sql_store` (the backends). This file imports nothing, so that the
in-memory store can be used without loading SQLAlchemy.
"""
