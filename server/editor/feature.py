"""The editor feature: `editor.*` commands sent to the caller's editor sessions.

It registers only the ids no other feature registered, so it is set up after every
other installed feature: `after` names them all, read from the same entry-point group
the server loads features from (a new feature needs no change here)."""

from __future__ import annotations

from importlib.metadata import entry_points

from server.collab import Rooms
from server.core import Feature
from server.core.feature import ENTRY_POINT_GROUP
from server.editor.commands import Editors, unclaimed
from server.platform import NexusApp

NAME = "editor"


async def setup(app: NexusApp) -> None:
    app.add_commands(unclaimed(app.registry), Editors(app.hub, app.need(Rooms)))


def every_other_feature() -> tuple[str, ...]:
    """The names of all installed features but this one (collab, which provides `Rooms`,
    among them)."""
    names = {point.name for point in entry_points(group=ENTRY_POINT_GROUP)} | {"collab"}
    return tuple(sorted(names - {NAME}))


feature = Feature(NAME, setup, after=every_other_feature())
