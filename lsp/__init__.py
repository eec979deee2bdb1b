"""Language intelligence: language servers shared by every collaborator of a workspace,
bridged to browsers (Socket.IO), stock LSP clients (WebSocket) and commands.

Modules: `registry` (which servers), `upstream` (one server process), `bridge` (one
workspace and language, built from `_servers`, `_documents` and `_routing`), `manager`
(all bridges), `websocket` / `socketio` / `commands` (the ways in), `feature` (how they
plug into the server), `text` and `edits` (positions and edits), `merge` (several
servers' answers).
"""
