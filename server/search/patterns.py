"""What search reads from a regular expression before running it: whether it is small
enough to compile, and the longest literal that every match contains.

Size: the `regex` module unrolls counted repeats when it compiles (`(?:a{1000}){1000}`
takes seconds, `a{1000000000}` exhausts memory and takes the server down), so repeat
counts above 1,000, and patterns whose counted repeats unroll past 20,000 items, are
refused before compiling.

Literal: search uses it to skip a file with one bytes scan (`needle in data`) before
decoding it and running the pattern, as ripgrep does with the literals it extracts; most
files of a workspace fail that scan.

Both read the pattern with the standard library's parser (`re._parser`), which reads the
common syntax as `regex` does. A pattern it cannot read, or might read differently
(`regex`'s POSIX classes `[[:alpha:]]`, fuzzy counts `{e<=1}`, nested sets), gets no
literal (nothing is lost but speed) and a size estimate that assumes every count nests.
Ignoring case, the literal is compared with ASCII-lowered bytes, so it also ends at
non-ASCII characters and at the letters with non-ASCII case partners (`i`, `k`, `s`:
U+0130, U+0131, U+212A, U+017F).
"""

from __future__ import annotations

import re
from re import _constants as sre_constants  # type: ignore[attr-defined]  # Python 3.11+
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any

MAX_REPEAT_COUNT = 1000
MAX_EXPANDED_SIZE = 20_000
UNICODE_CASE_PARTNERS = frozenset("iksIKS")

_REPEAT_COUNTS = re.compile(r"\{\s*(\d*)\s*(?:,\s*(\d*)\s*)?\}")
_COUNTED_REPEAT = re.compile(r"\{\d*,?\d*\}")
# POSIX classes, fuzzy counts (any `{` left once counted repeats are gone), nested sets
# and set operations: read otherwise by `regex`, or warned about by the stdlib parser.
_NOT_STDLIB = re.compile(r"\{|\[[:=.]|\[\^?\[|--|&&|~~|\|\|")
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)


def _parse(pattern: str, flags: int = 0) -> Any:
    """The stdlib's parse tree of `pattern`, or None where it may differ from `regex`'s."""
    if _NOT_STDLIB.search(_COUNTED_REPEAT.sub("", pattern)):
        return None
    try:
        return sre_parser.parse(pattern, flags)
    except Exception:  # syntax only `regex` reads, or an error `regex` will report
        return None


def check_size(pattern: str) -> None:
    """Raise ValueError for a pattern that would be too costly to compile."""
    counts = [int(n) for found in _REPEAT_COUNTS.finditer(pattern) for n in found.groups() if n]
    if any(count > MAX_REPEAT_COUNT for count in counts):
        raise ValueError(f"repeat counts above {MAX_REPEAT_COUNT} are not supported")
    parsed = _parse(pattern)
    if parsed is not None:
        size = _expanded_size(parsed)
    else:  # assume the counts all nest
        size = 1
        for count in counts:
            size *= max(count, 1)
    if size > MAX_EXPANDED_SIZE:
        raise ValueError(f"its counted repeats unroll past {MAX_EXPANDED_SIZE} items")


def _expanded_size(items: Any) -> int:
    """About how many items compiling `items` makes, with counted repeats unrolled."""
    size = 0
    for op, value in items:
        if op in _REPEATS:
            size += max(value[0], 1) * _expanded_size(value[2])
        elif op is sre_constants.SUBPATTERN:
            size += _expanded_size(value[3])
        elif op is sre_constants.BRANCH:
            size += sum(_expanded_size(branch) for branch in value[1])
        elif op is sre_constants.ASSERT or op is sre_constants.ASSERT_NOT:
            size += _expanded_size(value[1])
        elif op is sre_constants.ATOMIC_GROUP:
            size += _expanded_size(value)
        else:
            size += 1
    return size


def has_unicode_case_partners(text: str) -> bool:
    """Whether ASCII-only case folding could miss a case-insensitive match of `text`."""
    return not text.isascii() or not UNICODE_CASE_PARTNERS.isdisjoint(text)


def required_literal(pattern: str, *, ignore_case: bool) -> tuple[bytes, bool] | None:
    """(UTF-8 bytes every match contains, whether they are lowered and so must be looked
    for in lowered bytes), or None. An inline `(?i)` counts as ignoring case."""
    parsed = _parse(pattern, re.IGNORECASE if ignore_case else 0)
    if parsed is None:
        return None
    ignore_case = ignore_case or bool(parsed.state.flags & re.IGNORECASE)
    runs: list[str] = []
    current: list[str] = []

    def end_run() -> None:
        if current:
            runs.append("".join(current))
            current.clear()

    def visit(items: Any) -> None:
        for op, value in items:
            if op is sre_constants.LITERAL and _usable(chr(value), ignore_case):
                current.append(chr(value))
            elif op is sre_constants.SUBPATTERN and not value[1] and not value[2]:
                visit(value[3])  # a plain group: its content is part of the sequence
            else:
                end_run()

    visit(parsed)
    end_run()
    if not runs:
        return None
    literal = max(runs, key=len)
    return (literal.lower().encode(), True) if ignore_case else (literal.encode(), False)


def _usable(char: str, ignore_case: bool) -> bool:
    if char == "\ufffd" or 0xD800 <= ord(char) < 0xE000:  # not in the raw bytes as such
        return False
    return not (ignore_case and has_unicode_case_partners(char))
