"""Genesys Cloud: analytics conversation detail records (``POST /api/v2/analytics/conversations/details/
query`` or a details job's export), as JSON: ``{"conversations": [...]}``, one conversation per line, or a
list of them.

A conversation has ``participants`` (``purpose`` customer, external, user, ivr, acd, agent...), each with
``sessions`` (``mediaType``, ``direction``) made of ``segments`` (``segmentType``, ``segmentStart`` /
``segmentEnd``, ``queueId``, ``disconnectType``, ``wrapUpCode``). One conversation is one contact:

- started at ``conversationStart`` (the customer's ``ani`` → customer_ref; on an internal call, the
  caller's: the originating participant's); ended at ``conversationEnd``, or, where the record has none
  and every segment is closed, at the last segment's end (wrap-up aside). A conversation with a segment
  still open has no end yet: it is counted in the summary as still open, to be read again once it ends;
- the acd participant's interact segment is the queue wait: queued, or transferred once an agent had it;
- the answer is the first interact segment of the participant who took the conversation from the queue:
  an ``agent``, or a ``user`` reached through ACD routing (its segments carry the ``queueId``), never
  the originating participant (the one who dialled: its ``dialing`` segment, or an outbound session
  from the conversation's start), whose own leg starts before any queue. An agent participant with only
  an alert segment is a missed ring, not an answer; the same agent may come back as another participant
  (after a hold or a consult), which answers again only if the contact had stopped being served;
- hold segments are holds; the wrapup segment's ``wrapUpCode`` maps to a resolution by the mapping
  file's table (else its default).

On every answered call the queue's segment ends with ``disconnectType: transfer``: that is the hand-off
to the agent, not a transfer. A transfer is an agent's interact ending in ``transfer`` and the contact
then waiting in a queue again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.ingest.adapters.base import Emitter, Unreadable, slug, stable_id
from services.ingest.sources import Option, Source

MEDIA = {
    "voice": "phone",
    "callback": "phone",
    "chat": "webchat",
    "email": "email",
    "message": "social",
    "video": "video",
}
CUSTOMER = frozenset({"customer", "external"})
AGENTS = frozenset({"agent", "user"})
SOURCE = Source(
    "genesys",
    "records",
    "Genesys Cloud analytics conversation details (a query's response or a job's results)",
    "telephony/genesys",
    "services.ingest.adapters.records_cli:run_genesys",
    "https://developer.genesys.cloud/analyticsdatamanagement/analytics/detail/",
    (
        Option("path", "a file or a directory of conversation detail JSON", positional=True),
        Option("mapping", "TOML: [queues] id = name, [wrapup_codes] id = resolution, default_resolution"),
    ),
)


@dataclass(frozen=True)
class GenesysNames:
    """The mapping file's tables: queue ids to names, wrap-up code ids to resolutions."""

    queues: dict[str, str] = field(default_factory=dict)
    wrapup_codes: dict[str, str] = field(default_factory=dict)
    default_resolution: str = "resolved"


def _time(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Unreadable("bad_time", f"{str(value)[:40]!r} is not an ISO 8601 time") from None


def conversations(doc: Any) -> list[Any]:
    """The conversations of one decoded JSON value (a query response, one conversation, or a list)."""
    if isinstance(doc, dict) and isinstance(doc.get("conversations"), list):
        return list(doc["conversations"])
    return list(doc) if isinstance(doc, list) else [doc]


def _originator(parts: list[dict[str, Any]], start: Any) -> dict[str, Any] | None:
    """The participant who placed the call: a user or agent that dialled, or whose outbound session
    began with the conversation."""
    for p in parts:
        if p.get("purpose") not in AGENTS:
            continue
        for s in p.get("sessions") or []:
            segments = s.get("segments") or []
            if any(seg.get("segmentType") == "dialing" for seg in segments):
                return p
            first = segments[0].get("segmentStart") if segments else None
            if s.get("direction") == "outbound" and first and _time(first) == _time(start):
                return p
    return None


def _end(parts: list[dict[str, Any]]) -> datetime | None:
    """A conversation's end from its segments, when every one is closed: the last to end (wrap-up is
    after the contact, and is not counted); None while any is open."""
    ends = []
    for p in parts:
        for s in p.get("sessions") or []:
            for seg in s.get("segments") or []:
                if not seg.get("segmentEnd"):
                    return None
                if seg.get("segmentType") != "wrapup":
                    ends.append(_time(seg["segmentEnd"]))
    return max(ends, default=None)


class Genesys:
    def __init__(self, emitter: Emitter, names: GenesysNames | None = None) -> None:
        self.e, self.names = emitter, names or GenesysNames()
        self.still_open = 0  # conversations read before they ended

    def record(self, c: Any) -> list[dict[str, Any]]:
        return self.conversation(c)

    def released(self, everything: bool = False) -> list[dict[str, Any]]:
        return []  # each conversation is whole in its record

    def notes(self) -> dict[str, int]:
        return {"still open": self.still_open} if self.still_open else {}

    def conversation(self, c: Any) -> list[dict[str, Any]]:
        if not isinstance(c, dict) or "conversationId" not in c:
            raise Unreadable("not_conversation", "a conversation detail record has a conversationId")
        if "conversationStart" not in c:
            raise Unreadable("missing:conversationStart", "a conversation without its start")
        cid, started = str(c["conversationId"]), _time(c["conversationStart"])
        parts = [p for p in c.get("participants") or [] if isinstance(p, dict)]
        origin = _originator(parts, c["conversationStart"])
        customer = next((p for p in parts if p.get("purpose") in CUSTOMER), origin)
        sessions = [s for p in parts for s in p.get("sessions") or []]
        media = next((s.get("mediaType") for s in (customer or {}).get("sessions") or []), None) or next(
            (s.get("mediaType") for s in sessions), None
        )
        channel = MEDIA.get(str(media))
        if channel is None:
            raise Unreadable("unknown_media", f"mediaType {str(media)[:20]!r}")
        ani = next((s.get("ani") for s in (customer or {}).get("sessions") or [] if s.get("ani")), None)
        kind = "email" if channel == "email" else "phone"
        ref = self.e.ref(str(ani).removeprefix("tel:").removeprefix("mailto:") if ani else None, kind)

        out: list[dict[str, Any]] = []

        def emit(type_: str, at: datetime, tag: str, **data: Any) -> None:
            out.append(self.e.event(type_, stable_id("genesys", cid, type_, tag), cid, at, channel=channel, **data))

        emit("contact.started", started, "start", customer_ref=ref)
        self._walk([p for p in parts if p is not origin], emit)
        end = _time(c["conversationEnd"]) if c.get("conversationEnd") else _end(parts)
        if end is not None:
            emit("contact.ended", end, "end")
        else:
            self.still_open += 1
        return out

    def _walk(self, parts: list[dict[str, Any]], emit: Any) -> None:
        served = answered = False
        for at, _, kind, seg, tag in sorted(_steps(parts), key=lambda x: (x[0], x[1], x[4])):
            if kind == "queue":
                queue = slug(self.names.queues.get(str(seg.get("queueId")), str(seg.get("queueId") or "")))
                emit("contact.transferred" if answered and not served else "contact.queued", at, tag, queue=queue)
            elif kind == "answer" and not served:
                emit("contact.answered", at, tag, agent_ref=seg["who"] or None)
                served = answered = True
            elif kind == "handed_on":
                served = False
            elif kind in ("hold", "unhold"):
                emit("contact.hold_started" if kind == "hold" else "contact.hold_ended", at, tag)
            elif kind == "wrapup":
                code = str(seg.get("wrapUpCode") or "")
                emit(
                    "contact.wrapped_up",
                    at,
                    tag,
                    resolution=self.names.wrapup_codes.get(code, self.names.default_resolution),
                )


Step = tuple[datetime, int, str, dict[str, Any], str]  # (time, order at one time, kind, segment, tag)


def _routed(p: dict[str, Any]) -> bool:
    """A participant reached through ACD routing: its segments carry the queue's id."""
    return any(seg.get("queueId") for s in p.get("sessions") or [] for seg in s.get("segments") or [])


def _steps(parts: list[dict[str, Any]]) -> list[Step]:
    """What each segment means for the contact, unordered."""
    steps: list[Step] = []
    for p in parts:
        purpose, who = p.get("purpose"), str(p.get("userId") or p.get("participantId") or "")
        if purpose == "user" and not _routed(p):
            continue  # a user the conversation did not reach through a queue (a colleague on a consult)
        for s in p.get("sessions") or []:
            for i, seg in enumerate(s.get("segments") or []):
                kind, tag = seg.get("segmentType"), f"{p.get('participantId')}:{s.get('sessionId')}:{i}"
                start, end = seg.get("segmentStart"), seg.get("segmentEnd")
                if purpose == "acd" and kind == "interact":
                    steps.append((_time(start), 1, "queue", seg, tag))
                elif purpose not in AGENTS:
                    continue
                elif kind == "interact":
                    steps.append((_time(start), 2, "answer", {**seg, "who": who}, tag))
                    if seg.get("disconnectType") == "transfer" and end:  # before the next queue, at one time
                        steps.append((_time(end), 0, "handed_on", seg, tag))
                elif kind == "hold":
                    steps.append((_time(start), 3, "hold", seg, tag))
                    if end:
                        steps.append((_time(end), 4, "unhold", seg, tag))
                elif kind == "wrapup" and end:
                    steps.append((_time(end), 5, "wrapup", seg, tag))
    return steps
