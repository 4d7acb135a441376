"""The slim, internal form of a valid event that the fact computations walk.

Times are integer microseconds since the Unix epoch (UTC): exact to compare,
cheap to subtract, and stored as TIMESTAMPTZ by the sinks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from schemas.events import LIFECYCLE_RANK, ContactEvent, SurveyedData, WrappedUpData

US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch, exactly (an aware datetime)."""
    return (moment - _EPOCH) // _ONE_US


class Event(NamedTuple):
    """Immutable. A NamedTuple rather than a frozen dataclass: built once per event, it costs far less."""

    id: str
    type: str
    t: int  # event time, microseconds since epoch (UTC)
    council: str
    contact_id: str
    source: str
    channel: str | None = None
    service: str | None = None
    queue: str | None = None
    site: str | None = None
    customer_ref: str | None = None
    agent_ref: str | None = None
    resolution: str | None = None
    rating: int | None = None

    @property
    def key(self) -> tuple[int, int, str]:
        """The walk order: time, then lifecycle order, then id."""
        return (self.t, LIFECYCLE_RANK[self.type], self.id)

    @property
    def contact(self) -> tuple[str, str]:
        return (self.council, self.contact_id)


def from_contract(ev: ContactEvent) -> Event:
    d = ev.data
    typ = ev.type.value
    return Event(
        id=ev.id,
        type=typ,
        t=micros(ev.time),
        council=d.council,
        contact_id=d.contact_id,
        source=ev.source,
        channel=d.channel.value if d.channel is not None else None,
        service=d.service,
        queue=d.queue,
        site=d.site,
        customer_ref=d.customer_ref,
        agent_ref=d.agent_ref,
        resolution=d.resolution.value if isinstance(d, WrappedUpData) else None,
        rating=d.rating if isinstance(d, SurveyedData) else None,
    )
