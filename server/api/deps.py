"""What REST handlers ask FastAPI for: the caller, the platform, a feature's object, or
the whole call (caller, platform and request id) on one workspace.

async def status(call: InWorkspace, git: Annotated[Git, Need(Git)]): ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.requests import Request

from server.auth import Principal, WorkspaceAccess, bearer_token
from server.core import CommandContext, NoArgs
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


@dataclass(frozen=True)
class RestCall:
    """One REST call: who makes it, the platform, and its request id (for the audit)."""

    user: Principal
    nexus: NexusApp
    request_id: str

    async def audit(
        self, action: str, *, workspace_id: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        """Record what the caller did over REST in the audit trail."""
        await self.nexus.audit.record(
            action,
            user=self.user.user,
            source="rest",
            workspace_id=workspace_id,
            detail=detail,
            request_id=self.request_id,
        )


@dataclass(frozen=True)
class WorkspaceCall(RestCall):
    """A REST call on the workspace its path names (`{workspace_id}`)."""

    workspace_id: str

    async def access(self, role: Role) -> WorkspaceAccess:
        """The caller's access to the workspace, at least `role` (404/403 otherwise)."""
        return await self.nexus.access.require(self.user, self.workspace_id, role)

    async def run(self, command_id: str, args: BaseModel | None = None) -> Any:
        """Run a registered command's handler for this call, after the role check the
        command declares, so the REST route and the command behave alike (`args` are
        already validated by the route)."""
        command = self.nexus.registry.get(command_id)
        access = await self.access(command.role)
        context = CommandContext(self.user, access, command.feature, "rest", self.request_id)
        return await command.handler(context, args if args is not None else NoArgs())


async def rest_call(user: Caller, nexus: Platform, request_id: RequestId) -> RestCall:
    return RestCall(user, nexus, request_id)


Call = Annotated[RestCall, Depends(rest_call)]


async def workspace_call(workspace_id: str, call: Call) -> WorkspaceCall:
    return WorkspaceCall(call.user, call.nexus, call.request_id, workspace_id)


InWorkspace = Annotated[WorkspaceCall, Depends(workspace_call)]
