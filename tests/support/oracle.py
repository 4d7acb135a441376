"""A plain, separate computation of METRICS.md section 1, to check the engine against.

Written for clarity, not speed: datetimes, one pass per interval kind.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

RANK = {
    t: i
    for i, t in enumerate(
        [
            "started",
            "queued",
            "answered",
            "hold_started",
            "hold_ended",
            "transferred",
            "ended",
            "wrapped_up",
            "surveyed",
        ]
    )
}
SL = {"phone": 20, "webchat": 60, "video": 60, "face_to_face": 900, "social": 86400, "email": 432000}


def _t(e: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(e["time"])


def _kind(e: dict[str, Any]) -> str:
    return str(e["type"]).removeprefix("contact.")


def _interval_sum(
    events: list[dict[str, Any]], opens: set[str], closes: set[str], end: datetime, guard: Any = None
) -> tuple[float, int]:
    total, count, since = 0.0, 0, None
    for i, e in enumerate(events):
        k = _kind(e)
        if k in closes and since is not None:
            total += (_t(e) - since).total_seconds()
            since = None
        if k in opens and since is None and (guard is None or guard(i)):
            since, count = _t(e), count + 1
    if since is not None:
        total += (end - since).total_seconds()
    return total, count


def oracle(events_in: list[dict[str, Any]], watermark: datetime, timeout_s: float = 86400) -> dict[str, Any]:
    by_id: dict[str, dict[str, Any]] = {}
    for e in events_in:
        by_id.setdefault(e["id"], e)
    ev = sorted(by_id.values(), key=lambda e: (_t(e), RANK[_kind(e)], e["id"]))
    kinds = [_kind(e) for e in ev]

    def first(k: str) -> datetime | None:
        return next((_t(e) for e in ev if _kind(e) == k), None)

    def last(k: str) -> dict[str, Any] | None:
        return next((e for e in reversed(ev) if _kind(e) == k), None)

    def latest(field: str) -> Any:
        return next((e["data"][field] for e in reversed(ev) if e["data"].get(field) is not None), None)

    activity = [e for e in ev if _kind(e) not in ("wrapped_up", "surveyed")]
    end = _t(activity[-1]) if activity else _t(ev[0])
    wait, _ = _interval_sum(ev, {"queued", "transferred"}, {"answered", "ended"}, end)
    served, _ = _interval_sum(ev, {"answered"}, {"transferred", "ended"}, end)

    # served state at each index, to know whether a hold may open
    serving, served_at = False, []
    for k in kinds:
        if k == "answered":
            serving = True
        if k in ("transferred", "ended"):
            serving = False
        served_at.append(serving)
    hold, holds = _interval_sum(
        ev, {"hold_started"}, {"hold_ended", "transferred", "ended"}, end, guard=lambda i: served_at[i]
    )

    queued_at, answered_at = first("queued"), first("answered")
    ended, wrapped = last("ended"), last("wrapped_up")
    tta = (answered_at - queued_at).total_seconds() if queued_at and answered_at and answered_at >= queued_at else None
    acw = None
    if ended and wrapped and _t(wrapped) >= _t(ended):
        acw = (_t(wrapped) - _t(ended)).total_seconds()
    if answered_at:
        outcome = "handled"
    elif queued_at and ended:
        outcome = "abandoned"
    elif ended:
        outcome = "self_served"
    elif (watermark - _t(ev[-1])).total_seconds() >= timeout_s:
        outcome = "timed_out"
    else:
        outcome = "open"
    channel = latest("channel")
    sl = None
    if queued_at and channel in SL:
        sl = (tta <= SL[channel]) if tta is not None else (None if answered_at else False)
    talk = served - hold
    transfers = [e for e in ev if _kind(e) == "transferred"]
    queue_events = [e for e in ev if _kind(e) in ("queued", "transferred")]
    first_answer = next((e for e in ev if _kind(e) == "answered"), None)
    first_queued = next((e for e in ev if _kind(e) == "queued"), None)
    survey = last("surveyed")
    return {
        "council": ev[0]["data"]["council"],
        "contact_id": ev[0]["data"]["contact_id"],
        "started_at": _t(ev[0]),
        "queued_at": queued_at,
        "answered_at": answered_at,
        "ended_at": _t(ended) if ended else None,
        "wrapped_at": _t(wrapped) if wrapped else None,
        "channel": channel,
        "site": latest("site"),
        "customer_ref": latest("customer_ref"),
        "service": latest("service"),
        "queue": first_queued["data"]["queue"] if first_queued else None,
        "last_queue": queue_events[-1]["data"]["queue"] if queue_events else None,
        "agent_ref": first_answer["data"].get("agent_ref") if first_answer else None,
        "wait_seconds": wait,
        "time_to_answer_seconds": tta,
        "hold_seconds": hold,
        "hold_count": holds,
        "talk_seconds": talk,
        "acw_seconds": acw,
        "handle_seconds": talk + hold + (acw or 0) if outcome == "handled" else None,
        "transfers": len(transfers),
        "outcome": outcome,
        "short_abandon": outcome == "abandoned" and wait < 5,
        "answered_within_sl": sl,
        "resolution": wrapped["data"]["resolution"] if wrapped else None,
        "rating": survey["data"]["rating"] if survey else None,
    }
