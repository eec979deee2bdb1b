"""AI commands, for the palette, voice, plugins and REST. The chat commands wait for the
whole answer (which collaborators also see streamed in the workspace chat)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from server.ai.context import Diagnostic, EditorContext
from server.ai.proposals import Proposal
from server.core import CommandContext, Commands
from server.errors import InvalidInput
from server.models import Role

if TYPE_CHECKING:
    from server.ai.chat import ChatService
    from server.ai.learning import Learning
    from server.ai.preferences import Preferences
    from server.ai.proposals import Proposals
    from server.files import WorkspaceFiles

commands = Commands()


@dataclass(frozen=True)
class Assistant:
    """What the commands use: the chat, the proposals (and learning, told how each one
    ended), the workspace's AI preferences, and the files (to quote a selection)."""

    chat: ChatService
    proposals: Proposals
    learning: Learning
    preferences: Preferences
    files: WorkspaceFiles


class ChatArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=100_000)
    thread: str | None = Field(None, max_length=32, description="Continue this thread.")
    context: EditorContext | None = None


class CodeArgs(BaseModel):
    """A place in a file: the whole file, a line, or a range of lines."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=1024)
    line: int | None = Field(None, ge=1, description="Cursor line (1-based).")
    start_line: int | None = Field(None, ge=1, description="First line of the selection.")
    end_line: int | None = Field(None, ge=1, description="Last line of the selection.")
    diagnostics: list[Diagnostic] = Field(default_factory=list, max_length=200)


class GenerateArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(min_length=1, max_length=100_000)
    path: str | None = Field(None, max_length=1024, description="Where the code should go.")
    line: int | None = Field(None, ge=1)


class ProposalArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    proposal: str = Field(min_length=1, max_length=64)


class SettingsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    redact_secrets: bool


async def _ask(
    ctx: CommandContext[Assistant],
    text: str,
    editor: EditorContext | None,
    intent: str,
    thread: str | None,
) -> dict[str, Any]:
    result = await ctx.feature.chat.ask(
        ctx.principal,
        ctx.access.workspace,
        text,
        thread=thread,
        editor=editor,
        intent=intent,
    )
    return {
        "thread": result.thread,
        "id": result.id,
        "text": result.text,
        "model": result.model,
        "usage": result.usage,
        "proposals": result.proposals,
        "error": result.error,
    }


async def _selection(ctx: CommandContext[Assistant], args: CodeArgs) -> EditorContext:
    selection = None
    if args.start_line is not None:
        end = args.end_line or args.start_line
        if end < args.start_line:
            raise InvalidInput("end_line is before start_line")
        text = await ctx.feature.files.read_text(ctx.access.workspace, args.path)
        lines = (text.content or "").splitlines()
        selection = "\n".join(lines[args.start_line - 1 : end])
    return EditorContext(
        path=args.path,
        line=args.line or args.start_line,
        selection=selection,
        diagnostics=args.diagnostics,
    )


@commands.command("ai.chat", title="Ask the AI", role=Role.editor)
async def chat(ctx: CommandContext[Assistant], args: ChatArgs) -> dict[str, Any]:
    """Ask the workspace chat; returns the whole answer with its usage."""
    return await _ask(ctx, args.text, args.context, "chat", args.thread)


@commands.command("ai.explain", title="AI: explain code", role=Role.editor)
async def explain(ctx: CommandContext[Assistant], args: CodeArgs) -> dict[str, Any]:
    """Explain a file, or the selected lines of it."""
    editor = await _selection(ctx, args)
    what = ""
    if args.start_line:
        what = f"lines {args.start_line}-{args.end_line or args.start_line} of "
    return await _ask(ctx, f"Explain {what}{args.path}.", editor, "explain", None)


@commands.command("ai.fix", title="AI: fix code", role=Role.editor)
async def fix(ctx: CommandContext[Assistant], args: CodeArgs) -> dict[str, Any]:
    """Propose a fix for the problems in a file (give its diagnostics if known)."""
    editor = await _selection(ctx, args)
    return await _ask(ctx, f"Fix the problem in {args.path}.", editor, "fix", None)


@commands.command("ai.generate", title="AI: generate code", role=Role.editor)
async def generate(ctx: CommandContext[Assistant], args: GenerateArgs) -> dict[str, Any]:
    """Generate code from a prompt; the code arrives as proposals."""
    editor = EditorContext(path=args.path, line=args.line) if args.path else None
    where = f" (in {args.path})" if args.path else ""
    return await _ask(ctx, args.prompt + where, editor, "generate", None)


@commands.command("ai.accept", title="Accept an AI proposal", role=Role.editor)
async def accept(ctx: CommandContext[Assistant], args: ProposalArgs) -> Proposal:
    """Apply an AI proposal to the shared document (merged with edits made since)."""
    ai = ctx.feature
    proposal = await ai.proposals.accept(
        ctx.access.workspace, args.proposal, ctx.principal.user.username
    )
    ai.learning.resolve(proposal.id, "accepted")
    return proposal


@commands.command("ai.reject", title="Reject an AI proposal", role=Role.editor)
async def reject(ctx: CommandContext[Assistant], args: ProposalArgs) -> Proposal:
    """Turn an AI proposal down."""
    ai = ctx.feature
    proposal = await ai.proposals.reject(
        ctx.workspace_id, args.proposal, ctx.principal.user.username
    )
    ai.learning.resolve(proposal.id, "rejected")
    return proposal


@commands.command("ai.undo", title="Undo an accepted AI proposal", role=Role.editor)
async def undo(ctx: CommandContext[Assistant], args: ProposalArgs) -> Proposal:
    """Take an accepted proposal back out, keeping edits made since."""
    return await ctx.feature.proposals.undo(
        ctx.access.workspace, args.proposal, ctx.principal.user.username
    )


@commands.command("ai.proposals", title="AI proposals", role=Role.viewer)
async def proposals(ctx: CommandContext[Assistant]) -> list[Proposal]:
    """The workspace's AI proposals, pending and resolved, oldest first."""
    return await ctx.feature.proposals.list(ctx.workspace_id)


@commands.command("ai.settings", title="AI settings", role=Role.owner)
async def settings(ctx: CommandContext[Assistant], args: SettingsArgs) -> dict[str, bool]:
    """Owner: turn secret redaction in this workspace's prompts on or off."""
    await ctx.feature.preferences.set_redact(ctx.workspace_id, args.redact_secrets)
    return {"redact_secrets": args.redact_secrets}
