"""Files of a workspace for the explorer and outside programs: list, read, write, delete,
create folders, move.

Writes are guarded by ETags (a hash of the content), so a client that read an old version
cannot silently overwrite a newer one. Open collaborative documents are written to disk
before a file is read and merged right after it is written; deleting or moving a file
closes its live documents and retires their history so nobody's old copy resurrects it.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import shutil
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, ParamSpec, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from server import metrics
from server.collab.rooms import Rooms
from server.errors import Conflict, InvalidInput, NexusError, NotFound, PayloadTooLarge
from server.folders.fileio import is_binary, write_atomic
from server.folders.ignore import IgnoreRules
from server.folders.paths import resolve_in_workspace
from server.folders.watcher import WorkspaceWatchers
from server.models import Workspace

EntryType = Literal["file", "folder", "symlink"]
P = ParamSpec("P")
T = TypeVar("T")


class Entry(BaseModel):
    """One row of the explorer tree. `symlink` is a link that leads outside the workspace
    or nowhere; links inside it are listed as what they point to."""

    name: str
    path: str
    type: EntryType
    size: int | None = None
    modified: datetime | None = None
    ignored: bool = False


class Folder(BaseModel):
    path: str
    entries: list[Entry]


class FileVersion(BaseModel):
    path: str
    etag: str
    size: int
    modified: datetime
    mime: str
    binary: bool


class FileText(FileVersion):
    """A file as JSON: its text, or no content when it is binary (download it instead)."""

    content: str | None


class MoveArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    source: str = Field(alias="from", min_length=1, max_length=1024)
    to: str = Field(min_length=1, max_length=1024)
    overwrite: bool = False


class FileConflict(Conflict):
    """The file changed since the client read it (or exists when it should not)."""

    code = "file_changed"


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def etag_matches(header: str, etag: str) -> bool:
    """RFC 9110 If-Match: a list of tags or `*`; weak tags compare by their value."""
    candidates = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in candidates or etag in candidates


def _mime(path: Path, binary: bool) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    if binary:
        return guessed or "application/octet-stream"
    if guessed and not guessed.startswith("text/") and guessed != "application/json":
        return "text/plain"
    return guessed or "text/plain"


def _modified(stat: os.stat_result) -> datetime:
    return datetime.fromtimestamp(stat.st_mtime, tz=UTC)


def _version(relative: str, path: Path, data: bytes) -> FileVersion:
    binary = is_binary(data)
    return FileVersion(
        path=relative,
        etag=etag_of(data),
        size=len(data),
        modified=_modified(path.stat()),
        mime=_mime(path, binary),
        binary=binary,
    )


# -- the work itself, on a worker thread ------------------------------------------------


def _list_folder(root: Path, rules: IgnoreRules, folder: str, include_ignored: bool) -> list[Entry]:
    base = root if not folder else resolve_in_workspace(root, folder)[1]
    if not base.exists():
        raise NotFound(f"{folder or '/'} does not exist")
    if not base.is_dir():
        raise InvalidInput(f"{folder} is a file, not a folder")
    relative_base = base.relative_to(root.resolve()).as_posix() if folder else ""
    entries = []
    with os.scandir(base) as scan:
        for item in scan:
            if item.name == ".git":
                continue
            relative = f"{relative_base}/{item.name}" if relative_base else item.name
            entry = _entry(root, item, relative)
            ignored = rules.ignored_child(relative_base, item.name, entry.type == "folder")
            if ignored and not include_ignored:
                continue
            entry.ignored = ignored
            entries.append(entry)
    entries.sort(key=lambda e: (e.type != "folder", e.name.lower(), e.name))
    return entries


def _entry(root: Path, item: os.DirEntry[str], relative: str) -> Entry:
    kind: EntryType = "file"
    try:
        stat = item.stat(follow_symlinks=True)
        if item.is_symlink():
            target = Path(item.path).resolve()
            if not target.is_relative_to(root.resolve()):
                kind = "symlink"
            elif item.is_dir():
                kind = "folder"
        elif item.is_dir(follow_symlinks=False):
            kind = "folder"
    except OSError:  # a broken link
        return Entry(name=item.name, path=relative, type="symlink")
    return Entry(
        name=item.name,
        path=relative,
        type=kind,
        size=stat.st_size if kind == "file" else None,
        modified=_modified(stat),
    )


def _read(root: Path, relative: str, limit: int) -> tuple[bytes, FileVersion]:
    relative, path = resolve_in_workspace(root, relative)
    if path.is_dir():
        raise InvalidInput(f"{relative} is a folder; list it with the tree endpoint")
    try:
        size = path.stat().st_size
        if size > limit:
            raise PayloadTooLarge(f"{relative} is larger than {limit} bytes")
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{relative} does not exist") from None
    return data, _version(relative, path, data)


def _write(
    root: Path, relative: str, data: bytes, if_match: str | None, create_only: bool
) -> tuple[FileVersion, bool]:
    relative, path = resolve_in_workspace(root, relative)
    if path.is_dir():
        raise InvalidInput(f"{relative} is a folder")
    try:
        current: bytes | None = path.read_bytes()
    except FileNotFoundError:
        current = None
    if current is not None and create_only:
        raise FileConflict(
            f"{relative} already exists", details={"current": _version(relative, path, current)}
        )
    if if_match is not None:
        if current is None:
            raise FileConflict(f"{relative} no longer exists", details={"current": None})
        if not etag_matches(if_match, etag_of(current)):
            raise FileConflict(
                f"{relative} changed since you read it; reload and try again",
                details={"current": _version(relative, path, current)},
            )
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise InvalidInput(f"{Path(relative).parent} is a file, not a folder")
    write_atomic(path, data)
    return _version(relative, path, data), current is None


def _check_delete(root: Path, relative: str, recursive: bool, if_match: str | None) -> Path:
    """Refuse before anything changes: missing, non-empty folder, stale ETag."""
    relative, path = resolve_in_workspace(root, relative, follow_symlinks=False)
    if not path.exists() and not path.is_symlink():
        raise NotFound(f"{relative} does not exist")
    if path.is_dir() and not path.is_symlink():
        if if_match is not None:
            raise InvalidInput("If-Match applies to files, not folders")
        if any(path.iterdir()) and not recursive:
            raise Conflict(f"{relative} is not empty; pass recursive=true to delete it all")
    elif if_match is not None and path.is_file():
        if not etag_matches(if_match, etag_of(path.read_bytes())):
            raise FileConflict(f"{relative} changed since you read it; not deleted")
    return path


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _mkdir(root: Path, relative: str) -> Entry:
    relative, path = resolve_in_workspace(root, relative)
    if path.exists():
        raise Conflict(f"{relative} already exists")
    path.mkdir(parents=True)
    return Entry(name=path.name, path=relative, type="folder", modified=_modified(path.stat()))


def _check_move(root: Path, source: str, target: str, overwrite: bool) -> tuple[Path, Path]:
    """Refuse before anything changes: missing source, into itself, target taken."""
    source, source_path = resolve_in_workspace(root, source, follow_symlinks=False)
    target, target_path = resolve_in_workspace(root, target, follow_symlinks=False)
    if not source_path.exists() and not source_path.is_symlink():
        raise NotFound(f"{source} does not exist")
    if target == source:
        raise InvalidInput("source and destination are the same")
    if target.startswith(f"{source}/"):
        raise InvalidInput(f"cannot move {source} into itself")
    if (target_path.exists() or target_path.is_symlink()) and not overwrite:
        raise Conflict(f"{target} already exists; pass overwrite=true to replace it")
    if target_path.parent.exists() and not target_path.parent.is_dir():
        raise InvalidInput(f"{Path(target).parent} is a file, not a folder")
    return source_path, target_path


def _move(root: Path, source_path: Path, target_path: Path, target: str) -> Entry:
    if target_path.exists() or target_path.is_symlink():
        if target_path.is_dir() and not target_path.is_symlink():
            shutil.rmtree(target_path)
        else:
            target_path.unlink()
    target_path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source_path, target_path)
    with os.scandir(target_path.parent) as scan:
        item = next(entry for entry in scan if entry.name == target_path.name)
        return _entry(root, item, target)


# -- the service -------------------------------------------------------------------------


class WorkspaceFiles:
    """File operations for REST and commands, in step with live documents."""

    def __init__(self, rooms: Rooms, watchers: WorkspaceWatchers, max_bytes: int) -> None:
        self.rooms = rooms
        self.watchers = watchers
        self.max_bytes = max_bytes
        # One writer at a time per file: the If-Match check and the write are one step.
        self._locks: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)

    async def tree(
        self, workspace: Workspace, folder: str = "", include_ignored: bool = False
    ) -> Folder:
        root = Path(workspace.path)
        rules = self.watchers.rules(workspace.id, root)
        folder = folder.strip("/")
        entries = await self._run("tree", _list_folder, root, rules, folder, include_ignored)
        return Folder(path=folder, entries=entries)

    async def read(self, workspace: Workspace, relative: str) -> tuple[bytes, FileVersion]:
        root = Path(workspace.path)
        relative, _ = resolve_in_workspace(root, relative)
        await self.rooms.flush_document(workspace.id, relative)
        data, version = await self._run("read", _read, root, relative, self.max_bytes)
        metrics.FILE_BYTES.labels("read").inc(len(data))
        return data, version

    async def read_text(self, workspace: Workspace, relative: str) -> FileText:
        data, version = await self.read(workspace, relative)
        content = None if version.binary else data.decode("utf-8")
        return FileText(**version.model_dump(), content=content)

    async def write(
        self,
        workspace: Workspace,
        relative: str,
        data: bytes,
        *,
        if_match: str | None = None,
        create_only: bool = False,
    ) -> tuple[FileVersion, bool]:
        """Write a file (creating its folders); (version, created)."""
        if len(data) > self.max_bytes:
            raise PayloadTooLarge(f"files are limited to {self.max_bytes} bytes")
        root = Path(workspace.path)
        relative, _ = resolve_in_workspace(root, relative)
        async with self._locks[(workspace.id, relative)]:
            await self.rooms.flush_document(workspace.id, relative)
            version, created = await self._run(
                "write", _write, root, relative, data, if_match, create_only
            )
            await self.rooms.merge_now(workspace.id, relative)
        metrics.FILE_BYTES.labels("written").inc(len(data))
        await self.rooms.announcer.saved(workspace.id, relative, "api")
        return version, created

    async def delete(
        self,
        workspace: Workspace,
        relative: str,
        *,
        recursive: bool = False,
        if_match: str | None = None,
    ) -> None:
        root = Path(workspace.path)
        relative, _ = resolve_in_workspace(root, relative, follow_symlinks=False)
        async with self._locks[(workspace.id, relative)]:
            await self.rooms.flush_document(workspace.id, relative)
            path = await self._run("delete", _check_delete, root, relative, recursive, if_match)
            await self.rooms.forget(workspace.id, relative, f"{relative} was deleted")
            await self._run("delete", _delete, path)

    async def mkdir(self, workspace: Workspace, relative: str) -> Entry:
        return await self._run("mkdir", _mkdir, Path(workspace.path), relative)

    async def move(self, workspace: Workspace, args: MoveArgs) -> Entry:
        root = Path(workspace.path)
        source, _ = resolve_in_workspace(root, args.source, follow_symlinks=False)
        target, _ = resolve_in_workspace(root, args.to, follow_symlinks=False)
        source_path, target_path = await self._run(
            "move", _check_move, root, source, target, args.overwrite
        )
        await self.rooms.forget(workspace.id, source, f"{source} was moved to {target}")
        if args.overwrite:
            await self.rooms.forget(workspace.id, target, f"{target} was replaced")
        return await self._run("move", _move, root, source_path, target_path, target)

    async def _run(
        self, operation: str, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        try:
            result = await asyncio.to_thread(work, *args, **kwargs)
        except NexusError:
            metrics.FILE_OPERATIONS.labels(operation, "refused").inc()
            raise
        except PermissionError as exc:
            metrics.FILE_OPERATIONS.labels(operation, "refused").inc()
            raise InvalidInput(f"permission denied: {exc.filename}") from None
        except OSError as exc:
            metrics.FILE_OPERATIONS.labels(operation, "failed").inc()
            raise InvalidInput(f"{operation} failed: {exc.strerror}") from None
        metrics.FILE_OPERATIONS.labels(operation, "ok").inc()
        return result
