"""Logging: plain text for people, JSON lines for log collectors; request ids included.

No line carries a token: browsers put `?token=` in URLs (WebSocket handshakes, the login
URL), and uvicorn logs URLs with their query strings, so every formatted line is redacted.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# `token=…`, `admin_token=…`, `access-token=…` in a query string or a command line.
_TOKEN_VALUE = re.compile(r"(?i)\b([\w-]*token)=[^&\s\"'<>#]+")
REDACTED = "[REDACTED]"


def redact_tokens(text: str) -> str:
    """The text with the value of every `…token=VALUE` replaced by `[REDACTED]`."""
    return _TOKEN_VALUE.sub(rf"\1={REDACTED}", text)


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact_tokens(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact_tokens(record.getMessage()),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = redact_tokens(self.formatException(record.exc_info))
        return json.dumps(entry)


def configure_logging(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestId())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "engineio.server", "socketio.server"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
