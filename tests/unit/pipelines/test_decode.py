"""The Python fast lane (pipelines/decode.py) never accepts what pydantic rejects, and agrees on values.

It may leave a valid message to pydantic (that costs time, not correctness). Checked on the generator's
valid events, on every rejection case of the event tests, on edge times, and on seeded mutations.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from pipelines.decode import fast_event
from pipelines.events import micros
from tests.support.generator import Generator
from tests.support.mutations import BASE, NOW, STAGED, by_pydantic, mutate
from tests.unit.schemas.test_events import NOW as REJECTIONS_NOW
from tests.unit.schemas.test_events import REJECTIONS


def lane(line: bytes, now: datetime = NOW) -> tuple[Any, ...] | None:
    e = fast_event(line, micros(now))
    return None if e is None else tuple(getattr(e, name) for name in STAGED)


def test_plain_valid_events_take_the_lane_with_pydantic_values() -> None:
    events = [e for c in Generator(5, start=datetime(2026, 3, 1, tzinfo=UTC)).contacts(600) for e in c]
    for line in map(orjson.dumps, events):
        assert lane(line) == by_pydantic(line) is not None, line


def test_no_rejection_case_is_accepted() -> None:
    for _, message, _ in REJECTIONS:
        assert lane(message, REJECTIONS_NOW) is None, message


@pytest.mark.parametrize(
    ("time", "accepted"),
    [
        ("2026-03-02T09:15:02Z", True),
        ("2026-03-02T09:15:02.5+01:00", True),
        ("2029-12-31T23:59:59.999999+00:30", True),
        ("2030-01-01T00:04:58Z", True),  # within the 5 minutes ahead (less the lane's one-second margin)
        ("2030-01-01T00:04:59.000001Z", False),  # pydantic's to decide
        ("2000-01-01T00:00:00Z", True),
        ("2000-01-01T00:30:00+01:00", False),  # 1999 in UTC
        ("2026-02-30T00:00:00Z", False),
        ("2026-03-02 09:15:02Z", False),
        ("2026-03-02T09:15:02", False),
    ],
)
def test_times_at_the_edges(time: str, accepted: bool) -> None:
    line = orjson.dumps({**BASE, "time": time})
    assert (lane(line) is not None) is accepted
    if accepted:
        assert lane(line) == by_pydantic(line)


@pytest.mark.parametrize("seed", range(6))
def test_mutations_accepted_by_the_lane_are_accepted_by_pydantic_with_equal_values(seed: int) -> None:
    rng = random.Random(100 + seed)
    lines = [mutate(rng) for _ in range(2500)]
    accepted = {i: row for i, line in enumerate(lines) if (row := lane(line)) is not None}
    for i, row in accepted.items():
        assert row == by_pydantic(lines[i]), lines[i]
    valid = sum(by_pydantic(line) is not None for line in lines)
    # both sides are exercised: most valid mutations take the lane (not those with a backslash escape or
    # another time form), and many lines are rejected
    assert 0.7 * valid < len(accepted) <= valid < 0.8 * len(lines)
