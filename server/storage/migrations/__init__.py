"""Alembic migrations, applied at start by `server.storage.database.migrate`."""
