"""Twilio TaskRouter: a workspace's event callbacks as contract events.

Format: Twilio's "TaskRouter Events reference" (https://www.twilio.com/docs/taskrouter/api/event/reference):
TaskRouter POSTs each event to the workspace's ``EventCallbackUrl`` as form fields
(``application/x-www-form-urlencoded``): ``EventType``, ``AccountSid``, ``WorkspaceSid``, ``ResourceType``,
``ResourceSid``, ``Timestamp`` (epoch seconds) and ``TimestampMs``, and, on task and reservation events,
the task's (``TaskSid``, ``TaskAttributes`` as a JSON string, ``TaskAge``, ``TaskAssignmentStatus``,
``TaskCanceledReason``, ``TaskCompletedReason``, ``TaskChannelUniqueName``), the queue's (``TaskQueueSid``,
``TaskQueueName``) and the worker's (``WorkerSid``, ``WorkerName``).

A contact is a task (``TaskSid``):
- ``task.created`` → started; ``task-queue.entered`` → queued (the queue's name, or ``queues`` by sid);
- ``reservation.accepted`` → answered (``agent_ref``: the worker's sid, never the name);
- ``task.canceled`` (the caller hung up, or the task timed out) → ended;
- ``task.wrapup`` → ended; ``task.completed`` → wrapped_up, with the resolution from the task's attribute
  (``resolution_attribute``) when it is one of the contract's, else ``default_resolution``.

Every other event (workers, activities, workflows, reservations offered or rejected) makes nothing. Each
event's id is the webhook's name, the task and the transition, so a repeated callback gives the same ids.
The customer's number or email (``from`` in the task's attributes) becomes ``customer_ref`` at the
gateway; the attributes themselves, the worker's and the workspace's names are never kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from services.ingest.sources import FORM_BODY, Option, Source
from services.ingest.webhooks.adapter import (
    Emit,
    KeyFor,
    State,
    Unmappable,
    cloudevent,
    parse_time,
    pseudonymise,
)

VENDOR = "twilio-taskrouter"
RESOLUTIONS = frozenset({"resolved", "referred", "callback", "escalated", "unresolved"})
# TaskChannel unique names (Twilio's defaults, and Flex's) -> the contract's channel
CHANNELS = {"voice": "phone", "chat": "webchat", "sms": "social", "email": "email", "video": "video"}
KEPT = ("EventType", "AccountSid", "WorkspaceSid", "Timestamp", "TimestampMs", "TaskSid", "TaskChannelUniqueName",
        "TaskQueueSid", "TaskQueueName", "WorkerSid", "TaskCanceledReason")  # fmt: skip
MAPPED = frozenset({"task.created", "task-queue.entered", "reservation.accepted", "task.canceled", "task.wrapup",
                    "task.completed"})  # fmt: skip
SOURCE = Source(
    VENDOR,
    "webhook",
    "Twilio TaskRouter (and Flex): a workspace's event callbacks",
    "contact-centre/twilio",
    "services.ingest.webhooks.twilio:build",
    "https://www.twilio.com/docs/taskrouter/api/event/reference",
    (
        Option(
            "workspace", "the TaskRouter workspace's sid (WS...): callbacks of any other are refused", required=True
        ),
        Option("queues", "TaskQueue sid -> queue, where the queue's own name is not the one to report", dict, dict),
        Option("channel", "the contract channel of every task (default: from the task's TaskChannel)"),
        Option("service", "the service of every task"),
        Option("resolution_attribute", "the task attribute holding a resolution", default="resolution"),
        Option("default_resolution", "the resolution of a task whose attribute is not one", default="resolved"),
    ),
    FORM_BODY,
)


@dataclass(slots=True)
class Task:
    ended: bool = False
    seen: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))


@dataclass(frozen=True)
class TaskRouter:
    name: str
    council: str
    source: str
    workspace: str
    queues: dict[str, str] = field(default_factory=dict)
    channel: str | None = None
    service: str | None = None
    resolution_attribute: str = "resolution"
    default_resolution: str = "resolved"
    vendor: str = VENDOR
    content_type: str = FORM_BODY

    def __post_init__(self) -> None:
        if self.default_resolution not in RESOLUTIONS:
            raise ValueError(f"default_resolution is one of {', '.join(sorted(RESOLUTIONS))}")

    # ---- at the gateway ----
    def admit(self, payload: Any, key_for: KeyFor) -> tuple[bytes | None, dict[str, Any]]:
        if not isinstance(payload, dict):
            raise Unmappable("not_object", "a TaskRouter callback is a set of form fields")
        kept = {k: payload[k] for k in KEPT if isinstance(payload.get(k), (str, int))}
        attributes = _attributes(payload.get("TaskAttributes"))
        resolution = attributes.get(self.resolution_attribute)
        if isinstance(resolution, str):
            kept["resolution"] = resolution[:32]
        caller = attributes.get("from")
        if isinstance(caller, str):
            kind = "email" if "@" in caller else "phone"
            ref = pseudonymise(kind, caller, self.council, key_for)
            if ref:
                kept["customer_ref"] = ref
        task = kept.get("TaskSid")
        return (f"{self.name}:{task}".encode() if task else None), kept

    # ---- after Kafka ----
    def map(self, payload: dict[str, Any], received_us: int, state: State) -> list[dict[str, Any]]:
        event = payload.get("EventType")
        if event not in MAPPED:
            return []
        if payload.get("WorkspaceSid") != self.workspace:
            raise Unmappable("workspace_mismatch", f"workspace {payload.get('WorkspaceSid')}, not {self.workspace}")
        sid = payload.get("TaskSid")
        if not sid:
            raise Unmappable("missing:TaskSid", f"a {event} callback without its task")
        at = _time(payload)
        task: Task = state.setdefault(str(sid), Task())
        task.seen = max(task.seen, datetime.fromtimestamp(received_us / 1e6, UTC))
        emits = self._emits(str(event), payload, task)
        return [cloudevent(self, Emit(t, str(sid), at, data), sid, t) for t, data in emits]

    def _emits(self, event: str, p: dict[str, Any], task: Task) -> list[tuple[str, dict[str, Any]]]:
        data: dict[str, Any] = {"channel": self._channel(p), "service": self.service}
        data["customer_ref"] = p.get("customer_ref")
        if event == "task.created":
            return [("contact.started", data)]
        if event == "task-queue.entered":
            return [("contact.queued", {**data, "queue": self._queue(p)})]
        if event == "reservation.accepted":
            return [("contact.answered", {**data, "agent_ref": p.get("WorkerSid")})]
        out = []
        if not task.ended:  # task.wrapup then task.completed: one end, at the first
            task.ended = True
            out.append(("contact.ended", data))
        if event == "task.completed":
            resolution = p.get("resolution")
            resolution = resolution if resolution in RESOLUTIONS else self.default_resolution
            out.append(("contact.wrapped_up", {**data, "resolution": resolution}))
        return out

    def _channel(self, p: dict[str, Any]) -> str:
        return self.channel or CHANNELS.get(str(p.get("TaskChannelUniqueName", "")).lower(), "phone")

    def _queue(self, p: dict[str, Any]) -> str:
        sid, name = p.get("TaskQueueSid"), p.get("TaskQueueName")
        if sid in self.queues:
            return self.queues[str(sid)]
        slug = "-".join("".join(c if c.isascii() and c.isalnum() else " " for c in str(name or "").lower()).split())[
            :64
        ]
        if not slug:
            raise Unmappable("missing:TaskQueueName", "a task-queue.entered callback with no queue name or sid")
        return slug


def _attributes(raw: Any) -> dict[str, Any]:
    """The task's attributes (a JSON object in a string); {} if they are not one."""
    try:
        value = orjson.loads(raw) if isinstance(raw, str) else None
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _time(p: dict[str, Any]) -> datetime:
    """When it happened: ``TimestampMs`` where sent (since 2018), else ``Timestamp`` (epoch seconds)."""
    if str(p.get("TimestampMs", "")).isdigit():
        return parse_time(p["TimestampMs"], "epoch_ms")
    if p.get("Timestamp") is None:
        raise Unmappable("missing:Timestamp", "a callback without its Timestamp")
    return parse_time(p["Timestamp"], "epoch")


def build(name: str, council: str, source: str, o: dict[str, Any]) -> TaskRouter:
    """The adapter of a ``[webhook.NAME] vendor = "twilio-taskrouter"`` table (its options checked by SOURCE)."""
    queues = {str(k): str(v) for k, v in o["queues"].items()}
    return TaskRouter(
        name, council, source, o["workspace"], queues, o["channel"], o["service"], o["resolution_attribute"],
        o["default_resolution"],
    )  # fmt: skip
