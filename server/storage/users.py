"""Users: creation, lookup, the admin account."""

from __future__ import annotations

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.errors import Conflict, NotFound
from server.models import User
from server.storage.database import as_utc, utcnow
from server.storage.tables import users

ADMIN_USERNAME = "admin"


def _user(row: Row) -> User:
    return User(
        id=row.id, username=row.username, is_admin=row.is_admin, created_at=as_utc(row.created_at)
    )


class UserStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self, username: str, password_hash: str | None, *, is_admin: bool) -> User:
        values = {
            "username": username,
            "password_hash": password_hash,
            "is_admin": is_admin,
            "created_at": utcnow(),
        }
        try:
            async with self.engine.begin() as conn:
                result = await conn.execute(users.insert().values(**values).returning(users))
                return _user(result.one())
        except IntegrityError:
            raise Conflict(f"user {username!r} already exists") from None

    async def ensure_admin(self) -> User:
        """The built-in admin account, created on first start (it logs in by token)."""
        user = await self.find(ADMIN_USERNAME)
        if user is not None:
            return user
        try:
            return await self.create(ADMIN_USERNAME, None, is_admin=True)
        except Conflict:  # another node created it first
            return await self.get_by_name(ADMIN_USERNAME)

    async def find(self, username: str) -> User | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.username == username))).first()
        return _user(row) if row else None

    async def get_by_name(self, username: str) -> User:
        user = await self.find(username)
        if user is None:
            raise NotFound(f"no user named {username!r}")
        return user

    async def get(self, user_id: int) -> User:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
        if row is None:
            raise NotFound(f"no user with id {user_id}")
        return _user(row)

    async def password_hash(self, username: str) -> tuple[User, str | None] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.username == username))).first()
        return (_user(row), row.password_hash) if row else None

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                users.update().where(users.c.id == user_id).values(password_hash=password_hash)
            )

    async def list(self) -> list[User]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(users).order_by(users.c.id))).all()
        return [_user(row) for row in rows]
