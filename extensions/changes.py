"""Keeping every node's view of the extensions current.

The node where an extension is created, changed, disabled or deleted updates its own
directory and registry at once (the REST answer means the commands are there), then
says so on the bus (`extensions.changed`); the other nodes read the extension again.
"""

from __future__ import annotations

import logging

from extensions.contributed import ContributedCommands
from extensions.directory import Directory
from extensions.store import Extension
from server.bus import Bus, Envelope, Event

log = logging.getLogger("nexus.extensions")

TOPIC = "extensions.changed"


class ExtensionsChanged(Event):
    extension_id: str


class Changes:
    def __init__(
        self, directory: Directory, commands: ContributedCommands, bus: Bus, node_id: str
    ) -> None:
        self.directory = directory
        self.commands = commands
        self.bus = bus
        self.node_id = node_id

    def load_all(self) -> None:
        """At start: every extension's commands into the registry."""
        for extension in self.directory.all():
            self.commands.sync(extension.id, extension)

    async def changed(self, extension_id: str) -> Extension | None:
        """After a change made here: apply it, and tell the other nodes."""
        extension = await self.directory.refresh(extension_id)
        self.commands.sync(extension_id, extension)
        await self.bus.publish(TOPIC, ExtensionsChanged(extension_id=extension_id))
        return extension

    async def disable(self, extension: Extension, reason: str) -> None:
        await self.directory.store.update(
            extension.id, {"enabled": False, "disabled_reason": reason}
        )
        log.warning("extension %s (%s) disabled: %s", extension.name, extension.id, reason)
        await self.changed(extension.id)

    async def on_bus(self, envelope: Envelope) -> None:
        """A change made on another node."""
        event = envelope.event
        if envelope.origin == self.node_id or not isinstance(event, ExtensionsChanged):
            return
        extension = await self.directory.refresh(event.extension_id)
        self.commands.sync(event.extension_id, extension)
