"""A standard's verdict on a contact (METRICS.md section 5): covered or not, due when, met, pending or final,
as a function of the facts and the council's watermark; and the ``[[standards]]`` table's one-line errors."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.events import US
from pipelines.standards import Verdict, opened_out_of_hours, standard_of, verdict
from pipelines.working_time import WorkingCalendar
from tests.support.builders import london_us as local

EW = WorkingCalendar()
EMAIL = standard_of({
    "name": "email-10wd", "title": "Emails answered in full within 10 working days", "channels": ["email", "web"],
    "milestone": "wrapped_up", "working_days": 10, "target": 0.9,
})  # fmt: skip
PHONE = standard_of({"name": "calls-20s", "channels": ["phone"], "milestone": "answered", "seconds": 20, "target": 0.8})
SOCIAL = standard_of({
    "name": "social-60m", "channels": ["social"], "milestone": "answered", "working_seconds": 3600, "target": 0.9,
})  # fmt: skip
BENEFITS = standard_of({
    "name": "benefits-5wd", "channels": ["email"], "services": ["benefits"], "milestone": "wrapped_up",
    "working_days": 5, "target": 0.95,
})  # fmt: skip


def facts(started: int, channel: str = "email", service: str | None = None, **times: int) -> dict[str, Any]:
    return {"started_at": started, "channel": channel, "service": service, **times}


MON = local(2026, 3, 9, 10)  # Monday 9 March 2026, 10:00; 10 working days end on Monday 23rd
DUE_10WD = local(2026, 3, 24)


@pytest.mark.parametrize(("f", "watermark", "expected"), [
    # pending: no full response yet, and the council's watermark is before the due date
    (facts(MON), local(2026, 3, 20), Verdict("email-10wd", DUE_10WD, None, False)),
    # the watermark reaches due_at: final and missed, whatever the outcome
    (facts(MON), DUE_10WD, Verdict("email-10wd", DUE_10WD, False, True)),
    # answered in full on day 10, late in the evening: met
    (facts(MON, wrapped_at=local(2026, 3, 23, 23, 59)), None, Verdict("email-10wd", DUE_10WD, True, True)),
    # at midnight, due_at itself: not met (working days)
    (facts(MON, wrapped_at=DUE_10WD), None, Verdict("email-10wd", DUE_10WD, False, True)),
])  # fmt: skip
def test_a_working_days_verdict(f: dict[str, Any], watermark: int | None, expected: Verdict) -> None:
    assert verdict(EMAIL, f, watermark, EW) == expected


def test_a_pending_verdict_becomes_final_as_the_watermark_passes_and_a_late_answer_changes_it_until_then() -> None:
    started = local(2026, 3, 9, 11)
    due = started + 20 * US
    pending = verdict(PHONE, facts(started, "phone"), started + 10 * US, EW)
    assert pending == Verdict("calls-20s", due, None, False)
    # the answer event arrives late, timed 15 s after the start, while still pending: met
    assert verdict(PHONE, facts(started, "phone", answered_at=started + 15 * US), started + 12 * US, EW) == Verdict(
        "calls-20s", due, True, True
    )
    # at the due date without an answer: final, missed
    assert verdict(PHONE, facts(started, "phone"), due, EW) == Verdict("calls-20s", due, False, True)
    # an answer exactly at due_at is met for a wall-clock limit
    assert verdict(PHONE, facts(started, "phone", answered_at=due), None, EW) == Verdict("calls-20s", due, True, True)


def test_working_seconds_stop_outside_opening_hours() -> None:
    friday = local(2026, 3, 6, 16, 30)
    due = local(2026, 3, 9, 9, 30)  # half an hour on Friday, half an hour on Monday
    assert verdict(SOCIAL, facts(friday, "social", answered_at=due), None, EW) == Verdict("social-60m", due, True, True)
    assert verdict(SOCIAL, facts(friday, "social", answered_at=due + 1), None, EW) == Verdict(
        "social-60m", due, False, True
    )


def test_a_standard_covers_its_channels_and_services_only() -> None:
    assert verdict(EMAIL, facts(MON, "phone"), None, EW) is None
    assert verdict(EMAIL, facts(MON, "web"), None, EW) is not None
    assert verdict(BENEFITS, facts(MON, "email", "waste"), None, EW) is None
    assert verdict(BENEFITS, facts(MON, "email", "benefits"), None, EW) is not None


def test_opened_out_of_hours() -> None:
    assert not opened_out_of_hours(local(2026, 3, 9, 16, 59, 59), "phone", EW)
    assert opened_out_of_hours(local(2026, 3, 9, 17), "phone", EW)  # 17:00 sharp: closed
    assert opened_out_of_hours(local(2026, 3, 7, 12), "phone", EW)  # Saturday
    assert opened_out_of_hours(local(2026, 4, 6, 12), "phone", EW)  # Easter Monday


BASE = {"name": "x", "channels": ["email"], "milestone": "answered", "target": 0.9}


@pytest.mark.parametrize(("table", "message"), [
    ({**BASE, "working_days": 2, "seconds": 20}, "exactly one limit"),
    (BASE, "exactly one limit of working_days, working_seconds, seconds (found 0)"),
    ({**BASE, "seconds": 20, "target": 1.5}, "target 1.5 is a share between 0 and 1"),
    ({**BASE, "seconds": 20, "channels": ["fax"]}, "channels is a list of one or more of"),
    ({**BASE, "seconds": 20, "channels": []}, "channels is a list of one or more of"),
    ({**BASE, "seconds": 20, "milestone": "ended"}, "milestone 'ended' is one of answered, wrapped_up"),
    ({**BASE, "working_days": 2.5}, "working_days is a whole number of days"),
    ({**BASE, "seconds": -1}, "seconds is a number above 0"),
    ({**BASE, "seconds": 20, "name": "Email 10"}, "is not a slug"),
    ({**BASE, "seconds": 20, "limit": 3}, "unknown key(s) limit"),
])  # fmt: skip
def test_a_bad_standard_names_its_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as exc:
        standard_of(table)
    assert message in str(exc.value)
