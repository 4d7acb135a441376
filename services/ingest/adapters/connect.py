"""Amazon Connect: contact records (CTR), as Kinesis Firehose writes them, and EventBridge contact events
(their chain of legs in connect_events.py).

Formats: the Amazon Connect Administrator Guide, "Contact records data model" (``ContactId``,
``InitialContactId``, ``PreviousContactId``, ``NextContactId``, ``Channel``, ``InitiationMethod``,
``InitiationTimestamp``, ``DisconnectTimestamp``, ``DisconnectReason``, ``Queue`` and ``Agent`` with their
timestamps and hold totals, ``CustomerEndpoint``, ``Attributes``) and "Amazon Connect contact events"
(``detail-type: Amazon Connect Contact Event``, ``detail.eventType`` INITIATED, QUEUED,
CONNECTED_TO_AGENT, DISCONNECTED).

One contract contact per ``InitialContactId``: a transfer makes a new record (``InitiationMethod``
TRANSFER or QUEUE_TRANSFER) whose queue is the contact's next queue. Each record maps on its own, so
records may come in any order and more than once (ids are the record's ContactId and the event's type).

| Connect | contract |
|---|---|
| ``InitiationTimestamp`` of the first record | started |
| ``Queue.EnqueueTimestamp`` | queued (first record) or transferred (a transfer's record) |
| ``Agent.ConnectedToAgentTimestamp`` | answered (``agent_ref``: the agent's id from its ARN) |
| ``Agent.NumberOfHolds``, ``CustomerHoldDuration`` | that many holds, of equal length, summing to it |
| ``DisconnectTimestamp`` of a record with no ``NextContactId`` | ended |
| ``Agent.AfterContactWorkEndTimestamp`` | wrapped_up (resolution: the contact attribute, else the default) |

Hold comes only as totals: the holds are placed evenly through the time with the agent, so their count
and sum are Connect's, not their moments. A record with a queue, no agent and ``CUSTOMER_DISCONNECT``
is queued and ended unanswered: abandoned.

A queue is named by one rule on both paths (contact events carry only its ARN): the id at the end of
its ARN, and the mapping file's name for that id where it has one (``[queues]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from services.ingest.adapters.base import Emitter, Unreadable, slug, stable_id
from services.ingest.adapters.connect_events import ContactEvents, camel, last_part
from services.ingest.sources import Option, Source

CHANNELS = {"VOICE": "phone", "CHAT": "webchat", "TASK": "web", "EMAIL": "email"}
TRANSFERRED = frozenset({"TRANSFER", "QUEUE_TRANSFER"})
RESOLUTIONS = frozenset({"resolved", "referred", "callback", "escalated", "unresolved"})
MAX_HOLDS = 100  # holds on one contact: a record claiming more is not a real one (and would make that many events)
SOURCE = Source(
    "amazon-connect",
    "records",
    "Amazon Connect contact records or contact events (Firehose output: JSON objects)",
    "telephony/amazon-connect",
    "services.ingest.adapters.records_cli:run_connect",
    "https://docs.aws.amazon.com/connect/latest/adminguide/ctr-data-model.html",
    (
        Option("path", "a file or a directory of Firehose output (JSON objects)", positional=True),
        Option("resolution_attribute", "the contact attribute holding a resolution", default="resolution"),
        Option("default_resolution", "the resolution of a contact whose attribute is not set", default="resolved"),
        Option("mapping", "TOML: [queues] queue id (the end of its ARN) = name, for records and events"),
    ),
)


def _time(value: Any, name: str) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Unreadable("bad_time", f"{name} {str(value)[:40]!r} is not an ISO 8601 time") from None


class Connect:
    def __init__(
        self,
        emitter: Emitter,
        resolution_attribute: str = "resolution",
        default_resolution: str = "resolved",
        queues: Mapping[str, str] | None = None,
    ) -> None:
        self.e, self.attribute, self.default = emitter, resolution_attribute, default_resolution
        self.queues = dict(queues or {})
        self.events = ContactEvents(emitter, CHANNELS, TRANSFERRED, self.queue, _time, default_resolution)

    def queue(self, queue_id: str, name: str) -> str:
        """The one naming rule: the mapping's name for the queue's id, else the id (else a record's name)."""
        return slug(self.queues.get(queue_id) or queue_id or name)

    def released(self, everything: bool = False) -> list[dict[str, Any]]:
        """Contacts ended by contact events whose last leg is now known (all of them at the input's end)."""
        return self.events.released(everything)

    def notes(self) -> dict[str, int]:
        return {}

    def record(self, doc: Any) -> list[dict[str, Any]]:
        try:
            return self._record(doc)
        except KeyError as exc:
            raise Unreadable(f"missing:{exc.args[0]}", "a field the record must have is absent") from None

    def _record(self, doc: Any) -> list[dict[str, Any]]:
        if not isinstance(doc, dict):
            raise Unreadable("not_object", "a contact record or contact event is a JSON object")
        detail = doc.get("detail")
        if doc.get("detail-type") == "Amazon Connect Contact Event" or (
            isinstance(detail, dict) and "eventType" in camel(detail)
        ):
            if not isinstance(detail, dict):
                raise Unreadable("missing:detail", "an EventBridge contact event without its detail object")
            return self.events.event(detail, doc.get("time"))
        if "eventType" in doc or "EventType" in doc:  # the bare detail, as AWS's pages print it
            return self.events.event(doc, None)
        if "ContactId" in doc:
            return self._ctr(doc)
        raise Unreadable("not_connect", "neither a contact record (ContactId) nor a contact event (detail)")

    def _ctr(self, r: dict[str, Any]) -> list[dict[str, Any]]:
        leg = str(r["ContactId"])
        contact = str(r.get("InitialContactId") or leg)
        channel = CHANNELS.get(str(r.get("Channel")).upper())
        if channel is None:
            raise Unreadable("unknown_channel", f"Channel {str(r.get('Channel'))[:20]!r}")
        out: list[dict[str, Any]] = []

        def emit(type_: str, at: datetime, tag: str = "", **data: Any) -> None:
            out.append(self.e.event(type_, stable_id("connect", leg, type_, tag), contact, at, channel=channel, **data))

        first = contact == leg or str(r.get("InitiationMethod") or "").upper() not in TRANSFERRED
        queue = r.get("Queue") or {}
        agent = r.get("Agent") or {}
        if first:
            endpoint = r.get("CustomerEndpoint") or {}
            kind = "email" if endpoint.get("Type") == "EMAIL_ADDRESS" else "phone"
            emit(
                "contact.started",
                _time(r["InitiationTimestamp"], "InitiationTimestamp"),
                customer_ref=self.e.ref(endpoint.get("Address"), kind),
            )
        if queue.get("EnqueueTimestamp"):
            at = _time(queue["EnqueueTimestamp"], "Queue.EnqueueTimestamp")
            name = self.queue(last_part(queue.get("ARN")), str(queue.get("Name") or ""))
            emit("contact.queued" if first else "contact.transferred", at, queue=name)
        if agent.get("ConnectedToAgentTimestamp"):
            answered = _time(agent["ConnectedToAgentTimestamp"], "Agent.ConnectedToAgentTimestamp")
            emit("contact.answered", answered, agent_ref=last_part(agent.get("ARN")) or None)
            end = agent.get("AfterContactWorkStartTimestamp") or r.get("DisconnectTimestamp")
            if end:
                self._holds(emit, agent, answered, _time(end, "DisconnectTimestamp"))
        if r.get("DisconnectTimestamp") and not r.get("NextContactId"):
            emit("contact.ended", _time(r["DisconnectTimestamp"], "DisconnectTimestamp"))
        if agent.get("AfterContactWorkEndTimestamp"):
            wanted = str((r.get("Attributes") or {}).get(self.attribute) or self.default).lower()
            emit(
                "contact.wrapped_up",
                _time(agent["AfterContactWorkEndTimestamp"], "AfterContactWorkEndTimestamp"),
                resolution=wanted,
            )
        return out

    @staticmethod
    def _holds(emit: Any, agent: dict[str, Any], start: datetime, end: datetime) -> None:
        """``NumberOfHolds`` holds summing to ``CustomerHoldDuration``, evenly spaced between start and end."""
        n, total = int(agent.get("NumberOfHolds") or 0), float(agent.get("CustomerHoldDuration") or 0)
        if n > MAX_HOLDS:
            raise Unreadable("bad_field:NumberOfHolds", f"{n} holds on one contact (at most {MAX_HOLDS})")
        span = (end - start).total_seconds()
        if n <= 0 or total <= 0 or span <= 0:
            return
        total = min(total, span)
        each, gap = total / n, (span - total) / (n + 1)
        for i in range(n):
            on = start + timedelta(seconds=gap * (i + 1) + each * i)
            emit("contact.hold_started", on, str(i))
            emit("contact.hold_ended", on + timedelta(seconds=each), str(i))
