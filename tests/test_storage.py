"""Storage on SQLite and on a real PostgreSQL: migrations, users, tokens, workspaces, audit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from server.errors import Conflict, NotFound, Unauthorized
from server.models import Role
from server.storage import (
    AuditLog,
    TokenStore,
    UserStore,
    WorkspaceStore,
    create_engine,
    migrate,
)
from server.storage.tables import metadata


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


async def test_migrations_create_the_declared_schema_and_are_idempotent(
    engine: AsyncEngine,
) -> None:
    await migrate(engine)  # a second start changes nothing
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        columns = {
            name: await conn.run_sync(
                lambda sync, name=name: {c["name"] for c in inspect(sync).get_columns(name)}
            )
            for name in metadata.tables
        }
    assert set(metadata.tables) <= tables
    assert "alembic_version" in tables
    for name, table in metadata.tables.items():
        assert columns[name] == {column.name for column in table.columns}, name


async def test_users_are_unique(engine: AsyncEngine) -> None:
    users = UserStore(engine)
    alice = await users.create("alice", "hash", is_admin=False)
    assert (await users.get(alice.id)).username == "alice"
    with pytest.raises(Conflict):
        await users.create("alice", "other", is_admin=False)
    with pytest.raises(NotFound):
        await users.get_by_name("bob")
    admin = await users.ensure_admin()
    assert admin.is_admin and (await users.ensure_admin()).id == admin.id


async def test_tokens_expire_and_revoke(engine: AsyncEngine) -> None:
    user = await UserStore(engine).create("alice", None, is_admin=False)
    tokens = TokenStore(engine)
    secret, info = await tokens.issue(user.id, kind="session", ttl=timedelta(hours=1))
    resolved, resolved_info = await tokens.resolve(secret)
    assert resolved.id == user.id and resolved_info.id == info.id
    assert (await tokens.list(user.id))[0].last_used_at is not None

    expired, _ = await tokens.issue(user.id, kind="session", ttl=timedelta(seconds=-1))
    with pytest.raises(Unauthorized, match="expired"):
        await tokens.resolve(expired)

    first = await tokens.revoke(info.id, user.id)
    again = await tokens.revoke(info.id, user.id)
    assert first.revoked_at == again.revoked_at  # revoking twice keeps the first time
    with pytest.raises(Unauthorized, match="revoked"):
        await tokens.resolve(secret)
    with pytest.raises(Unauthorized, match="unknown"):
        await tokens.resolve("nx_never-issued")
    other = await UserStore(engine).create("bob", None, is_admin=False)
    with pytest.raises(NotFound):
        await tokens.revoke(info.id, other.id)  # not bob's token


async def test_workspaces_members_and_the_last_owner(engine: AsyncEngine, tmp_path: Path) -> None:
    users = UserStore(engine)
    alice = await users.create("alice", None, is_admin=False)
    bob = await users.create("bob", None, is_admin=False)
    store = WorkspaceStore(engine)
    workspace = await store.create("demo", tmp_path / "demo", alice.id)
    assert await store.role_of(workspace.id, alice.id) == Role.owner
    with pytest.raises(Conflict):
        await store.create("demo", tmp_path / "other", bob.id)

    member, created = await store.set_member(workspace.id, bob.id, Role.viewer)
    assert created and member.role == Role.viewer
    member, created = await store.set_member(workspace.id, bob.id, Role.editor)
    assert not created and member.role == Role.editor
    assert [w.id for w in await store.list_for(bob.id)] == [workspace.id]

    with pytest.raises(Conflict):
        await store.set_member(workspace.id, alice.id, Role.viewer)
    with pytest.raises(Conflict):
        await store.remove_member(workspace.id, alice.id)
    assert await store.role_of(workspace.id, alice.id) == Role.owner

    await store.remove_member(workspace.id, bob.id)
    assert await store.role_of(workspace.id, bob.id) is None
    with pytest.raises(NotFound):
        await store.remove_member(workspace.id, bob.id)

    await store.delete(workspace.id)
    with pytest.raises(NotFound):
        await store.get(workspace.id)


async def test_audit_log_keeps_entries_newest_first(engine: AsyncEngine) -> None:
    user = await UserStore(engine).create("alice", None, is_admin=False)
    audit = AuditLog(engine)
    await audit.record("one", user=user, source="rest", workspace_id="w1", detail={"n": 1})
    await audit.record("two", user=user, source="socket", ok=False, workspace_id="w1")
    await audit.record("elsewhere", user=None, source="rest", workspace_id="w2")
    entries = await audit.entries(workspace_id="w1")
    assert [(e.action, e.ok, e.username) for e in entries] == [
        ("two", False, "alice"),
        ("one", True, "alice"),
    ]
    assert entries[1].detail == {"n": 1}
    assert entries[0].at.tzinfo is not None
