"""Relational storage: SQLAlchemy Core over aiosqlite or asyncpg, Alembic migrations."""

from server.storage.audit import AuditLog
from server.storage.database import create_engine, migrate, utcnow
from server.storage.tokens import TokenStore
from server.storage.users import UserStore
from server.storage.workspaces import WorkspaceStore

__all__ = [
    "AuditLog",
    "TokenStore",
    "UserStore",
    "WorkspaceStore",
    "create_engine",
    "migrate",
    "utcnow",
]
