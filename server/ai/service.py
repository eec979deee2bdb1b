"""The model gateway as one service opened with the server: providers, router, ledger,
learning, chat, completion and proposals. It starts without any provider configured;
then chat explains how to configure one and everything else works."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from server.ai.accounting import Ledger
from server.ai.chat import Broadcast, ChatService, Retriever
from server.ai.completion import Completions
from server.ai.gateway import Gateway
from server.ai.learning import Learning
from server.ai.preferences import Preferences
from server.ai.proposals import Proposals
from server.ai.providers import build_providers
from server.ai.router import Router
from server.ai.threads import ThreadStore
from server.config import Settings

if TYPE_CHECKING:
    from server.auth import AccessControl
    from server.collab import Rooms
    from server.core import ConsciousnessCore
    from server.files import WorkspaceFiles
    from server.storage import AuditLog

log = logging.getLogger("nexus.ai")


class AiService:
    """Owns the AI's parts. What it uses of the rest of the server comes in here: the
    live documents (proposals edit them), the files (editor context), the dispatcher and
    access control (tools run as commands with the asker's role), the audit log, and
    `broadcast(workspace_id, event, payload)` to the workspace's room on every node."""

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        *,
        rooms: Rooms,
        files: WorkspaceFiles,
        core: ConsciousnessCore,
        access: AccessControl,
        audit: AuditLog,
        broadcast: Broadcast,
        retrieve: Retriever | None = None,
    ) -> None:
        self.settings = settings
        self.providers = build_providers(settings)
        self.router = Router(settings, self.providers)
        self.ledger = Ledger(engine, settings)
        self.gateway = Gateway(self.router, self.ledger, self.providers)
        self.learning = Learning(engine, self.router)
        self.preferences = Preferences(engine, settings.ai_redact_secrets)
        self.threads = ThreadStore(engine)
        self.proposals = Proposals(engine, rooms, broadcast)
        self.chat = ChatService(
            self.gateway,
            self.router,
            self.threads,
            self.proposals,
            self.learning,
            self.preferences,
            broadcast,
            files=files,
            core=core,
            access=access,
            audit=audit,
            settings=settings,
            retrieve=retrieve,
        )
        self.completions = Completions(self.gateway, self.router, self.learning, settings)

    async def start(self) -> None:
        await self.learning.load()
        if self.router.configured:
            tiers = ", ".join(f"{t.value}={r.label}" for t, r in self.router.tiers.items())
            log.info("AI models: %s", tiers)
        else:
            log.info("no AI provider configured; chat will say how to set one up")
        for problem in self.router.problems:
            log.warning("AI: %s", problem)

    async def close(self) -> None:
        await self.chat.close()
        await self.ledger.close()
        await self.learning.close()
        for provider in self.providers.values():
            await provider.close()

    def status(self) -> dict[str, Any]:
        return {
            "configured": self.router.configured,
            "tiers": {t.value: r.label for t, r in self.router.tiers.items()},
            "breakers": self.router.breaker_state(),
            "problems": self.router.problems,
        }
