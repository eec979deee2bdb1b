"""Storage on SQLite and on a real PostgreSQL: migrations, users, tokens, workspaces, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from server.storage.tables import extensions, metadata


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


async def test_upgrading_keeps_the_webhook_log_and_pending_retries(database_url: str) -> None:
    """0008 moved each delivery's body into `webhook_events`: a log written before it
    still reads the same, and a pending retry is still claimed with its body."""
    from extensions.outbox import Outbox
    from server.storage.database import utcnow

    engine = create_engine(database_url)
    try:
        await migrate(engine, "0007")
        user = await UserStore(engine).create("owner", None, is_admin=False)
        now = utcnow()
        async with engine.begin() as conn:
            await conn.execute(
                extensions.insert().values(
                    id="ext1",
                    owner_id=user.id,
                    name="ci",
                    webhook_url="http://ci",
                    events=[],
                    commands=[],
                    role="editor",
                    secret="whsec_x",
                    enabled=True,
                    created_at=now,
                    updated_at=now,
                )
            )
        old = {
            "extension_id": "ext1",
            "event": "file.saved",
            "workspace_id": None,
            "status": "pending",
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        async with engine.begin() as conn:
            await conn.execute(
                _old_deliveries().insert(),
                [
                    {**old, "id": "msg_a", "payload": '{"n":1}', "attempts": 1},
                    {**old, "id": "msg_b", "payload": '{"n":2}', "attempts": 0},
                ],
            )
        await migrate(engine)

        outbox = Outbox(engine, "node", 30.0)
        logged = {d.id: d for d in await outbox.log("ext1", 10)}
        assert set(logged) == {"msg_a", "msg_b"}
        assert logged["msg_a"].event == "file.saved"
        jobs = {job.id: job for job in await outbox.claim_due(10)}
        assert jobs["msg_a"].payload == '{"n":1}' and jobs["msg_a"].attempts == 1
        assert jobs["msg_b"].payload == '{"n":2}'
    finally:
        await engine.dispose()


def _old_deliveries() -> Any:
    """`webhook_deliveries` as revision 0007 made it."""
    from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text

    return Table(
        "webhook_deliveries",
        MetaData(),
        Column("id", String(40), primary_key=True),
        Column("extension_id", String(32)),
        Column("event", String(64)),
        Column("workspace_id", String(32)),
        Column("payload", Text),
        Column("status", String(16)),
        Column("attempts", Integer),
        Column("next_attempt_at", DateTime(timezone=True)),
        Column("created_at", DateTime(timezone=True)),
        Column("updated_at", DateTime(timezone=True)),
    )


@pytest.mark.unit
async def test_inline_writes_never_wait_for_the_lock(tmp_path: Path) -> None:
    """A chunk written on the event loop: one multi-row INSERT; refused at once with
    `Busy` while another connection holds SQLite's write lock, and nothing half-written
    when a row breaks a constraint."""
    import sqlite3

    from sqlalchemy import insert, select
    from sqlalchemy.exc import IntegrityError

    from server.storage.inline import Busy, inline_writer
    from server.storage.tables import users

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'nexus.db'}")
    writer = None
    try:
        await migrate(engine)
        writer = inline_writer(engine)
        assert writer is not None
        statement = insert(users)
        now = datetime.now(UTC)
        rows = [
            {"username": f"u{i}", "password_hash": None, "is_admin": False, "created_at": now}
            for i in range(3)
        ]
        writer.write(statement, rows)
        async with engine.connect() as conn:
            names = (await conn.execute(select(users.c.username))).scalars().all()
        assert sorted(names) == ["u0", "u1", "u2"]

        with pytest.raises(IntegrityError):  # u2 again: the chunk is refused whole
            writer.write(statement, [{**rows[0], "username": "u3"}, rows[2]])
        holder = sqlite3.connect(tmp_path / "nexus.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another connection takes the write lock
        with pytest.raises(Busy):
            writer.write(statement, [{**rows[0], "username": "u4"}])
        holder.execute("ROLLBACK")
        holder.close()
        writer.write(statement, [{**rows[0], "username": "u4"}])
        async with engine.connect() as conn:
            names = (await conn.execute(select(users.c.username))).scalars().all()
        assert sorted(names) == ["u0", "u1", "u2", "u4"]

        many = [{**rows[0], "username": f"bulk{i}"} for i in range(9000)]  # 36,000 values
        writer.write(statement, many)  # more than one statement may take: split, one commit
        async with engine.connect() as conn:
            names = (await conn.execute(select(users.c.username))).scalars().all()
        assert len(names) == 9004
    finally:
        if writer is not None:
            writer.close()
        await engine.dispose()
