"""Retrieved code as a model reads it: each chunk under a `path:start-end` header (the
form answers cite, and the chat panel turns into links), within a token budget."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

from server.ai.messages import estimate_tokens
from server.index._search import SearchHit

HEADER = "Code from this workspace that may be relevant (cite it as path:start-end):"


def format_for_prompt(hits: Sequence[SearchHit], token_budget: int) -> str:
    """As many hits as fit in `token_budget`, best first; a hit that does not fit whole
    is cut at a line boundary when it is the first, skipped otherwise (a smaller one
    further down may still fit). Empty when nothing fits."""
    if token_budget <= 0 or not hits:
        return ""
    parts = [HEADER]
    used = estimate_tokens(HEADER) + 1
    for hit in hits:
        block = _block(hit, hit.snippet, hit.end_line)
        cost = estimate_tokens(block) + 1
        if used + cost > token_budget and len(parts) == 1:
            block = _cut_to_fit(hit, token_budget - used - 1)
            cost = estimate_tokens(block) + 1 if block else 0
        if not block or used + cost > token_budget:
            continue
        parts.append(block)
        used += cost
    return "\n\n".join(parts) if len(parts) > 1 else ""


def _block(hit: SearchHit, body: str, end_line: int) -> str:
    fence = PurePosixPath(hit.path).suffix.lstrip(".")
    return f"{hit.path}:{hit.start_line}-{end_line}\n```{fence}\n{body}\n```"


def _cut_to_fit(hit: SearchHit, budget: int) -> str:
    lines = hit.snippet.split("\n")
    while lines:
        lines.pop()
        block = _block(hit, "\n".join([*lines, "…"]), hit.start_line + len(lines) - 1)
        if lines and estimate_tokens(block) <= budget:
            return block
    return ""
