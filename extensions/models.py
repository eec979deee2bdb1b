"""The extension API's records: what clients send and get back (and what the OpenAPI
description shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from extensions.catalog import EVENTS, unknown_events
from server.models import Role

COMMAND_ID = r"^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$"
MAX_EVENTS = len(EVENTS)
MAX_COMMANDS = 100
MAX_PHRASES = 10
PHRASE = r"^[A-Za-z0-9' ]*[A-Za-z0-9][A-Za-z0-9' ]*$"  # words, said: no markup


class CommandSpec(BaseModel):
    """A command the extension contributes; running it POSTs to the extension."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(max_length=128, pattern=COMMAND_ID, description="Dotted, e.g. `ci.run`.")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    role: Role = Field(Role.editor, description="The role a person needs to run it.")
    args_schema: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object"},
        description="JSON Schema of the arguments, shown to clients (the extension checks).",
    )
    ai_tool: bool = Field(
        False, description="Offer it to the chat's models as a tool (run with the asker's role)."
    )
    phrases: list[Annotated[str, Field(max_length=100, pattern=PHRASE)]] = Field(
        default_factory=list,
        max_length=MAX_PHRASES,
        description="Ways people say it to run it by voice (plain words, e.g. "
        "`run the ci`); none: its title. Spoken commands take no arguments.",
    )


def _check_events(names: list[str]) -> list[str]:
    unknown = unknown_events(names)
    if unknown:
        raise ValueError(f"unknown event names: {', '.join(unknown)} (known: {', '.join(EVENTS)})")
    return list(dict.fromkeys(names))


def _check_commands(commands: list[CommandSpec]) -> list[CommandSpec]:
    ids = [command.id for command in commands]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValueError(f"command ids listed twice: {', '.join(twice)}")
    return commands


class ExtensionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    webhook_url: str = Field(min_length=1, max_length=2048)
    events: list[str] = Field(default_factory=list, max_length=MAX_EVENTS)
    commands: list[CommandSpec] = Field(default_factory=list, max_length=MAX_COMMANDS)
    workspace: str | None = Field(
        None,
        max_length=64,
        description="The workspace it serves (its owner must own it); "
        "omitted: every workspace (admins only).",
    )
    role: Role = Field(Role.editor, description="The most it acts with (capped by its owner).")

    _events = field_validator("events")(_check_events)
    _commands = field_validator("commands")(_check_commands)


class ExtensionUpdate(BaseModel):
    """Fields to change; `rotate_secret` issues a new secret (the old one keeps signing
    during the grace period), `enabled` turns deliveries back on after a 410."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=100)
    webhook_url: str | None = Field(None, min_length=1, max_length=2048)
    events: list[str] | None = Field(None, max_length=MAX_EVENTS)
    commands: list[CommandSpec] | None = Field(None, max_length=MAX_COMMANDS)
    role: Role | None = None
    enabled: bool | None = None
    rotate_secret: bool = False

    @field_validator("events")
    @classmethod
    def _known(cls, names: list[str] | None) -> list[str] | None:
        return None if names is None else _check_events(names)

    @field_validator("commands")
    @classmethod
    def _unique(cls, commands: list[CommandSpec] | None) -> list[CommandSpec] | None:
        return None if commands is None else _check_commands(commands)


class ExtensionCreated(BaseModel):
    id: str
    secret: str = Field(description="`whsec_` + base64; shown once.")


class ExtensionInfo(BaseModel):
    id: str
    name: str
    owner: str
    workspace: str | None
    webhook_url: str
    events: list[str]
    commands: list[CommandSpec]
    role: Role
    enabled: bool
    disabled_reason: str | None
    previous_secret_until: datetime | None = Field(
        description="While set, the previous secret also signs."
    )
    created_at: datetime
    updated_at: datetime
    secret: str | None = Field(None, description="The new secret, only right after rotating.")


class EventInfo(BaseModel):
    name: str
    description: str


class Attempt(BaseModel):
    at: datetime
    status_code: int | None
    latency_ms: float
    response_excerpt: str | None
    error: str | None


class Delivery(BaseModel):
    id: str = Field(description="The `webhook-id`, the same on every attempt.")
    event: str
    workspace: str | None
    status: str = Field(description="pending, succeeded or failed.")
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    payload: dict[str, Any]
    attempt_log: list[Attempt] = Field(default_factory=list)


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(50, ge=1, le=500)
    status: str | None = Field(None, pattern="^(pending|succeeded|failed)$")


class ChatPost(BaseModel):
    """A message an extension posts into a workspace chat, as its owner."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=20_000)
    thread: str | None = Field(None, max_length=64)
    workspace: str | None = Field(None, max_length=64)


class ChatStarted(BaseModel):
    workspace: str
    thread: str
    id: str = Field(description="The answer's id; `chat.answer` events carry it.")
