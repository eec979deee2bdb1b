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
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Query
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.api import InWorkspace, Need, api_router, read_body
from server.core import PathArgs
from server.files.service import (
    Entry,
    FileText,
    FileVersion,
    Folder,
    MoveArgs,
    WorkspaceFiles,
)
from server.models import Role

router = api_router("files")
Files = Annotated[WorkspaceFiles, Need(WorkspaceFiles)]

ONE = "/api/v1/workspaces/{workspace_id}"
FILE_PATH = f"{ONE}/files/{{path:path}}"
RAW_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}

# A read answers the raw bytes with the file's own media type unless JSON is asked for.
READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file: JSON when asked for, else its bytes as its media type",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    },
    304: {"description": "Not modified since the ETag sent as If-None-Match"},
}


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


@router.get(f"{ONE}/tree", response_model=Folder)
async def tree(query: Annotated[TreeQuery, Query()], call: InWorkspace, files: Files) -> Folder:
    """One folder's files and folders (lazy: ask again for a subfolder); ignored paths
    are left out unless `include_ignored`, and then marked."""
    access = await call.access(Role.viewer)
    return await files.tree(access.workspace, query.path, include_ignored=query.include_ignored)


@router.get(FILE_PATH, response_model=FileText, responses=READ_RESPONSES)
async def read_file(
    path: str,
    query: Annotated[ReadQuery, Query()],
    request: Request,
    call: InWorkspace,
    files: Files,
) -> Response:
    """A file's content with its ETag: raw bytes, or JSON (text, or no content for a
    binary file) with `Accept: application/json` or `format=json`."""
    access = await call.access(Role.viewer)
    data, version = await files.read(access.workspace, path)
    headers = {
        "ETag": version.etag,
        "Last-Modified": format_datetime(version.modified, usegmt=True),
        "X-Content-Type-Options": "nosniff",
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and version.etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    wants_json = query.format == "json" or request.headers.get("accept", "").startswith(
        "application/json"
    )
    if wants_json:
        content = None if version.binary else data.decode("utf-8")
        body = FileText(**version.model_dump(), content=content)
        return JSONResponse(body.model_dump(mode="json"), headers=headers)
    if query.download:
        name = quote(version.path.rsplit("/", 1)[-1])
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    media_type = version.mime if version.binary else f"{version.mime}; charset=utf-8"
    return Response(data, media_type=media_type, headers=headers)


router.add_api_route(FILE_PATH, read_file, methods=["HEAD"], include_in_schema=False)


@router.put(
    FILE_PATH,
    response_model=FileVersion,
    openapi_extra=RAW_BODY,
    responses={201: {"model": FileVersion, "description": "The file was created"}},
)
async def write_file(path: str, request: Request, call: InWorkspace, files: Files) -> Response:
    """Create or replace a file with the raw request body (text or binary). Send the
    ETag you read as `If-Match` to refuse (409) overwriting a newer version, or
    `If-None-Match: *` to only create. 201 when created."""
    access = await call.access(Role.editor)
    data = await read_body(request, call.nexus.settings.files_max_upload_bytes)
    version, created = await files.write(
        access.workspace,
        path,
        data,
        if_match=request.headers.get("if-match"),
        create_only=request.headers.get("if-none-match", "").strip() == "*",
    )
    return JSONResponse(
        version.model_dump(mode="json"),
        status_code=201 if created else 200,
        headers={"ETag": version.etag},
    )


@router.delete(FILE_PATH, status_code=204)
async def delete_file(
    path: str,
    query: Annotated[DeleteQuery, Query()],
    request: Request,
    call: InWorkspace,
    files: Files,
) -> None:
    """Delete a file, or a folder (`recursive=true` when it is not empty); `If-Match`
    refuses to delete a file that changed. Live documents of it are closed."""
    access = await call.access(Role.editor)
    await files.delete(
        access.workspace,
        path,
        recursive=query.recursive,
        if_match=request.headers.get("if-match"),
    )
    await call.audit("file.delete", workspace_id=access.workspace.id, detail={"path": path})


@router.post(f"{ONE}/folders", response_model=Entry, status_code=201)
async def create_folder(body: PathArgs, call: InWorkspace, files: Files) -> Entry:
    """Create a folder (and its parents)."""
    access = await call.access(Role.editor)
    return await files.mkdir(access.workspace, body.path)


@router.post(f"{ONE}/move", response_model=Entry)
async def move(body: MoveArgs, call: InWorkspace, files: Files) -> Entry:
    """Rename or move a file or folder; refuses to replace an existing one unless
    `overwrite`."""
    access = await call.access(Role.editor)
    entry = await files.move(access.workspace, body)
    detail = {"from": body.source, "to": body.to}
    await call.audit("file.move", workspace_id=access.workspace.id, detail=detail)
    return entry
