"""The files behind the documents: reading safely, writing atomically, throttled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from server import metrics
from server.errors import InvalidInput, PayloadTooLarge
from server.folders.fileio import BINARY_SNIFF_BYTES

log = logging.getLogger("nexus.collab")

WRITE_DELAY_SECONDS = 0.2


def read_text(path: Path, limit: int) -> str | None:
    """The file's text, None if it does not exist; refuses folders, binaries and files
    over `limit` bytes, which are not opened as collaborative text."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if path.is_dir():
        raise InvalidInput(f"{path.name} is a folder")
    if size > limit:
        raise PayloadTooLarge(f"{path.name} is larger than {limit} bytes")
    data = path.read_bytes()
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        raise InvalidInput(f"{path.name} is a binary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name} is not UTF-8 text") from None


class WriteBack:
    """Throttled write-back of one document: at most one write per `delay`, the first
    one `delay` after a change, so the file trails the live text by well under a second.

    `save` does the work (merge what is on disk, write, remember); this class only
    decides when.
    """

    def __init__(self, save: Callable[[], Awaitable[None]], delay: float = WRITE_DELAY_SECONDS):
        self._save = save
        self._delay = delay
        self._task: asyncio.Task[None] | None = None
        self._dirty = False
        self._now: asyncio.Event | None = None  # set by flush() to skip the wait

    def changed(self) -> None:
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write_soon(), name="collab-writeback")

    async def _write_soon(self) -> None:
        # Loop while changes keep coming, including those that arrive during a save:
        # the file must end up with the last text, not the one a save started from.
        while self._dirty:
            self._dirty = False
            started = time.perf_counter()
            if self._now is None:
                await asyncio.sleep(self._delay)
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._delay):
                        await self._now.wait()
            try:
                await self._save()
            except Exception:
                log.exception("write-back failed")
                continue
            metrics.COLLAB_WRITEBACK.observe(time.perf_counter() - started)

    def cancel(self) -> None:
        """Forget pending changes (the file was deleted or moved away)."""
        self._dirty = False
        if self._task is not None:
            self._task.cancel()

    async def flush(self) -> None:
        """Write what is pending now and wait for it (on unload and shutdown)."""
        if self._task is not None and not self._task.done():
            self._now = asyncio.Event()
            self._now.set()
            try:
                await self._task
            finally:
                self._now = None
