"""Who is calling: resolves a bearer token to a principal."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from server.auth.ratelimit import ApiKeyLimiter
from server.errors import Unauthorized
from server.models import Role, User
from server.storage import TokenStore


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    token_id: int | None  # None for the configured admin token
    # A scoped API key's limits: the only workspace it may act in, the highest role it has.
    workspace: str | None = None
    role: Role | None = None

    @property
    def scoped(self) -> bool:
        return self.workspace is not None or self.role is not None

    @property
    def is_admin(self) -> bool:
        """Admin powers (users, every workspace): never through a scoped key."""
        return self.user.is_admin and not self.scoped

    def cap(self, role: Role) -> Role:
        """`role`, lowered to the key's scope."""
        return self.role if self.role is not None and self.role.rank < role.rank else role


class Authenticator:
    def __init__(
        self,
        tokens: TokenStore,
        admin: User,
        admin_token: str | None,
        api_keys: ApiKeyLimiter | None = None,
    ) -> None:
        self.tokens = tokens
        self.admin = admin
        self.admin_token = admin_token
        self.api_keys = api_keys

    async def authenticate(self, token: str | None) -> Principal:
        """The caller; `Unauthorized` without a valid token, `RateLimited` for an API key
        over its limit (counted here, where every REST call and socket connect passes)."""
        if not token:
            raise Unauthorized("a token is required")
        if self.admin_token and hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return Principal(self.admin, None)
        user, info = await self.tokens.resolve(token)
        if info.kind == "api_key" and self.api_keys is not None:
            await self.api_keys.hit(info.id)
        return Principal(user, info.id, info.workspace, info.role)


def bearer_token(authorization: str | None) -> str | None:
    """The token from an `Authorization: Bearer T` header value."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    return token.strip()
