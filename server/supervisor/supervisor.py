"""The one owner of workspace processes: terminals, run and test commands, language
servers, debug adapters and (later) plugin hosts are all started here.

Each starts in its own session and process group, inside the workspace's sandbox, with an
allow-listed environment and resource limits, its stderr in the log under its name. The
supervisor knows every child, so a server shutdown stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from server import metrics
from server.supervisor._environment import workspace_environment
from server.supervisor._limits import Limits, ProcessGroups, child_setup
from server.supervisor.child import Child, ProcessSpec
from server.supervisor.sandbox import Sandbox

log = logging.getLogger("nexus.supervisor")


class Supervisor:
    def __init__(
        self,
        sandbox: Sandbox,
        max_processes: int = 512,
        memory_mb: int = 0,
        network: bool = True,
    ) -> None:
        self.sandbox = sandbox
        self.network = network
        self.max_processes = max_processes
        self.memory_mb = memory_mb
        self.children: set[Child] = set()
        self._groups = ProcessGroups()
        self._tool_bin = Path(sys.executable).parent

    def defaults(self) -> Limits:
        """The limits every workspace process gets unless its caller asks otherwise."""
        return Limits(memory_mb=self.memory_mb, processes=self.max_processes, open_files=4096)

    def environment(self, spec: ProcessSpec) -> dict[str, str]:
        home = Path(self.sandbox.home_path(spec.workspace_id))
        return workspace_environment(spec.workspace, home, self._tool_bin, spec.env)

    def which(self, program: str, workspace: Path) -> str | None:
        """`program` (a name on the workspace processes' `PATH`, or a path) as they would
        run it, or None when it is not there inside the sandbox of `workspace`."""
        search = workspace_environment(workspace, workspace, self._tool_bin, {})["PATH"]
        found = shutil.which(program, path=search)
        if found is None:
            return None
        mine = os.path.realpath(found).startswith(os.path.realpath(workspace) + os.sep)
        return found if mine or self.sandbox.shows(found) else None

    async def start(self, spec: ProcessSpec) -> Child:
        """Start `spec`; raises `OSError` (e.g. `FileNotFoundError`) when it cannot run."""
        home = self.sandbox.home_of(spec.workspace_id)
        argv = self.sandbox.wrap(
            list(spec.argv), spec.workspace, network=spec.network and self.network, home=home
        )
        cgroup = self._groups.for_workspace(spec.workspace_id, spec.limits.processes)
        tty_name = os.ttyname(spec.tty) if spec.tty is not None else None
        prepare = child_setup(spec.limits, cgroup, tty_name, new_session=True)
        env = self.environment(spec)
        return await self._spawn(spec, argv, env, str(spec.cwd or spec.workspace), prepare)

    async def start_own(self, spec: ProcessSpec) -> Child:
        """A process of the server's own, not a workspace's (the webhook courier): it runs
        outside the sandbox, in `spec.cwd`, with `spec.env` alone — none of the server's
        settings or secrets — and is stopped with the rest at shutdown."""
        prepare = child_setup(spec.limits, None, None, new_session=True)
        cwd = str(spec.cwd or spec.workspace)
        return await self._spawn(spec, list(spec.argv), dict(spec.env), cwd, prepare)

    async def _spawn(
        self,
        spec: ProcessSpec,
        argv: list[str],
        env: dict[str, str],
        cwd: str,
        prepare: Callable[[], None],
    ) -> Child:
        pipe = asyncio.subprocess.PIPE
        stdin, stdout, stderr = (spec.tty,) * 3 if spec.tty is not None else (pipe,) * 3
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env=env,
                preexec_fn=prepare,
                limit=16 * 1024 * 1024,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
            )
        except OSError:
            metrics.PROCESS_STARTS.labels(spec.kind, "failed").inc()
            raise
        except subprocess.SubprocessError as exc:  # the child's setup failed before exec
            metrics.PROCESS_STARTS.labels(spec.kind, "failed").inc()
            raise OSError(f"{spec.name} could not start: {exc}") from exc
        metrics.PROCESS_STARTS.labels(spec.kind, "ok").inc()
        metrics.PROCESSES_RUNNING.labels(spec.kind).inc()
        child = Child(spec, process)
        self.children.add(child)
        child.exited.add_done_callback(lambda _: self.children.discard(child))
        log.debug("started %s (pid %s): %s", spec.name, child.pid, " ".join(spec.argv))
        return child

    async def shutdown(self, grace: float = 1.0) -> None:
        """Stop every child still running (owners stop their own first, politely)."""
        children = list(self.children)
        if children:
            await asyncio.gather(
                *(c.stop(grace, signals=(signal.SIGHUP, signal.SIGTERM)) for c in children),
                return_exceptions=True,
            )
        with contextlib.suppress(OSError):
            self._groups.remove_empty()
