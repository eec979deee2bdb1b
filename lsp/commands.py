"""Language commands for the command registry (UI, voice, AI tools, REST).

Positions are LSP's: 0-based `line` and `character` (UTF-16 code units) in the shared
document at `path` (relative to the workspace folder).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, ConfigDict, Field

from lsp.bridge import Bridge, BridgeDocument
from lsp.edits import apply_workspace_edit
from lsp.errors import LspError, as_nexus_error
from server.core import CommandContext, Commands
from server.errors import InvalidInput
from server.models import Role

if TYPE_CHECKING:
    from lsp.manager import LanguageServers
    from server.collab import Rooms

HOLDER = "commands"

commands = Commands()


@dataclass(frozen=True)
class Language:
    """What the commands use: the language servers, and the shared documents (a rename
    or a format edits what collaborators have open)."""

    servers: LanguageServers
    documents: Rooms


class PathArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=1024, description="File, relative to the workspace.")


class PositionArgs(PathArgs):
    line: int = Field(ge=0, description="0-based line.")
    character: int = Field(ge=0, description="0-based column in UTF-16 code units.")


class RenameArgs(PositionArgs):
    to: str = Field(min_length=1, max_length=256, description="The new name.")


class ProblemsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str | None = Field(None, max_length=1024, description="Only this file.")


async def _document(ctx: CommandContext[Language], path: str) -> tuple[Bridge, BridgeDocument]:
    servers = ctx.feature.servers
    root = Path(ctx.access.workspace.path)
    try:
        bridge = await servers.bridge(ctx.workspace_id, servers.language_for(path), root)
        return bridge, await bridge.open_document(bridge.path_of(path), HOLDER)
    except LspError as exc:
        raise as_nexus_error(exc) from None


async def _ask(bridge: Bridge, method: str, params: dict[str, Any]) -> Any:
    try:
        return await bridge.request(method, params, holder=HOLDER)
    except LspError as exc:
        raise as_nexus_error(exc) from None


def _position(args: PositionArgs, document: BridgeDocument) -> dict[str, Any]:
    return {
        "textDocument": {"uri": document.uri},
        "position": {"line": args.line, "character": args.character},
    }


def _locations(bridge: Bridge, result: Any) -> list[dict[str, Any]]:
    """Locations with workspace-relative paths (None for files outside, e.g. the stdlib)."""
    items = result if isinstance(result, list) else [result] if result else []
    out = []
    for item in items:
        uri = item.get("uri") or item.get("targetUri")
        range_ = item.get("range") or item.get("targetSelectionRange")
        path = Path(unquote(urlparse(uri).path))
        try:
            relative: str | None = path.relative_to(bridge.root).as_posix()
        except ValueError:
            relative = None
        out.append({"path": relative, "uri": uri, "range": range_})
    return out


@commands.command("lsp.definition", title="Go to definition", role=Role.viewer)
async def definition(ctx: CommandContext[Language], args: PositionArgs) -> list[dict[str, Any]]:
    bridge, document = await _document(ctx, args.path)
    return _locations(
        bridge, await _ask(bridge, "textDocument/definition", _position(args, document))
    )


@commands.command("lsp.references", title="Find references", role=Role.viewer)
async def references(ctx: CommandContext[Language], args: PositionArgs) -> list[dict[str, Any]]:
    bridge, document = await _document(ctx, args.path)
    params = {**_position(args, document), "context": {"includeDeclaration": True}}
    return _locations(bridge, await _ask(bridge, "textDocument/references", params))


@commands.command("lsp.hover", title="Hover", role=Role.viewer)
async def hover(ctx: CommandContext[Language], args: PositionArgs) -> dict[str, Any] | None:
    bridge, document = await _document(ctx, args.path)
    result = await _ask(bridge, "textDocument/hover", _position(args, document))
    if not result:
        return None
    contents = result.get("contents")
    if isinstance(contents, dict):
        text = contents.get("value", "")
    elif isinstance(contents, list):
        text = "\n\n".join(c if isinstance(c, str) else c.get("value", "") for c in contents)
    else:
        text = str(contents or "")
    return {"contents": text, "range": result.get("range")}


@commands.command("lsp.rename", title="Rename symbol", role=Role.editor)
async def rename(ctx: CommandContext[Language], args: RenameArgs) -> dict[str, Any]:
    """Rename a symbol everywhere: open documents change for every collaborator, closed
    files change on disk."""
    await ctx.feature.documents.flush(ctx.workspace_id)  # jedi reads unopened files from disk
    bridge, document = await _document(ctx, args.path)
    params = {**_position(args, document), "newName": args.to}
    edit = await _ask(bridge, "textDocument/rename", params)
    if not edit:
        raise InvalidInput("there is nothing to rename at this position")
    changed = await apply_workspace_edit(ctx.feature.documents, ctx.workspace_id, bridge.root, edit)
    return {"changed": changed}


@commands.command("editor.format", title="Format document", role=Role.editor)
async def format_document(ctx: CommandContext[Language], args: PathArgs) -> dict[str, Any]:
    bridge, document = await _document(ctx, args.path)
    params = {
        "textDocument": {"uri": document.uri},
        "options": {"tabSize": 4, "insertSpaces": True},
    }
    edits = await _ask(bridge, "textDocument/formatting", params)
    if not edits:
        return {"changed": False}
    changed = await apply_workspace_edit(
        ctx.feature.documents, ctx.workspace_id, bridge.root, {"changes": {document.uri: edits}}
    )
    return {"changed": bool(changed)}


@commands.command("lsp.problems", title="Problems", role=Role.viewer)
async def problems(ctx: CommandContext[Language], args: ProblemsArgs) -> list[dict[str, Any]]:
    """Diagnostics of the workspace's open documents, every language, by file."""
    out = []
    for bridge in ctx.feature.servers.bridges(ctx.workspace_id):
        for entry in bridge.problems():
            if args.path is None or entry["path"] == args.path.strip("/"):
                out.append({"language": bridge.language, **entry})
    return sorted(out, key=lambda entry: entry["path"])


@commands.command("lsp.status", title="Language server status", role=Role.viewer)
async def status(ctx: CommandContext[Language]) -> list[dict[str, Any]]:
    return [bridge.status() for bridge in ctx.feature.servers.bridges(ctx.workspace_id)]
