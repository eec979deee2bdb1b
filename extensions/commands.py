"""Commands over REST: the same registry and checks as Socket.IO's `command:execute`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from server.api import Api, ApiCall
from server.core import CommandInfo

api = Api("commands")


class ExecuteCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workspace: str = Field(min_length=1, max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)


class CommandResult(BaseModel):
    command: str
    result: Any


@api.get("/api/v1/commands", response=list[CommandInfo])
async def list_commands(call: ApiCall) -> list[CommandInfo]:
    """Every registered command with its argument schema and the role it needs."""
    return [command.info() for command in call.services.registry]


@api.post("/api/v1/commands/{command_id}", body=ExecuteCommand, response=CommandResult)
async def execute_command(call: ApiCall) -> CommandResult:
    """Run a command in a workspace with the caller's permissions."""
    command_id = call.params["command_id"]
    result = await call.services.core.execute(
        call.user,
        call.body.workspace,
        command_id,
        call.body.args,
        source="rest",
        request_id=call.request_id,
    )
    return CommandResult(command=command_id, result=result)
