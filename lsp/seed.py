"""A warm parse cache for each new workspace's jedi, never one shared between workspaces.

jedi keeps what it parsed of the standard library, typeshed and the virtualenv under
`~/.cache` (≈ 4 CPU-seconds to make, which a new workspace's first completion would wait
for). `HOME` is each workspace's own, and a cache the workspaces shared would let one
poison the others (its entries are pickles). So a sandboxed jedi fed only our own line
makes the cache once per install, in the server user's cache folder, and each workspace's
home gets a copy before its server first starts. Entries older than their source are
parsed afresh by jedi itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import sys
import sysconfig
from pathlib import Path

from lsp.registry import ServerSpec
from lsp.upstream import Upstream
from server.supervisor import Supervisor

log = logging.getLogger("nexus.lsp")

SEED_WORKSPACE_ID = "lsp-seed"  # never a workspace's: theirs are hex
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def default_root() -> Path:
    """Where jedi's own cache lived before workspaces were sealed: the server user's."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nexus" / "lsp"


class CacheSeeds:
    def __init__(
        self,
        supervisor: Supervisor,
        *,
        memory_mb: int,
        timeout: float,
        root: Path | None = None,
    ) -> None:
        self.supervisor = supervisor
        self.memory_mb = memory_mb
        self.timeout = timeout
        self.root = root or default_root()
        self._made: dict[str, asyncio.Task[Path]] = {}

    async def seed(self, spec: ServerSpec, workspace_id: str, language: str) -> None:
        """Give the workspace's home a copy of the server's warm cache unless it has one;
        never raises (without it the server only starts colder)."""
        if spec.cache is None or spec.warm_up is None:
            return
        home = self.supervisor.sandbox.home_of(workspace_id)
        target = home / spec.cache
        if target.is_symlink() or target.exists():
            return
        try:
            made = self._made.get(spec.name)
            if made is None:
                made = self._made[spec.name] = asyncio.create_task(self._make(spec, language))
            template = await asyncio.shield(made)
            await asyncio.to_thread(copy_into, template, home, Path(spec.cache))
        except Exception as exc:
            log.info("no warm cache for %s in workspace %s: %s", spec.name, workspace_id, exc)

    async def close(self) -> None:
        for task in self._made.values():
            task.cancel()
        await asyncio.gather(*self._made.values(), return_exceptions=True)

    async def _make(self, spec: ServerSpec, language: str) -> Path:
        """The template for this install (the program, Python, the packages), made by a
        sandboxed server in a folder of its own, renamed into place when complete."""
        assert spec.cache is not None and spec.warm_up is not None
        folder = self.root / f"{spec.name}-{_stamp(spec)}"
        if (folder / spec.cache).is_dir():
            return folder / spec.cache
        making = self.root / f".{folder.name}.{os.getpid()}"
        making.mkdir(parents=True, exist_ok=True)
        upstream = Upstream(
            spec,
            making,
            supervisor=self.supervisor,
            workspace_id=SEED_WORKSPACE_ID,
            memory_mb=self.memory_mb,
            on_notification=lambda *_: None,
            env={"HOME": str(making)},  # its cache goes to the template, not to a home
        )
        try:
            try:
                await upstream.start(self.timeout)
                uri = (making / "seed.py").as_uri()
                await upstream.complete_once(uri, language, spec.warm_up, self.timeout)
            finally:
                await upstream.stop()  # before the rename: every entry written
            with contextlib.suppress(OSError):  # another process made it meanwhile
                making.rename(folder)
            for old in self.root.glob(f"{spec.name}-*"):
                if old != folder:
                    shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(making, ignore_errors=True)
        log.info("made a warm %s cache in %s", spec.name, folder)
        return folder / spec.cache


def _stamp(spec: ServerSpec) -> str:
    """What the cache depends on: the program, the Python and the packages it runs on."""
    parts = [*spec.command, sys.version]
    for path in (spec.command[0], sysconfig.get_paths()["purelib"]):
        with contextlib.suppress(OSError):
            parts.append(str(os.stat(path).st_mtime_ns))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def copy_into(template: Path, home: Path, relative: Path) -> None:
    """Copy `template` to `home/relative`, never following a link under `home`: the
    workspace's processes write there, and a link must not send our writes elsewhere.
    Does nothing when the target exists (the server made its own meanwhile)."""
    fds = [os.open(home, _DIRECTORY)]
    try:
        *parents, last = relative.parts
        for part in parents:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=fds[-1])
            fds.append(os.open(part, _DIRECTORY, dir_fd=fds[-1]))
        try:
            os.mkdir(last, 0o755, dir_fd=fds[-1])
        except FileExistsError:
            return
        fds.append(os.open(last, _DIRECTORY, dir_fd=fds[-1]))
        _copy_tree(template, fds[-1])
    finally:
        for fd in fds:
            os.close(fd)


def _copy_tree(source: Path, target_fd: int) -> None:
    for entry in os.scandir(source):
        if entry.is_dir(follow_symlinks=False):
            os.mkdir(entry.name, 0o755, dir_fd=target_fd)
            fd = os.open(entry.name, _DIRECTORY, dir_fd=target_fd)
            try:
                _copy_tree(Path(entry.path), fd)
            finally:
                os.close(fd)
        elif entry.is_file(follow_symlinks=False):
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            out = os.open(entry.name, flags, 0o644, dir_fd=target_fd)
            with open(entry.path, "rb") as reader, open(out, "wb") as writer:
                shutil.copyfileobj(reader, writer)
