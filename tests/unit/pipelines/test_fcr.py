"""First-contact resolution: hand-built scenarios, each its own test (METRICS.md section 2)."""

from __future__ import annotations

from pipelines.fcr import DAY_US, FcrInput, verdicts

REF, T0 = "customerAAAAAAAAAAAAAAAA", 1_772_000_000_000_000
W = 7


def c(
    cid: str,
    day: float,
    outcome: str = "handled",
    channel: str = "phone",  # FCR looks across channels: the channel never matters
    *,
    short: bool = False,
    ref: str | None = REF,
    service: str | None = "council-tax",
    resolution: str | None = "resolved",
) -> FcrInput:
    return FcrInput("boston", cid, T0 + round(day * DAY_US), outcome, short, ref, service, resolution)


def by_id(group: list[FcrInput], watermark_day: float | None = 30) -> dict[str, tuple[object, ...]]:
    mark = None if watermark_day is None else T0 + round(watermark_day * DAY_US)
    return {
        v.contact_id: (v.fcr_eligible, v.has_repeat, v.first_contact_resolved, v.fcr_final)
        for v in verdicts(group, W, mark)
    }


def test_a_repeat_on_a_different_channel() -> None:
    # a phone call, then the same customer emails about the same thing three days later
    v = by_id([c("phone-1", 0, "handled", "phone"), c("email-1", 3, "handled", "email")])
    assert v["phone-1"] == (True, True, False, True)
    assert v["email-1"] == (True, False, True, True)


def test_a_repeat_one_second_after_the_window_closes_is_not_a_repeat() -> None:
    inside = by_id([c("a", 0), c("b", W)])
    outside = by_id([c("a", 0), c("b", W + 1 / 86400)])
    assert inside["a"][1] is True  # exactly W later is inside (started_at, started_at + W]
    assert outside["a"][1] is False and outside["a"][2] is True


def test_a_short_abandon_is_not_a_repeat() -> None:
    v = by_id([c("a", 0), c("b", 1, "abandoned", short=True)])
    assert v["a"] == (True, False, True, True)
    assert v["b"] == (False, None, None, True)
    # but a real abandon is: the customer came back
    assert by_id([c("a", 0), c("b", 1, "abandoned")])["a"][1] is True


def test_a_late_event_flips_a_provisional_verdict() -> None:
    first = by_id([c("a", 0)], watermark_day=2)
    assert first["a"] == (True, False, True, False)  # provisional
    later = by_id([c("a", 0), c("b", 5)], watermark_day=6)
    assert later["a"] == (True, True, False, False)  # the repeat arrived; still provisional
    assert by_id([c("a", 0), c("b", 5)], watermark_day=7)["a"][3] is True  # final at started_at + W


def test_a_referred_resolution_is_not_resolved_first_time() -> None:
    alone = by_id([c("a", 0, resolution="referred")])
    assert alone["a"] == (True, False, False, True)
    assert by_id([c("b", 0, resolution=None)])["b"] == (True, False, True, True)


def test_anonymous_contacts_are_not_eligible() -> None:
    v = by_id([c("anon", 0, ref=None)])
    assert v["anon"] == (False, None, None, True)


def test_two_services_for_one_customer_are_separate_groups() -> None:
    # the caller rang about council tax, then about waste: neither is a repeat of the other;
    # the store groups by (council, customer_ref, service), so each service is its own group
    tax = by_id([c("tax", 0, service="council-tax")])
    waste = by_id([c("waste", 1, service="waste")])
    assert tax["tax"] == (True, False, True, True)
    assert waste["waste"] == (True, False, True, True)


def test_only_handled_and_self_served_are_eligible() -> None:
    v = by_id([c("open", 0, "open"), c("timed", 0, "timed_out"), c("self", 0, "self_served", resolution=None)])
    assert v["open"][0] is False and v["timed"][0] is False
    assert v["self"] == (True, False, True, True)


def test_no_watermark_means_not_final() -> None:
    assert by_id([c("a", 0)], watermark_day=None)["a"][3] is False
