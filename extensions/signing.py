"""Standard Webhooks signatures (standardwebhooks.com), both ways.

A secret is `whsec_` + base64 of random bytes. Each request carries `webhook-id` (the
same on every retry of one message), `webhook-timestamp` (Unix seconds, fresh on every
attempt) and `webhook-signature`: space-separated `v1,<base64 HMAC-SHA256>` over
`{id}.{timestamp}.{body}`, keyed by the decoded secret — one per secret in use, so a
receiver that has only the new (or only the old) secret during a rotation still accepts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence

from server.errors import Unauthorized

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the contract allows 24 to 64
TOLERANCE_SECONDS = 5 * 60  # how old (or how far ahead) a signed request may be


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<signature>` entry."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    signing_secrets: Sequence[str], message_id: str, body: bytes, now: float | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    timestamp = int(time.time() if now is None else now)
    signatures = " ".join(sign(secret, message_id, timestamp, body) for secret in signing_secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


def verify(
    signing_secrets: Sequence[str],
    received: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: float = TOLERANCE_SECONDS,
) -> str:
    """Check a signed request sent to NEXUS; returns its `webhook-id`. `Unauthorized`
    saying what is wrong: a missing header, a stale timestamp, no matching signature."""
    message_id = received.get("webhook-id")
    stamp = received.get("webhook-timestamp")
    signatures = received.get("webhook-signature")
    if not message_id or not stamp or not signatures:
        raise Unauthorized(
            "sign the request: webhook-id, webhook-timestamp and webhook-signature are required"
        )
    try:
        timestamp = int(stamp)
    except ValueError:
        raise Unauthorized("webhook-timestamp must be Unix seconds") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise Unauthorized(f"webhook-timestamp is more than {tolerance:g} s from now")
    offered = [part.strip() for part in signatures.split(" ") if part.strip()]
    for secret in signing_secrets:
        try:
            expected = sign(secret, message_id, timestamp, body)
        except (binascii.Error, ValueError):
            continue
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return message_id
    raise Unauthorized("no valid webhook-signature")
