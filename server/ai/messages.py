"""The gateway's own conversation and stream types; each provider translates them to
and from its SDK's wire format, so chat, tools and completion never see an SDK type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolResult:
    call_id: str
    content: str
    is_error: bool = False


@dataclass(slots=True)
class Turn:
    """One conversation turn: user text, an assistant answer (perhaps with tool calls),
    or the results of those tool calls."""

    role: str  # "user", "assistant" or "tool"
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_results: list[ToolResult] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object


@dataclass(slots=True)
class ChatRequest:
    system: str
    turns: list[Turn]
    tools: list[ToolSpec] = field(default_factory=list)
    max_tokens: int = 1024


@dataclass(frozen=True, slots=True)
class FimRequest:
    prefix: str
    suffix: str
    max_tokens: int


# -- what a provider's stream yields ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Token counts as the provider reported them so far (cumulative; None: not told)."""

    input_tokens: int | None = None
    output_tokens: int | None = None


StreamEvent = TextDelta | ToolCall | UsageReport


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (about four characters a token) for budgets and for
    answers cut short before the provider reported its usage."""
    return tokens_for_chars(len(text))


def tokens_for_chars(chars: int) -> int:
    return (chars + 3) // 4
