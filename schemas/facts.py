"""The per-contact fact model: one row of the ``contacts`` table (METRICS.md section 1).

Times are integer microseconds since the Unix epoch (UTC) here and TIMESTAMPTZ
in DuckDB; durations are seconds. ``last_event_at`` (the contact's latest event
time) is kept beside the facts because the time-out rule needs it. ``opened_out_of_hours`` follows the
council's working calendar (METRICS.md section 5).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)  # not frozen: frozen, its __init__ costs four times as much (docs/performance.md)
class ContactFacts:
    """One row of the ``contacts`` table (times in microseconds since epoch, UTC)."""

    council: str
    contact_id: str
    started_at: int
    queued_at: int | None
    answered_at: int | None
    ended_at: int | None
    wrapped_at: int | None
    channel: str | None
    site: str | None
    customer_ref: str | None
    service: str | None
    queue: str | None
    last_queue: str | None
    agent_ref: str | None
    wait_seconds: float
    time_to_answer_seconds: float | None
    hold_seconds: float
    hold_count: int
    talk_seconds: float
    acw_seconds: float | None
    handle_seconds: float | None
    transfers: int
    outcome: str
    short_abandon: bool
    answered_within_sl: bool | None
    resolution: str | None
    rating: int | None
    last_event_at: int
    # started outside the opening hours of a working day for its channel (METRICS.md section 5); last, as
    # the column was added to existing databases after the others
    opened_out_of_hours: bool
