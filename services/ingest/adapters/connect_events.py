"""Amazon Connect contact events (EventBridge ``detail-type: Amazon Connect Contact Event``), read as a
chain of legs, as the contact records are.

Format: the Amazon Connect Administrator Guide, "Amazon Connect contact events": ``detail.eventType``
(INITIATED, QUEUED, CONNECTED_TO_AGENT, DISCONNECTED, COMPLETED...), ``contactId``, ``initialContactId``,
``previousContactId``, ``channel``, ``initiationMethod``, ``initiationTimestamp``, ``queueInfo``
(``queueArn``, ``enqueueTimestamp``), ``agentInfo`` (``agentArn``, ``connectedToAgentTimestamp``,
``afterContactWorkEndTimestamp``) and ``disconnectTimestamp``. AWS's pages print them both in the
EventBridge envelope and as the bare ``detail``, with ``Voice`` or ``VOICE``, ``agentInfo`` or
``AgentInfo``: every spelling is read.

A transfer makes a new leg (``initiationMethod`` TRANSFER or QUEUE_TRANSFER) with the same
``initialContactId`` and the leg before it as ``previousContactId``. In a warm transfer the first
agent's leg disconnects after the second agent has answered; in a cold one, before the caller waits in
the next queue. So a leg's DISCONNECTED ends the contact only when no later leg follows it: it is held
until a leg names it as its previous one (then it ends nothing), or until the input's own clock has
passed it by ``HOLD_BACK`` (events delivered out of order arrive within that), or the input ends.
The ends released are the driver's to send (``released``), never part of another record's events.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.ingest.adapters.base import Emitter, Unreadable, stable_id

HOLD_BACK = timedelta(days=1)  # how long a leg's disconnect waits for a later leg of its contact
FORGET = timedelta(days=2)  # a contact quiet this long (on the input's clock) is forgotten
Times = Callable[[Any, str], datetime]


def camel(doc: Any) -> Any:
    """Keys with their first letter in lower case, all the way down (``AgentInfo`` as ``agentInfo``)."""
    if isinstance(doc, dict):
        return {(k[:1].lower() + k[1:] if isinstance(k, str) else k): camel(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [camel(v) for v in doc]
    return doc


def last_part(arn: Any) -> str:
    """The id at the end of an ARN (``.../queue/<id>``, ``.../agent/<id>``)."""
    return str(arn or "").rsplit("/", 1)[-1]


@dataclass
class _Chain:
    followed: set[str] = field(default_factory=set)  # legs that a later leg names as its previous one
    held: dict[str, tuple[datetime, str]] = field(default_factory=dict)  # leg -> (its disconnect, channel)
    seen: datetime | None = None  # the chain's latest event


@dataclass
class _Leg:
    leg: str
    contact: str
    channel: str
    first: bool


class ContactEvents:
    """The contract events of Connect's contact events, one at a time, with the chains' memory."""

    def __init__(
        self,
        emitter: Emitter,
        channels: Mapping[str, str],
        transferred: frozenset[str],
        queue: Callable[[str, str], str],
        time: Times,
        default_resolution: str,
    ) -> None:
        self.e, self.channels, self.transferred, self.queue, self.time = emitter, channels, transferred, queue, time
        self.default = default_resolution
        self.chains: dict[str, _Chain] = {}
        self.clock: datetime | None = None  # the latest time the input has shown
        self.waiting: list[tuple[datetime, str, str]] = []  # heap of held disconnects: (time, contact, leg)
        self.sweep_at: datetime | None = None  # when quiet chains are next forgotten

    def event(self, detail: dict[str, Any], envelope_time: Any) -> list[dict[str, Any]]:
        d = camel(detail)
        leg = self._leg(d)
        chain = self.chains.setdefault(leg.contact, _Chain())
        out = self._map(d, leg, chain, envelope_time)
        previous = str(d.get("previousContactId") or (leg.contact if leg.leg != leg.contact else ""))
        if previous and previous != leg.leg:
            chain.followed.add(previous)
            chain.held.pop(previous, None)  # that leg's disconnect was a hand-off, not the end
        return out

    def _leg(self, d: dict[str, Any]) -> _Leg:
        leg = str(d.get("contactId") or "")
        if not leg:
            raise Unreadable("missing:contactId", "a contact event without contactId")
        contact = str(d.get("initialContactId") or leg)
        channel = self.channels.get(str(d.get("channel")).upper())
        if channel is None:
            raise Unreadable("unknown_channel", f"channel {str(d.get('channel'))[:20]!r}")
        method = str(d.get("initiationMethod") or "").upper()
        return _Leg(leg, contact, channel, contact == leg and method not in self.transferred)

    def _at(self, value: Any, name: str, envelope_time: Any) -> datetime:
        """The event's own timestamp ``name``, else the envelope's time."""
        if value:
            return self.time(value, name)
        if envelope_time:
            return self.time(envelope_time, "time")
        raise Unreadable(f"missing:{name}", "neither the event's own timestamp nor the envelope's time")

    def _map(self, d: dict[str, Any], leg: _Leg, chain: _Chain, envelope_time: Any) -> list[dict[str, Any]]:
        kind = str(d.get("eventType") or "").upper()

        def one(type_: str, at: datetime, **data: Any) -> list[dict[str, Any]]:
            self._tick(chain, at)
            return [
                self.e.event(
                    type_, stable_id("connect", leg.leg, type_, "event"), leg.contact, at, channel=leg.channel, **data
                )
            ]

        if kind == "INITIATED":
            at = self._at(d.get("initiationTimestamp"), "initiationTimestamp", envelope_time)
            return one("contact.started", at) if leg.first else self._tick(chain, at)
        if kind == "QUEUED":
            info = d.get("queueInfo") or {}
            at = self._at(info.get("enqueueTimestamp"), "queueInfo.enqueueTimestamp", envelope_time)
            queue = self.queue(last_part(info.get("queueArn")), "")
            return one("contact.queued" if leg.first else "contact.transferred", at, queue=queue)
        if kind == "CONNECTED_TO_AGENT":
            info = d.get("agentInfo") or {}
            at = self._at(info.get("connectedToAgentTimestamp"), "agentInfo.connectedToAgentTimestamp", envelope_time)
            return one("contact.answered", at, agent_ref=last_part(info.get("agentArn")) or None)
        if kind == "DISCONNECTED":
            at = self._at(d.get("disconnectTimestamp"), "disconnectTimestamp", envelope_time)
            if leg.leg not in chain.followed:
                chain.held[leg.leg] = (at, leg.channel)  # the end, unless a later leg follows it
                heapq.heappush(self.waiting, (at, leg.contact, leg.leg))
            return self._tick(chain, at)
        if kind == "COMPLETED" and (d.get("agentInfo") or {}).get("afterContactWorkEndTimestamp"):
            at = self.time(d["agentInfo"]["afterContactWorkEndTimestamp"], "agentInfo.afterContactWorkEndTimestamp")
            return one("contact.wrapped_up", at, resolution=self.default)
        return []  # CONTACT_DATA_UPDATED, CONNECTED_TO_SYSTEM and the rest

    def _tick(self, chain: _Chain, at: datetime) -> list[dict[str, Any]]:
        chain.seen = at if chain.seen is None else max(chain.seen, at)
        self.clock = at if self.clock is None else max(self.clock, at)
        return []

    def released(self, everything: bool = False) -> list[dict[str, Any]]:
        """The ends of contacts whose last leg's disconnect has waited ``HOLD_BACK`` on the input's clock
        (``everything``: all that wait, at the end of the input). Quiet chains are forgotten daily."""
        out: list[dict[str, Any]] = []
        if self.clock is None:
            return out
        horizon = self.clock - HOLD_BACK
        while self.waiting and (everything or self.waiting[0][0] < horizon):
            at, contact, leg = heapq.heappop(self.waiting)
            chain = self.chains.get(contact)
            if chain is None or chain.held.get(leg, (None,))[0] != at:
                continue  # followed by a later leg since, or held again at another time
            channel = chain.held.pop(leg)[1]
            out.append(
                self.e.event(
                    "contact.ended", stable_id("connect", leg, "contact.ended", "event"), contact, at, channel=channel
                )
            )
        if self.sweep_at is None or self.clock >= self.sweep_at:
            self.sweep_at = self.clock + FORGET / 2
            quiet = self.clock - FORGET
            for contact in [c for c, ch in self.chains.items() if not ch.held and ch.seen and ch.seen < quiet]:
                del self.chains[contact]
        return out
