"""Webhook attempts made by a process of their own, so they never take the CPU that
relays people's edits.

Why a process: an attempt costs about 0.3 ms of CPU (signing, the request, reading the
answer) and an event with 50 subscribers makes 50 at once. Made on the event loop that
relays keystrokes, those bursts added 7 ms and more to the edit fan-out's p99. The
courier (`extensions.courier_process`) runs at a lower priority (nice 10): where the
server's core is busy the kernel runs the server first; where there is a spare core it
runs alongside. What stays here is the bookkeeping (the outbox, retries) and a line of
JSON per attempt each way, written and read in batches.

The courier is started on the first attempt (most servers never send one), by the
supervisor, outside any sandbox, with no environment beyond what Python needs (the
secrets it signs with come with each attempt). Should it die, the attempts it held come
back as failed ("the webhook courier stopped") and are retried on the schedule; it is
started again with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from extensions.outbox import Job, Result
from server.supervisor import Child, CrashLoop, Limits, ProcessSpec, Supervisor

log = logging.getLogger("nexus.extensions")

Settle = Callable[[Job, Result, float | None], Awaitable[None]]
ROOT = Path(__file__).resolve().parent.parent
NICE = 10
GIVE_UP_DELAY = 30.0  # between starts once it keeps crashing
YIELD_EVERY = 8  # results settled before the loop gets a turn
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "SSL_CERT_FILE", "SSL_CERT_DIR")


class Courier:
    def __init__(
        self,
        supervisor: Supervisor,
        *,
        allowed_hosts: Sequence[str],
        timeout: float,
        concurrency: int,
    ) -> None:
        self.supervisor = supervisor
        self.config = {
            "allowed_hosts": list(allowed_hosts),
            "timeout": timeout,
            "concurrency": concurrency,
        }
        self._settle: Settle | None = None
        self._child: Child | None = None
        self._task: asyncio.Task[None] | None = None
        # handed to the courier, or about to be (a redelivery may repeat an id in flight)
        self._inflight: dict[str, list[Job]] = {}
        self._outgoing: dict[str, list[list[Any]]] = {}  # body → its jobs, not yet written
        self._flush_due = False
        self._restarts = CrashLoop("webhook_courier")
        self._closing = False

    def start(self, settle: Settle) -> None:
        """`settle` gets each attempt's result (in the order they come back)."""
        self._settle = settle

    def send(self, job: Job, url: str, secrets: list[str]) -> None:
        """Attempt `job` to `url`, signed with `secrets`; its result goes to `settle`."""
        self._inflight.setdefault(job.id, []).append(job)
        self._outgoing.setdefault(job.payload, []).append([job.id, url, secrets])
        if not self._flush_due:  # one write for all sent in this turn of the loop
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._flush)
        if self._task is None and not self._closing:
            self._task = asyncio.create_task(self._run(), name="webhooks:courier")

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._child is not None:
            await self._child.stop(grace=1.0)

    def _flush(self) -> None:
        self._flush_due = False
        child = self._child
        if child is None or not child.alive or not self._outgoing:
            return  # written when the courier is (again) running
        lines = [
            json.dumps({"body": body, "jobs": jobs}, separators=(",", ":")).encode() + b"\n"
            for body, jobs in self._outgoing.items()
        ]
        self._outgoing.clear()
        child.stdin.write(b"".join(lines))

    async def _run(self) -> None:
        """Keep a courier running while there is work: start it, read its results, and
        when it dies, fail what it held and start another after a pause."""
        while not self._closing:
            try:
                self._child = await self.supervisor.start_own(self._spec())
            except OSError:
                log.exception("the webhook courier could not start")
                await asyncio.sleep(self._restarts.crashed() or GIVE_UP_DELAY)
                continue
            self._flush()
            await self._read(self._child)
            code = await self._child.exited
            if self._closing:
                return
            log.error("the webhook courier stopped (exit %s); starting another", code)
            await self._fail_held(f"the webhook courier stopped (exit {code})")
            await asyncio.sleep(self._restarts.crashed() or GIVE_UP_DELAY)

    async def _read(self, child: Child) -> None:
        settle = self._settle
        assert settle is not None, "start() first"
        lasted, count = False, 0
        while line := await child.stdout.readline():
            count += 1
            if count % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # an event's results come together: let edits by
            message_id, status, latency, excerpt, error, wait = json.loads(line)
            jobs = self._inflight.get(message_id)
            if not jobs:
                continue
            job = jobs.pop(0)
            if not jobs:
                del self._inflight[message_id]
            if not lasted:
                self._restarts.started()
                lasted = True
            try:
                await settle(job, Result(status, latency, excerpt, error), wait)
            except Exception:  # its claim runs out; the poller tries it again
                log.exception("settling webhook delivery %s failed", job.id)

    async def _fail_held(self, reason: str) -> None:
        """Attempts the dead courier had were not made, as far as we know: failed."""
        waiting = {job[0] for jobs in self._outgoing.values() for job in jobs}
        lost = [job_id for job_id in self._inflight if job_id not in waiting]
        assert self._settle is not None
        for job_id in lost:
            for job in self._inflight.pop(job_id):
                await self._settle(job, Result(None, 0.0, None, reason), None)

    def _spec(self) -> ProcessSpec:
        env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
        return ProcessSpec(
            kind="webhook_courier",
            name="webhook courier",
            argv=[sys.executable, "-m", "extensions.courier_process", json.dumps(self.config)],
            workspace_id="",
            workspace=ROOT,
            env=env,
            limits=Limits(open_files=4096, nice=NICE),
        )
