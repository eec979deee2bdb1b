"""Resource limits for workspace processes, applied in the child before it runs anything.

Memory and open files are `setrlimit` ceilings per process. The number of processes is a
per-workspace `pids` cgroup when the server may create one (cgroup v2, or v1's `pids`
hierarchy), since `RLIMIT_NPROC` never applies to root; otherwise `RLIMIT_NPROC` for a
server that is not root. Either way a fork bomb stops at the ceiling instead of taking the
machine.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("nexus.supervisor")

_CGROUP_ROOTS = (
    Path("/sys/fs/cgroup/pids"),
    Path("/sys/fs/cgroup"),
    Path("/sys/fs/cgroup/unified"),
)


@dataclass(frozen=True)
class Limits:
    """Ceilings for one process (0 or None: no ceiling)."""

    memory_mb: int = 0
    open_files: int = 0
    cpu_seconds: int = 0
    processes: int = 0
    nice: int = 0  # > 0: the kernel runs it after everything else that wants the CPU


class ProcessGroups:
    """One `pids` cgroup per workspace under `nexus/`, created on first use."""

    def __init__(self) -> None:
        self.root = self._find_root()
        if self.root is None:
            log.info("no writable pids cgroup: process counts are limited by RLIMIT_NPROC only")

    @staticmethod
    def _find_root() -> Path | None:
        for base in _CGROUP_ROOTS:
            if not (base / "cgroup.procs").exists():
                continue
            if base.name != "pids" and "pids" not in _controllers(base):
                continue
            target = base / "nexus"
            try:
                target.mkdir(exist_ok=True)
                if base.name != "pids":  # v2: the children need the controller enabled
                    (target / "cgroup.subtree_control").write_text("+pids")
                return target
            except OSError:
                continue
        return None

    def for_workspace(self, name: str, limit: int) -> Path | None:
        if self.root is None or limit <= 0:
            return None
        group = self.root / name
        try:
            group.mkdir(exist_ok=True)
            (group / "pids.max").write_text(str(limit))
        except OSError as exc:
            log.warning("cannot limit processes of %s: %s", name, exc)
            return None
        return group

    def remove_empty(self) -> None:
        if self.root is None:
            return
        for group in self.root.iterdir():
            if group.is_dir():
                with contextlib.suppress(OSError):
                    group.rmdir()  # only empty groups can go


def _controllers(base: Path) -> list[str]:
    try:
        return (base / "cgroup.controllers").read_text().split()
    except OSError:
        return []


def child_setup(
    limits: Limits, cgroup: Path | None, tty: str | None, new_session: bool
) -> Callable[[], None]:
    """What runs in the child between fork and exec: session, limits, cgroup. Only
    async-signal-safe-ish calls; no logging (the parent learns of failures by exec)."""
    group = str(cgroup) if cgroup is not None else None
    is_root = os.geteuid() == 0

    def prepare() -> None:  # pragma: no cover - runs in the child
        if new_session:
            os.setsid()
        if limits.nice > 0:
            os.nice(limits.nice)
        if tty is not None:
            import fcntl
            import termios

            fd = os.open(tty, os.O_RDWR)
            fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
            os.close(fd)
        if limits.memory_mb > 0:
            size = limits.memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (size, size))
        if limits.open_files > 0:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        if limits.cpu_seconds > 0:
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        if group is not None:
            _join(group, limits.processes)
        elif limits.processes > 0 and not is_root:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    return prepare


def _join(group: str, limit: int) -> None:  # pragma: no cover - runs in the child
    """Move this process into `group`. Another supervisor's `remove_empty()` (a server
    on the same machine stopping) may remove it while it is still empty, so it is made
    again if need be; once this process is in it, it cannot be removed."""
    for attempt in range(20):
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(group)
            with open(f"{group}/pids.max", "w") as f:
                f.write(str(limit))
            with open(f"{group}/cgroup.procs", "w") as f:
                f.write(str(os.getpid()))
            return
        except OSError:
            if attempt == 19:
                raise
