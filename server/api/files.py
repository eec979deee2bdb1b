"""Workspace files over REST: the explorer tree, read, write (ETag-guarded), delete,
folders and moves.

    GET    /api/v1/workspaces/{id}/tree?path=src            one folder's entries
    GET    /api/v1/workspaces/{id}/files/{path}             raw bytes (ETag); JSON with
                                                            Accept: application/json
    PUT    /api/v1/workspaces/{id}/files/{path}             raw body; If-Match / If-None-Match
    DELETE /api/v1/workspaces/{id}/files/{path}?recursive=  If-Match
    POST   /api/v1/workspaces/{id}/folders {path}
    POST   /api/v1/workspaces/{id}/move {from, to, overwrite}
"""

from __future__ import annotations

from email.utils import format_datetime
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict
from starlette.responses import JSONResponse, Response

from server.api._routing import Api, ApiCall, read_body
from server.auth import WorkspaceAccess
from server.models import Role
from server.workspaces.files import Entry, FileText, FileVersion, Folder, MoveArgs, PathArgs

api = Api("files")

FILE_PATH = "/api/v1/workspaces/{workspace_id}/files/{path:path}"


class TreeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = ""
    include_ignored: bool = False


class ReadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    download: bool = False
    format: str = "raw"  # or "json"; `Accept: application/json` also asks for JSON


class DeleteQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recursive: bool = False


async def _access(call: ApiCall, role: Role) -> WorkspaceAccess:
    return await call.services.access.require(call.user, call.params["workspace_id"], role)


@api.get("/api/v1/workspaces/{workspace_id}/tree", query=TreeQuery, response=Folder)
async def tree(call: ApiCall) -> Folder:
    """One folder's files and folders (lazy: ask again for a subfolder); ignored paths
    are left out unless `include_ignored`, and then marked."""
    access = await _access(call, Role.viewer)
    return await call.services.files.tree(
        access.workspace, call.query.path, include_ignored=call.query.include_ignored
    )


@api.get(FILE_PATH, query=ReadQuery, response=FileText)
async def read_file(call: ApiCall) -> Response:
    """A file's content with its ETag: raw bytes, or JSON (text, or no content for a
    binary file) with `Accept: application/json` or `format=json`."""
    access = await _access(call, Role.viewer)
    data, version = await call.services.files.read(access.workspace, call.params["path"])
    headers = {
        "ETag": version.etag,
        "Last-Modified": format_datetime(version.modified, usegmt=True),
        "X-Content-Type-Options": "nosniff",
    }
    if_none_match = call.request.headers.get("if-none-match")
    if if_none_match and version.etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    wants_json = call.query.format == "json" or call.request.headers.get("accept", "").startswith(
        "application/json"
    )
    if wants_json:
        content = None if version.binary else data.decode("utf-8")
        body = FileText(**version.model_dump(), content=content)
        return JSONResponse(body.model_dump(mode="json"), headers=headers)
    if call.query.download:
        name = quote(version.path.rsplit("/", 1)[-1])
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    media_type = version.mime if version.binary else f"{version.mime}; charset=utf-8"
    return Response(data, media_type=media_type, headers=headers)


@api.put(FILE_PATH, response=FileVersion)
async def write_file(call: ApiCall) -> Response:
    """Create or replace a file with the raw request body (text or binary). Send the
    ETag you read as `If-Match` to refuse (409) overwriting a newer version, or
    `If-None-Match: *` to only create. 201 when created."""
    access = await _access(call, Role.editor)
    limit = call.services.settings.files_max_upload_bytes
    data = await read_body(call.request, limit)
    version, created = await call.services.files.write(
        access.workspace,
        call.params["path"],
        data,
        if_match=call.request.headers.get("if-match"),
        create_only=call.request.headers.get("if-none-match", "").strip() == "*",
    )
    return JSONResponse(
        version.model_dump(mode="json"),
        status_code=201 if created else 200,
        headers={"ETag": version.etag},
    )


@api.delete(FILE_PATH, query=DeleteQuery, status=204)
async def delete_file(call: ApiCall) -> None:
    """Delete a file, or a folder (`recursive=true` when it is not empty); `If-Match`
    refuses to delete a file that changed. Live documents of it are closed."""
    access = await _access(call, Role.editor)
    await call.services.files.delete(
        access.workspace,
        call.params["path"],
        recursive=call.query.recursive,
        if_match=call.request.headers.get("if-match"),
    )
    await _audit(call, access, "file.delete", {"path": call.params["path"]})


@api.post("/api/v1/workspaces/{workspace_id}/folders", body=PathArgs, response=Entry, status=201)
async def create_folder(call: ApiCall) -> Entry:
    """Create a folder (and its parents)."""
    access = await _access(call, Role.editor)
    return await call.services.files.mkdir(access.workspace, call.body.path)


@api.post("/api/v1/workspaces/{workspace_id}/move", body=MoveArgs, response=Entry)
async def move(call: ApiCall) -> Entry:
    """Rename or move a file or folder; refuses to replace an existing one unless
    `overwrite`."""
    access = await _access(call, Role.editor)
    entry = await call.services.files.move(access.workspace, call.body)
    await _audit(call, access, "file.move", {"from": call.body.source, "to": call.body.to})
    return entry


async def _audit(call: ApiCall, access: WorkspaceAccess, action: str, detail: dict) -> None:
    await call.services.audit.record(
        action,
        user=call.user.user,
        source="rest",
        workspace_id=access.workspace.id,
        detail=detail,
        request_id=call.request_id,
    )
