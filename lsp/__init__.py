"""Language intelligence: language servers shared by every collaborator of a workspace,
bridged to browsers (Socket.IO), stock LSP clients (WebSocket) and commands.

Modules: `registry` (which servers), `upstream` (one server process), `bridge` (one
workspace and language), `manager` (all bridges), `websocket` / `socketio` / `commands`
(the ways in), `text` and `edits` (positions and edits), `merge` (several servers' answers).
"""
