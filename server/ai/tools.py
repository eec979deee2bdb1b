"""IDE commands as model tools, in both providers' formats (one `ToolSpec`, translated by
each provider). A tool runs the registered command through the core, with the role and
audit of the user who asked; file edits become proposals instead of writes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_jsonable_python

from server.ai.messages import ToolCall, ToolResult, ToolSpec
from server.ai.proposals import Proposal, Proposals
from server.ai.redaction import Redactor
from server.core import describe_validation_error
from server.errors import InvalidInput, NexusError
from server.models import Role

if TYPE_CHECKING:
    from server.auth import AccessControl, Principal
    from server.core import CommandRegistry, ConsciousnessCore
    from server.models import Workspace

# Commands a model may call (reading, searching, source control); edits go through
# `edit_file`, which proposes rather than writes.
TOOL_COMMANDS = [
    "files.read",
    "files.list",
    "search.workspace",
    "git.status",
    "git.diff",
    "git.log",
]
MAX_RESULT_CHARS = 16_000
EDIT_TOOL = "edit_file"


class EditArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=1024, description="File path in the workspace.")
    summary: str = Field("", max_length=500, description="One line: what the edit does.")
    content: str | None = Field(None, description="The whole new text of the file.")
    old: str | None = Field(None, description="Exact text to replace (must occur once).")
    new: str | None = Field(None, description="What replaces `old`.")


def tool_name(command_id: str) -> str:
    """Providers allow [a-zA-Z0-9_-] in tool names: `files.read` → `files_read`."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", command_id)


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Both providers want a plain object schema; pydantic's may carry `$defs`."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs.get(ref.rsplit("/", 1)[-1], {}))
            return {k: walk(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result = walk(schema)
    result.setdefault("type", "object")
    result.setdefault("properties", {})
    return dict(result)


def tool_specs(registry: CommandRegistry) -> tuple[list[ToolSpec], dict[str, str]]:
    """The tools offered to models (those of TOOL_COMMANDS that `registry` has, and
    commands registered as tools, such as an extension's), and tool name → command id."""
    specs = [
        ToolSpec(
            EDIT_TOOL,
            "Propose an edit to a file: either `content` (the whole new text) or `old` and "
            "`new` (replace one exact occurrence). Collaborators review it; it is not applied "
            "until accepted.",
            _inline_refs(EditArgs.model_json_schema()),
        )
    ]
    names = {}
    offered = [c for c in TOOL_COMMANDS if c in registry]
    offered += [command.id for command in registry if command.tool and command.id not in offered]
    for command_id in offered:
        command = registry.get(command_id)
        name = tool_name(command_id)
        names[name] = command_id
        description = f"{command.title}. {command.description}".strip()[:1000]
        specs.append(
            ToolSpec(name, description, _inline_refs(command.args_model.model_json_schema()))
        )
    return specs, names


@dataclass
class ToolRunner:
    """Runs one conversation's tool calls for the user who asked: commands through the
    core (role checked, audited), edits as proposals (editors only)."""

    core: ConsciousnessCore
    access: AccessControl
    principal: Principal
    workspace: Workspace
    proposals: Proposals
    redactor: Redactor
    model: str = ""
    names: dict[str, str] = field(default_factory=dict)
    made: list[Proposal] = field(default_factory=list)

    async def run(self, call: ToolCall) -> ToolResult:
        try:
            if call.name == EDIT_TOOL:
                result: Any = await self._edit(call.arguments)
            elif call.name in self.names:
                result = await self.core.execute(
                    self.principal,
                    self.workspace.id,
                    self.names[call.name],
                    call.arguments,
                    source="ai",
                )
            else:
                return ToolResult(call.id, f"unknown tool {call.name!r}", is_error=True)
        except NexusError as exc:
            return ToolResult(call.id, f"{exc.code}: {exc.message}", is_error=True)
        text = json.dumps(to_jsonable_python(result), ensure_ascii=False)
        if len(text) > MAX_RESULT_CHARS:
            text = text[:MAX_RESULT_CHARS] + "…(truncated)"
        return ToolResult(call.id, self.redactor.text(text))

    async def _edit(self, arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            args = EditArgs.model_validate(arguments)
        except ValidationError as exc:
            raise InvalidInput(describe_validation_error(exc)) from None
        await self.access.require(self.principal, self.workspace.id, Role.editor)
        if args.content is None and (args.old is None or args.new is None):
            raise InvalidInput("give `content`, or `old` and `new`")
        proposal = await self.proposals.propose(
            self.workspace,
            args.path,
            args.content or "",
            summary=args.summary or f"edit {args.path}",
            author=self.principal.user.username,
            model=self.model,
            replace=(args.old, args.new)
            if args.content is None and args.old is not None and args.new is not None
            else None,
        )
        self.made.append(proposal)
        return {"proposal": proposal.id, "status": "pending review by the user"}
