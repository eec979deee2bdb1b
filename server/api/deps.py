"""What REST handlers ask FastAPI for: the caller, the platform, a feature's object.

async def status(workspace_id: str, user: Caller, git: Annotated[Git, Need(Git)]): ...
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from server.auth import Principal, WorkspaceAccess, bearer_token
from server.errors import Unauthorized
from server.models import Role
from server.platform import NexusApp

T = TypeVar("T")

_bearer = HTTPBearer(auto_error=False, description="A session token or an API key.")


def platform(request: Request) -> NexusApp:
    nexus: NexusApp | None = getattr(request.app.state, "nexus", None)
    if nexus is None:
        raise Unauthorized("the server is starting")
    return nexus


Platform = Annotated[NexusApp, Depends(platform)]


async def caller(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller (401 without a valid token)."""
    token = bearer_token(request.headers.get("authorization"))
    return await platform(request).authenticator.authenticate(token)


Caller = Annotated[Principal, Depends(caller)]


def Need(kind: type[T]) -> Any:
    """A feature's object, as its setup provided it: `Annotated[Files, Need(Files)]`."""

    def provided(request: Request) -> T:
        return platform(request).need(kind)

    return Depends(provided)


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


RequestId = Annotated[str, Depends(request_id)]


async def require(
    nexus: NexusApp, principal: Principal, workspace_id: str, role: Role
) -> WorkspaceAccess:
    """The caller's access to the workspace, at least `role` (404/403 otherwise)."""
    return await nexus.access.require(principal, workspace_id, role)
