"""Text search across a workspace's files, as an editor's search panel does it.

Literal or regular-expression queries, case and whole-word options, include and exclude
globs (gitignore style), the workspace's ignore rules, bounded in results and in time.

How it stays fast: files are read as bytes; a literal query is found with `bytes.find`
over the whole file (case-insensitive ASCII queries over the lowered bytes, which keeps
offsets), so a file without the query costs one read and one scan, and only lines that
match are decoded. Regular expressions, whole-word and non-ASCII case-insensitive queries
run the `regex` module over the decoded file: it has Unicode `\\w` and case folding, a
`timeout` that stops catastrophic backtracking at the time budget, and releases the GIL
while it matches, so a search thread never stalls the event loop. A literal query, even
there, first has to appear in the raw bytes before a file is decoded.

Positions are what Monaco and VS Code use: `line` is 1-based, `column` is 1-based and
counted in UTF-16 code units, `length` is in UTF-16 code units, and `preview_start` is the
0-based UTF-16 offset of the match inside `preview`. A match is reported on the line where
it starts; a regex match that runs past the end of its line is cut there; empty matches
are skipped.

Live documents: `search_workspace` first writes every open collaborative document of the
workspace to disk (`Rooms.flush`), so what collaborators just typed is found.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import regex
from pathspec import GitIgnoreSpec
from pydantic import BaseModel, ConfigDict, Field, field_validator

from server import metrics
from server.errors import InvalidInput
from server.folders.ignore import IgnoreRules
from server.models import Workspace
from server.search.patterns import check_size, has_unicode_case_partners, required_literal

if TYPE_CHECKING:
    from server.collab import Rooms

log = logging.getLogger("nexus.search")

DEFAULT_MAX_RESULTS = 2_000
MAX_RESULTS_CAP = 20_000
TIME_BUDGET_S = 5.0
MAX_FILE_BYTES = 5 * 1024 * 1024
BINARY_SNIFF_BYTES = 8192
PREVIEW_CHARS = 200
PREVIEW_BEFORE = 40  # characters kept before the match when a long line is cut
MAX_QUERY_CHARS = 1000
MAX_GLOBS = 100


class SearchArgs(BaseModel):
    """A search, as the search panel asks for it. `include` and `exclude` take a list of
    gitignore-style globs (`*.py`, `src/`, `docs/**/*.md`) or one comma-separated string."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    is_regex: bool = False
    case_sensitive: bool = False
    whole_word: bool = False
    include: list[str] = Field(default_factory=list, max_length=MAX_GLOBS)
    exclude: list[str] = Field(default_factory=list, max_length=MAX_GLOBS)
    max_results: int = Field(DEFAULT_MAX_RESULTS, ge=1, le=MAX_RESULTS_CAP)

    @field_validator("include", "exclude", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class TextMatch(BaseModel):
    path: str = Field(description="Workspace-relative, '/' separators.")
    line: int = Field(description="1-based.")
    column: int = Field(description="1-based, in UTF-16 code units (as Monaco counts).")
    length: int = Field(description="In UTF-16 code units, cut at the end of the line.")
    preview: str = Field(description="The line, cut to about 200 characters around the match.")
    preview_start: int = Field(description="0-based UTF-16 offset of the match in `preview`.")


class SearchResult(BaseModel):
    results: list[TextMatch]
    files_searched: int
    truncated: bool = False
    reason: str | None = Field(None, description="`max_results` or `time_budget` when cut short.")
    elapsed_ms: float


# -- matching -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Matcher:
    """How one query is matched: bytes needle (`find`) or compiled pattern (`regex`)."""

    needle: bytes | None  # must occur in the file (lowered when `fold`); None: no prefilter
    fold: bool  # compare lowered ASCII bytes
    pattern: regex.Pattern[str] | None  # None: the needle alone finds the matches
    needle_chars: int  # length of the literal in code points (bytes engine)


def compile_matcher(args: SearchArgs) -> _Matcher:
    """Turn the options into a matcher; a bad regular expression is an InvalidInput."""
    query, fold = args.query, not args.case_sensitive
    plain = not args.is_regex and not args.whole_word
    if plain and not (fold and has_unicode_case_partners(query)):
        # Bytes compare exactly, or under ASCII case folding where it is the whole story.
        needle = query.encode().lower() if fold else query.encode()
        return _Matcher(needle, fold, None, len(query))
    source = query if args.is_regex else regex.escape(query)
    if args.whole_word:
        source = rf"(?<!\w)(?:{source})(?!\w)"
    flags = regex.MULTILINE | (regex.IGNORECASE if fold else 0)
    try:
        check_size(source)
        pattern = regex.compile(source, flags)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        raise InvalidInput(f"query: invalid regular expression: {exc}") from None
    literal = required_literal(query if args.is_regex else re.escape(query), ignore_case=fold)
    if literal is None:
        return _Matcher(None, False, pattern, len(query))
    return _Matcher(literal[0], literal[1], pattern, len(query))


def _utf16_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _text_match(path: str, line_no: int, line: str, start: int, end: int) -> TextMatch:
    """A match at code points [start, end) of `line`, positions in UTF-16 units."""
    line = line.rstrip("\r")
    end = min(end, len(line))
    if len(line) <= PREVIEW_CHARS:
        cut = 0
        preview = line
    else:
        cut = max(0, min(start - PREVIEW_BEFORE, len(line) - PREVIEW_CHARS))
        preview = line[cut : cut + PREVIEW_CHARS]
    if line.isascii():
        column, length, preview_start = start + 1, end - start, start - cut
    else:
        column = _utf16_len(line[:start]) + 1
        length = _utf16_len(line[start:end])
        preview_start = _utf16_len(line[cut:start])
    return TextMatch(
        path=path,
        line=line_no,
        column=column,
        length=length,
        preview=preview,
        preview_start=preview_start,
    )


class _LineCursor:
    """Line numbers and line text for increasing offsets into one file, counted once."""

    def __init__(self, data: Any, newline: Any) -> None:
        self.data = data
        self.newline = newline
        self.line_no = 1
        self.counted_to = 0
        self.line_start = 0
        self.line_end = -1

    def locate(self, offset: int) -> bool:
        """Move to the line holding `offset`; True when it is a new line."""
        if offset <= self.line_end:
            return False
        self.line_no += self.data.count(self.newline, self.counted_to, offset)
        self.counted_to = offset
        self.line_start = self.data.rfind(self.newline, 0, offset) + 1
        end = self.data.find(self.newline, offset)
        self.line_end = len(self.data) if end < 0 else end
        return True


class _Search:
    """One search over one workspace folder; run in a worker thread."""

    def __init__(self, root: Path, args: SearchArgs, matcher: _Matcher, deadline: float) -> None:
        self.root = root
        self.args = args
        self.matcher = matcher
        self.deadline = deadline
        self.include = GitIgnoreSpec.from_lines(args.include) if args.include else None
        self.exclude = GitIgnoreSpec.from_lines(args.exclude) if args.exclude else None
        self.results: list[TextMatch] = []
        self.files_searched = 0
        self.reason: str | None = None

    def run(self) -> None:
        for relative in IgnoreRules(self.root, snapshot=True).walk():
            if time.monotonic() > self.deadline:
                self.reason = "time_budget"
                return
            if self.include is not None and not self.include.match_file(relative):
                continue
            if self.exclude is not None and self.exclude.match_file(relative):
                continue
            data = self._read(relative)
            if data is None:
                continue
            self.files_searched += 1
            self._search_file(relative, data)
            if self.reason is not None:
                return

    def _read(self, relative: str) -> bytes | None:
        """The file's bytes, or None for a file too big, binary, or gone. One read sized
        from `fstat` (a read with a 5 MiB buffer costs more than the search itself)."""
        try:
            # Not through a symlink (it may lead out of the workspace), never blocking on
            # a FIFO that replaced a file since the walk saw it.
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
            fd = os.open(os.path.join(self.root, relative), flags)
        except OSError:
            return None
        try:
            size = os.fstat(fd).st_size
            if size > MAX_FILE_BYTES:
                return None
            data = os.read(fd, size + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        if len(data) > MAX_FILE_BYTES or b"\0" in data[:BINARY_SNIFF_BYTES]:
            return None
        return data

    def _add(self, match: TextMatch) -> bool:
        """Keep a match; False once `max_results` are kept (the search is then cut)."""
        if len(self.results) >= self.args.max_results:
            self.reason = "max_results"
            return False
        self.results.append(match)
        return True

    def _search_file(self, relative: str, data: bytes) -> None:
        matcher = self.matcher
        haystack = data
        if matcher.needle is not None:
            haystack = data.lower() if matcher.fold else data
            if matcher.needle not in haystack:
                return
        if matcher.pattern is None:
            assert matcher.needle is not None
            self._find_bytes(relative, data, haystack, matcher.needle)
        else:
            self._find_regex(relative, data.decode("utf-8", "replace"), matcher.pattern)

    def _find_bytes(self, relative: str, data: bytes, haystack: bytes, needle: bytes) -> None:
        cursor = _LineCursor(data, b"\n")
        line = ""
        position = haystack.find(needle)
        while position >= 0:
            if cursor.locate(position):
                line = data[cursor.line_start : cursor.line_end].decode("utf-8", "replace")
            prefix = data[cursor.line_start : position]
            start = len(prefix) if prefix.isascii() else len(prefix.decode("utf-8", "replace"))
            end = start + self.matcher.needle_chars
            if not self._add(_text_match(relative, cursor.line_no, line, start, end)):
                return
            position = haystack.find(needle, position + len(needle))

    def _find_regex(self, relative: str, text: str, pattern: regex.Pattern[str]) -> None:
        cursor = _LineCursor(text, "\n")
        line = ""
        timeout = max(0.0, self.deadline - time.monotonic())
        try:
            for found in pattern.finditer(text, concurrent=True, timeout=timeout):
                start, end = found.span()
                if start == end:
                    continue
                if cursor.locate(start):
                    line = text[cursor.line_start : cursor.line_end]
                offset = start - cursor.line_start
                match = _text_match(relative, cursor.line_no, line, offset, end - cursor.line_start)
                if not self._add(match):
                    return
        except TimeoutError:
            self.reason = "time_budget"


def search_files(root: Path, args: SearchArgs, *, budget_s: float = TIME_BUDGET_S) -> SearchResult:
    """Search a folder (blocking: call it in a thread). Results are ordered by path, line
    and column; `truncated` with a `reason` when `max_results` or the time budget cut it."""
    started = time.monotonic()
    search = _Search(root, args, compile_matcher(args), started + budget_s)
    search.run()
    search.results.sort(key=attrgetter("path"))  # stable: each file's matches are in order
    return SearchResult(
        results=search.results,
        files_searched=search.files_searched,
        truncated=search.reason is not None,
        reason=search.reason,
        elapsed_ms=round((time.monotonic() - started) * 1000, 3),
    )


async def search_workspace(rooms: Rooms, workspace: Workspace, args: SearchArgs) -> SearchResult:
    """Search a workspace's files as collaborators see them: open documents are written
    to disk first, then the files are searched in a worker thread."""
    started = time.perf_counter()
    try:
        compile_matcher(args)  # a bad regex fails before any work
    except InvalidInput:
        metrics.SEARCHES.labels("invalid").inc()
        raise
    await rooms.flush(workspace.id)
    result = await asyncio.to_thread(search_files, Path(workspace.path), args)
    metrics.SEARCH_SECONDS.observe(time.perf_counter() - started)
    metrics.SEARCHES.labels("truncated" if result.truncated else "complete").inc()
    if result.reason is not None:
        metrics.SEARCH_TRUNCATED.labels(result.reason).inc()
    return result
