"""Chunks by indentation, for files no grammar reads and for the lines between
definitions (imports, constants, module-level code).

A block starts at a line with no indentation after a blank line, which is where most
languages, configuration files and prose start a new unit; small neighbours are merged
and long runs are cut, so every chunk is a readable size.
"""

from __future__ import annotations

import re

TARGET_LINES = 40  # merge neighbouring blocks up to about this many lines
MAX_LINES = 80  # never make a block longer than this

_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]*")
_LEAD_WORDS = frozenset(
    {"def", "class", "function", "func", "fn", "pub", "export", "const", "let", "var", "async"}
)


def blocks(lines: list[str], first: int, last: int) -> list[tuple[int, int]]:
    """Line spans (1-based, inclusive) covering the non-blank lines of `first..last`."""
    starts: list[int] = []
    previous_blank = True
    for number in range(first, last + 1):
        line = lines[number - 1]
        blank = not line.strip()
        if not blank and ((previous_blank and not line[:1].isspace()) or not starts):
            starts.append(number)
        previous_blank = blank
    spans: list[tuple[int, int]] = []
    for index, start in enumerate(starts):
        end = starts[index + 1] - 1 if index + 1 < len(starts) else last
        spans.extend(_cut(start, end))
    return _merge([_trim(lines, s, e) for s, e in spans])


def _cut(start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    while end - start + 1 > MAX_LINES:
        spans.append((start, start + MAX_LINES - 1))
        start += MAX_LINES
    spans.append((start, end))
    return spans


def _trim(lines: list[str], start: int, end: int) -> tuple[int, int]:
    while end > start and not lines[end - 1].strip():
        end -= 1
    while start < end and not lines[start - 1].strip():
        start += 1
    return start, end


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and end - merged[-1][0] + 1 <= TARGET_LINES:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def label(line: str) -> str:
    """A name for a block: the first word that is not a keyword or markup."""
    for word in _LABEL.findall(line):
        if word not in _LEAD_WORDS:
            return word[:80]
    return ""
