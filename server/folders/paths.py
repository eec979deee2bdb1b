"""Paths inside a workspace: the one check that keeps every path in its folder."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from server.errors import Forbidden, InvalidInput

MAX_PATH_LENGTH = 1024
MAX_NAME_BYTES = 255  # what file systems allow one name; longer fails with ENAMETOOLONG


def resolve_in_workspace(
    root: Path, relative: str, *, follow_symlinks: bool = True
) -> tuple[str, Path]:
    """(normalized relative path, absolute path) of `relative` inside `root`.

    Refuses empty names, NUL and control characters, absolute paths, `..` that climbs
    out, `.git`, and symlinks that lead outside the workspace. With `follow_symlinks`
    False the last part is not resolved: deleting or moving a symlink acts on the link,
    not on what it points to.
    """
    if not relative or len(relative) > MAX_PATH_LENGTH:
        raise InvalidInput("path: must be 1 to 1024 characters")
    if any(ord(char) < 32 or char == "\x7f" for char in relative):
        raise InvalidInput("path: control characters are not allowed")
    if relative.startswith("/") or "\\" in relative:
        raise Forbidden("path: must be relative to the workspace, with '/' separators")
    parts = [part for part in PurePosixPath(relative).parts if part not in ("", ".")]
    if not parts or ".." in parts:
        raise Forbidden("path: must stay inside the workspace")
    if ".git" in parts:
        raise Forbidden("path: .git is not editable")
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for part in parts):
        raise InvalidInput(f"path: each name must be at most {MAX_NAME_BYTES} bytes")
    root = root.resolve()
    if follow_symlinks:
        target = root.joinpath(*parts).resolve()
    else:
        target = root.joinpath(*parts[:-1]).resolve() / parts[-1]
    if not target.is_relative_to(root) or target == root:
        raise Forbidden("path: leads outside the workspace")
    return "/".join(parts), target
