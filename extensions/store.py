"""Registered extensions in the database, and the command ids each one holds."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from extensions.models import CommandSpec, ExtensionInfo
from server.errors import Conflict, NotFound
from server.models import Role
from server.storage.database import as_utc, utcnow
from server.storage.tables import extension_commands, extensions, users


@dataclass(frozen=True, slots=True)
class Extension:
    """One extension as every part of this feature sees it (secrets included)."""

    id: str
    owner_id: int
    owner: str
    workspace_id: str | None
    name: str
    webhook_url: str
    events: tuple[str, ...]
    commands: tuple[CommandSpec, ...]
    role: Role
    secret: str
    previous_secret: str | None
    previous_until: datetime | None
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime

    def covers(self, workspace_id: str) -> bool:
        return self.workspace_id is None or self.workspace_id == workspace_id

    def signing_secrets(self, now: datetime | None = None) -> list[str]:
        """The current secret, and the previous one during its grace period."""
        found = [self.secret]
        now = now or utcnow()
        if self.previous_secret and self.previous_until and self.previous_until > now:
            found.append(self.previous_secret)
        return found

    def info(self, secret: str | None = None) -> ExtensionInfo:
        rotating = self.previous_until if self.previous_secret else None
        return ExtensionInfo(
            id=self.id,
            name=self.name,
            owner=self.owner,
            workspace=self.workspace_id,
            webhook_url=self.webhook_url,
            events=list(self.events),
            commands=list(self.commands),
            role=self.role,
            enabled=self.enabled,
            disabled_reason=self.disabled_reason,
            previous_secret_until=rotating if rotating and rotating > utcnow() else None,
            created_at=self.created_at,
            updated_at=self.updated_at,
            secret=secret,
        )


def _extension(row: Row) -> Extension:
    return Extension(
        id=row.id,
        owner_id=row.owner_id,
        owner=row.username,
        workspace_id=row.workspace_id,
        name=row.name,
        webhook_url=row.webhook_url,
        events=tuple(row.events),
        commands=tuple(CommandSpec.model_validate(c) for c in row.commands),
        role=Role(row.role),
        secret=row.secret,
        previous_secret=row.previous_secret,
        previous_until=as_utc(row.previous_until),
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


_SELECT = select(extensions, users.c.username).join(users, users.c.id == extensions.c.owner_id)


class ExtensionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self, values: dict[str, Any]) -> Extension:
        now = utcnow()
        extension_id = secrets.token_hex(8)
        row = {**values, "id": extension_id, "created_at": now, "updated_at": now}
        async with self.engine.begin() as conn:
            await conn.execute(insert(extensions).values(**row))
            await _claim_commands(conn, extension_id, values["commands"])
        return await self.get(extension_id)

    async def get(self, extension_id: str) -> Extension:
        async with self.engine.connect() as conn:
            row = (await conn.execute(_SELECT.where(extensions.c.id == extension_id))).first()
        if row is None:
            raise NotFound(f"no extension with id {extension_id!r}")
        return _extension(row)

    async def all(self, owner_id: int | None = None) -> list[Extension]:
        """Every extension (of one owner), oldest first."""
        query = _SELECT.order_by(extensions.c.created_at, extensions.c.id)
        if owner_id is not None:
            query = query.where(extensions.c.owner_id == owner_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_extension(row) for row in rows]

    async def update(self, extension_id: str, values: dict[str, Any]) -> Extension:
        """Change columns; a new `commands` list moves the command ids along."""
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(extensions)
                .where(extensions.c.id == extension_id)
                .values(**values, updated_at=utcnow())
            )
            if done.rowcount == 0:
                raise NotFound(f"no extension with id {extension_id!r}")
            if "commands" in values:
                await conn.execute(
                    delete(extension_commands).where(
                        extension_commands.c.extension_id == extension_id
                    )
                )
                await _claim_commands(conn, extension_id, values["commands"])
        return await self.get(extension_id)

    async def delete(self, extension_id: str) -> None:
        async with self.engine.begin() as conn:
            done = await conn.execute(delete(extensions).where(extensions.c.id == extension_id))
        if done.rowcount == 0:
            raise NotFound(f"no extension with id {extension_id!r}")


async def _claim_commands(
    conn: AsyncConnection, extension_id: str, commands: list[dict[str, Any]]
) -> None:
    """Hold the command ids for this extension; `Conflict` naming those another has."""
    ids = [command["id"] for command in commands]
    if not ids:
        return
    taken = (
        await conn.execute(
            select(extension_commands.c.command_id).where(
                extension_commands.c.command_id.in_(ids),
                extension_commands.c.extension_id != extension_id,
            )
        )
    ).scalars()
    held = sorted(taken)
    if held:
        raise Conflict(f"command ids already contributed by another extension: {', '.join(held)}")
    try:
        await conn.execute(
            insert(extension_commands),
            [{"command_id": i, "extension_id": extension_id} for i in ids],
        )
    except IntegrityError:  # another node took one meanwhile
        raise Conflict(f"command ids already contributed: {', '.join(ids)}") from None
