"""Everything the server holds for its lifetime, opened and closed in one place."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from lsp.bridge import BridgeSettings
from lsp.commands import register_lsp_commands
from lsp.manager import LanguageServers
from server.ai import AiService
from server.ai.commands import register_ai_commands
from server.auth import AccessControl, Authenticator, OriginPolicy, SlidingWindowLimiter
from server.bus import Bus, create_bus
from server.bus._bus import default_node_id
from server.collab.owners import create_file_owners
from server.collab.rooms import Rooms
from server.collab.store import DocumentStore
from server.config import Settings
from server.core import CommandRegistry, ConsciousnessCore
from server.debug import BreakpointStore, DebugSessions, register_debug_commands
from server.hub.presence import MemoryPresence, create_presence
from server.models import User
from server.storage import AuditLog, TokenStore, UserStore, WorkspaceStore, create_engine, migrate
from server.supervisor import Sandbox, Supervisor
from server.terminals import TerminalManager, register_terminal_commands
from server.workspaces import WorkspaceService, register_workspace_commands
from server.workspaces.file_commands import register_file_commands
from server.workspaces.files import WorkspaceFiles
from server.workspaces.git_commands import register_git_commands
from server.workspaces.search import register_search_commands
from server.workspaces.watcher import WorkspaceWatchers
from voice.editor_commands import register_editor_commands
from voice.service import VoiceService


@dataclass
class Services:
    settings: Settings
    node_id: str
    engine: AsyncEngine
    users: UserStore
    tokens: TokenStore
    workspaces: WorkspaceStore
    audit: AuditLog
    bus: Bus
    presence: MemoryPresence
    authenticator: Authenticator
    access: AccessControl
    origins: OriginPolicy
    login_limiter: SlidingWindowLimiter
    workspace_service: WorkspaceService
    registry: CommandRegistry
    rooms: Rooms
    supervisor: Supervisor
    terminals: TerminalManager
    debug: DebugSessions
    watchers: WorkspaceWatchers
    files: WorkspaceFiles
    admin: User
    ai: AiService
    lsp: LanguageServers
    voice: VoiceService

    @functools.cached_property
    def core(self) -> ConsciousnessCore:
        return ConsciousnessCore(self, self.registry)


@contextlib.asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Open storage (migrated), the bus and presence; close them in reverse order."""
    node_id = settings.node_id or default_node_id()
    settings.workspace_root.mkdir(parents=True, exist_ok=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        await migrate(engine)
        users, tokens, workspaces = UserStore(engine), TokenStore(engine), WorkspaceStore(engine)
        audit = AuditLog(engine)
        admin = await users.ensure_admin()
        bus = create_bus(settings.redis_url, queue_size=settings.bus_queue_size, node_id=node_id)
        await bus.start()
        stack.push_async_callback(bus.close)
        presence = create_presence(settings.redis_url, node_id)
        await presence.start()
        stack.push_async_callback(presence.close)
        watchers = WorkspaceWatchers(bus)
        stack.push_async_callback(watchers.close)
        rooms = Rooms(
            DocumentStore(engine),
            bus,
            watchers,
            node_id=node_id,
            max_rooms=settings.collab_max_documents,
            grace_seconds=settings.collab_grace_seconds,
            max_file_bytes=settings.collab_max_file_bytes,
            owners=create_file_owners(settings.redis_url, node_id),
        )
        await rooms.start()
        stack.push_async_callback(rooms.close)
        sandbox = Sandbox(
            settings.sandbox, settings.data_dir / "homes", tuple(settings.sandbox_tool_paths)
        )
        supervisor = Supervisor(
            sandbox,
            max_processes=settings.sandbox_max_processes,
            memory_mb=settings.sandbox_memory_mb,
            network=settings.sandbox_network,
        )
        stack.push_async_callback(supervisor.shutdown)  # last: whatever an owner left
        registry = CommandRegistry()
        register_workspace_commands(registry)
        register_terminal_commands(registry)
        terminals = TerminalManager(settings, supervisor)
        await terminals.start()
        stack.push_async_callback(terminals.close)  # closed first: no process outlives us
        debug = DebugSessions(
            bus,
            BreakpointStore(engine),
            supervisor,
            max_sessions=settings.debug_max_sessions,
            idle_seconds=settings.debug_idle_seconds,
        )
        await debug.start()
        stack.push_async_callback(debug.close)
        register_debug_commands(registry)
        register_file_commands(registry)
        register_search_commands(registry)
        register_git_commands(registry)
        register_ai_commands(registry)
        ai = AiService(settings, engine)
        await ai.start()
        stack.push_async_callback(ai.close)
        lsp = LanguageServers(
            rooms,
            BridgeSettings(
                request_timeout=settings.lsp_request_timeout_seconds,
                start_timeout=settings.lsp_start_timeout_seconds,
                sync_wait=settings.lsp_sync_wait_seconds,
                memory_mb=settings.lsp_memory_mb,
            ),
            supervisor=supervisor,
            idle_seconds=settings.lsp_idle_seconds,
        )
        await lsp.start()
        stack.push_async_callback(lsp.close)  # before rooms close: it holds documents
        register_lsp_commands(registry)
        voice = VoiceService(settings)
        voice.start(bus)  # loads and warms the speech model in the background
        stack.push_async_callback(voice.close)
        register_editor_commands(registry, voice)  # last: only ids nobody else registered
        yield Services(
            settings=settings,
            node_id=node_id,
            engine=engine,
            users=users,
            tokens=tokens,
            workspaces=workspaces,
            audit=audit,
            bus=bus,
            presence=presence,
            authenticator=Authenticator(tokens, admin, settings.admin_token),
            access=AccessControl(workspaces),
            origins=OriginPolicy(settings.allowed_origins, settings.public_url),
            login_limiter=SlidingWindowLimiter(settings.login_attempts_per_minute),
            workspace_service=WorkspaceService(
                settings.workspace_root.resolve(), workspaces, users, audit, bus
            ),
            registry=registry,
            rooms=rooms,
            supervisor=supervisor,
            terminals=terminals,
            debug=debug,
            watchers=watchers,
            files=WorkspaceFiles(rooms, watchers, settings.files_max_upload_bytes),
            admin=admin,
            ai=ai,
            lsp=lsp,
            voice=voice,
        )
