"""Log lines never carry a token, whatever logger (uvicorn's access or error log) wrote them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from server.logs import JsonFormatter, TextFormatter, configure_logging, redact_tokens

pytestmark = pytest.mark.unit  # starts no server, database or other process

SECRET = "nx_s3cr3t-Value_0123456789"


def _access_record(path: str) -> logging.LogRecord:
    """A record as uvicorn's HTTP protocol logs it to `uvicorn.access`."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )
    record.request_id = "-"
    return record


def test_redact_tokens() -> None:
    assert redact_tokens(f"/yjs/ws1/a.py?token={SECRET}") == "/yjs/ws1/a.py?token=[REDACTED]"
    assert (
        redact_tokens(f"/socket.io/?EIO=4&token={SECRET}&transport=websocket")
        == "/socket.io/?EIO=4&token=[REDACTED]&transport=websocket"
    )
    assert redact_tokens(f"--admin-token={SECRET} x") == "--admin-token=[REDACTED] x"
    assert redact_tokens("max_tokens=96&tokens=3") == "max_tokens=96&tokens=3"


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_access_lines_are_redacted(formatter: logging.Formatter) -> None:
    line = formatter.format(_access_record(f"/w/ws1?open=a.py&token={SECRET}"))
    assert SECRET not in line
    assert "/w/ws1?open=a.py&token=[REDACTED]" in line
    if isinstance(formatter, JsonFormatter):
        assert "token=[REDACTED]" in json.loads(line)["message"]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    access = logging.getLogger("uvicorn.access").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("uvicorn.access").setLevel(access)


@pytest.mark.usefixtures("restore_logging")
def test_configured_handler_redacts_uvicorn_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("debug")
    # uvicorn logs WebSocket handshakes to its error log at INFO, query string included.
    logging.getLogger("uvicorn.error").info(
        '%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", f"/yjs/ws1/a.py?token={SECRET}"
    )
    logging.getLogger("uvicorn.access").warning(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/?token={SECRET}", "1.1", 200
    )
    err = capsys.readouterr().err
    assert SECRET not in err
    assert err.count("token=[REDACTED]") == 2
