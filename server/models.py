"""Records shared by storage, the REST API, socket events and the OpenAPI description."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    """Workspace roles, ordered: a higher role can do everything a lower one can."""

    viewer = "viewer"
    editor = "editor"
    owner = "owner"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANKS = {Role.viewer: 0, Role.editor: 1, Role.owner: 2}


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class User(Record):
    id: int
    username: str
    is_admin: bool
    created_at: datetime


class Workspace(Record):
    id: str
    name: str
    path: str
    created_at: datetime


class Member(Record):
    user_id: int
    username: str
    role: Role
    created_at: datetime


class TokenInfo(Record):
    id: int
    kind: str
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    # An API key's scope: the only workspace it may act in, and the highest role it acts with.
    workspace: str | None = None
    role: Role | None = None


class AuditEntry(Record):
    id: int
    at: datetime
    username: str | None
    workspace_id: str | None
    action: str
    source: str
    ok: bool
    detail: dict[str, Any] | None
    request_id: str | None
