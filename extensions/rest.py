"""Extensions over REST.

POST   /api/v1/extensions                      {name, webhook_url, events, commands,
                                                workspace?, role?} → 201 {id, secret}
GET    /api/v1/extensions                      → the caller's extensions (all: admin)
GET    /api/v1/extensions/events               → the event names one may subscribe to
GET    /api/v1/extensions/{id}                 → one
PATCH  /api/v1/extensions/{id}                 {…, rotate_secret?, enabled?} → it
DELETE /api/v1/extensions/{id}                 → 204
GET    /api/v1/extensions/{id}/deliveries      → the delivery log, newest first
GET    /api/v1/extensions/{id}/deliveries/{d}  → one delivery with its attempts
POST   /api/v1/extensions/{id}/deliveries/{d}/redeliver → 202, sent again now
POST   /api/v1/extensions/{id}/chat            signed with the extension's secret
                                               {text, thread?, workspace?} → 202
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query
from starlette.requests import Request

from extensions.catalog import EVENTS
from extensions.dispatcher import Dispatcher
from extensions.inbound import OutsideChat
from extensions.models import (
    ChatPost,
    ChatStarted,
    Delivery,
    DeliveryQuery,
    EventInfo,
    ExtensionCreate,
    ExtensionCreated,
    ExtensionInfo,
    ExtensionUpdate,
)
from extensions.service import ExtensionService
from server.api import Caller, Need, RequestId, api_router, read_body

router = api_router("extensions")
Extensions = Annotated[ExtensionService, Need(ExtensionService)]
Webhooks = Annotated[Dispatcher, Need(Dispatcher)]
Chat = Annotated[OutsideChat, Need(OutsideChat)]

BASE = "/api/v1/extensions"
ONE = BASE + "/{extension_id}"
MAX_CHAT_BODY = 64 * 1024


@router.get(f"{BASE}/events", response_model=list[EventInfo])
async def events(_user: Caller) -> list[EventInfo]:
    """The events an extension may subscribe to, with what each means."""
    return [EventInfo(name=name, description=text) for name, text in EVENTS.items()]


@router.post(BASE, response_model=ExtensionCreated, status_code=201)
async def create(
    body: ExtensionCreate, user: Caller, service: Extensions, request_id: RequestId
) -> ExtensionCreated:
    """Register an extension (owner of its workspace; admin for every workspace). The
    secret is shown only here."""
    return await service.create(user, body, request_id)


@router.get(BASE, response_model=list[ExtensionInfo])
async def list_extensions(user: Caller, service: Extensions) -> list[ExtensionInfo]:
    """The caller's extensions (every extension for an admin)."""
    return await service.listed(user)


@router.get(ONE, response_model=ExtensionInfo)
async def show(extension_id: str, user: Caller, service: Extensions) -> ExtensionInfo:
    """One extension (its owner or an admin)."""
    return (await service.get(user, extension_id)).info()


@router.patch(ONE, response_model=ExtensionInfo)
async def change(
    extension_id: str,
    body: ExtensionUpdate,
    user: Caller,
    service: Extensions,
    request_id: RequestId,
) -> ExtensionInfo:
    """Change an extension; `rotate_secret` returns a new secret (the old one keeps
    signing for the grace period), `enabled: true` resumes deliveries after a 410."""
    return await service.update(user, extension_id, body, request_id)


@router.delete(ONE, status_code=204)
async def delete(
    extension_id: str, user: Caller, service: Extensions, request_id: RequestId
) -> None:
    """Remove an extension, its commands and its delivery log."""
    await service.delete(user, extension_id, request_id)


@router.get(f"{ONE}/deliveries", response_model=list[Delivery])
async def deliveries(
    extension_id: str,
    query: Annotated[DeliveryQuery, Query()],
    user: Caller,
    service: Extensions,
    webhooks: Webhooks,
) -> list[Delivery]:
    """The delivery log, newest first (kept for `NEXUS_WEBHOOK_LOG_DAYS`)."""
    extension = await service.get(user, extension_id)
    return await webhooks.outbox.log(extension.id, query.limit, query.status)


@router.get(f"{ONE}/deliveries/{{delivery_id}}", response_model=Delivery)
async def delivery(
    extension_id: str, delivery_id: str, user: Caller, service: Extensions, webhooks: Webhooks
) -> Delivery:
    """One delivery with every attempt (status, latency, the start of the answer)."""
    extension = await service.get(user, extension_id)
    return await webhooks.outbox.get(extension.id, delivery_id)


@router.post(
    f"{ONE}/deliveries/{{delivery_id}}/redeliver", response_model=Delivery, status_code=202
)
async def redeliver(
    extension_id: str, delivery_id: str, user: Caller, service: Extensions, webhooks: Webhooks
) -> Delivery:
    """Send a logged delivery again now, with the same `webhook-id` and body."""
    extension = await service.get(user, extension_id)
    await webhooks.redeliver(extension.id, delivery_id)
    return await webhooks.outbox.get(extension.id, delivery_id)


@router.post(
    f"{ONE}/chat",
    response_model=ChatStarted,
    status_code=202,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ChatPost.model_json_schema()}},
        }
    },
)
async def chat(
    extension_id: str,
    request: Request,
    chat: Chat,
    webhook_id: Annotated[str | None, Header(max_length=256)] = None,
    webhook_timestamp: Annotated[str | None, Header(max_length=32)] = None,
    webhook_signature: Annotated[str | None, Header(max_length=4096)] = None,
) -> ChatStarted:
    """Post into a workspace chat as the extension's owner. Signed like a webhook with the
    extension's secret (no bearer token); the answer arrives as `chat.answer` events."""
    body = await read_body(request, MAX_CHAT_BODY)
    signed = {
        "webhook-id": webhook_id or "",
        "webhook-timestamp": webhook_timestamp or "",
        "webhook-signature": webhook_signature or "",
    }
    return await chat.post(extension_id, signed, body)
