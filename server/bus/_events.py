"""Typed events and the envelope that carries them."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

_registry: dict[str, type[Event]] = {}


class Event(BaseModel):
    """Base of every bus event. Frozen, so subscribers cannot change what others see.

    Subclasses register themselves by class name, which is how an event that crossed
    Redis as JSON becomes its own type again.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    type_name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_name = cls.__name__
        _registry[cls.__name__] = cls


def event_type(name: str) -> type[Event]:
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"unknown event type {name!r}") from None


class ErrorReply(Event):
    """Sent back to a requester when the responder failed."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Envelope:
    topic: str
    event: Event
    origin: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    correlation_id: str | None = None
    reply_to: str | None = None
    sent_at: float = field(default_factory=time.time)

    def to_wire(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "type": self.event.type_name,
            "data": self.event.model_dump(mode="json"),
            "origin": self.origin,
            "id": self.id,
            "correlation_id": self.correlation_id,
            "reply_to": self.reply_to,
            "sent_at": self.sent_at,
        }

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Envelope:
        event = event_type(wire["type"]).model_validate(wire["data"])
        return cls(
            topic=wire["topic"],
            event=event,
            origin=wire["origin"],
            id=wire["id"],
            correlation_id=wire.get("correlation_id"),
            reply_to=wire.get("reply_to"),
            sent_at=wire.get("sent_at", time.time()),
        )
