"""The extensions feature: outside services registered over REST receive signed webhooks
for the events they subscribe to, contribute commands to the registry, and post into
workspace chats (see `rest` for the routes, `dispatcher` for delivery)."""

from __future__ import annotations

from datetime import timedelta

from extensions import rest
from extensions.changes import TOPIC, Changes
from extensions.contributed import ContributedCommands
from extensions.courier import Courier
from extensions.directory import Directory
from extensions.dispatcher import Dispatcher
from extensions.http import HttpClient
from extensions.inbound import OutsideChat
from extensions.outbox import Outbox
from extensions.replay import create_seen_ids
from extensions.sender import Sender
from extensions.service import ExtensionService
from extensions.signing import TOLERANCE_SECONDS
from extensions.store import ExtensionStore
from extensions.targets import TargetPolicy
from server.ai import AiService
from server.bus import OverflowPolicy
from server.core import Feature
from server.platform import NexusApp

LEASE_MARGIN_SECONDS = 30.0

# Features that register commands come first, so that a clash of a contributed command
# with a built-in id is seen (and the contributed one skipped) here. The editor feature
# comes after every feature (it takes the `editor.*` ids nobody else registered);
# contributed ids stay out of built-in namespaces (`ContributedCommands.check_free`).
COMMAND_FEATURES = (
    "ai",
    "collab",
    "debug",
    "files",
    "git",
    "index",
    "lsp",
    "plugins",
    "search",
    "terminals",
    "voice",
    "workspaces",
)


async def setup(app: NexusApp) -> None:
    settings = app.settings
    policy = TargetPolicy.from_settings(settings.webhook_allowed_hosts)
    client = HttpClient(policy, timeout=settings.webhook_timeout_seconds)
    app.on_close(client.close)
    directory = Directory(ExtensionStore(app.engine), app.workspaces, app.users)
    await directory.load()
    sender = Sender(client, settings.webhook_timeout_seconds)
    commands = ContributedCommands(app.registry, directory, sender)
    changes = Changes(directory, commands, app.bus, app.node_id)
    changes.load_all()
    app.provide(await _webhooks(app, directory, changes))
    app.subscribe(TOPIC, changes.on_bus, name="extensions.changes")
    app.subscribe("workspace.*.members", directory.membership_changed, name="extensions.roles")
    seen = create_seen_ids(settings.redis_url, 2 * TOLERANCE_SECONDS)
    app.on_close(seen.close)
    app.provide(OutsideChat(directory, app.access, app.get(AiService), seen))
    app.provide(
        ExtensionService(
            directory,
            commands,
            changes,
            policy,
            app.access,
            app.audit,
            secret_grace=timedelta(hours=settings.webhook_secret_grace_hours),
        )
    )


async def _webhooks(app: NexusApp, directory: Directory, changes: Changes) -> Dispatcher:
    """Delivery: the outbox, the courier process and the dispatcher, fed by the bus."""
    settings = app.settings
    outbox = Outbox(
        app.engine, app.node_id, settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
    )
    courier = Courier(
        app.supervisor,
        allowed_hosts=settings.webhook_allowed_hosts,
        timeout=settings.webhook_timeout_seconds,
        concurrency=settings.webhook_concurrency,
    )
    dispatcher = Dispatcher(
        outbox,
        courier,
        directory,
        changes,
        node_id=app.node_id,
        scale=settings.webhook_retry_scale,
        concurrency=settings.webhook_concurrency,
        log_days=settings.webhook_log_days,
    )
    await dispatcher.start()
    app.on_close(dispatcher.close)
    subscription = app.bus.subscribe(
        "workspace.#",
        dispatcher.on_event,
        name="extensions.webhooks",
        queue_size=settings.webhook_queue_size,
        policy=OverflowPolicy.drop_oldest,
    )

    async def unsubscribe() -> None:
        subscription.close()

    app.on_close(unsubscribe)
    return dispatcher


feature = Feature("extensions", setup, router=rest.router, after=COMMAND_FEATURES)
