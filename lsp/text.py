"""LSP positions over Python strings, and edits as LSP sees them.

LSP counts characters in UTF-16 code units (the default `positionEncoding`, the one
browser editors use); Python counts code points. The bridge speaks UTF-16 to clients and
servers alike, so positions pass through untouched and only the bridge's own work
(incremental `didChange`, applying workspace edits, checking positions) converts, here.
"""

from __future__ import annotations

from typing import Any


class PositionError(ValueError):
    """A position outside the document."""


def _units(text: str) -> int:
    """UTF-16 length of `text`."""
    return len(text.encode("utf-16-le")) // 2


class Lines:
    """Line starts of one text, for turning LSP positions into offsets and back."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        index = text.find("\n")
        while index != -1:
            self.starts.append(index + 1)
            index = text.find("\n", index + 1)

    def line(self, number: int) -> str:
        start = self.starts[number]
        end = self.starts[number + 1] - 1 if number + 1 < len(self.starts) else len(self.text)
        return self.text[start:end]

    def offset(self, position: dict[str, Any]) -> int:
        """The code-point offset of an LSP position; `PositionError` when outside."""
        try:
            line, character = int(position["line"]), int(position["character"])
        except (KeyError, TypeError, ValueError):
            raise PositionError("a position needs integer line and character") from None
        if line < 0 or character < 0 or line >= len(self.starts):
            raise PositionError(f"line {line} is outside the document ({len(self.starts)} lines)")
        text = self.line(line)
        if text.isascii():
            if character > len(text):
                raise PositionError(f"character {character} is past the end of line {line}")
            return self.starts[line] + character
        units = 0
        for index, char in enumerate(text):
            if units >= character:
                return self.starts[line] + index
            units += 2 if ord(char) > 0xFFFF else 1
        if units < character:
            raise PositionError(f"character {character} is past the end of line {line}")
        return self.starts[line] + len(text)

    def position(self, offset: int) -> dict[str, int]:
        """The LSP position of a code-point offset."""
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return {"line": lo, "character": _units(self.text[self.starts[lo] : offset])}


def _common(limit: int, same: Any) -> int:
    """The largest k <= limit with same(k), by bisection (slices compare in C)."""
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if same(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def change_between(old: str, new: str) -> dict[str, Any] | None:
    """One incremental `TextDocumentContentChangeEvent` turning `old` into `new`
    (the changed middle between their common prefix and suffix), or None."""
    if old == new:
        return None
    limit = min(len(old), len(new))
    start = _common(limit, lambda k: old[:k] == new[:k])
    tail = _common(limit - start, lambda k: old[len(old) - k :] == new[len(new) - k :])
    end_old, end_new = len(old) - tail, len(new) - tail
    lines = Lines(old)
    return {
        "range": {"start": lines.position(start), "end": lines.position(end_old)},
        "text": new[start:end_new],
    }


def apply_edits(text: str, edits: list[dict[str, Any]]) -> str:
    """Apply LSP `TextEdit`s (all relative to `text`) and return the new text."""
    lines = Lines(text)
    spans = []
    for edit in edits:
        start = lines.offset(edit["range"]["start"])
        end = lines.offset(edit["range"]["end"])
        if end < start:
            raise PositionError("an edit ends before it starts")
        spans.append((start, end, str(edit.get("newText", ""))))
    spans.sort(key=lambda span: (span[0], span[1]))
    out, cursor = [], 0
    for start, end, new in spans:
        if start < cursor:
            raise PositionError("edits overlap")
        out.append(text[cursor:start])
        out.append(new)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)
