"""Users, login, and the caller's own tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from server import metrics
from server.api._routing import Api, ApiCall
from server.auth import AccessControl, hash_password, verify_password
from server.errors import Unauthorized
from server.models import TokenInfo, User

api = Api("auth")

USERNAME = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateUser(Strict):
    username: str = USERNAME
    password: str = Field(min_length=8, max_length=1024)
    is_admin: bool = False


class Login(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class LoginResult(BaseModel):
    token: str
    expires_at: datetime | None
    user: User


class CreateToken(Strict):
    name: str = Field(min_length=1, max_length=128)
    expires_in_days: int | None = Field(90, ge=1, le=3650)


class NewToken(BaseModel):
    token: str
    info: TokenInfo


@api.post("/api/v1/users", body=CreateUser, response=User, status=201)
async def create_user(call: ApiCall) -> User:
    """Create a user (admin only)."""
    AccessControl.require_admin(call.user)
    body: CreateUser = call.body
    user = await call.services.users.create(
        body.username, await hash_password(body.password), is_admin=body.is_admin
    )
    await call.services.audit.record(
        "user.create",
        user=call.user.user,
        source="rest",
        detail={"username": body.username},
        request_id=call.request_id,
    )
    return user


@api.get("/api/v1/users", response=list[User])
async def list_users(call: ApiCall) -> list[User]:
    """List users (admin only)."""
    AccessControl.require_admin(call.user)
    return await call.services.users.list()


@api.post("/api/v1/auth/login", body=Login, response=LoginResult, auth=False)
async def login(call: ApiCall) -> LoginResult:
    """Exchange a user name and password for a bearer token."""
    body: Login = call.body
    services = call.services
    client = call.request.client.host if call.request.client else "unknown"
    try:
        services.login_limiter.hit(f"ip:{client}", f"user:{body.username.lower()}")
    except Exception:
        metrics.LOGINS.labels("rate_limited").inc()
        raise
    found = await services.users.password_hash(body.username)
    user, stored = found if found else (None, None)
    if not await verify_password(stored, body.password) or user is None:
        metrics.LOGINS.labels("failed").inc()
        raise Unauthorized("wrong user name or password")
    ttl = timedelta(hours=services.settings.token_ttl_hours)
    token, info = await services.tokens.issue(user.id, kind="session", ttl=ttl)
    metrics.LOGINS.labels("ok").inc()
    return LoginResult(token=token, expires_at=info.expires_at, user=user)


@api.post("/api/v1/auth/logout", status=204)
async def logout(call: ApiCall) -> None:
    """Revoke the token this request was made with."""
    if call.user.token_id is not None:
        await call.services.tokens.revoke(call.user.token_id, call.user.user.id)


@api.get("/api/v1/auth/me", response=User)
async def me(call: ApiCall) -> User:
    """The user the token belongs to."""
    return call.user.user


@api.get("/api/v1/auth/tokens", response=list[TokenInfo])
async def list_tokens(call: ApiCall) -> list[TokenInfo]:
    """The caller's tokens and API keys (secrets are never shown again)."""
    return await call.services.tokens.list(call.user.user.id)


@api.post("/api/v1/auth/tokens", body=CreateToken, response=NewToken, status=201)
async def create_token(call: ApiCall) -> NewToken:
    """Create a named API key for automation."""
    body: CreateToken = call.body
    ttl = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    token, info = await call.services.tokens.issue(
        call.user.user.id, kind="api_key", ttl=ttl, name=body.name
    )
    await call.services.audit.record(
        "token.create",
        user=call.user.user,
        source="rest",
        detail={"name": body.name},
        request_id=call.request_id,
    )
    return NewToken(token=token, info=info)


@api.delete("/api/v1/auth/tokens/{token_id:int}", response=TokenInfo)
async def revoke_token(call: ApiCall) -> TokenInfo:
    """Revoke one of the caller's tokens."""
    return await call.services.tokens.revoke(call.params["token_id"], call.user.user.id)
