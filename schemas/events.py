"""Pydantic v2 models of contact event contract v1 (CloudEvents 1.0 structured JSON).

One model per event type, discriminated on ``type``: each type's ``data`` model
states what that type requires (``queue`` on queued/transferred, ``resolution``
on wrapped_up, ``rating`` on surveyed, ``channel`` on started/queued). Fields
that belong to another type (``rating`` on an answered event, say) are ignored,
as EVENTS.md says. Rules that need the ingest time or the raw value live in
``schemas.reasons``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    model_validator,
)
from pydantic_core import PydanticCustomError

CONTRACT_VERSION = "1"
SPECVERSION = "1.0"
FUTURE_TOLERANCE_SECONDS = 300
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)


class Channel(StrEnum):
    PHONE = "phone"
    WEBCHAT = "webchat"
    CHATBOT = "chatbot"
    EMAIL = "email"
    WEB = "web"
    FACE_TO_FACE = "face_to_face"
    VIDEO = "video"
    SOCIAL = "social"


class EventType(StrEnum):
    """Event types in lifecycle order: the order breaks ties in ``time``."""

    STARTED = "contact.started"
    QUEUED = "contact.queued"
    ANSWERED = "contact.answered"
    HOLD_STARTED = "contact.hold_started"
    HOLD_ENDED = "contact.hold_ended"
    TRANSFERRED = "contact.transferred"
    ENDED = "contact.ended"
    WRAPPED_UP = "contact.wrapped_up"
    SURVEYED = "contact.surveyed"


LIFECYCLE_RANK: dict[str, int] = {t.value: i for i, t in enumerate(EventType)}


class Resolution(StrEnum):
    RESOLVED = "resolved"
    REFERRED = "referred"
    CALLBACK = "callback"
    ESCALATED = "escalated"
    UNRESOLVED = "unresolved"


SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
COUNCIL_PATTERN = r"^[a-z0-9-]{2,40}$"
# 16-128 chars of [A-Za-z0-9_-] with at least one letter (no look-ahead: the Rust engine has none).
CUSTOMER_REF_PATTERN = r"^[0-9_-]*[A-Za-z][A-Za-z0-9_-]*$"

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
CouncilSlug = Annotated[str, StringConstraints(pattern=COUNCIL_PATTERN)]
CustomerRef = Annotated[str, StringConstraints(min_length=16, max_length=128, pattern=CUSTOMER_REF_PATTERN)]
Text128 = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class ContactData(BaseModel):
    """Fields on every event's ``data``. Unknown fields are ignored (forward compatible)."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    contact_id: Text128
    council: CouncilSlug
    channel: Channel | None = None
    service: Slug | None = None
    queue: Slug | None = None
    site: Slug | None = None
    customer_ref: CustomerRef | None = Field(
        default=None,
        description="Opaque pseudonym (keyed hash made at the edge). A value with '@' or with no letter is "
        "rejected as pii_in_customer_ref.",
    )
    agent_ref: Annotated[str, StringConstraints(max_length=128)] | None = None


class ChannelData(ContactData):
    channel: Channel


class QueuedData(ContactData):
    channel: Channel
    queue: Slug


class TransferredData(ContactData):
    queue: Slug


class WrappedUpData(ContactData):
    resolution: Resolution


class SurveyedData(ContactData):
    rating: Annotated[int, Field(ge=1, le=5)]


def _as_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class _Envelope(BaseModel):
    """CloudEvents 1.0 attributes. Extension attributes are kept as extras."""

    model_config = ConfigDict(frozen=True, extra="allow", strict=True)

    specversion: Literal["1.0"]
    id: Text128
    source: Annotated[str, StringConstraints(min_length=1)]
    time: Annotated[AwareDatetime, Field(ge=EARLIEST_TIME), AfterValidator(_as_utc)]
    subject: str | None = None
    datacontenttype: Literal["application/json"] | None = None
    data: ContactData

    @model_validator(mode="after")
    def _subject_is_contact(self) -> _Envelope:
        if self.subject is not None and self.subject != self.data.contact_id:
            raise PydanticCustomError("subject_mismatch", "subject differs from data.contact_id")
        return self


class StartedEvent(_Envelope):
    type: Literal[EventType.STARTED]
    data: ChannelData


class QueuedEvent(_Envelope):
    type: Literal[EventType.QUEUED]
    data: QueuedData


class AnsweredEvent(_Envelope):
    type: Literal[EventType.ANSWERED]


class HoldStartedEvent(_Envelope):
    type: Literal[EventType.HOLD_STARTED]


class HoldEndedEvent(_Envelope):
    type: Literal[EventType.HOLD_ENDED]


class TransferredEvent(_Envelope):
    type: Literal[EventType.TRANSFERRED]
    data: TransferredData


class EndedEvent(_Envelope):
    type: Literal[EventType.ENDED]


class WrappedUpEvent(_Envelope):
    type: Literal[EventType.WRAPPED_UP]
    data: WrappedUpData


class SurveyedEvent(_Envelope):
    type: Literal[EventType.SURVEYED]
    data: SurveyedData


ContactEvent = Annotated[
    StartedEvent
    | QueuedEvent
    | AnsweredEvent
    | HoldStartedEvent
    | HoldEndedEvent
    | TransferredEvent
    | EndedEvent
    | WrappedUpEvent
    | SurveyedEvent,
    Field(discriminator="type"),
]
"""Any valid contract v1 event; every member has ``type``, ``time``, ``data`` etc."""

EVENT_ADAPTER: TypeAdapter[ContactEvent] = TypeAdapter(ContactEvent)
EVENT_MODELS: tuple[type[_Envelope], ...] = (
    StartedEvent,
    QueuedEvent,
    AnsweredEvent,
    HoldStartedEvent,
    HoldEndedEvent,
    TransferredEvent,
    EndedEvent,
    WrappedUpEvent,
    SurveyedEvent,
)
