"""What the AI announces on the bus, for features that react to the chat and to
proposals (extensions' webhooks): the questions and finished answers of the shared chat
(`workspace.<id>.chat`) and proposals made and resolved (`workspace.<id>.proposals`).

The chat and proposals reach people through `broadcast` (the hub's room); `announcing`
wraps it so that the same moments also go on the bus, from the one node where they
happen. Streaming deltas stay off the bus.
"""

from __future__ import annotations

import logging
from typing import Any

from server.ai.chat import Broadcast
from server.bus import Bus, Event

log = logging.getLogger("nexus.ai")


class ChatPosted(Event):
    """`kind` "message": a question posted (`data`: id, thread, role, username, text);
    "answer": an answer finished (`data`: id, thread, text, model, usage, error, …)."""

    workspace_id: str
    kind: str
    data: dict[str, Any]


class ProposalChanged(Event):
    """A proposed edit was made (`status` pending) or resolved (accepted, rejected,
    undone)."""

    workspace_id: str
    status: str
    data: dict[str, Any]


def _event(workspace_id: str, name: str, payload: dict[str, Any]) -> tuple[str, Event] | None:
    if name == "chat:message":
        return "chat", ChatPosted(workspace_id=workspace_id, kind="message", data=payload)
    if name == "chat:done":
        return "chat", ChatPosted(workspace_id=workspace_id, kind="answer", data=payload)
    if name == "ai:proposal":
        status = str(payload.get("status", "pending"))
        return "proposals", ProposalChanged(workspace_id=workspace_id, status=status, data=payload)
    if name == "ai:proposalResolved":
        status = str(payload.get("status", ""))
        return "proposals", ProposalChanged(workspace_id=workspace_id, status=status, data=payload)
    return None


def announcing(broadcast: Broadcast, bus: Bus) -> Broadcast:
    """`broadcast`, also publishing chat messages, answers and proposals on the bus."""

    async def send(workspace_id: str, name: str, payload: dict[str, Any]) -> None:
        await broadcast(workspace_id, name, payload)
        found = _event(workspace_id, name, payload)
        if found is None:
            return
        kind, event = found
        try:
            await bus.publish(f"workspace.{workspace_id}.{kind}", event)
        except Exception:  # people saw it; listeners elsewhere miss one event
            log.exception("announcing %s on the bus failed", name)

    return send
