"""What a workspace adds to recognition: its file paths (bounded walk with the
workspace's ignore rules), cached briefly so a burst of commands walks once."""

from __future__ import annotations

import time
from pathlib import Path

from server.workspaces.ignore import IgnoreRules
from voice.grammar import Vocabulary

MAX_FILES = 2000
TTL_SECONDS = 10.0


class WorkspaceVocabularies:
    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, Vocabulary]] = {}

    def get(self, workspace_id: str, root: Path) -> Vocabulary:
        now = time.monotonic()
        cached = self._cache.get(workspace_id)
        if cached and now - cached[0] < TTL_SECONDS:
            return cached[1]
        paths: list[str] = []
        for relative in IgnoreRules(root).walk():
            paths.append(relative)
            if len(paths) >= MAX_FILES:
                break
        vocab = Vocabulary(paths)
        if len(self._cache) > 256:
            self._cache.clear()
        self._cache[workspace_id] = (now, vocab)
        return vocab
