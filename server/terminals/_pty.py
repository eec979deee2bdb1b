"""One workspace process on a pseudo-terminal: the PTY's input and output here, the
process's life in the supervisor.

The supervisor starts the process inside the workspace sandbox, in its own session with
the PTY as its controlling terminal, so job control, Ctrl-C and SIGWINCH work as in any
terminal emulator. The master side is non-blocking and read through the event loop
(`loop.add_reader`); nothing here blocks a thread. Closing is the supervisor's stop:
SIGHUP (what a terminal hanging up means), then SIGTERM, then SIGKILL to the whole session
and every descendant, and reaping.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import os
import signal
import termios
from collections.abc import Callable

from server.supervisor import Child, ProcessSpec, Supervisor

log = logging.getLogger("nexus.terminals")

READ_CHUNK = 65536
READS_PER_WAKEUP = 16
MAX_PENDING_INPUT = 1024 * 1024
HANG_UP = (signal.SIGHUP, signal.SIGTERM)  # then SIGKILL, `grace` seconds apart


class PtyProcess:
    """A process attached to a fresh PTY. Output arrives through `on_output(bytes)` while
    reading is on (`resume_reading`/`pause_reading`), and `on_eof()` once every holder of
    the terminal's slave side has closed it."""

    def __init__(
        self,
        child: Child,
        master: int,
        on_output: Callable[[bytes], None],
        on_eof: Callable[[], None],
    ) -> None:
        self.child = child
        self.pid = child.pid
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
        supervisor: Supervisor,
        spec: ProcessSpec,
        *,
        cols: int,
        rows: int,
        on_output: Callable[[bytes], None],
        on_eof: Callable[[], None],
    ) -> PtyProcess:
        """Open a PTY `cols` wide and `rows` high and have the supervisor start `spec` on it."""
        master, slave = os.openpty()
        try:
            termios.tcsetwinsize(slave, (rows, cols))
            child = await supervisor.start(dataclasses.replace(spec, tty=slave))
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        return cls(child, master, on_output, on_eof)

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

    @property
    def returncode(self) -> int | None:
        return self.child.exited.result() if self.child.exited.done() else None

    async def wait(self) -> int:
        return await asyncio.shield(self.child.exited)

    async def close(self, grace: float = 1.0) -> None:
        """End the whole session (SIGHUP, SIGTERM, SIGKILL, `grace` seconds apart), reap
        it, release the PTY."""
        try:
            await self.child.stop(grace, signals=HANG_UP)
        finally:
            self._release()

    def _release(self) -> None:
        self.pause_reading()
        if self._writing:
            self._loop.remove_writer(self._master)
            self._writing = False
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
