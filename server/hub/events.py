"""Payloads of the hub's Socket.IO events, validated on arrival."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceRef(Payload):
    workspace: str = Field(min_length=1, max_length=64)


class DocumentRef(WorkspaceRef):  # one file of the workspace, by its path
    path: str = Field(min_length=1, max_length=1024)


class BroadcastPayload(WorkspaceRef):
    """A message for everyone in the workspace (notifications, follow-me, pings)."""

    topic: str = Field("message", min_length=1, max_length=64)
    data: Any = None


class ExecutePayload(WorkspaceRef):
    command: str = Field(min_length=1, max_length=128)
    args: dict[str, Any] = Field(default_factory=dict)
