"""The standards' live series (METRICS.md section 5) from contact_standards, on a fresh registry: due soon
within each council's next working day, breached as the count of final verdicts not met, the label cap."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from pipelines.events import US, Event
from pipelines.facts import compute_facts
from pipelines.live import LiveBoard
from pipelines.rules import MetricRules
from pipelines.standards import standard_of
from pipelines.working_time import Calendars, calendar_of
from services.exposition.http import wallboard
from services.exposition.standards import StandardsCollector, horizons
from services.store.store import Store
from services.views.wallboard import COLUMNS, render
from tests.support.builders import london_us
from tests.support.facts import to_events

EMAIL = standard_of({"name": "email-2wd", "channels": ["email"], "milestone": "wrapped_up", "working_days": 2,
                     "target": 0.9})  # fmt: skip
CALLS = standard_of({"name": "calls-20s", "channels": ["phone"], "milestone": "answered", "seconds": 20,
                     "target": 0.8})  # fmt: skip
RULES = MetricRules(
    standards=(EMAIL, CALLS), calendars=Calendars(by_council={"fife": calendar_of({"nation": "scotland"})})
)
MON = london_us(2026, 3, 9, 10)  # Monday 9 March 2026, 10:00


def iso(us: int) -> str:
    return datetime.fromtimestamp(us / US, UTC).isoformat().replace("+00:00", "Z")


def raw(type_: str, at: int, contact: str, council: str = "boston", **data: object) -> dict[str, object]:
    return {"specversion": "1.0", "id": f"{contact}-{type_}", "source": f"/{council}/x", "type": type_,
            "time": iso(at), "data": {"contact_id": contact, "council": council, **data}}  # fmt: skip


def write(store: Store, events: list[dict[str, object]]) -> None:
    """The consumer's write of these events: each contact's facts, the council's watermark at the latest."""
    decoded = to_events(events)
    by_contact: dict[str, list[Event]] = {}
    for e in decoded:
        by_contact.setdefault(e.contact_id, []).append(e)
    facts = [compute_facts(sorted(es, key=lambda e: e.key), RULES) for es in by_contact.values()]
    store.write_batch(decoded, facts, {"boston": max(e.t for e in decoded)}, RULES)


def test_due_soon_and_breached_by_council_and_standard() -> None:
    events = [
        raw("contact.started", MON, "E-1", channel="email"),  # due Thursday 00:00: not within the next day
        raw("contact.started", london_us(2026, 3, 6, 10), "E-2", channel="email"),  # due Wednesday 00:00
        raw("contact.queued", london_us(2026, 3, 6, 10), "E-2", channel="email", queue="emails"),
        raw("contact.started", MON - 60 * US, "C-1", channel="phone"),  # never answered: missed by 10:00
        raw("contact.started", MON - 30 * US, "C-2", channel="phone"),
        raw("contact.answered", MON - 25 * US, "C-2"),
    ]
    with Store(":memory:") as store:
        write(store, events)
        ends = horizons(RULES.calendars, ["boston", "fife"], MON)
        assert ends == {"boston": london_us(2026, 3, 11), "fife": london_us(2026, 3, 11)}
        rows, queues = store.standards_live(ends, MON)
    assert rows == [("boston", "calls-20s", 0, 1), ("boston", "email-2wd", 1, 0)]
    assert queues == [("boston", "emails", 1)]
    registry, collector = CollectorRegistry(), StandardsCollector()
    registry.register(collector)
    collector.update(rows, queues)
    labels = {"council": "boston", "standard": "email-2wd"}
    assert registry.get_sample_value("contactpulse_standard_due_soon", labels) == 1
    assert registry.get_sample_value("contactpulse_standard_breached_total", {**labels, "standard": "calls-20s"}) == 1
    # the wallboard's column: the queue's contacts due soon, beside its live figures
    board = wallboard(LiveBoard(), now=MON / US, due_soon=collector.due_soon_by_queue())
    assert [(r["council"], r["queue"], r["due_soon"]) for r in board["rows"]] == [("boston", "emails", 1)]
    assert "due soon" in COLUMNS and render(board).row_count == 1


def test_councils_over_the_cap_are_summed_as_other() -> None:
    registry, collector = CollectorRegistry(), StandardsCollector(council_limit=1)
    registry.register(collector)
    collector.update([("boston", "s", 1, 2), ("fife", "s", 3, 4), ("perth", "s", 5, 6)])
    assert registry.get_sample_value("contactpulse_standard_due_soon", {"council": "boston", "standard": "s"}) == 1
    assert registry.get_sample_value("contactpulse_standard_due_soon", {"council": "other", "standard": "s"}) == 8
    assert (
        registry.get_sample_value("contactpulse_standard_breached_total", {"council": "other", "standard": "s"}) == 10
    )
