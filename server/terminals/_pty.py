"""One child process on a pseudo-terminal, owned from spawn to reaping.

The child runs in its own session (setsid) with the PTY as its controlling
terminal, so job control, Ctrl-C and SIGWINCH work as in any terminal emulator. The master
side is non-blocking and read through the event loop (`loop.add_reader`); nothing here
blocks a thread. Closing signals the whole session (the shell, its jobs and their
children) with SIGHUP, then SIGTERM, then SIGKILL, and reaps the shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import signal
import termios
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

log = logging.getLogger("nexus.terminals")

READ_CHUNK = 65536
READS_PER_WAKEUP = 16
MAX_PENDING_INPUT = 1024 * 1024


def _new_session_on(tty: str) -> Callable[[], None]:
    """In the child, before exec: start a session and make `tty` its controlling terminal.
    Done by hand (not `start_new_session`) because uvloop runs this hook before it has
    set up the child's stdio, so the terminal is opened by name."""

    def prepare() -> None:  # pragma: no cover - runs in the child
        os.setsid()
        fd = os.open(tty, os.O_RDWR)
        fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
        os.close(fd)

    return prepare


class PtyProcess:
    """A process attached to a fresh PTY. Output arrives through `on_output(bytes)` while
    reading is on (`resume_reading`/`pause_reading`), and `on_eof()` once every holder of
    the terminal's slave side has closed it."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        master: int,
        on_output: Callable[[bytes], None],
        on_eof: Callable[[], None],
    ) -> None:
        self.process = process
        self.pid = process.pid
        self._master = master
        self._on_output = on_output
        self._on_eof = on_eof
        self._loop = asyncio.get_running_loop()
        self._reading = False
        self._eof = False
        self._input = bytearray()
        self._writing = False

    @classmethod
    async def spawn(
        cls,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        cols: int,
        rows: int,
        on_output: Callable[[bytes], None],
        on_eof: Callable[[], None],
    ) -> PtyProcess:
        master, slave = os.openpty()
        try:
            termios.tcsetwinsize(slave, (rows, cols))
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                cwd=cwd,
                env=env,
                preexec_fn=_new_session_on(os.ttyname(slave)),
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        return cls(process, master, on_output, on_eof)

    # -- output -----------------------------------------------------------------------

    @property
    def reading(self) -> bool:
        return self._reading

    def resume_reading(self) -> None:
        if not self._reading and not self._eof and self._master >= 0:
            self._loop.add_reader(self._master, self._readable)
            self._reading = True

    def pause_reading(self) -> None:
        if self._reading:
            self._loop.remove_reader(self._master)
            self._reading = False

    def _readable(self) -> None:
        """Drain what the PTY holds (a read returns at most about 4 KiB), then hand it on
        in one piece: fewer callbacks while a program streams output."""
        chunks = []
        eof = False
        for _ in range(READS_PER_WAKEUP):
            try:
                data = os.read(self._master, READ_CHUNK)
            except BlockingIOError:
                break
            except OSError as exc:
                # Linux answers EIO once no process holds the slave side any more.
                if exc.errno not in (errno.EIO, errno.EBADF):
                    log.warning("reading terminal of pid %s failed: %s", self.pid, exc)
                eof = True
                break
            if not data:
                eof = True
                break
            chunks.append(data)
        if chunks:
            self._on_output(b"".join(chunks))
        if eof:
            self.pause_reading()
            self._eof = True
            self._on_eof()

    # -- input ------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Queue keystrokes for the terminal; what the PTY cannot take now is written when
        it can. Raises `BufferError` when the program has stopped reading its input."""
        if self._master < 0:
            raise BrokenPipeError("the terminal is closed")
        if len(self._input) + len(data) > MAX_PENDING_INPUT:
            raise BufferError("the program is not reading its input")
        self._input += data
        self._flush_input()

    def _flush_input(self) -> None:
        while self._input:
            try:
                written = os.write(self._master, self._input)
            except BlockingIOError:
                break
            except OSError:
                self._input.clear()
                break
            del self._input[:written]
        if self._input and not self._writing:
            self._loop.add_writer(self._master, self._flush_input)
            self._writing = True
        elif not self._input and self._writing:
            self._loop.remove_writer(self._master)
            self._writing = False

    def resize(self, cols: int, rows: int) -> None:
        """Set the window size; the kernel sends SIGWINCH to the foreground job."""
        if self._master >= 0:
            termios.tcsetwinsize(self._master, (rows, cols))

    # -- ending -----------------------------------------------------------------------

    async def wait(self) -> int:
        return await self.process.wait()

    def members(self) -> list[psutil.Process]:
        """The shell's descendants and every other process of its session, found before
        anything is signalled (the shell itself is reaped through `process.wait`)."""
        found: dict[int, psutil.Process] = {}
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.pid).children(recursive=True):
                found[child.pid] = child
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error, OSError):
                if proc.pid != self.pid and os.getsid(proc.pid) == self.pid:
                    found[proc.pid] = proc
        return list(found.values())

    async def close(self, grace: float = 1.0) -> None:
        """End the whole session: SIGHUP, then SIGTERM, then SIGKILL, each after up to
        `grace` seconds; reap the shell; release the PTY."""
        targets = self.members()
        loop = self._loop
        for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGKILL):
            targets = [proc for proc in targets if _running(proc)]
            if self.process.returncode is not None and not targets:
                break
            self._signal(targets, sig)
            deadline = loop.time() + grace
            while loop.time() < deadline:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.02):
                        await self.process.wait()
                if self.process.returncode is not None and not any(map(_running, targets)):
                    break
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self.process.wait()
        self._release()

    def _signal(self, targets: list[psutil.Process], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)
        for proc in targets:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)

    def _release(self) -> None:
        self.pause_reading()
        if self._writing:
            self._loop.remove_writer(self._master)
            self._writing = False
        if self._master >= 0:
            os.close(self._master)
            self._master = -1


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
