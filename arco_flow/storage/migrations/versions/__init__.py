"""Migration scripts, oldest first; Alembic reads them, nothing imports them."""
