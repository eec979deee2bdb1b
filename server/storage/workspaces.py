"""Workspaces and who may use them."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import ColumnElement, Row, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.errors import Conflict, NotFound
from server.models import Member, Role, Workspace
from server.storage.database import as_utc, utcnow
from server.storage.tables import memberships, users, workspaces


def _workspace(row: Row) -> Workspace:
    return Workspace(id=row.id, name=row.name, path=row.path, created_at=as_utc(row.created_at))


def _member(row: Row) -> Member:
    return Member(
        user_id=row.user_id,
        username=row.username,
        role=Role(row.role),
        created_at=as_utc(row.created_at),
    )


class WorkspaceStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self, name: str, path: Path, owner_id: int) -> Workspace:
        """A workspace with its creator as owner, in one transaction."""
        now = utcnow()
        workspace_id = secrets.token_hex(8)
        try:
            async with self.engine.begin() as conn:
                row = (
                    await conn.execute(
                        workspaces.insert()
                        .values(
                            id=workspace_id,
                            name=name,
                            path=str(path),
                            created_by=owner_id,
                            created_at=now,
                        )
                        .returning(workspaces)
                    )
                ).one()
                await conn.execute(
                    memberships.insert().values(
                        workspace_id=workspace_id, user_id=owner_id, role=Role.owner, created_at=now
                    )
                )
        except IntegrityError:
            raise Conflict(f"a workspace named {name!r} already exists") from None
        return _workspace(row)

    async def get(self, workspace_id: str) -> Workspace:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(workspaces).where(workspaces.c.id == workspace_id))
            ).first()
        if row is None:
            raise NotFound(f"no workspace with id {workspace_id!r}")
        return _workspace(row)

    async def list_for(self, user_id: int | None) -> list[Workspace]:
        """Workspaces the user belongs to; all of them when `user_id` is None (admin)."""
        query = select(workspaces).order_by(workspaces.c.created_at, workspaces.c.id)
        if user_id is not None:
            query = query.join(memberships, memberships.c.workspace_id == workspaces.c.id).where(
                memberships.c.user_id == user_id
            )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_workspace(row) for row in rows]

    async def delete(self, workspace_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(memberships).where(memberships.c.workspace_id == workspace_id)
            )
            result = await conn.execute(delete(workspaces).where(workspaces.c.id == workspace_id))
        if result.rowcount == 0:
            raise NotFound(f"no workspace with id {workspace_id!r}")

    async def role_of(self, workspace_id: str, user_id: int) -> Role | None:
        async with self.engine.connect() as conn:
            return await _role(conn, workspace_id, user_id)

    async def members(self, workspace_id: str) -> list[Member]:
        query = (
            select(memberships, users.c.username)
            .join(users, users.c.id == memberships.c.user_id)
            .where(memberships.c.workspace_id == workspace_id)
            .order_by(users.c.username)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_member(row) for row in rows]

    async def set_member(self, workspace_id: str, user_id: int, role: Role) -> tuple[Member, bool]:
        """Add a member or change their role; returns the member and whether it is new."""
        async with self.engine.begin() as conn:
            current = await _role(conn, workspace_id, user_id)
            if current is None:
                await conn.execute(
                    memberships.insert().values(
                        workspace_id=workspace_id, user_id=user_id, role=role, created_at=utcnow()
                    )
                )
            else:
                if current == Role.owner and role != Role.owner:
                    await _keep_an_owner(conn, workspace_id)
                await conn.execute(
                    memberships.update()
                    .where(*_membership(workspace_id, user_id))
                    .values(role=role)
                )
            row = (
                await conn.execute(
                    select(memberships, users.c.username)
                    .join(users, users.c.id == memberships.c.user_id)
                    .where(*_membership(workspace_id, user_id))
                )
            ).one()
        return _member(row), current is None

    async def remove_member(self, workspace_id: str, user_id: int) -> None:
        async with self.engine.begin() as conn:
            role = await _role(conn, workspace_id, user_id)
            if role is None:
                raise NotFound("that user is not a member of this workspace")
            if role == Role.owner:
                await _keep_an_owner(conn, workspace_id)
            await conn.execute(delete(memberships).where(*_membership(workspace_id, user_id)))


def _membership(workspace_id: str, user_id: int) -> tuple[ColumnElement[bool], ...]:
    return (memberships.c.workspace_id == workspace_id, memberships.c.user_id == user_id)


async def _role(conn: AsyncConnection, workspace_id: str, user_id: int) -> Role | None:
    query = select(memberships.c.role).where(*_membership(workspace_id, user_id))
    role = (await conn.execute(query)).scalar()
    return Role(role) if role else None


async def _keep_an_owner(conn: AsyncConnection, workspace_id: str) -> None:
    """Refuse to demote or remove the last owner. The owners' rows are locked (PostgreSQL)
    so that two owners stepping down at once cannot both pass."""
    owners = (
        await conn.execute(
            select(memberships.c.user_id)
            .where(memberships.c.workspace_id == workspace_id, memberships.c.role == Role.owner)
            .with_for_update()
        )
    ).all()
    if len(owners) <= 1:
        raise Conflict("a workspace must keep at least one owner")
