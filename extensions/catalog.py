"""The events an extension may subscribe to: stable names, what each means, and which bus
event each comes from. The names are part of the public API (they are the `type` of a
webhook body); the bus events behind them may change without changing these.

Every event's `data` holds `workspace` (its id) and the fields listed in the README.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.bus import Event

EVENTS: dict[str, str] = {
    "file.saved": "A workspace file was written: by a shared document's write-back "
    "(source `editor`) or over REST or a command (source `api`).",
    "document.changed": "A shared document was edited (at most one event per document "
    "per second while people type).",
    "git.committed": "A commit was made in the workspace's repository.",
    "git.branch_switched": "Another branch was checked out.",
    "chat.message": "A question was posted in the workspace chat.",
    "chat.answer": "The assistant finished an answer in the workspace chat.",
    "ai.proposal_made": "The assistant proposed an edit for review.",
    "ai.proposal_accepted": "A proposed edit was accepted and applied.",
    "ai.proposal_rejected": "A proposed edit was rejected.",
    "command.executed": "A command ran (palette, voice, AI, REST or an extension), with "
    "its outcome.",
    "debug.state": "A debug session started, paused, resumed or ended.",
    "presence.changed": "Who has the workspace open changed.",
    "terminal.opened": "A terminal was opened in the workspace.",
}


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One bus event as extensions see it."""

    name: str
    workspace_id: str
    data: dict[str, Any]


def _nested(fields: dict[str, Any]) -> dict[str, Any]:
    """Events that carry their payload in `data` (chat, proposals) show it flat."""
    inner = dict(fields.pop("data", {}) or {})
    inner.pop("workspace", None)
    return {**fields, **inner}


def _git(fields: dict[str, Any]) -> str | None:
    return {"commit": "git.committed", "checkout": "git.branch_switched"}.get(fields["action"])


def _chat(fields: dict[str, Any]) -> str | None:
    return {"message": "chat.message", "answer": "chat.answer"}.get(fields.pop("kind"))


def _proposal(fields: dict[str, Any]) -> str | None:
    names = {
        "pending": "ai.proposal_made",
        "accepted": "ai.proposal_accepted",
        "rejected": "ai.proposal_rejected",
    }
    return names.get(fields["status"])


Namer = Callable[[dict[str, Any]], str | None]

# Bus event class name → its event name (or a function choosing one, or None to skip).
_SOURCES: dict[str, Namer] = {
    "FileSaved": lambda _f: "file.saved",
    "DocumentEdited": lambda _f: "document.changed",
    "GitChanged": _git,
    "ChatPosted": _chat,
    "ProposalChanged": _proposal,
    "CommandExecuted": lambda _f: "command.executed",
    "DebugChanged": lambda _f: "debug.state",
    "PresenceChanged": lambda _f: "presence.changed",
    "TerminalOpened": lambda _f: "terminal.opened",
}
_FLATTENED = {"ChatPosted", "ProposalChanged"}


def translate(event: Event) -> Occurrence | None:
    """The extension event a bus event is, or None when extensions do not see it."""
    namer = _SOURCES.get(event.type_name)
    if namer is None:
        return None
    fields = event.model_dump(mode="json")
    workspace_id = fields.pop("workspace_id", None)
    if not isinstance(workspace_id, str):
        return None
    name = namer(fields)
    if name is None:
        return None
    if event.type_name in _FLATTENED:
        fields = _nested(fields)
    return Occurrence(name, workspace_id, {"workspace": workspace_id, **fields})


def unknown_events(names: list[str]) -> list[str]:
    return [name for name in names if name not in EVENTS]
