"""Where a bridge works: one workspace's folder, for one language."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Site:
    """The workspace, its folder and the language that a bridge, its servers and its
    shared documents all serve (one value, handed to each part)."""

    workspace_id: str
    language: str
    root: Path
