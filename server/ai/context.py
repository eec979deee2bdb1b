"""The editor context of a prompt: what the user is looking at, most relevant first, each
part within its own token budget and all within `ai_context_tokens`; secrets redacted."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from server.ai.messages import estimate_tokens
from server.ai.redaction import Redactor
from server.errors import NexusError

if TYPE_CHECKING:
    from server.files import WorkspaceFiles
    from server.models import Workspace

log = logging.getLogger("nexus.ai")

CURSOR_LINES = 30  # lines either side of the cursor


class Diagnostic(BaseModel):
    model_config = ConfigDict(extra="ignore")
    line: int = Field(ge=1)
    message: str = Field(max_length=2000)
    severity: str = "error"


class EditorContext(BaseModel):
    """What the client knows about the editor; every field optional."""

    model_config = ConfigDict(extra="forbid")
    path: str | None = Field(None, max_length=1024)
    line: int | None = Field(None, ge=1, description="Cursor line, 1-based.")
    selection: str | None = Field(None, max_length=200_000)
    diagnostics: list[Diagnostic] = Field(default_factory=list, max_length=200)
    recent_edits: list[str] = Field(default_factory=list, max_length=50)


# (section, share of the context budget), in the order of relevance.
SHARES = [
    ("selection", 0.25),
    ("cursor", 0.2),
    ("diagnostics", 0.1),
    ("diff", 0.15),
    ("recent edits", 0.1),
    ("file", 1.0),  # whatever is left
]


def _clip(text: str, tokens: int) -> str:
    limit = max(0, tokens * 4)
    return text if len(text) <= limit else text[:limit] + "\n…(trimmed)"


async def build_context(
    files: WorkspaceFiles,
    budget: int,
    workspace: Workspace,
    editor: EditorContext | None,
    redactor: Redactor,
) -> str:
    """The context as text for the system prompt ("" when there is none), within
    `budget` tokens (`ai_context_tokens`)."""
    if editor is None:
        return ""
    source = await _read_source(files, workspace, editor.path)
    parts = await _gather(workspace, editor, source)
    return _assemble(parts, budget, editor.path, redactor)


async def _read_source(files: WorkspaceFiles, workspace: Workspace, path: str | None) -> str | None:
    if not path:
        return None
    try:
        return (await files.read_text(workspace, path)).content
    except NexusError as exc:
        log.debug("no file for the context: %s", exc.message)
        return None


async def _gather(
    workspace: Workspace, editor: EditorContext, source: str | None
) -> dict[str, str]:
    """Each section's full text, before trimming; sections with nothing are left out."""
    parts: dict[str, str] = {}
    if editor.selection:
        parts["selection"] = editor.selection
    if source is not None and editor.line:
        parts["cursor"] = _cursor_window(source, editor.line)
    if editor.diagnostics:
        parts["diagnostics"] = "\n".join(
            f"line {d.line} ({d.severity}): {d.message}" for d in editor.diagnostics
        )
    if editor.path:
        diff = await _unstaged_diff(workspace, editor.path)
        if diff:
            parts["diff"] = diff
    if editor.recent_edits:
        parts["recent edits"] = "\n---\n".join(editor.recent_edits)
    if source is not None:
        parts["file"] = source
    return parts


def _cursor_window(source: str, line: int) -> str:
    """The lines around the cursor, numbered, the cursor's marked with `>`."""
    lines = source.splitlines()
    start = max(0, line - 1 - CURSOR_LINES)
    window = lines[start : line + CURSOR_LINES]
    return "\n".join(
        f"{number:>5}{'>' if number == line else ' '} {text}"
        for number, text in enumerate(window, start + 1)
    )


async def _unstaged_diff(workspace: Workspace, path: str) -> str:
    # Imported here: server.workspaces imports the hub, which imports this package.
    from server.git import GitRepository

    try:
        return (await GitRepository(Path(workspace.path)).diff(path, staged=False)).patch
    except NexusError:
        return ""  # not a repository, or the file is not tracked


def _assemble(parts: dict[str, str], budget: int, path: str | None, redactor: Redactor) -> str:
    """The sections in order of relevance, each redacted and trimmed to its share."""
    sections = []
    left = budget
    for name, share in SHARES:
        text = parts.get(name)
        if not text or left <= 0:
            continue
        text = _clip(redactor.text(text, path=path), min(left, int(budget * share)))
        left -= estimate_tokens(text)
        title = f"{name} ({path})" if name in {"file", "cursor", "diff"} and path else name
        sections.append(f"<{title}>\n{text}\n</{name}>")
    return "\n\n".join(sections)
