"""Who is calling: resolves a bearer token to a principal."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from server.errors import Unauthorized
from server.models import User
from server.storage import TokenStore


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    token_id: int | None  # None for the configured admin token

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin


class Authenticator:
    def __init__(self, tokens: TokenStore, admin: User, admin_token: str | None) -> None:
        self.tokens = tokens
        self.admin = admin
        self.admin_token = admin_token

    async def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthorized("a token is required")
        if self.admin_token and hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return Principal(self.admin, None)
        user, info = await self.tokens.resolve(token)
        return Principal(user, info.id)


def bearer_token(authorization: str | None) -> str | None:
    """The token from an `Authorization: Bearer T` header value."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    return token.strip()
