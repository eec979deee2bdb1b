"""Where the speaker is in the editor, and how a spoken command takes its place from it:
"go to definition" and "rename this to …" act at the cursor, "format this file",
"run this file", "start debugging", "explain this" and "fix this" on the current file,
and a spoken breakpoint goes in the current file. The browser sends the place with the
audio; the spoken words never carry it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from server.errors import InvalidInput

AT_CURSOR = frozenset({"lsp.definition", "lsp.references", "lsp.hover", "lsp.rename"})
ON_FILE = frozenset({"editor.format", "file.run", "debug.start"})
ON_CODE = frozenset({"ai.explain", "ai.fix"})  # the file, and the cursor line when known


class Cursor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str | None = Field(None, max_length=1024, description="The current file's path.")
    line: int | None = Field(None, ge=1, description="Cursor line, 1-based.")
    column: int | None = Field(None, ge=1, description="Cursor column, 1-based, UTF-16.")


def place(command: str, args: dict[str, Any], cursor: Cursor) -> dict[str, Any]:
    """`args` with the speaker's place added where `command` needs it (what was said
    wins). A command that needs a place the request did not send is refused, saying
    what to send."""
    if command in AT_CURSOR:
        if cursor.path is None or cursor.line is None or cursor.column is None:
            raise InvalidInput(
                f"{command} acts at the cursor: send the current file (context), line and column"
            )
        here = {"path": cursor.path, "line": cursor.line - 1, "character": cursor.column - 1}
        return {**here, **args}
    if command in ON_FILE or command in ON_CODE:
        if cursor.path is None:
            raise InvalidInput(f"{command} acts on the current file: send its path (context)")
        here = {"path": cursor.path}
        if command in ON_CODE and cursor.line is not None:
            here["line"] = cursor.line
        return {**here, **args}
    if command == "debug.toggleBreakpoint" and cursor.path is not None:
        return {"path": cursor.path, **args}  # without one: where the program is paused
    if command == "ai.generate" and cursor.path is not None:
        line = {} if cursor.line is None else {"line": cursor.line}
        return {"path": cursor.path, **line, **args}
    if command == "ai.chat" and cursor.path is not None:
        return {"context": {"path": cursor.path, "line": cursor.line}, **args}
    return args
