"""Twilio TaskRouter event callbacks, form-encoded as TaskRouter posts them, through the gateway's decoding,
the adapter's admission and the mapper, then the contract and the facts engine.

The callbacks are built from Twilio's "TaskRouter Events reference"
(https://www.twilio.com/docs/taskrouter/api/event/reference): every callback carries EventType, AccountSid,
WorkspaceSid, WorkspaceName, EventDescription, ResourceType, ResourceSid and Timestamp (epoch seconds;
TimestampMs since January 2018, per TaskRouter's changelog); task and reservation events carry the task's
fields (TaskSid, TaskAttributes as a JSON string, TaskAge, TaskPriority, TaskAssignmentStatus,
TaskCanceledReason, TaskCompletedReason, TaskChannelUniqueName), TaskQueueSid/TaskQueueName on queue
events, and the worker's (WorkerSid, WorkerName) on reservation events.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from pipelines.facts import compute_facts
from pipelines.rules import MetricRules
from services.ingest.gateway.vendors import decode
from services.ingest.sources import FORM_BODY
from services.ingest.webhooks.mapper import Record, WebhookMapper
from services.ingest.webhooks.twilio import TaskRouter
from tests.support.builders import T0
from tests.support.facts import to_events

KEY = b"k" * 32
WS = "WS0123456789abcdef0123456789abcdef"
TASK = "WT0123456789abcdef0123456789abcdef"
WORKER = "WK0123456789abcdef0123456789abcdef"
QUEUE = "WQ0123456789abcdef0123456789abcdef"
ADAPTER = TaskRouter("taskrouter-boston", "boston", "/boston/contact-centre/twilio", WS, service="general")


def callback(event: str, seconds: float, task: str = TASK, **extra: Any) -> bytes:
    """One callback's body as TaskRouter posts it."""
    at = T0 + timedelta(seconds=seconds)
    attributes = {"from": "+447700900123", "to": "+441205310000", "call_sid": "CA0123", "type": "inbound"}
    attributes.update(extra.pop("attributes", {}))
    form = {
        "EventType": event,
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "WorkspaceSid": WS,
        "WorkspaceName": "Boston Borough Council",
        "EventDescription": f"Task {task} {event} by Jane Agent",
        "ResourceType": "task" if event.startswith("task") else "reservation",
        "ResourceSid": task,
        "Timestamp": str(int(at.timestamp())),
        "TimestampMs": str(int(at.timestamp() * 1000)),
        "TaskSid": task,
        "TaskAttributes": orjson.dumps(attributes).decode(),
        "TaskAge": str(int(seconds)),
        "TaskPriority": "0",
        "TaskAssignmentStatus": "pending",
        "TaskChannelUniqueName": "voice",
        "TaskChannelSid": "TC0123",
        **extra,
    }
    return urlencode(form).encode()


def queued(seconds: float, **extra: Any) -> bytes:
    return callback("task-queue.entered", seconds, TaskQueueSid=QUEUE, TaskQueueName="Council Tax", **extra)


def accepted(seconds: float, **extra: Any) -> bytes:
    return callback("reservation.accepted", seconds, WorkerSid=WORKER, WorkerName="Jane Agent", **extra)


def run(bodies: list[bytes], adapter: TaskRouter = ADAPTER) -> tuple[list[dict[str, Any]], list[Any], list[bytes]]:
    """Decode each body as the gateway does (form, as sent), admit it, map them in order on one partition:
    the contract events, the dead letters, and what the webhooks topic kept."""
    mapper = WebhookMapper({adapter.name: adapter})
    records, kept_values = [], []
    for i, body in enumerate(bodies):
        key, kept = adapter.admit(decode(body, adapter.content_type, FORM_BODY), lambda c: KEY)
        value = orjson.dumps(kept)
        kept_values.append(value)
        headers = {"webhook": adapter.name, "received_at_us": str(int((T0.timestamp() + i) * 1e6))}
        records.append(Record("contact.webhooks.v1", 0, i, key, value, headers))
    out = mapper.map(records, now=T0 + timedelta(days=1))
    return [orjson.loads(v) for _, v in out.events], out.dead_letters, kept_values


def a_call(task: str = TASK, attributes: dict[str, Any] | None = None) -> list[bytes]:
    """Created at 0 s, queued at 1 s, a reservation offered at 30 s and accepted at 35 s, wrap-up at 275 s,
    completed at 320 s; worker and workflow events between."""
    extra = {"attributes": attributes or {}}
    return [
        callback("task.created", 0, task, **extra),
        callback("workflow.entered", 0.5, task, **extra),
        queued(1, task=task, **extra),
        callback("reservation.created", 30, task, WorkerSid=WORKER, **extra),
        accepted(35, task=task, **extra),
        callback("worker.activity.update", 36, task),
        callback("task.wrapup", 275, task, **extra),
        callback("task.completed", 320, task, TaskCompletedReason="Task completed", **extra),
    ]


def test_a_call_is_one_contact_answered_after_35_seconds_and_resolved() -> None:
    events, dead, _ = run(a_call())
    assert dead == []
    assert [e["type"] for e in events] == [
        "contact.started", "contact.queued", "contact.answered", "contact.ended", "contact.wrapped_up",
    ]  # fmt: skip
    assert {e["data"]["contact_id"] for e in events} == {TASK}
    assert events[1]["data"]["queue"] == "council-tax" and events[2]["data"]["agent_ref"] == WORKER
    assert {e["data"]["channel"] for e in events} == {"phone"} and events[0]["data"]["service"] == "general"
    assert events[4]["data"]["resolution"] == "resolved"
    f = compute_facts(to_events(events), MetricRules())
    assert (f.outcome, f.queue, f.time_to_answer_seconds, f.handle_seconds, f.resolution) == (
        "handled", "council-tax", 34.0, 285.0, "resolved",
    )  # fmt: skip
    assert f.customer_ref is not None and len(f.customer_ref) == 43


def test_a_caller_who_hangs_up_in_the_queue_is_an_abandoned_contact() -> None:
    body = [callback("task.created", 0), queued(1), callback("task.canceled", 91, TaskCanceledReason="hangup")]
    events, dead, _ = run(body)
    assert dead == [] and [e["type"] for e in events] == ["contact.started", "contact.queued", "contact.ended"]
    f = compute_facts(to_events(events), MetricRules())
    assert (f.outcome, f.wait_seconds, f.short_abandon) == ("abandoned", 90.0, False)


def test_a_repeated_callback_makes_the_same_ids_and_a_wrapped_up_task_ends_once() -> None:
    once, _, _ = run(a_call())
    twice, _, _ = run([b for body in a_call() for b in (body, body)])
    assert len({e["id"] for e in twice}) == len(once) == 5
    assert [e["type"] for e in twice].count("contact.ended") == 1


@pytest.mark.parametrize(("attributes", "resolution"), [
    ({"resolution": "referred"}, "referred"),
    ({"resolution": "sorted it"}, "resolved"),  # not a contract resolution: the default
    ({}, "resolved"),
])  # fmt: skip
def test_the_resolution_comes_from_the_task_attribute(attributes: dict[str, Any], resolution: str) -> None:
    events, _, _ = run(a_call(attributes=attributes))
    assert events[-1]["data"]["resolution"] == resolution


def test_nothing_but_the_mapped_fields_is_kept_no_name_and_no_digit_of_the_number() -> None:
    _, _, kept = run(a_call())
    for value in kept:
        for secret in (b"Jane", b"Boston Borough", b"7700", b"900123", b"1205", b"310000", b"CA0123"):
            assert secret not in value
    assert set(orjson.loads(kept[4])) == {
        "EventType", "AccountSid", "WorkspaceSid", "Timestamp", "TimestampMs", "TaskSid", "TaskChannelUniqueName",
        "WorkerSid", "customer_ref",
    }  # fmt: skip


def test_channels_follow_the_task_channel_and_queues_the_mapping() -> None:
    chat = TaskRouter("tr", "boston", "/b", WS, {QUEUE: "revenues"})
    body = [callback("task.created", 0, TaskChannelUniqueName="chat"), queued(1, TaskChannelUniqueName="chat")]
    events, _, _ = run(body, chat)
    assert [(e["data"]["channel"], e["data"].get("queue")) for e in events] == [
        ("webchat", None),
        ("webchat", "revenues"),
    ]


@pytest.mark.parametrize(("body", "reason"), [
    (callback("task.created", 0, WorkspaceSid="WSother"), "unmappable:workspace_mismatch"),
    (callback("task.created", 0, task=""), "unmappable:missing:TaskSid"),
    (callback("task-queue.entered", 0, TaskQueueName="", TaskQueueSid=""), "unmappable:missing:TaskQueueName"),
])  # fmt: skip
def test_a_callback_that_cannot_be_mapped_is_dead_lettered_with_its_reason(body: bytes, reason: str) -> None:
    events, dead, _ = run([body])
    assert events == [] and [h["reason"] for _, _, h in dead] == [reason]
