"""The ConsciousnessCore and the command registry it dispatches to."""

from server.core.commands import (
    Command,
    CommandContext,
    CommandInfo,
    CommandRegistry,
    NoArgs,
    describe_validation_error,
)
from server.core.consciousness import CommandExecuted, CommandIntent, ConsciousnessCore, Intent

__all__ = [
    "Command",
    "CommandContext",
    "CommandExecuted",
    "CommandInfo",
    "CommandIntent",
    "CommandRegistry",
    "ConsciousnessCore",
    "Intent",
    "NoArgs",
    "describe_validation_error",
]
