"""The workspace sandbox: bubblewrap, so a workspace's processes see only their own folder.

Inside: the workspace folder read-write at its own path (paths in LSP and DAP messages stay
the same), the system and tool folders read-only, a private `/tmp`, `/proc` and process
namespace, and a home folder of the workspace's own. Not there: the other workspaces, the
data dir (but for that home), the server's processes and environment. Files made inside
belong to the server's user outside.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

log = logging.getLogger("nexus.supervisor")

HOME = "/home/nexus"
# Read-only everywhere: the system, and the Python NEXUS runs on (jedi, ruff, debugpy).
SYSTEM_PATHS = ("/usr", "/etc", "/opt", "/srv")
# Secrets of the machine that a sandboxed root could otherwise read.
HIDDEN_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/sudoers")


class SandboxMode(StrEnum):
    auto = "auto"
    required = "required"
    off = "off"


class SandboxUnavailable(RuntimeError):
    """`NEXUS_SANDBOX=required` and bubblewrap does not work here."""


@dataclass(frozen=True)
class SandboxStatus:
    sealed: bool
    detail: str


class Sandbox:
    """Wraps commands in `bwrap` (or not, when off or unavailable in `auto` mode)."""

    def __init__(self, mode: SandboxMode, homes: Path, tool_paths: tuple[str, ...] = ()) -> None:
        self.mode = mode
        self.homes = homes
        self.tool_paths = tool_paths
        self.bwrap = shutil.which("bwrap")
        self.status = self._probe()
        if not self.status.sealed and mode != SandboxMode.off:
            message = (
                f"workspaces are NOT isolated: {self.status.detail}. Install bubblewrap "
                "(apt-get install bubblewrap) or set NEXUS_SANDBOX=off to accept this."
            )
            if mode == SandboxMode.required:
                raise SandboxUnavailable(message)
            log.warning(message)

    @property
    def sealed(self) -> bool:
        return self.status.sealed

    def _probe(self) -> SandboxStatus:
        if self.mode == SandboxMode.off:
            return SandboxStatus(False, "NEXUS_SANDBOX=off")
        if self.bwrap is None:
            return SandboxStatus(False, "bwrap (bubblewrap) is not installed")
        probe = Path(os.path.realpath(sys.prefix))
        argv = self._bwrap(["/bin/true"], probe, network=True, home=None)
        try:
            result = subprocess.run(argv, capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return SandboxStatus(False, f"bwrap does not run: {exc}")
        if result.returncode != 0:
            error = result.stderr.decode(errors="replace").strip()
            return SandboxStatus(False, f"bwrap does not run here: {error}")
        return SandboxStatus(True, "bubblewrap")

    def home_of(self, workspace_id: str) -> Path:
        home = self.homes / workspace_id
        home.mkdir(parents=True, exist_ok=True)
        return home

    def wrap(
        self, argv: list[str], workspace: Path, *, network: bool, home: Path | None
    ) -> list[str]:
        """`argv` as run inside the sandbox of `workspace` (unchanged when not sealed)."""
        return self._bwrap(argv, workspace, network=network, home=home) if self.sealed else argv

    def shows(self, path: str) -> bool:
        """Whether `path` (a tool's program, say) is there inside the sandbox: callers
        can say so clearly instead of the process failing to start. Always when unsealed."""
        if not self.sealed:
            return True
        real = os.path.realpath(path)
        roots = (*SYSTEM_PATHS, *self._python_paths(), *self.tool_paths, "/bin", "/sbin", "/lib")
        return any(real == root or real.startswith(root.rstrip("/") + "/") for root in roots)

    def home_path(self, workspace_id: str) -> str:
        """`HOME` as the workspace's processes see it."""
        return HOME if self.sealed else str(self.home_of(workspace_id))

    def _bwrap(
        self, argv: list[str], workspace: Path, *, network: bool, home: Path | None
    ) -> list[str]:
        assert self.bwrap is not None
        args = [
            self.bwrap,
            "--die-with-parent",
            "--unshare-user-try",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "nexus",
            "--cap-drop",
            "ALL",
        ]
        if not network:
            args.append("--unshare-net")
        # Fresh /proc, /dev, /tmp and /home first: what is bound next may live below them
        # (a virtualenv in /tmp or /home, the workspace itself), and must stay visible.
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/home"]
        for path in (*SYSTEM_PATHS, *self._python_paths(), *self.tool_paths):
            if os.path.isdir(path):
                args += ["--ro-bind", path, path]
        for name in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
            target = f"/{name}"
            if os.path.islink(target):
                args += ["--symlink", os.readlink(target), target]
            elif os.path.isdir(target):
                args += ["--ro-bind", target, target]
        for secret in HIDDEN_FILES:
            if os.path.exists(secret):
                args += ["--ro-bind", "/dev/null", secret]
        if home is not None:
            args += ["--bind", str(home), HOME]
        folder = str(workspace)
        args += ["--bind", folder, folder, "--chdir", folder, "--"]
        return args + argv

    @staticmethod
    def _python_paths() -> list[str]:
        """The virtualenv and the interpreter it was made from, wherever they live."""
        paths = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
        return sorted(p for p in paths if not p.startswith(("/usr/", "/etc/", "/opt/")))
