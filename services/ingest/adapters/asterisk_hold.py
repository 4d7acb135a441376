"""Hold for the Asterisk adapter, which the queue log does not record, from one of two sources:

- a CEL CSV (``cel_custom``: Asterisk's ``configs/samples/cel_custom.conf.sample``; ``CEL_FIELDS`` is the
  sample's legacy Master.csv mapping, and ``--cel-fields`` names another). CEL has no hold event of its
  own, so the rows are the dialplan's ``CELGenUserEvent(HOLD)``/``(UNHOLD)`` (``USER_DEFINED`` with
  ``userdeftype`` HOLD/UNHOLD), or rows whose ``eventtype`` is HOLD/UNHOLD;
- saved AMI events (``Event: Hold`` / ``Event: Unhold`` blocks, ``Key: Value`` lines separated by a blank
  line, with ``Timestamp:`` from ``timestampevents = yes`` in manager.conf).

A row joins the call whose queue_log call id is its ``uniqueid``, else its ``linkedid``.
"""

from __future__ import annotations

import csv
from collections.abc import Container, Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any

from services.errors import UserError
from services.ingest.adapters.base import Emitter, Reject, stable_id
from services.ingest.adapters.run import Item

CEL_FIELDS = ("eventtype", "eventtime", "cidname", "cidnum", "cidani", "cidrdnis", "ciddnid", "exten", "context",
              "channame", "appname", "appdata", "amaflags", "accountcode", "uniqueid", "linkedid", "peer",
              "userfield", "userdeftype", "eventextra")  # fmt: skip
TYPES = {"HOLD": "contact.hold_started", "UNHOLD": "contact.hold_ended"}


def _time(text: str, zone: tzinfo) -> datetime:
    """CEL's eventtime: epoch ``seconds.micros`` (no dateformat in cel.conf), or ``YYYY-MM-DD HH:MM:SS``."""
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        parsed = datetime.fromisoformat(text.strip())
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def cel_holds(
    lines: Iterable[str], calls: Container[str], emitter: Emitter, zone: tzinfo, fields: tuple[str, ...] = CEL_FIELDS
) -> Iterator[Item]:
    """One item per CEL row: the hold event of a known call, nothing for other rows, or a reject."""
    at = {name: fields.index(name) for name in ("eventtype", "eventtime", "uniqueid", "linkedid")}
    user = fields.index("userdeftype") if "userdeftype" in fields else None
    for n, row in enumerate(csv.reader(lines), start=1):
        try:
            kind = row[at["eventtype"]].upper()
            if kind == "USER_DEFINED" and user is not None:
                kind = row[user].upper()
            if kind not in TYPES:
                yield n, []
                continue
            callid = next((c for c in (row[at["uniqueid"]], row[at["linkedid"]]) if c in calls), None)
            when = _time(row[at["eventtime"]], zone)
        except (IndexError, ValueError, OverflowError, OSError) as exc:  # OverflowError: a time past the calendar
            yield n, Reject(n, "unmappable:bad_cel_row", str(exc)[:100], ",".join(row))
            continue
        yield n, [] if callid is None else [_hold(emitter, callid, kind, when, "cel", n)]


def ami_holds(lines: Iterable[str], calls: Container[str], emitter: Emitter) -> Iterator[Item]:
    """One item per saved AMI Hold/Unhold event of a known call (other events make nothing). A line that
    is not ``Key: Value`` means the file is no saved AMI text: a one-line error, not zero holds."""
    block: dict[str, str] = {}
    start = 1
    for n, line in enumerate([*lines, ""], start=1):
        line = line.rstrip("\r\n")
        if line:
            key, colon, value = line.partition(":")
            if not colon or not key.strip() or " " in key.strip():
                raise UserError(
                    f"--ami: line {n} is not an AMI 'Key: Value' line; save the manager's events "
                    "as text (Event: Hold, Uniqueid: ..., Timestamp: ...)"
                )
            block.setdefault(key.strip().lower(), value.strip())
            continue
        if block:
            yield start, _ami(block, calls, emitter, start)
        block, start = {}, n + 1


def _ami(block: dict[str, str], calls: Container[str], emitter: Emitter, n: int) -> list[dict[str, Any]] | Reject:
    kind = block.get("event", "").upper()
    if kind not in TYPES:
        return []
    callid = next((c for c in (block.get("uniqueid", ""), block.get("linkedid", "")) if c in calls), None)
    if callid is None:
        return []
    try:
        when = datetime.fromtimestamp(float(block["timestamp"]), UTC)
    except (KeyError, ValueError):
        return Reject(n, "unmappable:no_timestamp", "set timestampevents = yes in manager.conf", f"Event: {kind}")
    return [_hold(emitter, callid, kind, when, "ami", n)]


def _hold(emitter: Emitter, callid: str, kind: str, when: datetime, origin: str, n: int) -> dict[str, Any]:
    return emitter.event(
        TYPES[kind],
        stable_id("ast", callid, origin, kind.lower(), f"{when.timestamp():.6f}"),
        callid,
        when,
        channel="phone",
    )
