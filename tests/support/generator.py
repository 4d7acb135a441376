"""A seeded generator of many contacts' events, covering every lifecycle the facts must handle.

Not the simulator (which models queues and staff): this one aims at coverage and
volume for tests and the replay benchmark. Each contact's events are produced in
time order; callers shuffle and duplicate them as they like.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

COUNCILS = ("boston", "east-lindsey", "south-holland")
SERVICES = ("council-tax", "benefits", "waste", "housing", "planning", "parking")
QUEUES = ("revenues", "benefits", "environment", "housing", "switchboard")
CHANNELS = ("phone", "phone", "phone", "webchat", "email", "web", "web", "chatbot", "face_to_face", "video", "social")
RESOLUTIONS = ("resolved", "resolved", "resolved", "referred", "callback", "escalated", "unresolved")
BAD_LINES = (
    b"{not json",
    b"[1, 2, 3]",
    b'{"specversion":"0.3","id":"x","source":"/s","type":"contact.started"}',
)


class Generator:
    def __init__(self, seed: int, start: datetime | None = None, customers: int = 2000) -> None:
        self.rng = random.Random(seed)
        self.start = start or datetime(2026, 3, 1, tzinfo=UTC)
        self.customers = [f"cust{seed:04d}x{i:06d}AbCdEf" for i in range(customers)]
        self.n = 0

    def contact(self, index: int) -> list[dict[str, Any]]:
        """The events of one contact, in time order."""
        r = self.rng
        council = r.choice(COUNCILS)
        cid = f"C-{index:08d}"
        channel = r.choice(CHANNELS)
        base = {"contact_id": cid, "council": council}
        t = index * r.uniform(5, 40)  # seconds after start; contacts overlap
        out: list[dict[str, Any]] = []

        def emit(type_: str, at: float, **data: Any) -> None:
            self.n += 1
            out.append(
                {
                    "specversion": "1.0",
                    "id": f"{cid}-{len(out)}-{self.n}",
                    "source": f"/{council}/{channel}/src",
                    "type": type_,
                    "time": (self.start + timedelta(seconds=at)).isoformat().replace("+00:00", "Z"),
                    "subject": cid,
                    "data": {**base, **data},
                }
            )

        first: dict[str, Any] = {"channel": channel, "service": r.choice(SERVICES)}
        if r.random() < 0.8:
            first["customer_ref"] = r.choice(self.customers)
        emit("contact.started", t, **first)
        if channel in ("web", "chatbot"):
            if r.random() < 0.9:
                emit("contact.ended", t + r.uniform(30, 900))
            return out
        queue = r.choice(QUEUES)
        t += r.uniform(0, 20)
        emit("contact.queued", t, channel=channel, queue=queue)
        fate = r.random()
        if fate < 0.04:  # never ends: open, later timed out
            return out
        if fate < 0.10:  # short abandon
            emit("contact.ended", t + r.uniform(0, 4.9))
            return out
        if fate < 0.22:  # abandon after patience
            emit("contact.ended", t + r.uniform(5, 600))
            return out
        t += r.expovariate(1 / 40)
        emit("contact.answered", t, agent_ref=f"agent-{r.randint(1, 40)}")
        for _ in range(r.choice((0, 0, 0, 1, 1, 2))):
            t += r.uniform(10, 200)
            emit("contact.hold_started", t)
            if r.random() < 0.9:
                t += r.uniform(5, 300)
                emit("contact.hold_ended", t)
        if r.random() < 0.12:
            t += r.uniform(10, 120)
            emit("contact.transferred", t, queue=r.choice(QUEUES))
            t += r.expovariate(1 / 30)
            emit("contact.answered", t)
        t += r.uniform(30, 600)
        emit("contact.ended", t)
        if r.random() < 0.85:
            emit("contact.wrapped_up", t + r.uniform(0, 180), resolution=r.choice(RESOLUTIONS))
        if r.random() < 0.2:
            emit("contact.surveyed", t + r.uniform(60, 3 * 86400), rating=r.randint(1, 5))
        return out

    def contacts(self, count: int) -> Iterator[list[dict[str, Any]]]:
        for i in range(count):
            yield self.contact(i)


def jsonl(events: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)
