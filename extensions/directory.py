"""This node's copy of every registered extension, and what each may reach.

Routing an event or a command must not cost a database query per extension, so the
extensions live in memory (loaded at start, kept current through `extensions.changed`
on the bus), and so do their owners' roles (cached briefly, dropped at once when a
membership changes).

An extension reaches a workspace it covers while its owner is a member there (an admin
owner: every workspace); there it acts with its own `role`, capped at its owner's.
"""

from __future__ import annotations

import time
from collections import defaultdict

from extensions.store import Extension, ExtensionStore
from server.auth import MembershipChanged, Principal
from server.bus import Envelope
from server.errors import NotFound
from server.models import Role, User
from server.storage import UserStore, WorkspaceStore

ROLE_TTL_SECONDS = 30.0


class Directory:
    def __init__(self, store: ExtensionStore, workspaces: WorkspaceStore, users: UserStore) -> None:
        self.store = store
        self.workspaces = workspaces
        self.users = users
        self._extensions: dict[str, Extension] = {}
        self._by_event: dict[str, set[str]] = defaultdict(set)
        self._roles: dict[tuple[int, str], tuple[Role | None, float]] = {}
        self._owners: dict[int, tuple[User, float]] = {}

    async def load(self) -> None:
        for extension in await self.store.all():
            self.put(extension)

    def all(self) -> list[Extension]:
        return list(self._extensions.values())

    def get(self, extension_id: str) -> Extension | None:
        return self._extensions.get(extension_id)

    def put(self, extension: Extension) -> None:
        self.drop(extension.id)
        self._extensions[extension.id] = extension
        for name in extension.events:
            self._by_event[name].add(extension.id)

    def drop(self, extension_id: str) -> None:
        old = self._extensions.pop(extension_id, None)
        if old is not None:
            for name in old.events:
                self._by_event[name].discard(extension_id)

    async def refresh(self, extension_id: str) -> Extension | None:
        """Read one extension again (after a change here or on another node)."""
        try:
            extension = await self.store.get(extension_id)
        except NotFound:
            self.drop(extension_id)
            return None
        self.put(extension)
        return extension

    def subscribed(self, name: str) -> list[Extension]:
        """Enabled extensions subscribed to an event name (no I/O)."""
        ids = self._by_event.get(name)
        if not ids:
            return []
        return [e for i in ids if (e := self._extensions.get(i)) is not None and e.enabled]

    async def role_in(self, extension: Extension, workspace_id: str) -> Role | None:
        """The role the extension acts with in a workspace, or None where it reaches not."""
        if not extension.covers(workspace_id):
            return None
        owner = await self._owner(extension.owner_id)
        if owner is not None and owner.is_admin:
            owner_role: Role | None = Role.owner
        else:
            owner_role = await self._role(extension.owner_id, workspace_id)
        if owner_role is None:
            return None
        return extension.role if extension.role.rank < owner_role.rank else owner_role

    async def principal(self, extension: Extension, workspace_id: str) -> Principal:
        """Its owner, scoped to the workspace and capped at the extension's role, as
        access control sees it (so it can never do more than its owner gave it)."""
        owner = await self.users.get(extension.owner_id)
        return Principal(owner, None, workspace=workspace_id, role=extension.role)

    async def _owner(self, user_id: int) -> User | None:
        cached = self._owners.get(user_id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        try:
            user = await self.users.get(user_id)
        except NotFound:
            return None
        self._owners[user_id] = (user, time.monotonic() + ROLE_TTL_SECONDS)
        return user

    async def _role(self, user_id: int, workspace_id: str) -> Role | None:
        key = (user_id, workspace_id)
        cached = self._roles.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        role = await self.workspaces.role_of(workspace_id, user_id)
        self._roles[key] = (role, time.monotonic() + ROLE_TTL_SECONDS)
        return role

    async def membership_changed(self, envelope: Envelope) -> None:
        change = envelope.event
        if isinstance(change, MembershipChanged):
            self._roles.pop((change.user_id, change.workspace_id), None)
