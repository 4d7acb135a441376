"""The Technion "Anonymous Bank" call records (1999) as contract v1 events.

Each row is one call: arrival at the voice menu (``vru_entry``), queue start and
exit, service start and exit, outcome AGENT / HANG / PHANTOM. Rows are parsed by
splitting on a tab or a run of two or more spaces (the files' own quirks; see
shared/data/technion-anonymous-bank/SOURCES.md). Source: Technion SEE Center
(Mandelbaum; data organised by Ilan Guedj).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_SPLIT = re.compile(r"\t| {2,}")
COUNCIL = "technion-bank"
# The contract rejects times before 2000: the records are moved forward by whole weeks (1999 -> 2025),
# which keeps every call's weekday and time of day.
SHIFT = timedelta(weeks=1357)


@dataclass(frozen=True, slots=True)
class Call:
    line: str  # the voice-menu line ("vru+line"); call ids are unique per line and day
    call_id: str
    customer_id: str
    type: str
    day: datetime
    vru_entry: int
    q_start: int | None
    q_time: int
    outcome: str
    ser_start: int | None
    ser_time: int


def _secs(text: str) -> int:
    h, m, s = text.split(":")
    return int(h) * 3600 + int(m) * 60 + int(s)


def read_calls(path: Path) -> Iterator[Call]:
    """Well-formed rows of one monthly file; malformed rows are skipped (a handful per month)."""
    with path.open(encoding="latin-1") as f:
        next(f, None)
        for line in f:
            parts = [p.strip() for p in _SPLIT.split(line.strip())]
            if len(parts) != 17:
                continue
            try:
                day = datetime.strptime(parts[5], "%y%m%d").replace(tzinfo=UTC)
                q = _secs(parts[9])
                ser = _secs(parts[13])
                yield Call(
                    line=parts[0].lower(),
                    call_id=parts[1],
                    customer_id=parts[2],
                    type=parts[4].lower(),
                    day=day,
                    vru_entry=_secs(parts[6]),
                    q_start=q or None,
                    q_time=int(parts[11]),
                    outcome=parts[12],
                    ser_start=ser or None,
                    ser_time=int(parts[15]),
                )
            except ValueError:
                continue


def _ref(customer_id: str) -> str | None:
    if customer_id in ("", "0"):
        return None
    return "tb" + hashlib.sha256(f"technion:{customer_id}".encode()).hexdigest()[:30]


def to_events(call: Call, shift: timedelta = SHIFT) -> list[dict[str, Any]]:
    """started at the voice menu; queued and then answered or abandoned; ended (times moved by ``shift``)."""
    cid = f"tb-{call.day:%y%m%d}-{call.line}-{call.call_id}"
    base = {"contact_id": cid, "council": COUNCIL, "channel": "phone", "service": call.type or "general"}
    ref = _ref(call.customer_id)
    if ref:
        base["customer_ref"] = ref
    out: list[dict[str, Any]] = []

    def emit(type_: str, at: int, **data: Any) -> None:
        out.append(
            {
                "specversion": "1.0",
                "id": f"{cid}-{len(out)}",
                "source": "/technion-bank/telephony/acd",
                "type": type_,
                "time": (call.day + shift + timedelta(seconds=at)).isoformat().replace("+00:00", "Z"),
                "subject": cid,
                "data": {**base, **data},
            }
        )

    emit("contact.started", call.vru_entry)
    if call.q_start is not None:
        emit("contact.queued", call.q_start, queue=call.type or "general")
    if call.outcome == "AGENT" and call.ser_start is not None:
        emit("contact.answered", max(call.ser_start, call.q_start or 0))
        emit("contact.ended", max(call.ser_start, call.q_start or 0) + call.ser_time)
    elif call.q_start is not None:
        emit("contact.ended", call.q_start + call.q_time)
    else:
        emit("contact.ended", call.vru_entry + 1)
    return out
