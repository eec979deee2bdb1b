"""The ConsciousnessCore (dispatcher), the command registry, and what a feature is."""

from server.core.commands import (
    Command,
    CommandContext,
    CommandInfo,
    CommandRegistry,
    NoArgs,
    PathArgs,
    describe_validation_error,
)
from server.core.dispatch import CommandExecuted, CommandIntent, ConsciousnessCore, Intent
from server.core.feature import Commands, Feature, load_features, order_features

__all__ = [
    "Command",
    "CommandContext",
    "CommandExecuted",
    "CommandInfo",
    "CommandIntent",
    "CommandRegistry",
    "Commands",
    "ConsciousnessCore",
    "Feature",
    "Intent",
    "NoArgs",
    "PathArgs",
    "describe_validation_error",
    "load_features",
    "order_features",
]
