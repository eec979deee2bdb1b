"""Shared terminals: real PTYs in the workspace folder, streamed over Socket.IO.

`_pty.py` is one process on a PTY (started and stopped by the supervisor, inside the
workspace sandbox), `terminal.py` one shared terminal (scrollback, clients, flow control),
`manager.py` all terminals of this node (caps, idle culling, shutdown), `socketio.py` the
`terminal:*` events, `runners.py` and `commands.py` the `terminal.new`, `file.run` and
`test.run` commands, `feature.py` how they plug into the server.
"""

from server.terminals.manager import TerminalManager

__all__ = ["TerminalManager"]
