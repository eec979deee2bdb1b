"""Request routing: a client's request checked against the shared document, sent to
every server that owns the method, and their answers merged into one."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from lsprotocol.types import ErrorCodes, LSPErrorCodes

from lsp import metrics
from lsp._documents import BridgeDocument, SharedDocuments
from lsp._servers import BridgeSettings, ServerSlot
from lsp.errors import LspError
from lsp.merge import PROVIDERS, merge_results
from lsp.upstream import UpstreamError

KNOWN_METHODS = frozenset(PROVIDERS)


@dataclass(eq=False)
class Router:
    language: str
    slots: dict[str, ServerSlot]
    documents: SharedDocuments
    settings: BridgeSettings

    async def request(self, method: str, params: Any, holder: str) -> Any:
        """Route one request to the servers that own the method, merge their answers,
        drop them if the document moved on meanwhile."""
        slots = [slot for slot in self.slots.values() if method in slot.spec.methods]
        if not slots:
            raise LspError(ErrorCodes.MethodNotFound, f"no {self.language} server handles {method}")
        if params is not None and not isinstance(params, dict):
            raise LspError(ErrorCodes.InvalidParams, "params must be an object")
        params = dict(params or {})
        sync = params.pop("nexus", None)
        document = await self._document(params, sync, holder)
        version = document.version if document else None
        results = await asyncio.gather(
            *(self._ask(slot, method, params) for slot in slots), return_exceptions=True
        )
        answers = _answers(method, results)
        if document is not None and document.version != version:
            raise LspError(
                LSPErrorCodes.ContentModified, "the document changed while this was computed"
            )
        return merge_results(method, answers)

    async def _document(
        self, params: dict[str, Any], sync: Any, holder: str
    ) -> BridgeDocument | None:
        """The shared document the request is about (opened if need be), caught up with
        the client's edits, its positions checked; `params` then name its URI."""
        text_document = params.get("textDocument")
        if text_document is None:
            return None
        if not isinstance(text_document, dict):
            raise LspError(ErrorCodes.InvalidParams, "textDocument must be an object")
        documents = self.documents
        path = documents.path_of(text_document.get("uri", ""))
        document = documents.documents.get(path) or await documents.open(path, holder)
        params["textDocument"] = {**text_document, "uri": document.uri}
        if isinstance(sync, dict):
            await documents.catch_up(document, sync)
        if "position" in params:
            documents.check_position(document, params["position"])
        if isinstance(params.get("range"), dict):
            documents.check_position(document, params["range"].get("start"))
            documents.check_position(document, params["range"].get("end"))
        return document

    async def _ask(self, slot: ServerSlot, method: str, params: Any) -> Any:
        timeout = self.settings.request_timeout
        if slot.upstream is None and slot.status != "failed":
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await slot.ready.wait()
        upstream = slot.upstream
        if upstream is None:
            raise LspError(
                LSPErrorCodes.RequestFailed,
                f"{slot.spec.name} is {slot.status}: {slot.detail}".rstrip(": "),
            )
        provider = PROVIDERS.get(method)
        if provider is not None and not upstream.capabilities.get(provider):
            return None
        try:
            msg_id, future = upstream.send(method, params)
            return await upstream.wait(msg_id, future, timeout)
        except TimeoutError:
            metrics.TIMEOUTS.labels(method if method in KNOWN_METHODS else "other").inc()
            raise LspError(
                LSPErrorCodes.RequestFailed,
                f"{slot.spec.name} did not answer {method} in {timeout:g} s",
            ) from None


def _answers(method: str, results: list[Any]) -> list[Any]:
    """The servers' answers; when every one failed, the first failure as an LspError."""
    answers: list[Any] = []
    errors: list[BaseException] = []
    for result in results:
        (errors if isinstance(result, BaseException) else answers).append(result)
    for error in errors:
        if isinstance(error, asyncio.CancelledError):
            raise error
    if errors and not answers:
        error = errors[0]
        if isinstance(error, LspError):
            raise error
        if isinstance(error, UpstreamError):
            raise LspError(error.code, error.message, error.data)
        raise LspError(LSPErrorCodes.RequestFailed, f"{method} failed: {error}")
    return answers
