"""The y-websocket wire protocol, as the stock `y-websocket` provider speaks it.

A message is a varuint type then its body: SYNC (0: step 1 = state vector, step 2 =
missing updates, 2 = update), AWARENESS (1), AUTH (2: permission denied + reason),
QUERY_AWARENESS (3). pycrdt builds and reads the sync messages; this module adds what
the server must check itself.
"""

from __future__ import annotations

from enum import IntEnum

from pycrdt import Decoder, write_var_uint

from server.api.websocket import (  # noqa: F401 — this protocol's codes too
    CLOSE_BAD_REQUEST,
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_TOO_BIG,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHORIZED,
    CLOSE_UNSUPPORTED,
)


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3


class SyncType(IntEnum):
    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


class ProtocolError(Exception):
    """The peer sent something we cannot accept; its connection is closed with `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# WebSocket close codes: standard ones, and 4xxx for our own reasons.
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INVALID_DATA = 1007
CLOSE_STALE_STATE = 4409


def _var_string(text: str) -> bytes:
    data = text.encode()
    return write_var_uint(len(data)) + data


def permission_denied(reason: str) -> bytes:
    """AUTH/permission-denied: how y-websocket tells a client its edits are refused."""
    return write_var_uint(MessageType.AUTH) + write_var_uint(0) + _var_string(reason)


def read_state_vector(payload: bytes) -> dict[int, int]:
    """Decode a Yjs state vector (client id → clock)."""
    decoder = Decoder(payload)
    count = decoder.read_var_uint()
    return {decoder.read_var_uint(): decoder.read_var_uint() for _ in range(count)}


def awareness_clients(update: bytes) -> dict[int, bool]:
    """Client ids in an awareness update, and whether each carries a state (False: removed)."""
    decoder = Decoder(update)
    clients = {}
    for _ in range(decoder.read_var_uint()):
        client_id = decoder.read_var_uint()
        decoder.read_var_uint()  # clock
        state = decoder.read_var_string()
        clients[client_id] = bool(state) and state != "null"
    return clients


def split(message: bytes) -> tuple[int, bytes]:
    """The message type and the rest; `ProtocolError` if there is no type."""
    if not message:
        raise ProtocolError(CLOSE_PROTOCOL_ERROR, "empty message")
    decoder = Decoder(message)
    try:
        kind = decoder.read_var_uint()
    except Exception:
        raise ProtocolError(CLOSE_PROTOCOL_ERROR, "truncated message type") from None
    return kind, message[_varuint_length(kind) :]


def _varuint_length(value: int) -> int:
    return len(write_var_uint(value))
