"""Working days and working seconds (METRICS.md section 5), on cases derived by hand from the 2026-27 UK
calendars: both clock changes, Christmas and New Year in England and Wales against Scotland, Easter
Monday, St Patrick's Day, the day of receipt, a weekend, closures; plus a property: working seconds add
up across any split of an interval, and a working-seconds due date uses up exactly its seconds."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.events import US
from pipelines.working_time import WorkingCalendar, calendar_of, parse_hours
from tests.support.builders import london_us as local

EW = WorkingCalendar()
SCOTLAND = calendar_of({"nation": "scotland"})
NI = calendar_of({"nation": "northern-ireland"})


def utc(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> int:
    return round(datetime(y, m, d, h, mi, tzinfo=ZoneInfo("UTC")).timestamp() * US)


def test_opening_follows_the_local_clock_on_both_sides_of_each_2026_change() -> None:
    # BST from Sunday 29 March 01:00 UTC: 09:00 opens at 09:00 UTC on Friday 27th, 08:00 UTC on Monday 30th
    assert not EW.in_hours(utc(2026, 3, 27, 8, 30), "email") and EW.in_hours(utc(2026, 3, 30, 8, 30), "email")
    # Fri 16:00 GMT (16:00Z) to Mon 10:00 BST (09:00Z): one hour on Friday and one on Monday
    assert EW.working_seconds(utc(2026, 3, 27, 16), utc(2026, 3, 30, 9), "email") == 7200
    # GMT again from Sunday 25 October 01:00 UTC: Friday 23rd opens at 08:00Z, Monday 26th at 09:00Z
    assert EW.in_hours(utc(2026, 10, 23, 8, 30), "email") and not EW.in_hours(utc(2026, 10, 26, 8, 30), "email")
    assert EW.working_seconds(utc(2026, 10, 23, 15), utc(2026, 10, 26, 10), "email") == 7200
    # a working day due at local midnight either side of the change
    assert EW.due_after_working_days(local(2026, 3, 26, 12), 1, "email") == utc(2026, 3, 28, 0)  # Sat 00:00 GMT
    assert EW.due_after_working_days(local(2026, 3, 27, 12), 1, "email") == utc(2026, 3, 30, 23)  # Tue 00:00 BST


@pytest.mark.parametrize(("calendar", "days", "due"), [
    # received Wed 23 Dec 2026. England and Wales: Christmas (Fri 25th), Boxing Day in lieu (Mon 28th) and
    # New Year's Day (Fri 1st) are holidays; working days 24, 29, 30, 31 Dec, then Mon 4 Jan
    (EW, 2, local(2026, 12, 30)),
    (EW, 5, local(2027, 1, 5)),
    # Scotland also keeps 2 January, a Saturday in 2027, so its substitute day, Mon 4 January
    (SCOTLAND, 2, local(2026, 12, 30)),
    (SCOTLAND, 5, local(2027, 1, 6)),
    # with the council closed 29-31 December too: Thu 24th, then Mon 4 January
    (calendar_of({"closures": ["2026-12-29", "2026-12-30", "2026-12-31"]}), 2, local(2027, 1, 5)),
])  # fmt: skip
def test_christmas_and_new_year(calendar: WorkingCalendar, days: int, due: int) -> None:
    assert calendar.due_after_working_days(local(2026, 12, 23, 10), days, "email") == due


def test_easter_monday_is_a_holiday_in_england_and_not_in_scotland() -> None:
    received = local(2026, 4, 2, 12)  # Thursday; Good Friday (3rd) is a holiday in both
    assert EW.due_after_working_days(received, 2, "email") == local(2026, 4, 9)  # Tue 7th, Wed 8th
    assert SCOTLAND.due_after_working_days(received, 2, "email") == local(2026, 4, 8)  # Mon 6th, Tue 7th


def test_st_patricks_day_is_a_holiday_in_northern_ireland_only() -> None:
    received = local(2026, 3, 16, 10)  # Monday; St Patrick's Day is Tuesday 17th
    assert NI.due_after_working_days(received, 1, "email") == local(2026, 3, 19)
    assert EW.due_after_working_days(received, 1, "email") == local(2026, 3, 18)
    assert not NI.in_hours(local(2026, 3, 17, 11), "phone") and EW.in_hours(local(2026, 3, 17, 11), "phone")


@pytest.mark.parametrize(("received", "due"), [
    (local(2026, 3, 7, 10), local(2026, 3, 10)),  # Saturday: day 1 is Monday 9th
    (local(2026, 4, 3, 10), local(2026, 4, 8)),  # Good Friday: Easter Monday too, so day 1 is Tuesday 7th
    (local(2026, 3, 9, 18), local(2026, 3, 11)),  # Monday after closing: day 1 is Tuesday, as at 09:00
    (local(2026, 3, 9, 9), local(2026, 3, 11)),
])  # fmt: skip
def test_the_day_of_receipt_is_never_counted(received: int, due: int) -> None:
    assert EW.due_after_working_days(received, 1, "email") == due


def test_working_seconds_across_a_weekend_and_a_due_date_that_runs_out_at_closing() -> None:
    assert EW.working_seconds(local(2026, 3, 6, 16, 30), local(2026, 3, 9, 9, 30), "social") == 3600
    assert EW.due_after_working_seconds(local(2026, 3, 6, 16, 30), 3600, "social") == local(2026, 3, 9, 9, 30)
    # an hour from Friday 16:00 runs out at Friday's close: due at Monday's opening
    assert EW.due_after_working_seconds(local(2026, 3, 6, 16), 3600, "social") == local(2026, 3, 9, 9)
    # a contact on Saturday: the clock starts at Monday's opening
    assert EW.due_after_working_seconds(local(2026, 3, 7, 12), 60, "social") == local(2026, 3, 9, 9, 1)


def test_channel_hours_override_the_listed_weekdays_and_hours_are_half_open() -> None:
    cal = calendar_of({
        "opening_hours": {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu")} | {"fri": "09:00-16:30"},
        "channel_opening_hours": {"face_to_face": {"mon": "09:30-16:00"}},
    })  # fmt: skip
    monday, tuesday, friday = (9, 3, 2026), (10, 3, 2026), (13, 3, 2026)
    assert not cal.in_hours(local(2026, 3, monday[0], 9, 15), "face_to_face")
    assert cal.in_hours(local(2026, 3, monday[0], 9, 15), "phone")
    assert cal.in_hours(local(2026, 3, tuesday[0], 9, 15), "face_to_face")  # Tuesday keeps the council's hours
    assert not cal.in_hours(local(2026, 3, friday[0], 16, 30), "phone")  # 16:30 sharp is after closing
    assert cal.in_hours(local(2026, 3, friday[0], 16, 29, 59), "phone")
    assert not cal.in_hours(local(2026, 3, 14, 10), "phone")  # Saturday: not listed, so closed


def test_a_council_table_replaces_the_default_week() -> None:
    saturdays = calendar_of({"opening_hours": {"sat": "09:00-12:00"}})
    assert saturdays.in_hours(local(2026, 3, 14, 10), "phone") and not saturdays.in_hours(
        local(2026, 3, 9, 10), "phone"
    )
    # the package names Boxing Day on its own date even when it is a Saturday (2026-12-26)
    assert not saturdays.in_hours(local(2026, 12, 26, 10), "phone")


@pytest.mark.parametrize(("table", "message"), [
    ({"nation": "wales"}, "nation 'wales' is not one of england-and-wales, scotland, northern-ireland"),
    ({"opening_hours": {"mon": "09:00-25:00"}}, "opening_hours: '09:00-25:00' is not opening hours"),
    ({"opening_hours": {"mon": "17:00-09:00"}}, "closes before it opens"),
    ({"opening_hours": {"monday": "09:00-17:00"}}, "unknown weekday(s) monday"),
    ({"closures": ["2026-12-32"]}, "closures: '2026-12-32' is not a date"),
    ({"channel_opening_hours": {"face_to_face": {"mon": "9-4"}}}, "channel_opening_hours.face_to_face: '9-4'"),
    ({"holidays": []}, "unknown key(s) holidays"),
])  # fmt: skip
def test_a_bad_calendar_names_its_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as exc:
        calendar_of(table)
    assert message in str(exc.value)


def test_hours_parse_to_the_end_of_the_day() -> None:
    opens, closes = parse_hours("00:00-24:00") or (None, None)
    assert opens is not None and closes is not None and (opens.hour, closes.hour) == (0, 23)
    always = calendar_of({"opening_hours": {"sat": "00:00-24:00"}})
    assert always.working_seconds(local(2026, 3, 14), local(2026, 3, 15), "web") == 86400


INSTANTS = st.integers(min_value=local(2026, 1, 1), max_value=local(2027, 2, 1))


@given(INSTANTS, INSTANTS, INSTANTS)
def test_working_seconds_add_up_across_any_split(a: int, b: int, c: int) -> None:
    a, b, c = sorted((a, b, c))
    whole = EW.working_seconds(a, c, "email")
    assert whole == pytest.approx(EW.working_seconds(a, b, "email") + EW.working_seconds(b, c, "email"), abs=1e-6)


@given(INSTANTS, st.integers(min_value=1, max_value=40 * 3600))
def test_a_working_seconds_due_date_uses_exactly_its_seconds(start: int, seconds: int) -> None:
    due = SCOTLAND.due_after_working_seconds(start, seconds, "email")
    assert due is not None and SCOTLAND.working_seconds(start, due, "email") == seconds
    assert SCOTLAND.in_hours(due, "email") or SCOTLAND.working_seconds(start, due + 1, "email") == seconds


def test_closures_are_not_working_days() -> None:
    closed = calendar_of({"closures": [date(2026, 3, 10)]})
    assert closed.due_after_working_days(local(2026, 3, 9, 10), 1, "email") == local(2026, 3, 12)
