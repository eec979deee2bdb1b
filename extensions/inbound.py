"""Chat from outside: an extension posts into a workspace chat as its owner.

The request is signed like a webhook, with the extension's own secret (Standard
Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`), so a bridge needs
only the secret it got at registration. A stale timestamp, a forged signature or a
`webhook-id` seen before (on any node: see `replay`) is refused. The message is posted
as the extension's owner, scoped to the workspace and capped at the extension's role
(posting needs editor); the question and the answer come back to subscribers as
`chat.message` and `chat.answer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import ValidationError

from extensions.directory import Directory
from extensions.models import ChatPost, ChatStarted
from extensions.replay import SeenIds
from extensions.signing import verify
from server.auth import AccessControl
from server.core import describe_validation_error
from server.errors import Forbidden, InvalidInput, NotFound, Unavailable
from server.models import Role

if TYPE_CHECKING:
    from server.ai import AiService


class OutsideChat:
    def __init__(
        self, directory: Directory, access: AccessControl, ai: AiService | None, seen: SeenIds
    ) -> None:
        self.directory = directory
        self.access = access
        self.ai = ai
        self.seen = seen

    async def post(self, extension_id: str, headers: Mapping[str, str], body: bytes) -> ChatStarted:
        extension = self.directory.get(extension_id)
        if extension is None:
            raise NotFound(f"no extension with id {extension_id!r}")
        message_id = verify(extension.signing_secrets(), headers, body)
        await self.seen.once(f"{extension_id}:{message_id}")
        try:
            post = ChatPost.model_validate_json(body)
        except ValidationError as exc:
            raise InvalidInput(describe_validation_error(exc)) from None
        workspace_id = post.workspace or extension.workspace_id
        if workspace_id is None:
            raise InvalidInput("workspace: name the workspace to post in")
        if not extension.enabled:
            raise Forbidden(f"extension {extension.name!r} is disabled")
        if await self.directory.role_in(extension, workspace_id) is None:
            raise Forbidden("this extension does not reach that workspace")
        principal = await self.directory.principal(extension, workspace_id)
        access = await self.access.require(principal, workspace_id, Role.editor)
        if self.ai is None:
            raise Unavailable("the chat is not available on this server (no AI feature)")
        turn = await self.ai.chat.start(principal, access.workspace, post.text, thread=post.thread)
        return ChatStarted(workspace=workspace_id, thread=turn.thread, id=turn.id)
