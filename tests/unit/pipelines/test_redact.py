"""The one masking rule for text that leaves the edge (pipelines/redact.py)."""

from __future__ import annotations

import pytest

from pipelines.redact import redact


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("caller 447700900123 rang", "caller [number] rang"),  # no + or 0: missed by the old rule
        ("+44 7700 900123", "[number]"),
        ("07700 900123", "[number]"),
        ("0044-1205-310010", "[number]"),
        ("(020) 7946-0018", "(020) [number]"),  # the area code alone is no identifier
        ("+1 415.555.0100", "[number]"),
        ("+81359891323", "[number]"),
        ("ring 5550100 now", "ring [number] now"),  # seven digits: a local number
        ("ext 555010", "ext 555010"),  # six are not masked
        ("Jo.Bloggs+council@example.org.uk wrote", "[email] wrote"),
        ("sip:ipadphone@172.18.182.10;user=phone", "sip:[email];user=phone"),
        ('{"time": "2026-03-02T09:00:30.125Z"}', '{"time": "2026-03-02T09:00:30.125Z"}'),  # times are kept
        ("02/03/2026 09:00:30,Revenues", "02/03/2026 09:00:30,Revenues"),
        ("2026-03-02 09:00:30|1700000000.5|q", "2026-03-02 09:00:30|[number]|q"),
        ("holds 2, 60 s", "holds 2, 60 s"),
    ],
)
def test_identifiers_are_masked_and_times_kept(text: str, masked: str) -> None:
    assert redact(text) == masked


def test_no_digit_of_a_number_survives_in_any_layout() -> None:
    for layout in ("{}", "+{}", "00{}", "0{}", "tel:+{}", "({})"):
        number = layout.format("447700900123")
        assert not any(run in redact(f"x {number} y") for run in ("7700", "900123", "4477")), number


def test_a_reject_masks_itself_whatever_made_it() -> None:
    from services.ingest.adapters.base import MAX_RECORD, Reject

    r = Reject(3, "unmappable:bad_value", "ValueError: '447700900123'", "x," * 300 + "+33 1 42 68 53 00,jo@example.org")
    assert r.detail == "ValueError: '[number]'"
    assert "447700900123" not in r.detail and len(r.record) == MAX_RECORD
    r = Reject(4, "bad_field:queue", "", '{"ani": "+33 1 42 68 53 00", "email": "jo@example.org"}')
    assert r.record == '{"ani": "[number]", "email": "[email]"}'
