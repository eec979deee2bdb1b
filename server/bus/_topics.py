"""Topic patterns: dot-separated segments, `*` for one segment, a final `#` for the rest.

`workspace.*.presence` matches `workspace.ab12.presence`; `workspace.#` matches
`workspace`, `workspace.ab12` and anything below.
"""

from __future__ import annotations

import re
from functools import lru_cache


def validate_topic(topic: str) -> str:
    if not topic or any(not part for part in topic.split(".")):
        raise ValueError(f"bad topic {topic!r}: empty segment")
    if "*" in topic or "#" in topic:
        raise ValueError(f"bad topic {topic!r}: wildcards are for subscriptions")
    return topic


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    parts = pattern.split(".")
    if any(not part for part in parts):
        raise ValueError(f"bad pattern {pattern!r}: empty segment")
    if "#" in parts[:-1]:
        raise ValueError(f"bad pattern {pattern!r}: '#' may only end a pattern")
    regex = ""
    for index, part in enumerate(parts):
        sep = r"\." if index else ""
        if part == "#":
            regex += rf"(?:{sep}[^.]+)*" if index else r"(?:[^.]+(?:\.[^.]+)*)?"
        elif part == "*":
            regex += rf"{sep}[^.]+"
        else:
            regex += sep + re.escape(part)
    return re.compile(regex + r"\Z")


def matches(pattern: str, topic: str) -> bool:
    return compile_pattern(pattern).match(topic) is not None
