"""The longest literal that every match of a regular expression contains.

Search uses it to skip a file with one bytes scan (`needle in data`) before decoding it and
running the pattern, as ripgrep does with the literals it extracts; most files of a
workspace fail that scan.

The pattern is read with the standard library's parser (`re._parser`), which reads the
common syntax as the `regex` module does; a pattern it cannot parse gets no literal, and
nothing is lost but speed. Where the two could read a pattern differently (`regex`'s POSIX
classes `[[:alpha:]]` and fuzzy counts `{e<=1}`: any `[:`, `[=`, `[.`, or `{` that is not
a counted repeat), no literal is taken either. Ignoring case, the literal is compared with
ASCII-lowered bytes, so it also ends at non-ASCII characters and at the letters with
non-ASCII case partners (`i`, `k`, `s`: U+0130, U+0131, U+212A, U+017F).
"""

from __future__ import annotations

import re
from re import _constants as sre_constants  # type: ignore[attr-defined]  # Python 3.11+
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any

UNICODE_CASE_PARTNERS = frozenset("iksIKS")
_AMBIGUOUS = frozenset("\ufffd")
_COUNTED_REPEAT = re.compile(r"\{\d*,?\d*\}")
_REGEX_ONLY = re.compile(r"\{|\[[:=.]")


def has_unicode_case_partners(text: str) -> bool:
    """Whether ASCII-only case folding could miss a case-insensitive match of `text`."""
    return not text.isascii() or not UNICODE_CASE_PARTNERS.isdisjoint(text)


def required_literal(pattern: str, *, ignore_case: bool) -> tuple[bytes, bool] | None:
    """(UTF-8 bytes every match contains, whether they are lowered and so must be looked
    for in lowered bytes), or None. An inline `(?i)` counts as ignoring case."""
    if _REGEX_ONLY.search(_COUNTED_REPEAT.sub("", pattern)):
        return None  # a POSIX class or a fuzzy count: the stdlib would misread it
    try:
        parsed = sre_parser.parse(pattern, re.IGNORECASE if ignore_case else 0)
    except Exception:  # any pattern the stdlib does not read: no literal
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
    if char in _AMBIGUOUS or 0xD800 <= ord(char) < 0xE000:
        return False
    return not (ignore_case and has_unicode_case_partners(char))
