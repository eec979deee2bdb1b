"""Bearer tokens and API keys: issued, resolved, expired and revoked.

Only a SHA-256 of each secret is stored. Secrets are 256 bits of randomness, so a
plain hash (not a slow password hash) is enough and keeps every request cheap.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.errors import NotFound, Unauthorized
from server.models import Role, TokenInfo, User
from server.storage.database import as_utc, utcnow
from server.storage.tables import tokens, users

PREFIX = "nx_"
# Writing `last_used_at` on every request would turn reads into writes.
_TOUCH_INTERVAL = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(row: Row) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        kind=row.kind,
        name=row.name,
        created_at=as_utc(row.created_at),
        expires_at=as_utc(row.expires_at),
        revoked_at=as_utc(row.revoked_at),
        last_used_at=as_utc(row.last_used_at),
        workspace=row.scope_workspace,
        role=Role(row.scope_role) if row.scope_role else None,
    )


class TokenStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def issue(
        self,
        user_id: int,
        *,
        kind: str,
        ttl: timedelta | None,
        name: str | None = None,
        workspace: str | None = None,
        role: Role | None = None,
    ) -> tuple[str, TokenInfo]:
        """A new secret (shown once) and its record; `workspace` and `role` scope a key."""
        secret = PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        values = {
            "user_id": user_id,
            "kind": kind,
            "name": name,
            "token_hash": hash_secret(secret),
            "created_at": now,
            "expires_at": now + ttl if ttl is not None else None,
            "scope_workspace": workspace,
            "scope_role": role.value if role is not None else None,
        }
        async with self.engine.begin() as conn:
            row = (await conn.execute(tokens.insert().values(**values).returning(tokens))).one()
        return secret, _info(row)

    async def resolve(self, secret: str) -> tuple[User, TokenInfo]:
        """The user a secret belongs to; `Unauthorized` saying why when it is not valid."""
        query = (
            select(
                tokens, users.c.username, users.c.is_admin, users.c.created_at.label("u_created")
            )
            .join(users, users.c.id == tokens.c.user_id)
            .where(tokens.c.token_hash == hash_secret(secret))
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise Unauthorized("unknown token")
        info = _info(row)
        now = utcnow()
        if info.revoked_at is not None:
            raise Unauthorized("token has been revoked")
        if info.expires_at is not None and info.expires_at <= now:
            raise Unauthorized("token has expired")
        if info.last_used_at is None or now - info.last_used_at > _TOUCH_INTERVAL:
            async with self.engine.begin() as conn:
                await conn.execute(
                    tokens.update().where(tokens.c.id == info.id).values(last_used_at=now)
                )
        user = User(
            id=row.user_id,
            username=row.username,
            is_admin=row.is_admin,
            created_at=as_utc(row.u_created),
        )
        return user, info

    async def revoke(self, token_id: int, user_id: int) -> TokenInfo:
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    tokens.update()
                    .where(tokens.c.id == token_id, tokens.c.user_id == user_id)
                    .values(revoked_at=func.coalesce(tokens.c.revoked_at, utcnow()))
                    .returning(tokens)
                )
            ).first()
        if row is None:
            raise NotFound(f"no token with id {token_id}")
        return _info(row)

    async def list(self, user_id: int) -> list[TokenInfo]:
        query = select(tokens).where(tokens.c.user_id == user_id).order_by(tokens.c.id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_info(row) for row in rows]
