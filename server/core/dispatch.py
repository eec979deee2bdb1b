"""The dispatcher (the ConsciousnessCore): turns intents into actions.

Every surface (Socket.IO, REST, and later voice, chat and completion) hands the core an
intent. The core checks the caller's role, validates, runs the handler, audits the
execution, and announces it on the bus, so that later capabilities plug in as intent
kinds and bus subscribers rather than as new paths through the hub.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python

from server import metrics
from server.auth import Principal
from server.bus import Event
from server.core.commands import CommandContext, CommandRegistry
from server.errors import InternalError, NexusError
from server.logs import request_id_var

if TYPE_CHECKING:
    from server.auth import AccessControl
    from server.bus import Bus
    from server.storage import AuditLog

log = logging.getLogger("nexus.core")


class CommandIntent(BaseModel):
    """Run one registered command in a workspace."""

    kind: str = "command"
    workspace: str = Field(min_length=1, max_length=64)
    command: str = Field(min_length=1, max_length=128)
    args: dict[str, Any] = Field(default_factory=dict)


class CommandExecuted(Event):
    workspace_id: str
    command: str
    username: str
    source: str
    ok: bool
    error: str | None = None
    duration_ms: float


Intent = CommandIntent  # chat, voice and completion intents join this union


@dataclass(eq=False)
class ConsciousnessCore:
    registry: CommandRegistry
    access: AccessControl
    audit: AuditLog
    bus: Bus

    async def dispatch(
        self, principal: Principal, intent: Intent, *, source: str, request_id: str | None = None
    ) -> Any:
        """Carry out an intent on behalf of `principal`; returns a JSON-able result."""
        return await self.execute(
            principal,
            intent.workspace,
            intent.command,
            intent.args,
            source=source,
            request_id=request_id,
        )

    async def execute(
        self,
        principal: Principal,
        workspace_id: str,
        command_id: str,
        args: Any,
        *,
        source: str,
        request_id: str | None = None,
    ) -> Any:
        """Check, run, audit and announce one command. Rejected calls (unknown command,
        too little role, bad arguments) raise before anything is written."""
        request_id = request_id or request_id_var.get()
        command = self.registry.get(command_id)
        access = await self.access.require(principal, workspace_id, command.role)
        parsed = command.parse_args(args)
        context = CommandContext(principal, access, command.feature, source, request_id)
        started = time.perf_counter()
        error: NexusError | None = None
        try:
            result = to_jsonable_python(await command.handler(context, parsed))
        except NexusError as exc:
            error = exc
            raise
        except Exception as exc:
            log.exception("command %s failed", command_id)
            error = InternalError(f"{command_id} failed: {type(exc).__name__}")
            raise error from exc
        finally:
            elapsed = time.perf_counter() - started
            await self._record(context, command_id, parsed, elapsed, error)
        return result

    async def _record(
        self,
        context: CommandContext[Any],
        command_id: str,
        args: BaseModel,
        elapsed: float,
        error: NexusError | None,
    ) -> None:
        outcome = "ok" if error is None else error.code
        metrics.COMMANDS.labels(command_id, context.source, outcome).inc()
        metrics.COMMAND_LATENCY.labels(command_id).observe(elapsed)
        user = context.principal.user
        await self.audit.record(
            f"command:{command_id}",
            user=user,
            source=context.source,
            ok=error is None,
            workspace_id=context.workspace_id,
            detail={
                "args": args.model_dump(mode="json"),
                "error": error.message if error else None,
            },
            request_id=context.request_id,
        )
        await self.bus.publish(
            f"workspace.{context.workspace_id}.command",
            CommandExecuted(
                workspace_id=context.workspace_id,
                command=command_id,
                username=user.username,
                source=context.source,
                ok=error is None,
                error=error.message if error else None,
                duration_ms=round(elapsed * 1000, 3),
            ),
        )
