"""Any permutation and any duplication of a contact's events gives identical facts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.events import Event
from pipelines.facts import ContactState, compute_facts
from pipelines.rules import MetricRules
from tests.support.facts import to_events
from tests.support.generator import Generator

RULES = MetricRules()
TYPES = [
    "contact.started", "contact.queued", "contact.answered", "contact.hold_started", "contact.hold_ended",
    "contact.transferred", "contact.ended", "contact.wrapped_up", "contact.surveyed",
]  # fmt: skip


@st.composite
def arbitrary_contact(draw: st.DrawFn) -> list[Event]:
    """Any sequence of event types at coarse times (many ties), not only sensible lifecycles."""
    n = draw(st.integers(1, 14))
    out = []
    for i in range(n):
        typ = draw(st.sampled_from(TYPES))
        out.append(
            Event(
                id=f"e{i}",
                type=typ,
                t=draw(st.integers(0, 20)) * 1_000_000,
                council="boston",
                contact_id="C",
                source="/s",
                channel=draw(st.sampled_from([None, "phone", "email", "web"])),
                queue="q" if typ in ("contact.queued", "contact.transferred") else None,
                resolution="resolved" if typ == "contact.wrapped_up" else None,
                rating=draw(st.integers(1, 5)) if typ == "contact.surveyed" else None,
            )
        )
    return out


def incremental(events: list[Event], watermark: int | None) -> object:
    state = ContactState(events[0].council, events[0].contact_id)
    for e in events:
        state.add(e)
    return state.facts(RULES, watermark)


@settings(max_examples=300, deadline=None)
@given(events=arbitrary_contact(), data=st.data())
def test_any_order_and_duplication_gives_the_same_facts(events: list[Event], data: st.DataObject) -> None:
    reference = compute_facts(sorted(events, key=lambda e: e.key), RULES)
    dups = data.draw(st.lists(st.sampled_from(events), max_size=6))
    shuffled = data.draw(st.permutations(events + dups))
    assert compute_facts(shuffled, RULES) == reference
    assert incremental(shuffled, None) == reference


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), data=st.data())
def test_generated_lifecycles_in_any_order(seed: int, data: st.DataObject) -> None:
    raw = Generator(seed).contact(seed)
    events = to_events(raw)
    reference = compute_facts(events, RULES)
    shuffled = data.draw(st.permutations(events + events[: data.draw(st.integers(0, len(events)))]))
    assert incremental(shuffled, None) == reference
