"""The platform every feature plugs into, and the one surface a feature registers on.

The platform is what all capabilities share and none owns: settings, storage, the bus,
presence, authentication and access control, the process supervisor, the workspace
watchers, the command registry with its dispatcher, and the hub. `open_platform` opens
it, runs each feature's `setup` in order, and closes everything in reverse at shutdown.
It imports no feature.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from server.auth import AccessControl, ApiKeyLimiter, Authenticator, LoginLimiter, OriginPolicy
from server.bus import Bus, Envelope, create_bus, default_node_id
from server.config import Settings
from server.core import CommandRegistry, Commands, ConsciousnessCore, Feature
from server.folders.watcher import WorkspaceWatchers
from server.hub.presence import MemoryPresence, create_presence
from server.models import User
from server.storage import AuditLog, TokenStore, UserStore, WorkspaceStore, create_engine, migrate
from server.supervisor import Sandbox, Supervisor

if TYPE_CHECKING:
    from server.hub import Hub

log = logging.getLogger("nexus")

T = TypeVar("T")


@dataclass
class Stores:
    """The platform's tables."""

    users: UserStore
    tokens: TokenStore
    workspaces: WorkspaceStore
    audit: AuditLog


class NexusApp:
    """What a feature's setup gets. Shared parts are attributes; a feature hands them (and
    what other features `provide`) to its own objects' constructors, and registers its
    commands, socket events, bus forwarders and shutdown on this object — the same calls
    a plugin makes."""

    def __init__(
        self,
        settings: Settings,
        *,
        node_id: str,
        engine: AsyncEngine,
        stores: Stores,
        admin: User,
        bus: Bus,
        presence: MemoryPresence,
        supervisor: Supervisor,
        watchers: WorkspaceWatchers,
        hub: Hub,
        stack: contextlib.AsyncExitStack,
    ) -> None:
        self.settings = settings
        self.node_id = node_id
        self.engine = engine
        self.users = stores.users
        self.tokens = stores.tokens
        self.workspaces = stores.workspaces
        self.audit = stores.audit
        self.admin = admin
        self.bus = bus
        self.presence = presence
        self.supervisor = supervisor
        self.watchers = watchers
        self.hub = hub
        self.access = AccessControl(stores.workspaces)
        self.authenticator = Authenticator(
            stores.tokens,
            admin,
            settings.admin_token,
            ApiKeyLimiter(settings.api_key_requests_per_minute, settings.redis_url),
        )
        self.origins = OriginPolicy(settings.allowed_origins, settings.public_url)
        self.login_limiter = LoginLimiter(settings.login_attempts_per_minute, settings.redis_url)
        self.registry = CommandRegistry()
        self.core = ConsciousnessCore(self.registry, self.access, self.audit, bus)
        self._stack = stack
        self._provided: dict[type, object] = {}
        self._warming: dict[str, Callable[[], bool]] = {}

    # -- what features share ---------------------------------------------------------

    def provide(self, part: T, kind: type[T] | None = None) -> T:
        """Offer one of this feature's objects to the features set up after it."""
        key = kind or type(part)
        if key in self._provided:
            raise ValueError(f"{key.__name__} is already provided")
        self._provided[key] = part
        return part

    def need(self, kind: type[T]) -> T:
        """An object another feature provided (name that feature in your `after`)."""
        try:
            return self._provided[kind]  # type: ignore[return-value]
        except KeyError:
            raise LookupError(
                f"no feature provides {kind.__name__}: is it installed, and named in `after`?"
            ) from None

    def get(self, kind: type[T]) -> T | None:
        """Like `need`, for an optional collaborator."""
        return self._provided.get(kind)  # type: ignore[return-value]

    # -- registration ----------------------------------------------------------------

    def add_commands(self, commands: Commands, feature: object) -> None:
        """Register a feature's commands; each handler gets `feature` as `ctx.feature`."""
        for spec in commands:
            self.registry.add(
                spec.id, spec.handler, title=spec.title, role=spec.role, feature=feature
            )

    def subscribe(
        self, pattern: str, handler: Callable[[Envelope], Awaitable[None]], *, name: str
    ) -> None:
        """A bus subscription for as long as the server runs (forwarders to sockets,
        reactions to other features' events)."""
        subscription = self.bus.subscribe(pattern, handler, name=name)
        self._stack.callback(subscription.close)

    def handle(
        self, topic: str, responder: Callable[[Envelope], Awaitable[Any]], *, name: str
    ) -> None:
        """Answer bus requests on `topic` for as long as the server runs."""
        subscription = self.bus.handle(topic, responder, name=name)
        self._stack.callback(subscription.close)

    def on_close(self, callback: Callable[[], Awaitable[Any]]) -> None:
        """Run at shutdown, before whatever was set up earlier closes."""
        self._stack.push_async_callback(callback)

    def warming(self, name: str, busy: Callable[[], bool]) -> None:
        """Name a background warm-up; `/readyz` answers 503 while `busy()` is true."""
        self._warming[name] = busy

    def warming_now(self) -> list[str]:
        return [name for name, busy in self._warming.items() if busy()]


@contextlib.asynccontextmanager
async def open_platform(
    settings: Settings, hub: Hub, features: Sequence[Feature]
) -> AsyncIterator[NexusApp]:
    """Open storage (migrated), the bus, presence and the supervisor, set up every
    feature in order; close all of it in reverse."""
    node_id = settings.node_id or default_node_id()
    settings.workspace_root.mkdir(parents=True, exist_ok=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        await migrate(engine)
        stores = Stores(
            UserStore(engine), TokenStore(engine), WorkspaceStore(engine), AuditLog(engine)
        )
        admin = await stores.users.ensure_admin()
        bus = create_bus(settings.redis_url, queue_size=settings.bus_queue_size, node_id=node_id)
        await bus.start()
        stack.push_async_callback(bus.close)
        presence = create_presence(settings.redis_url, node_id)
        await presence.start()
        stack.push_async_callback(presence.close)
        watchers = WorkspaceWatchers(bus)
        stack.push_async_callback(watchers.close)
        supervisor = Supervisor(
            Sandbox(
                settings.sandbox, settings.data_dir / "homes", tuple(settings.sandbox_tool_paths)
            ),
            max_processes=settings.sandbox_max_processes,
            memory_mb=settings.sandbox_memory_mb,
            network=settings.sandbox_network,
        )
        stack.push_async_callback(supervisor.shutdown)  # last: whatever an owner left
        app = NexusApp(
            settings,
            node_id=node_id,
            engine=engine,
            stores=stores,
            admin=admin,
            bus=bus,
            presence=presence,
            supervisor=supervisor,
            watchers=watchers,
            hub=hub,
            stack=stack,
        )
        for feature in features:
            log.debug("setting up feature %s", feature.name)
            await feature.setup(app)
        yield app
