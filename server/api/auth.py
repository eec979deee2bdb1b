"""Users, login, and the caller's own tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from server import metrics
from server.api.deps import Call, Caller, Platform
from server.api.routing import api_router
from server.auth import AccessControl, hash_password, verify_password
from server.errors import Forbidden, Unauthorized
from server.models import Role, TokenInfo, User

router = api_router("auth")

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
    workspace: str | None = Field(
        None, min_length=1, max_length=32, description="The only workspace the key may act in."
    )
    role: Role | None = Field(None, description="The highest role the key acts with.")


class NewToken(BaseModel):
    token: str
    info: TokenInfo


@router.post("/api/v1/users", response_model=User, status_code=201)
async def create_user(body: CreateUser, call: Call) -> User:
    """Create a user (admin only)."""
    AccessControl.require_admin(call.user)
    created = await call.nexus.users.create(
        body.username, await hash_password(body.password), is_admin=body.is_admin
    )
    await call.audit("user.create", detail={"username": body.username})
    return created


@router.get("/api/v1/users", response_model=list[User])
async def list_users(user: Caller, nexus: Platform) -> list[User]:
    """List users (admin only)."""
    AccessControl.require_admin(user)
    return await nexus.users.list()


@router.post("/api/v1/auth/login", response_model=LoginResult)
async def login(body: Login, request: Request, nexus: Platform) -> LoginResult:
    """Exchange a user name and password for a bearer token."""
    client = request.client.host if request.client else "unknown"
    try:
        await nexus.login_limiter.hit(f"ip:{client}", f"user:{body.username.lower()}")
    except Exception:
        metrics.LOGINS.labels("rate_limited").inc()
        raise
    found = await nexus.users.password_hash(body.username)
    user, stored = found if found else (None, None)
    if not await verify_password(stored, body.password) or user is None:
        metrics.LOGINS.labels("failed").inc()
        raise Unauthorized("wrong user name or password")
    ttl = timedelta(hours=nexus.settings.token_ttl_hours)
    token, info = await nexus.tokens.issue(user.id, kind="session", ttl=ttl)
    metrics.LOGINS.labels("ok").inc()
    return LoginResult(token=token, expires_at=info.expires_at, user=user)


@router.post("/api/v1/auth/logout", status_code=204)
async def logout(user: Caller, nexus: Platform) -> None:
    """Revoke the token this request was made with."""
    if user.token_id is not None:
        await nexus.tokens.revoke(user.token_id, user.user.id)


@router.get("/api/v1/auth/me", response_model=User)
async def me(user: Caller) -> User:
    """The user the token belongs to."""
    return user.user


@router.get("/api/v1/auth/tokens", response_model=list[TokenInfo])
async def list_tokens(user: Caller, nexus: Platform) -> list[TokenInfo]:
    """The caller's tokens and API keys (secrets are never shown again)."""
    return await nexus.tokens.list(user.user.id)


@router.post("/api/v1/auth/tokens", response_model=NewToken, status_code=201)
async def create_token(body: CreateToken, call: Call) -> NewToken:
    """Create a named API key for automation, optionally scoped to one workspace and
    capped at a role. The creator needs that role there; a scoped key creates only keys
    within its own scope (its workspace and role are the defaults)."""
    user = call.user
    workspace = body.workspace or user.workspace
    role = body.role or user.role
    if workspace is not None:
        await call.nexus.access.require(user, workspace, role or Role.viewer)
    elif role is not None and user.cap(role) != role:
        raise Forbidden(f"this key is limited to the {user.cap(role).value} role")
    ttl = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    token, info = await call.nexus.tokens.issue(
        user.user.id, kind="api_key", ttl=ttl, name=body.name, workspace=workspace, role=role
    )
    scope = {"workspace": workspace, "role": role.value if role else None}
    await call.audit("token.create", workspace_id=workspace, detail={"name": body.name, **scope})
    return NewToken(token=token, info=info)


@router.delete("/api/v1/auth/tokens/{token_id:int}", response_model=TokenInfo)
async def revoke_token(token_id: int, user: Caller, nexus: Platform) -> TokenInfo:
    """Revoke one of the caller's tokens."""
    return await nexus.tokens.revoke(token_id, user.user.id)
