"""Editor actions that run in the browser (`editor.*` commands delivered to the
caller's editor sessions)."""

from server.editor.commands import EDITOR_ACTIONS, EditorCommandResult

__all__ = ["EDITOR_ACTIONS", "EditorCommandResult"]
