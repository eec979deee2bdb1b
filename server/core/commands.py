"""The command registry: one list of command ids for the UI, voice, AI, plugins and REST.

A command is a decorated async function. Its second parameter's annotation is the
pydantic model of its arguments, which validates input and describes it to clients:

    @commands.command("workspace.addMember", title="Add a member", role=Role.owner)
    async def add_member(ctx: CommandContext[Members], args: AddMemberArgs) -> Member: ...

`ctx.feature` is the object the command's feature bound it to (see `Commands`), so a
handler reaches its own feature's parts and nothing else of the server.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server.errors import InvalidInput, NotFound
from server.models import Role

if TYPE_CHECKING:
    from server.auth import Principal, WorkspaceAccess

F = TypeVar("F")


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The arguments of a command on one file or folder of the workspace (no docstring: it
# would become the schema's description, which clients see).
class PathArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=1024)


@dataclass(frozen=True, slots=True)
class CommandContext(Generic[F]):
    """What a command knows about its call: who, where, from which surface, and its own
    feature's object."""

    principal: Principal
    access: WorkspaceAccess
    feature: F
    source: str
    request_id: str | None = None

    @property
    def workspace_id(self) -> str:
        return self.access.workspace.id


# `(context)` or `(context, args)`; the registry calls both as `(context, args)`.
CommandHandler = Callable[..., Awaitable[Any]]


class CommandInfo(BaseModel):
    id: str
    title: str
    description: str
    role: Role
    args_schema: dict[str, Any]


def _has_lone_surrogate(args: Any) -> bool:
    """JSON can escape half a surrogate pair; fields typed `str` refuse it in JSON, but
    arguments arrive parsed, and such text would fail at its first encode (a 500)."""
    pending = [args]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if not value.isascii():
                try:
                    value.encode()
                except UnicodeEncodeError:
                    return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
    return False


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    title: str
    description: str
    role: Role
    args_model: type[BaseModel]
    handler: CommandHandler
    feature: Any = None
    tool: bool = False  # offered to models as a tool (besides the built-in tool list)
    # how people say it, for voice (plain words; built-in commands have their phrase
    # table in `voice.commands_table` instead)
    phrases: tuple[str, ...] = ()

    def parse_args(self, args: Any) -> BaseModel:
        if _has_lone_surrogate(args):
            raise InvalidInput(f"bad arguments for {self.id}: text must be valid Unicode")
        try:
            return self.args_model.model_validate(args if args is not None else {})
        except ValidationError as exc:
            raise InvalidInput(
                f"bad arguments for {self.id}: {describe_validation_error(exc)}",
                details=exc.errors(include_url=False, include_context=False),
            ) from None

    def info(self) -> CommandInfo:
        return CommandInfo(
            id=self.id,
            title=self.title,
            description=self.description,
            role=self.role,
            args_schema=self.args_model.model_json_schema(),
        )


def describe_validation_error(exc: ValidationError) -> str:
    """`field.sub: message; other: message` — names the fields, as users need."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


class CommandRegistry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self.version = 0  # bumped on every change, for what is built from the list

    def add(
        self,
        command_id: str,
        handler: CommandHandler,
        *,
        title: str,
        role: Role,
        feature: Any = None,
        args_model: type[BaseModel] | None = None,
        description: str | None = None,
        tool: bool = False,
        phrases: tuple[str, ...] = (),
    ) -> Command:
        """Register a command; `args_model` and `description` default to the handler's
        second parameter's annotation and its docstring (commands made at run time, such
        as an extension's, pass them). `tool`: offered to models as a tool; `phrases`:
        ways to say it (voice)."""
        if command_id in self._commands:
            raise ValueError(f"command {command_id!r} is already registered")
        args_model = args_model or _args_model(handler)
        if description is None:
            description = inspect.getdoc(handler) or ""
        call = handler
        if len(inspect.signature(handler).parameters) < 2:

            async def call(context: CommandContext, _args: Any) -> Any:
                return await handler(context)

        command = Command(
            id=command_id,
            title=title,
            description=description,
            role=role,
            args_model=args_model,
            handler=call,
            feature=feature,
            tool=tool,
            phrases=phrases,
        )
        self._commands[command_id] = command
        self.version += 1
        return command

    def remove(self, command_id: str) -> Command:
        """Take a command out (an extension deleted or changed); `NotFound` if absent."""
        try:
            command = self._commands.pop(command_id)
        except KeyError:
            raise NotFound(f"unknown command {command_id!r}") from None
        self.version += 1
        return command

    def get(self, command_id: str) -> Command:
        try:
            return self._commands[command_id]
        except KeyError:
            raise NotFound(f"unknown command {command_id!r}") from None

    def __iter__(self) -> typing.Iterator[Command]:
        return iter(sorted(self._commands.values(), key=lambda command: command.id))

    def __contains__(self, command_id: object) -> bool:
        return command_id in self._commands


def _args_model(handler: CommandHandler) -> type[BaseModel]:
    params = list(inspect.signature(handler).parameters.values())
    if len(params) < 2:
        return NoArgs
    model = params[1].annotation
    if isinstance(model, str):  # postponed annotations: resolve this one only
        model = eval(model, handler.__globals__)
    if not (inspect.isclass(model) and issubclass(model, BaseModel)):
        raise TypeError(f"{handler.__qualname__}: arguments must be a pydantic model")
    return model
