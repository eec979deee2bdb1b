"""Commands contributed by extensions, in the one command registry: the palette, REST
and Socket.IO list and run them like any other, with the caller's role checked first.

Running one POSTs a signed `command.execute` request to the extension
(`{type, timestamp, data: {command, args, workspace, user, source, request_id}}`) and
returns the `result` of its JSON answer.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from extensions import metrics, signing
from extensions.directory import Directory
from extensions.models import CommandSpec
from extensions.sender import Sender
from extensions.store import Extension
from server.core import CommandContext, CommandRegistry
from server.errors import Conflict, NotFound, Unavailable

log = logging.getLogger("nexus.extensions")


class ExtensionArgs(BaseModel):
    """Whatever the extension's schema says: the extension checks its own arguments."""

    model_config = ConfigDict(extra="allow")


def _args_model(spec: CommandSpec) -> type[BaseModel]:
    schema = dict(spec.args_schema)

    def describe(target: dict[str, Any]) -> None:
        target.clear()
        target.update(schema)

    config = ConfigDict(extra="allow", json_schema_extra=describe)
    name = "Args_" + spec.id.replace(".", "_").replace("-", "_")
    return type(name, (ExtensionArgs,), {"model_config": config})


class ContributedCommands:
    def __init__(self, registry: CommandRegistry, directory: Directory, sender: Sender) -> None:
        self.registry = registry
        self.directory = directory
        self.sender = sender
        self._owner: dict[str, str] = {}  # command id → extension id

    def check_free(self, extension_id: str | None, specs: list[CommandSpec]) -> None:
        """`Conflict` for an id the registry has that is not this extension's own, or one
        in a built-in namespace (`files.`, `editor.`, …: NEXUS may add ids there)."""
        taken = [
            spec.id
            for spec in specs
            if spec.id in self.registry
            and (extension_id is None or self._owner.get(spec.id) != extension_id)
        ]
        if taken:
            raise Conflict(
                f"command ids already registered: {', '.join(taken)}; pick other ids "
                "(an extension cannot replace a built-in or another extension's command)"
            )
        reserved = self._builtin_namespaces()
        inside = [spec.id for spec in specs if spec.id.split(".", 1)[0] in reserved]
        if inside:
            raise Conflict(
                f"command ids in a built-in namespace: {', '.join(inside)}; use your own "
                f"prefix (taken: {', '.join(sorted(reserved))})"
            )

    def _builtin_namespaces(self) -> set[str]:
        return {
            command.id.split(".", 1)[0]
            for command in self.registry
            if command.id not in self._owner
        }

    def sync(self, extension_id: str, extension: Extension | None) -> None:
        """Make the registry hold exactly this extension's commands (none once deleted)."""
        for command_id, owner in list(self._owner.items()):
            if owner == extension_id:
                self.registry.remove(command_id)
                del self._owner[command_id]
        if extension is None:
            return
        for spec in extension.commands:
            if spec.id in self.registry:
                log.warning(
                    "extension %s: command %s is taken by another; skipped", extension.name, spec.id
                )
                continue
            self._add(extension.id, spec)

    def _add(self, extension_id: str, spec: CommandSpec) -> None:
        async def run(ctx: CommandContext[Any], args: BaseModel) -> Any:
            return await self.run(extension_id, spec.id, ctx, args)

        self.registry.add(
            spec.id,
            run,
            title=spec.title,
            role=spec.role,
            feature=self,
            args_model=_args_model(spec),
            description=spec.description,
            tool=spec.ai_tool,
            phrases=tuple(spec.phrases) or (spec.title,),
        )
        self._owner[spec.id] = extension_id

    async def run(
        self, extension_id: str, command_id: str, ctx: CommandContext[Any], args: BaseModel
    ) -> Any:
        extension = self.directory.get(extension_id)
        if extension is None:
            raise NotFound(f"unknown command {command_id!r}")
        if not extension.enabled:
            raise Unavailable(f"extension {extension.name!r} is disabled; its owner can enable it")
        if await self.directory.role_in(extension, ctx.workspace_id) is None:
            raise NotFound(f"command {command_id!r} is not available in this workspace")
        body = json.dumps(
            {
                "type": "command.execute",
                "timestamp": datetime.now(UTC).isoformat(),
                "data": {
                    "command": command_id,
                    "args": args.model_dump(mode="json"),
                    "workspace": ctx.workspace_id,
                    "user": ctx.principal.user.username,
                    "source": ctx.source,
                    "request_id": ctx.request_id,
                },
            },
            separators=(",", ":"),
        ).encode()
        try:
            result = await self.sender.command(
                extension, command_id, signing.new_message_id(), body
            )
        except Exception:
            metrics.COMMANDS.labels("error").inc()
            raise
        metrics.COMMANDS.labels("ok").inc()
        return result
