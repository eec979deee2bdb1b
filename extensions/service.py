"""Registering, changing and removing extensions, with who may do what.

Who may: an extension for one workspace is registered by an owner of that workspace;
one for every workspace by an admin. Only its owner (or an admin) sees, changes or
deletes it. Its `role` is the most it acts with, and never more than its owner's role
where it acts (a scoped key registering one cannot give it more than the key has).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from extensions.changes import Changes
from extensions.contributed import ContributedCommands
from extensions.directory import Directory
from extensions.models import ExtensionCreate, ExtensionCreated, ExtensionInfo, ExtensionUpdate
from extensions.signing import new_secret
from extensions.store import Extension
from extensions.targets import TargetPolicy
from server.auth import AccessControl, Principal
from server.errors import Forbidden, NotFound
from server.models import Role
from server.storage import AuditLog
from server.storage.database import utcnow


class ExtensionService:
    def __init__(
        self,
        directory: Directory,
        commands: ContributedCommands,
        changes: Changes,
        policy: TargetPolicy,
        access: AccessControl,
        audit: AuditLog,
        *,
        secret_grace: timedelta,
    ) -> None:
        self.directory = directory
        self.store = directory.store
        self.commands = commands
        self.changes = changes
        self.policy = policy
        self.access = access
        self.audit = audit
        self.secret_grace = secret_grace

    async def create(
        self, principal: Principal, body: ExtensionCreate, request_id: str | None
    ) -> ExtensionCreated:
        await self._check_reach(principal, body.workspace, body.role)
        await self.policy.check_url(body.webhook_url)
        self.commands.check_free(None, body.commands)
        secret = new_secret()
        extension = await self.store.create(
            {
                "owner_id": principal.user.id,
                "workspace_id": body.workspace,
                "name": body.name,
                "webhook_url": body.webhook_url,
                "events": body.events,
                "commands": [c.model_dump(mode="json") for c in body.commands],
                "role": body.role.value,
                "secret": secret,
                "enabled": True,
            }
        )
        await self.changes.changed(extension.id)
        await self._audit("extension.create", principal, extension, request_id)
        return ExtensionCreated(id=extension.id, secret=secret)

    async def listed(self, principal: Principal) -> list[ExtensionInfo]:
        owner = None if principal.is_admin else principal.user.id
        found = await self.store.all(owner)
        if principal.workspace is not None:
            found = [e for e in found if e.workspace_id == principal.workspace]
        return [extension.info() for extension in found]

    async def get(self, principal: Principal, extension_id: str) -> Extension:
        """An extension the caller may manage; `NotFound` for any other (as if absent)."""
        extension = await self.store.get(extension_id)
        mine = extension.owner_id == principal.user.id or principal.is_admin
        if principal.workspace is not None and extension.workspace_id != principal.workspace:
            mine = False
        if not mine:
            raise NotFound(f"no extension with id {extension_id!r}")
        return extension

    async def update(
        self, principal: Principal, extension_id: str, body: ExtensionUpdate, request_id: str | None
    ) -> ExtensionInfo:
        extension = await self.get(principal, extension_id)
        values: dict[str, Any] = body.model_dump(
            exclude_unset=True, exclude={"rotate_secret", "commands", "role"}
        )
        if body.role is not None:
            await self._check_reach(principal, extension.workspace_id, body.role)
            values["role"] = body.role.value
        if body.webhook_url is not None:
            await self.policy.check_url(body.webhook_url)
        if body.commands is not None:
            self.commands.check_free(extension.id, body.commands)
            values["commands"] = [c.model_dump(mode="json") for c in body.commands]
        if body.enabled is not None:
            values["disabled_reason"] = None if body.enabled else "turned off by its owner"
        secret = None
        if body.rotate_secret:
            secret = new_secret()
            values.update(
                secret=secret,
                previous_secret=extension.secret,
                previous_until=utcnow() + self.secret_grace,
            )
        await self.store.update(extension.id, values)
        changed = await self.changes.changed(extension.id)
        await self._audit("extension.update", principal, extension, request_id, sorted(values))
        assert changed is not None
        return changed.info(secret)

    async def delete(self, principal: Principal, extension_id: str, request_id: str | None) -> None:
        extension = await self.get(principal, extension_id)
        await self.store.delete(extension.id)
        await self.changes.changed(extension.id)
        await self._audit("extension.delete", principal, extension, request_id)

    async def _check_reach(
        self, principal: Principal, workspace_id: str | None, role: Role
    ) -> None:
        """The caller may register for this workspace (owner) or all (admin), and give
        at most the role it has itself."""
        if workspace_id is None:
            if not principal.is_admin:
                raise Forbidden(
                    "only an admin can register an extension for every workspace; "
                    "name a workspace you own"
                )
            return
        access = await self.access.require(principal, workspace_id, Role.owner)
        if not access.role.allows(role):
            raise Forbidden(f"you can give an extension at most the {access.role.value} role")

    async def _audit(
        self,
        action: str,
        principal: Principal,
        extension: Extension,
        request_id: str | None,
        changed: list[str] | None = None,
    ) -> None:
        detail: dict[str, Any] = {"extension": extension.id, "name": extension.name}
        if changed is not None:
            detail["changed"] = [name for name in changed if "secret" not in name]
        await self.audit.record(
            action,
            user=principal.user,
            source="rest",
            workspace_id=extension.workspace_id,
            detail=detail,
            request_id=request_id,
        )
