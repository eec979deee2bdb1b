"""Commands over REST: the same registry and checks as Socket.IO's `command:execute`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from server.api.deps import Caller, Platform, RequestId
from server.api.routing import api_router
from server.core import CommandInfo

router = api_router("commands")


class ExecuteCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workspace: str = Field(min_length=1, max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)


class CommandResult(BaseModel):
    command: str
    result: Any


@router.get("/api/v1/commands", response_model=list[CommandInfo])
async def list_commands(_user: Caller, nexus: Platform) -> list[CommandInfo]:
    """Every registered command with its argument schema and the role it needs."""
    return [command.info() for command in nexus.registry]


@router.post("/api/v1/commands/{command_id}", response_model=CommandResult)
async def execute_command(
    command_id: str, body: ExecuteCommand, user: Caller, nexus: Platform, request_id: RequestId
) -> CommandResult:
    """Run a command in a workspace with the caller's permissions."""
    result = await nexus.core.execute(
        user, body.workspace, command_id, body.args, source="rest", request_id=request_id
    )
    return CommandResult(command=command_id, result=result)
