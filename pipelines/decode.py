"""A fast lane for contract v1 messages: the plainly valid ones straight to ``Event``, in Python.

``fast_event`` returns None whenever it is not sure, and the caller then asks the pydantic models
(``schemas.reasons.parse_event``), which accept the message or name its reason. So this lane never
decides a rejection, and ``tests/unit/pipelines/test_decode.py`` checks, on the generator's events, every
rejection case and thousands of mutated messages, that what it accepts pydantic accepts with the same
values. It costs about a quarter of pydantic plus ``from_contract`` (docs/performance.md), which matters
to a consumer doing everything else per event too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from pipelines.events import Event, from_contract, micros
from schemas.events import (
    COUNCIL_PATTERN,
    CUSTOMER_REF_PATTERN,
    EARLIEST_TIME,
    FUTURE_TOLERANCE_SECONDS,
    LIFECYCLE_RANK,
    SLUG_PATTERN,
    SPECVERSION,
    Channel,
    EventType,
    Resolution,
)
from schemas.reasons import parse_event

# The lanes' shared bounds (this one and replay's SQL lane, services/store/sql/validate.sql)
EARLIEST_US = micros(EARLIEST_TIME)
# a second short of the contract's tolerance, so that a clock tick between a lane and pydantic cannot matter
AHEAD_US = (FUTURE_TOLERANCE_SECONDS - 1) * 1_000_000
# the plain RFC 3339 form only; any other form goes to pydantic
PLAIN_TIME_PATTERN = r"\d{4}-\d\d-\d\dT([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)"
NEEDS_CHANNEL = frozenset({EventType.STARTED.value, EventType.QUEUED.value})
NEEDS_QUEUE = frozenset({EventType.QUEUED.value, EventType.TRANSFERRED.value})
_TYPES = frozenset(LIFECYCLE_RANK)
_CHANNELS = frozenset(c.value for c in Channel)
_RESOLUTIONS = frozenset(r.value for r in Resolution)
_WRAPPED_UP, _SURVEYED = EventType.WRAPPED_UP.value, EventType.SURVEYED.value


def _remembering(pattern: str, limit: int = 65536) -> Callable[[str], bool]:
    """``pattern``'s fullmatch, remembering the strings that matched: councils, services, queues, sites
    and customers repeat, and a set lookup costs a tenth of a match. Forgets them all at ``limit``."""
    fullmatch = re.compile(pattern.strip("^$"), re.ASCII).fullmatch
    seen: set[str] = set()

    def matches(value: str) -> bool:
        if value in seen:
            return True
        if fullmatch(value) is None:
            return False
        if len(seen) >= limit:
            seen.clear()
        seen.add(value)
        return True

    return matches


# the contract's patterns, anchored by fullmatch and ASCII-only like pydantic-core's
_SLUG = _remembering(SLUG_PATTERN)
_COUNCIL = _remembering(COUNCIL_PATTERN)
_CUSTOMER_REF = _remembering(CUSTOMER_REF_PATTERN)
_TIME = re.compile(PLAIN_TIME_PATTERN, re.ASCII).fullmatch


def fast_event(raw: bytes | str, now_us: int) -> Event | None:
    """The event, if ``raw`` is plainly valid at ingest time ``now_us``; None means "ask pydantic".

    Written for speed (it runs for every message the consumer reads): each field is read once, into a
    local, and checked inline."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return fast_object(obj, now_us)


def fast_object(obj: Any, now_us: int) -> Event | None:
    """``fast_event`` of a message already decoded from JSON (adapters check the objects they made)."""
    if type(obj) is not dict:
        return None
    get = obj.get
    typ: Any = get("type")
    data: Any = get("data")
    id_, source, time = get("id"), get("source"), get("time")
    if not (
        get("specversion") == SPECVERSION
        and type(typ) is str
        and typ in _TYPES
        and type(data) is dict
        and type(id_) is str
        and 0 < len(id_) <= 128
        and type(source) is str
        and source != ""
        and type(time) is str
        and _TIME(time) is not None
        and get("datacontenttype") in (None, "application/json")
    ):
        return None
    try:
        t = micros(datetime.fromisoformat(time))
    except ValueError:  # 30 February, say
        return None
    if not EARLIEST_US <= t <= now_us + AHEAD_US:
        return None
    return _with_data(typ, data, id_, t, source, get("subject"))


def _with_data(typ: str, data: dict[str, Any], id_: str, t: int, source: str, subject: object) -> Event | None:
    """The event, if every data field this lane reads is valid by the rules of ``typ``'s data model."""
    get = data.get
    contact_id, council, channel, service = get("contact_id"), get("council"), get("channel"), get("service")
    queue, site, customer_ref, agent_ref = get("queue"), get("site"), get("customer_ref"), get("agent_ref")
    resolution = get("resolution") if typ == _WRAPPED_UP else None
    rating = get("rating") if typ == _SURVEYED else None
    if not (
        type(contact_id) is str
        and 0 < len(contact_id) <= 128
        and type(council) is str
        and _COUNCIL(council)
        and subject in (None, contact_id)
        and (channel in _CHANNELS if type(channel) is str else channel is None and typ not in NEEDS_CHANNEL)
        and (service is None or (type(service) is str and _SLUG(service)))
        and (type(queue) is str and _SLUG(queue) if queue is not None else typ not in NEEDS_QUEUE)
        and (site is None or (type(site) is str and _SLUG(site)))
        and (
            customer_ref is None
            or (type(customer_ref) is str and 16 <= len(customer_ref) <= 128 and _CUSTOMER_REF(customer_ref))
        )
        and (agent_ref is None or (type(agent_ref) is str and len(agent_ref) <= 128))
        and (typ != _WRAPPED_UP or (type(resolution) is str and resolution in _RESOLUTIONS))
        and (typ != _SURVEYED or (type(rating) is int and 1 <= rating <= 5))
    ):
        return None
    return Event(
        id_,
        typ,
        t,
        council,
        contact_id,
        source,
        channel,
        service,
        queue,
        site,
        customer_ref,
        agent_ref,
        resolution,
        rating,
    )


def decode_object(obj: dict[str, Any], now: datetime, now_us: int) -> Event:
    """``decode`` of an object about to be sent as JSON: the same rules, without parsing it back."""
    return fast_object(obj, now_us) or from_contract(parse_event(orjson.dumps(obj), now))


def decode(raw: bytes | str, now: datetime, now_us: int | None = None) -> Event:
    """A message as an ``Event``: by the fast lane if it is sure, else by the pydantic models, which raise
    ``Rejected`` with the reason. ``now_us``: ``micros(now)``, for callers that decode many at one time."""
    return fast_event(raw, micros(now) if now_us is None else now_us) or from_contract(parse_event(raw, now))
