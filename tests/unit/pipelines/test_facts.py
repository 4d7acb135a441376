"""METRICS.md section 1, row by row: each case is a contact's events and the facts expected, by both paths
to the one walk (the consumer's, event by event and all at once, and replay's write through DuckDB)."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.rules import MetricRules
from tests.support.builders import ev
from tests.support.facts import ENGINES, Engine, at

S, Q, A = "contact.started", "contact.queued", "contact.answered"
HS, HE, TR = "contact.hold_started", "contact.hold_ended", "contact.transferred"
E, W, SV = "contact.ended", "contact.wrapped_up", "contact.surveyed"


@pytest.fixture(params=sorted(ENGINES))
def facts_by(request: pytest.FixtureRequest) -> Engine:
    return ENGINES[request.param]


CALL = [ev(S, 0), ev(Q, 2), ev(A, 32, agent_ref="a-7"), ev(E, 300), ev(W, 360, resolution="referred")]

CASES: list[tuple[str, list[dict[str, Any]], dict[str, Any]]] = [
    (
        "answered call: times",
        CALL,
        {
            "started_at": at(0),
            "queued_at": at(2),
            "answered_at": at(32),
            "ended_at": at(300),
            "wrapped_at": at(360),
            "wait_seconds": 30.0,
            "time_to_answer_seconds": 30.0,
            "talk_seconds": 268.0,
            "acw_seconds": 60.0,
            "handle_seconds": 328.0,
            "outcome": "handled",
            "answered_within_sl": False,
            "resolution": "referred",
            "agent_ref": "a-7",
            "queue": "revenues",
            "last_queue": "revenues",
            "transfers": 0,
            "hold_count": 0,
        },
    ),
    (
        "answered within service level (<= 20 s on phone)",
        [ev(Q, 0), ev(A, 20), ev(E, 60)],
        {"answered_within_sl": True, "time_to_answer_seconds": 20.0},
    ),
    ("started_at is the earliest event, whatever its type", [ev(SV, -50, rating=4), ev(Q, 0)], {"started_at": at(-50)}),
    (
        "queued_at first queued, answered_at first answered, ended_at last ended",
        [ev(Q, 0), ev(A, 5), ev(E, 10), ev(Q, 20), ev(A, 30), ev(E, 40)],
        {"queued_at": at(0), "answered_at": at(5), "ended_at": at(40), "wait_seconds": 15.0, "talk_seconds": 15.0},
    ),
    (
        "wrapped_at and resolution from the last wrap-up",
        [ev(Q, 0), ev(A, 1), ev(E, 2), ev(W, 3, resolution="callback"), ev(W, 9, resolution="resolved")],
        {"wrapped_at": at(9), "resolution": "resolved", "acw_seconds": 7.0},
    ),
    (
        "latest non-null channel, site, customer_ref and service win",
        [
            ev(S, 0, channel="face_to_face", site="bury", service="waste", customer_ref="AAAAAAAAAAAAAAAAAAAAAA"),
            ev(Q, 1, channel="video", queue="desk", service=None),
            ev(A, 2, service="housing", site=None),
            ev(E, 3),
        ],
        {"channel": "video", "site": "bury", "service": "housing", "customer_ref": "AAAAAAAAAAAAAAAAAAAAAA"},
    ),
    (
        "entry queue and last queue across a transfer",
        [ev(Q, 0, queue="switchboard"), ev(A, 10), ev(TR, 50, queue="benefits"), ev(A, 80), ev(E, 200)],
        {
            "queue": "switchboard",
            "last_queue": "benefits",
            "transfers": 1,
            "wait_seconds": 40.0,
            "talk_seconds": 160.0,
            "time_to_answer_seconds": 10.0,
        },
    ),
    (
        "agent_ref from the first answered",
        [ev(Q, 0), ev(A, 1, agent_ref="a-1"), ev(TR, 2), ev(A, 3, agent_ref="a-2"), ev(E, 4)],
        {"agent_ref": "a-1"},
    ),
    (
        "queued while waiting is ignored for the interval, not for last_queue",
        [ev(Q, 0, queue="one"), ev(Q, 10, queue="two"), ev(A, 30), ev(E, 40)],
        {"wait_seconds": 30.0, "queue": "one", "last_queue": "two", "queued_at": at(0)},
    ),
    ("wait 0 when never waiting", [ev(S, 0, channel="web"), ev(E, 100)], {"wait_seconds": 0.0, "queued_at": None}),
    (
        "time to answer null when answered before queued",
        [ev(A, 0), ev(Q, 5), ev(E, 9)],
        {"time_to_answer_seconds": None, "answered_within_sl": None, "outcome": "handled"},
    ),
    (
        "holds: repeated, with a second start while on hold ignored",
        [ev(Q, 0), ev(A, 10), ev(HS, 20), ev(HS, 25), ev(HE, 50), ev(HS, 60), ev(HE, 70), ev(E, 100)],
        {"hold_seconds": 40.0, "hold_count": 2, "talk_seconds": 50.0, "handle_seconds": 90.0},
    ),
    (
        "hold while not served is ignored; close with nothing open is ignored",
        [ev(Q, 0), ev(HS, 1), ev(HE, 2), ev(A, 10), ev(HE, 11), ev(E, 20)],
        {"hold_seconds": 0.0, "hold_count": 0},
    ),
    (
        "hold closed by a transfer",
        [ev(Q, 0), ev(A, 10), ev(HS, 20), ev(TR, 50), ev(A, 60), ev(E, 70)],
        {"hold_seconds": 30.0, "hold_count": 1, "talk_seconds": 10.0 + 10.0, "wait_seconds": 20.0},
    ),
    (
        "hold never ended closes at contact.ended",
        [ev(Q, 0), ev(A, 10), ev(HS, 20), ev(E, 80)],
        {"hold_seconds": 60.0, "talk_seconds": 10.0},
    ),
    (
        "answered while served is ignored",
        [ev(Q, 0), ev(A, 10), ev(A, 20), ev(E, 30)],
        {"talk_seconds": 20.0, "answered_at": at(10)},
    ),
    (
        "open intervals close at the last event other than wrap-up and survey",
        [ev(Q, 0), ev(A, 10), ev(HS, 30), ev(W, 500), ev(SV, 900, rating=4)],
        {"talk_seconds": 20.0, "hold_seconds": 0.0, "hold_count": 1, "outcome": "handled", "acw_seconds": None},
    ),
    (
        "still waiting: the wait runs to the last event",
        [ev(S, 0), ev(Q, 5), ev(SV, 99, rating=1)],
        {"wait_seconds": 0.0, "outcome": "open", "answered_within_sl": False},
    ),
    ("acw null without an end", [ev(Q, 0), ev(A, 1), ev(W, 9)], {"acw_seconds": None, "handle_seconds": 0.0}),
    (
        "acw null when wrap-up precedes the end",
        [ev(Q, 0), ev(A, 1), ev(W, 5), ev(E, 9)],
        {"acw_seconds": None, "handle_seconds": 8.0},
    ),
    (
        "ended closes every interval; a later opening opens a new one",
        [ev(Q, 0), ev(A, 10), ev(HS, 15), ev(E, 20), ev(A, 30), ev(E, 35)],
        {"talk_seconds": 5.0 + 5.0, "hold_seconds": 5.0, "ended_at": at(35)},
    ),
    (
        "outcome abandoned",
        [ev(S, 0), ev(Q, 0), ev(E, 45)],
        {
            "outcome": "abandoned",
            "short_abandon": False,
            "wait_seconds": 45.0,
            "answered_within_sl": False,
            "handle_seconds": None,
            "talk_seconds": 0.0,
        },
    ),
    ("outcome abandoned, short (< 5 s)", [ev(Q, 0), ev(E, 4.999)], {"outcome": "abandoned", "short_abandon": True}),
    ("5 s exactly is not a short abandon", [ev(Q, 0), ev(E, 5)], {"outcome": "abandoned", "short_abandon": False}),
    (
        "outcome self_served",
        [ev(S, 0, channel="web"), ev(E, 60)],
        {"outcome": "self_served", "answered_within_sl": None, "short_abandon": False},
    ),
    ("outcome open", [ev(S, 0), ev(Q, 1)], {"outcome": "open", "ended_at": None}),
    (
        "no threshold for web: sl null even when queued",
        [ev(Q, 0, channel="web"), ev(A, 1), ev(E, 2)],
        {"answered_within_sl": None},
    ),
    (
        "the channel fact decides the threshold (email 5 days)",
        [ev(S, 0, channel="email"), ev(Q, 0, channel="email"), ev(A, 400000), ev(E, 400001)],
        {"answered_within_sl": True},
    ),
    ("rating from the last survey", [ev(Q, 0), ev(SV, 10, rating=2), ev(SV, 20, rating=5)], {"rating": 5}),
    (
        "ties in time ordered by lifecycle: ended then wrapped",
        [ev(W, 10, resolution="resolved"), ev(E, 10), ev(A, 10), ev(Q, 10)],
        {"acw_seconds": 0.0, "outcome": "handled", "talk_seconds": 0.0},
    ),
]


@pytest.mark.parametrize(("case", "events", "expected"), CASES, ids=[c[0] for c in CASES])
def test_fact(facts_by: Engine, case: str, events: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    facts = facts_by(events)
    actual = {k: getattr(facts, k) for k in expected}
    assert actual == expected


@pytest.mark.parametrize(
    ("watermark_s", "outcome"),
    [(None, "open"), (86400 + 100 - 1, "open"), (86400 + 100, "timed_out"), (200000, "timed_out")],
)
def test_open_contact_times_out_at_the_watermark(facts_by: Engine, watermark_s: float | None, outcome: str) -> None:
    facts = facts_by([ev(S, 0), ev(Q, 100)], watermark_s=watermark_s)
    assert facts.outcome == outcome


def test_ended_contact_never_times_out(facts_by: Engine) -> None:
    assert facts_by([ev(Q, 0), ev(E, 10)], watermark_s=10**7).outcome == "abandoned"


@pytest.mark.parametrize(
    ("rules", "tta", "within"),
    [
        (MetricRules(), 25, False),
        (MetricRules(sl_seconds={"phone": 30}), 25, True),
        (MetricRules(sl_seconds={}), 25, None),
    ],
)
def test_service_level_threshold_is_configurable(
    facts_by: Engine, rules: MetricRules, tta: float, within: bool | None
) -> None:
    assert facts_by([ev(Q, 0), ev(A, tta), ev(E, 100)], rules=rules).answered_within_sl is within


def test_short_abandon_threshold_is_configurable(facts_by: Engine) -> None:
    events = [ev(Q, 0), ev(E, 8)]
    assert facts_by(events).short_abandon is False
    assert facts_by(events, rules=MetricRules(short_abandon_seconds=10)).short_abandon is True


def test_duplicate_ids_count_once(facts_by: Engine) -> None:
    hold = ev(HS, 20)
    facts = facts_by([ev(Q, 0), ev(A, 10), hold, dict(hold), ev(HE, 30), ev(E, 40)])
    assert (facts.hold_count, facts.hold_seconds) == (1, 10.0)
