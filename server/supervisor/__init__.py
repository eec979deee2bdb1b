"""Workspace processes: one supervisor starts them all, each inside the workspace sandbox."""

from server.supervisor._limits import Limits
from server.supervisor.child import Child, ProcessSpec
from server.supervisor.restarts import CrashLoop
from server.supervisor.sandbox import Sandbox, SandboxMode, SandboxUnavailable
from server.supervisor.supervisor import Supervisor

__all__ = [
    "Child",
    "CrashLoop",
    "Limits",
    "ProcessSpec",
    "Sandbox",
    "SandboxMode",
    "SandboxUnavailable",
    "Supervisor",
]
