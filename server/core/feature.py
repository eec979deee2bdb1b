"""A feature: one capability package, declared in one place.

Each capability package (terminals, git, the language servers, voice, …) exposes one
`Feature` and names it in `pyproject.toml` under the `nexus.features` entry-point group:

    feature = Feature(
        "terminals",
        setup=setup,            # async (app: NexusApp) -> None: objects, commands, events
        router=rest.router,     # its REST routes (FastAPI), or None
        after=("collab",),      # features whose objects `setup` asks for with `app.need`
    )

The server, the hub and the plugin host import no feature: they load these declarations,
order them by `after`, include their routers and websockets, and call each `setup` with
the same registration surface (`server.platform.NexusApp`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from server.core.commands import CommandHandler
from server.models import Role

if TYPE_CHECKING:
    from fastapi import APIRouter
    from starlette.routing import BaseRoute

    from server.platform import NexusApp

ENTRY_POINT_GROUP = "nexus.features"

Setup = Callable[["NexusApp"], Awaitable[None]]


@dataclass(frozen=True)
class Feature:
    """What one capability adds to the server."""

    name: str
    setup: Setup
    router: APIRouter | None = None
    websockets: Sequence[BaseRoute] = ()
    after: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CommandSpec:
    id: str
    handler: CommandHandler
    title: str
    role: Role


@dataclass
class Commands:
    """A feature's commands, declared with a decorator where they are written and bound
    to the feature's own object (`ctx.feature`) when its setup adds them to the registry:

        commands = Commands()

        @commands.command("terminal.new", title="New terminal")
        async def new_terminal(ctx: CommandContext[Terminals], args: NewArgs) -> Info: ...
    """

    specs: list[CommandSpec] = field(default_factory=list)

    def command(
        self, command_id: str, *, title: str, role: Role = Role.editor
    ) -> Callable[[CommandHandler], CommandHandler]:
        def register(handler: CommandHandler) -> CommandHandler:
            self.specs.append(CommandSpec(command_id, handler, title, role))
            return handler

        return register

    def __iter__(self) -> Any:
        return iter(self.specs)


def load_features(names: Iterable[str] | None = None) -> list[Feature]:
    """The installed features (entry points), in an order where each comes after the
    features it names in `after`. `names` keeps only those (and fails on unknown ones)."""
    found: dict[str, Feature] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        feature = point.load()
        if not isinstance(feature, Feature):
            raise TypeError(f"entry point {point.value} is not a Feature")
        found[feature.name] = feature
    if names is not None:
        wanted = list(names)
        unknown = [name for name in wanted if name not in found]
        if unknown:
            raise ValueError(f"unknown features: {', '.join(unknown)}")
        found = {name: found[name] for name in wanted}
    return order_features(found.values())


def order_features(features: Iterable[Feature]) -> list[Feature]:
    """Topological order by `after` (ties by name, so the order is stable)."""
    pending = {feature.name: feature for feature in features}
    ordered: list[Feature] = []
    placed: set[str] = set()
    while pending:
        ready = sorted(
            name
            for name, feature in pending.items()
            if all(dep in placed or dep not in pending for dep in feature.after)
        )
        if not ready:
            raise ValueError(f"features depend on each other in a cycle: {sorted(pending)}")
        for name in ready:
            ordered.append(pending.pop(name))
            placed.add(name)
    return ordered
