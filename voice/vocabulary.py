"""What a workspace adds to recognition: its file paths (bounded walk with the
workspace's ignore rules) and the names its code defines, cached briefly so a burst of
commands walks once. The walk runs off the event loop."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path

from server.folders.ignore import IgnoreRules
from voice.grammar import Vocabulary

MAX_FILES = 2000
TTL_SECONDS = 10.0
SOURCE_SUFFIXES = frozenset(
    ".py .pyi .js .jsx .mjs .ts .tsx .go .rs .java .kt .c .h .cc .cpp .hpp .rb .php .cs "
    ".swift .scala".split()
)
MAX_SOURCE_BYTES = 256 * 1024  # larger files are generated or vendored, not the user's
SOURCE_BUDGET_BYTES = 2 * 1024 * 1024  # read per walk, at most
MAX_SYMBOLS = 200
# Names introduced by a definition, in the languages above; "def parse_dates" → parse_dates.
DEFINITION = re.compile(
    rb"\b(?:def|class|function|func|fn|struct|interface|enum|trait|type|const|let|var)"
    rb"\s+([A-Za-z_][A-Za-z0-9_]{2,})"
)


def workspace_symbols(root: Path, paths: list[str], limit: int = MAX_SYMBOLS) -> list[str]:
    """The names the workspace's code defines, the most often defined or redefined
    first (a bounded read: small source files, up to a byte budget)."""
    counts: Counter[str] = Counter()
    budget = SOURCE_BUDGET_BYTES
    for relative in paths:
        if Path(relative).suffix not in SOURCE_SUFFIXES:
            continue
        try:
            size = (root / relative).stat().st_size
            if size > MAX_SOURCE_BYTES or size > budget:
                continue
            budget -= size
            data = (root / relative).read_bytes()
        except OSError:
            continue
        counts.update(match.group(1).decode() for match in DEFINITION.finditer(data))
    return [name for name, _ in counts.most_common(limit)]


def build_vocabulary(root: Path) -> Vocabulary:
    paths: list[str] = []
    for relative in IgnoreRules(root).walk():
        paths.append(relative)
        if len(paths) >= MAX_FILES:
            break
    return Vocabulary(paths, workspace_symbols(root, paths))


class WorkspaceVocabularies:
    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, Vocabulary]] = {}

    async def get(self, workspace_id: str, root: Path) -> Vocabulary:
        now = time.monotonic()
        cached = self._cache.get(workspace_id)
        if cached and now - cached[0] < TTL_SECONDS:
            return cached[1]
        vocab = await asyncio.to_thread(build_vocabulary, root)
        if len(self._cache) > 256:
            self._cache.clear()
        self._cache[workspace_id] = (now, vocab)
        return vocab
