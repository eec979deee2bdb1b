"""What every workspace WebSocket endpoint (`/yjs`, `/lsp`, a feature's own) checks
first, and how a refusal is told: close codes in the 4xxx range mirror HTTP statuses."""

from __future__ import annotations

from starlette.websockets import WebSocket

from server.auth import Principal, WorkspaceAccess
from server.errors import Forbidden, NexusError, NotFound, RateLimited, Unauthorized
from server.models import Role
from server.platform import NexusApp

CLOSE_UNSUPPORTED = 1003
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404

_CLOSE_CODES: dict[type[NexusError], int] = {
    Unauthorized: CLOSE_UNAUTHORIZED,
    Forbidden: CLOSE_FORBIDDEN,
    NotFound: CLOSE_NOT_FOUND,
    RateLimited: CLOSE_TRY_AGAIN,  # an API key over its limit
}


def close_code(error: NexusError) -> int:
    for kind, code in _CLOSE_CODES.items():
        if isinstance(error, kind):
            return code
    return CLOSE_TRY_AGAIN if error.status >= 500 else CLOSE_BAD_REQUEST


class OriginRefused(Forbidden):
    code = "origin"


def platform_of(websocket: WebSocket) -> NexusApp:
    nexus: NexusApp | None = getattr(websocket.app.state, "nexus", None)
    if nexus is None:
        raise Unauthorized("the server is starting")
    return nexus


async def admit(websocket: WebSocket, needed: Role) -> tuple[Principal, WorkspaceAccess]:
    """The page's origin (refused before the handshake completes), then, once accepted,
    the `token` query parameter and the caller's role in the `workspace_id` of the path.
    Raises `NexusError`; the caller closes with `close_code(error)`."""
    nexus = platform_of(websocket)
    if not nexus.origins.allows(websocket.headers.get("origin"), websocket.headers.get("host")):
        raise OriginRefused("origin not allowed")
    await websocket.accept()
    principal = await nexus.authenticator.authenticate(websocket.query_params.get("token"))
    access = await nexus.access.require(principal, websocket.path_params["workspace_id"], needed)
    return principal, access
