"""The simulator's written channels: replies are written in opening hours, by the council's working calendar,
so the customer care standards are met and missed as councils report them (METRICS.md section 5)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from pipelines.events import US
from pipelines.working_time import Calendars, WorkingCalendar, calendar_of
from services.simulator.model import SimConfig, Simulation


def emails(calendars: Calendars) -> dict[str, dict[str, int]]:
    """Three weeks of one council's email contacts: each one's event times by type (microseconds)."""
    config = dataclasses.replace(SimConfig(), councils=("boston",), calendars=calendars, volume_multiplier=2.0)
    out: dict[str, dict[str, int]] = {}
    start, end = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 23, tzinfo=UTC)
    for e in Simulation(config, seed=11).events(start, end):
        if e["data"]["channel"] == "email":
            at = round(datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp() * US)
            out.setdefault(e["data"]["contact_id"], {})[e["type"]] = at
    return out


def test_email_replies_are_written_in_opening_hours_and_some_take_days() -> None:
    calendar = WorkingCalendar()
    contacts = emails(Calendars())
    answered = [c for c in contacts.values() if "contact.answered" in c]
    assert len(answered) > 200
    for c in answered:
        assert calendar.in_hours(c["contact.answered"], "email")
    full = [c for c in answered if "contact.ended" in c]
    assert all(calendar.in_hours(c["contact.ended"], "email") for c in full)
    working_days = [
        calendar.working_seconds(c["contact.started"], c["contact.ended"], "email") / (8 * 3600) for c in full
    ]
    assert min(working_days) < 1 and max(working_days) > 5  # some the same day, some a week or more later
    late_acks = sum(calendar.working_seconds(c["contact.started"], c["contact.answered"], "email") > 16 * 3600
                    for c in answered)  # fmt: skip
    assert 0 < late_acks < len(answered) * 0.2  # a few acknowledgements take more than two working days


def test_a_closure_holds_the_replies_back() -> None:
    closed = calendar_of({"closures": ["2026-03-10", "2026-03-11", "2026-03-12"]})
    contacts = emails(Calendars(default=closed))
    replies = [t for c in contacts.values() for k, t in c.items() if k in ("contact.answered", "contact.ended")]
    days = {datetime.fromtimestamp(t / US, UTC).date().isoformat() for t in replies}
    assert not days & {"2026-03-10", "2026-03-11", "2026-03-12"} and "2026-03-09" in days
