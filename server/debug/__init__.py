"""The debugger bridge: Python programs run under debugpy, shared by a workspace's
collaborators.

`_dap.py` speaks the Debug Adapter Protocol to the adapter process, `session.py` is one
debugged program and its state, `breakpoints.py` the workspace's breakpoints (in the
database), `manager.py` all sessions of this node (one per workspace, caps, idle culling,
shutdown), `commands.py` the `debug.*` commands, `socketio.py` state and output as
`debug:state` and `debug:output` (and the live state in the `workspace:join` ack),
`feature.py` how they plug into the server.
"""

from server.debug._dap import DapClient
from server.debug.breakpoints import BreakpointStore
from server.debug.manager import DebugChanged, DebugOutput, DebugSessions
from server.debug.session import DebugState, DebugStatus

__all__ = [
    "BreakpointStore",
    "DapClient",
    "DebugChanged",
    "DebugOutput",
    "DebugSessions",
    "DebugState",
    "DebugStatus",
]
