"""Low-level file operations every writer of workspace files shares."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

BINARY_SNIFF_BYTES = 8192


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write via a temp file in the same folder and a rename: readers see the old file
    or the new one, never half of one, even if we are killed mid-write. The file keeps
    its permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.nexus-{secrets.token_hex(4)}.tmp")
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(temp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def is_temp_file(path: Path) -> bool:
    """One of `write_atomic`'s temp files: nobody's business but ours."""
    return path.name.startswith(".") and path.name.endswith(".tmp") and ".nexus-" in path.name


def is_binary(data: bytes) -> bool:
    """As git decides: a NUL byte near the start, or bytes that are not UTF-8 text."""
    head = data[:BINARY_SNIFF_BYTES]
    if b"\0" in head:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False
