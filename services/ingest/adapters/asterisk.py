"""Asterisk and FreePBX: the queue log (``/var/log/asterisk/queue_log``) as contract events.

A line is ``time|callid|queue|agent|verb|data1|data2|...`` (Asterisk's "Queue Logs" documentation);
a contact is a call id, kept whole (a ``systemname`` prefix included). Per verb:

- ``ENTERQUEUE(url|callerid|position)``: started and queued (the caller's number → customer_ref); a call
  already known (after a transfer, or an overflow to another queue) only queues again;
- ``CONNECT(holdtime|bridged uniqueid|ringtime)``: answered by the agent. queue_log's "holdtime" is the
  *queue wait*, not hold; it is used only when the call's ENTERQUEUE is not in the log;
- ``COMPLETEAGENT``/``COMPLETECALLER``, ``ABANDON``, ``EXITWITHTIMEOUT``, ``EXITWITHKEY``, ``EXITEMPTY``:
  ended;
- ``TRANSFER``/``BLINDTRANSFER``/``ATTENDEDTRANSFER``: transferred, with the queue the call next enters;
  a call that enters no queue within ``TRANSFER_WINDOW`` has left the queues: it ends at the transfer (the
  window runs on the log's own clock, so a file read once and one followed give the same events);
- ``WRAPUP(resolution)``: wrapped_up; a convention, not Asterisk's: the dialplan's ``QueueLog()`` at the
  end of after-contact work (docs/adapters.md);
- ``RINGNOANSWER``, ``DID`` (FreePBX writes it before ENTERQUEUE), ``INFO`` and every other verb, and the
  lines of call id ``NONE`` or ``MANAGER``, are read and make no contact.

An attended transfer to a queue: the agent's consultation call enters the second queue under its own
call id, with the agent's extension as caller id, and ATTENDEDTRANSFER is logged under that id; the next
agent's CONNECT and COMPLETE then carry the *original* call id (asterisk/asterisk#759). An ENTERQUEUE
whose caller id is the extension of an agent on a call is therefore the consultation leg: never a contact
of its own; its ATTENDEDTRANSFER is the original call's one transfer, to the consultation's queue.

Hold is not in the queue log: ``cel_holds`` reads it from a CEL CSV (HOLD/UNHOLD).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from services.ingest.adapters.base import Emitter, Reject, Unreadable, rfc3339_seconds, slug, stable_id
from services.ingest.adapters.run import SURPRISES, Item, unforeseen
from services.ingest.sources import Option, Source

MAX_CALL = 4 * 3600  # an agent connected longer than this without a COMPLETE line is taken to be free again
TRANSFER_WINDOW = 60  # seconds after a transfer within which the call's next ENTERQUEUE continues the contact
FORGET_ENDED_AFTER = 3600  # an ended call is remembered this long, for an overflow into another queue
LAST_TIME = 253_402_300_800  # 10000-01-01T00:00:00Z in epoch seconds: the first time RFC 3339 cannot write
NO_CALL = frozenset({"NONE", "MANAGER", ""})
ENDS = frozenset({"COMPLETEAGENT", "COMPLETECALLER", "ABANDON", "EXITWITHTIMEOUT", "EXITWITHKEY", "EXITEMPTY"})
TRANSFERS = frozenset({"TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"})
# an event as the mapper decides it: (type, call id, time in epoch seconds, the id's tag, and its one data
# field beyond contact_id, council and channel: name and value, the value None for none)
Spec = tuple[str, str, int, str, str, str | None]
_EXTENSION = re.compile(r"^[A-Za-z0-9]+/([^@/-]+)")  # PJSIP/7009, SIP/7009-0000a1, Local/7009@from-queue/n
SOURCE = Source(
    "asterisk-queue-log",
    "records",
    "Asterisk or FreePBX queue_log, with hold from CEL or AMI",
    "telephony/asterisk",
    "services.ingest.adapters.asterisk_cli:run",
    "https://docs.asterisk.org/Operation/Logging/Queue-Logs/",
    (
        Option("file", "the queue_log file", positional=True),
        Option("follow", "follow the file as Asterisk writes it (and rotates it)", bool),
        Option("state", "the follower's position file (default: FILE.contactpulse-position)"),
        Option("cel", "hold from a CEL CSV (HOLD/UNHOLD user events)", exclusive="hold"),
        Option("ami", "hold from saved AMI events (Hold/Unhold)", exclusive="hold"),
        Option("cel_fields", "the CEL CSV's columns, comma-separated (default: the sample Master.csv)"),
    ),
)


def extension(interface: str) -> str | None:
    m = _EXTENSION.match(interface)
    return m.group(1) if m else None


@dataclass
class Memory:
    """What the mapper knows between lines; saved with the follower's position (``to_json``)."""

    calls: dict[str, str] = field(default_factory=dict)  # call id -> its queue, while it may still matter
    ended: dict[str, int] = field(default_factory=dict)  # call id -> when it ended, oldest first
    transfers: dict[str, int] = field(default_factory=dict)  # call id -> a transfer waiting for its next queue
    connected: dict[str, str] = field(default_factory=dict)  # agent interface -> call id
    since: dict[str, int] = field(default_factory=dict)  # agent interface -> when connected
    extensions: dict[str, str] = field(default_factory=dict)  # extension of a connected agent -> interface
    consult: dict[str, list[str]] = field(default_factory=dict)  # consultation call id -> [original, queue]
    clock: int = 0  # the latest line's time

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Memory:
        return cls(**doc)

    def release(self, agent: str, callid: str) -> None:
        if self.connected.get(agent) == callid:
            del self.connected[agent]
            self.since.pop(agent, None)
            ext = extension(agent)
            if ext is not None and self.extensions.get(ext) == agent:
                del self.extensions[ext]


class QueueLog:
    def __init__(self, emitter: Emitter, memory: Memory | None = None, keep_seen: bool = True) -> None:
        self.e = emitter
        self.m = memory or Memory()
        self.keep_seen = keep_seen  # a file read once keeps every call id, for joining hold (CEL, AMI) after it
        self.seen: set[str] = set()

    def lines(self, numbered: Iterable[tuple[int, str]]) -> Iterator[Item]:
        """Each line's events (or its rejection)."""
        e = self.e
        for n, text in numbered:
            specs = self.specs(n, text)
            yield n, specs if isinstance(specs, Reject) else [event(e, s) for s in specs]

    def line(self, n: int, text: str) -> list[dict[str, Any]] | Reject:
        specs = self.specs(n, text)
        return specs if isinstance(specs, Reject) else [event(self.e, s) for s in specs]

    def specs(self, n: int, text: str) -> list[Spec] | Reject:
        """A line's events as specs (``event`` makes each one), or its rejection."""
        try:
            return self._line(text.rstrip("\r\n"))
        except Unreadable as exc:
            why = exc
        except SURPRISES as exc:
            why = unforeseen(exc)
        return Reject(n, why.reason, why.detail, text.rstrip("\r\n"))

    def _line(self, text: str) -> list[Spec]:
        f = text.split("|")
        if len(f) < 5:
            raise Unreadable("not_queue_log", "a queue_log line is time|callid|queue|agent|verb|data...")
        try:
            t = int(f[0].split(".")[0])
        except ValueError:
            raise Unreadable("bad_time", f"{f[0][:20]!r} is not epoch seconds") from None
        if not 0 <= t < LAST_TIME:
            raise Unreadable("bad_time", f"{f[0][:20]!r} is not a time between 1970 and 9999")
        callid, queue, agent, verb, data = f[1], f[2], f[3], f[4], f[5:]
        out = self._due(t) if t > self.m.clock else []
        self.m.clock = max(self.m.clock, t)
        if callid in NO_CALL:
            return out
        if verb == "ENTERQUEUE":
            return out + self._enter(t, callid, slug(queue), data)
        if callid in self.m.consult:
            return out + self._consultation(t, callid, verb)
        if verb == "CONNECT":
            return out + self._connect(t, callid, slug(queue), agent, data)
        if verb in ENDS:
            return out + self._end(t, callid, verb, agent)
        if verb in TRANSFERS:
            return out + self._transfer(t, callid, agent)
        if verb == "WRAPUP" and (callid in self.m.calls or callid in self.m.ended):
            resolution = data[0] if data else ""
            return [*out, self._ev("contact.wrapped_up", callid, t, verb, "resolution", resolution)]
        return out  # RINGNOANSWER, DID, INFO, ... and WRAPUP of a call not seen

    @staticmethod
    def _ev(type_: str, callid: str, t: int, tag: str, name: str = "", value: str | None = None) -> Spec:
        return type_, callid, t, tag, name, value

    def _enter(self, t: int, callid: str, queue: str, data: list[str]) -> list[Spec]:
        caller = data[1] if len(data) > 1 else ""
        agent = self.m.extensions.get(caller) if caller else None
        original = self.m.connected.get(agent) if agent else None
        if original is not None and t - self.m.since.get(agent or "", 0) > MAX_CALL:
            original = None  # a call whose COMPLETE line never came: the agent is long free
        if original is not None and original != callid:  # an agent on a call dials a queue: consultation
            self.m.consult[callid] = [original, queue]
            return []
        if callid in self.m.calls:  # transferred or overflowing into another queue: the same contact waits again
            self.m.calls[callid] = queue
            self.m.ended.pop(callid, None)
            at = self.m.transfers.pop(callid, None)
            if at is not None:
                return [self._ev("contact.transferred", callid, at, "transferred", "queue", queue)]
            return [self._ev("contact.queued", callid, t, "requeued", "queue", queue)]
        self.m.calls[callid] = queue
        if self.keep_seen:
            self.seen.add(callid)
        ref = self.e.ref(caller)
        return [
            self._ev("contact.started", callid, t, "enter", "customer_ref", ref),
            self._ev("contact.queued", callid, t, "enter", "queue", queue),
        ]

    def _connect(self, t: int, callid: str, queue: str, agent: str, data: list[str]) -> list[Spec]:
        out = []
        if callid not in self.m.calls:  # its ENTERQUEUE is before the log starts: the wait is "holdtime"
            wait = int(data[0]) if data and data[0].isascii() and data[0].isdigit() else 0
            if wait > t:
                raise Unreadable("bad_time", f"a holdtime of {data[0][:20]} s is longer than the time since 1970")
            self.m.calls[callid] = queue
            if self.keep_seen:
                self.seen.add(callid)
            out += [
                self._ev("contact.started", callid, t - wait, "enter"),
                self._ev("contact.queued", callid, t - wait, "enter", "queue", queue),
            ]
        self.m.connected[agent] = callid
        self.m.since[agent] = t
        ext = extension(agent)
        if ext is not None:
            self.m.extensions[ext] = agent
        return [*out, self._ev("contact.answered", callid, t, "connect", "agent_ref", agent)]

    def _end(self, t: int, callid: str, verb: str, agent: str) -> list[Spec]:
        self.m.release(agent, callid)
        if callid not in self.m.calls:
            return []  # the end of a call whose start is before the log: nothing to count
        self.m.ended.pop(callid, None)
        self.m.ended[callid] = t
        return [self._ev("contact.ended", callid, t, verb.lower())]

    def _transfer(self, t: int, callid: str, agent: str) -> list[Spec]:
        self.m.release(agent, callid)
        if callid in self.m.calls:
            self.m.transfers[callid] = t
        return []

    def _consultation(self, t: int, callid: str, verb: str) -> list[Spec]:
        """A line of an agent's consultation call: its ATTENDEDTRANSFER transfers the original call."""
        original, queue = self.m.consult[callid]
        if verb == "ATTENDEDTRANSFER":
            del self.m.consult[callid]
            for agent in [a for a, c in self.m.connected.items() if c == original]:
                self.m.release(agent, original)
            self.m.calls[original] = queue
            self.m.transfers.pop(original, None)
            return [self._ev("contact.transferred", original, t, "transferred", "queue", queue)]
        if verb in ENDS:  # the agent gave up the consultation: nothing of it counts
            del self.m.consult[callid]
        return []

    def _due(self, now: int) -> list[Spec]:
        """Transfers into no queue, once their window has passed; ended calls forgotten after an hour."""
        out = []
        transfers = self.m.transfers
        for callid, at in [(c, a) for c, a in transfers.items() if now - a > TRANSFER_WINDOW] if transfers else ():
            del transfers[callid]
            out.append(self._ev("contact.ended", callid, at, "transfer-out"))
            self.m.ended[callid] = at
        ended = self.m.ended
        while ended:
            callid, at = next(iter(ended.items()))
            if now - at <= FORGET_ENDED_AFTER:
                break
            del ended[callid]
            self.m.calls.pop(callid, None)
        return out

    def close(self) -> list[dict[str, Any]]:
        """At the end of a file read once: every transfer still waiting has left the queues."""
        return [event(self.e, s) for s in self._due(self.m.clock + TRANSFER_WINDOW + 1)]


def event(e: Emitter, spec: Spec) -> dict[str, Any]:
    """The contract event of a spec: its id from the call, the tag and the time, so that reading the same
    lines again gives the same ids; its one data field (if any) after contact_id, council and channel."""
    type_, callid, t, tag, name, value = spec
    base = {"contact_id": callid, "council": e.council, "channel": "phone"}
    return e.event_with(
        type_,
        stable_id("ast", callid, tag, t, type_),
        callid,
        rfc3339_seconds(t),
        base,
        {name: value} if value is not None else {},
    )
