"""The model gateway and the AI half of the ConsciousnessCore: providers, routing,
accounting, chat, context, tools, proposals, inline completion, learning, redaction."""

from server.ai.service import AiService

__all__ = ["AiService"]
