"""The environment of a workspace process: an allow-list, never the server's own.

The server's environment holds the admin token, model API keys and the database URL; a
workspace process gets only what a shell and the tools need, plus what its caller adds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

# Passed through from the server's environment when set (locale and terminal basics).
PASSED = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def workspace_environment(
    workspace: Path, home: Path, tool_bin: Path | None, extra: Mapping[str, str]
) -> dict[str, str]:
    """`PATH` (NEXUS's tools first), `HOME`, the locale, `PYTHONUNBUFFERED`, then `extra`."""
    path = DEFAULT_PATH if tool_bin is None else f"{tool_bin}:{DEFAULT_PATH}"
    env = {
        "PATH": path,
        "HOME": str(home),
        "USER": "nexus",
        "LOGNAME": "nexus",
        "SHELL": "/bin/bash",
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PWD": str(workspace),
    }
    for name in PASSED:
        if value := os.environ.get(name):
            env[name] = value
    env.update(extra)
    return env
