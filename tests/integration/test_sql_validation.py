"""The SQL lane of contract validation (services/sql/validate.sql) never accepts what pydantic rejects.

The lane may leave a valid line to pydantic (that costs time, not correctness), but any line it
accepts must be one ``parse_event`` accepts, with the same staged values. Checked on the generator's
valid events, on every rejection case of the unit tests, and on thousands of seeded mutations.
"""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.replay.bulk import blocks, split_lines
from services.store.lane import filter_pushdown_off, validation_sql
from services.store.store import Store
from tests.support.generator import Generator
from tests.support.mutations import NOW, by_pydantic, mutate
from tests.unit.schemas.test_events import NOW as REJECTIONS_NOW
from tests.unit.schemas.test_events import REJECTIONS


def sql_lane(tmp: Path, lines: list[bytes], now: datetime = NOW) -> dict[int, tuple[Any, ...]]:
    """The rows the SQL lane accepts, by line index."""
    with Store(tmp / "v.duckdb") as store:
        query = validation_sql(now)
        out: dict[int, tuple[Any, ...]] = {}
        for block in blocks([("f", io.BytesIO(b"\n".join(lines) + b"\n"))]):
            table, _ = split_lines(block)
            store.con.register("_chunk", table)
            with filter_pushdown_off(store.con):
                rows = store.con.execute(query).fetchall()
            out.update({r[0]: tuple(r[1:]) for r in rows})
        return out


def test_plain_valid_events_take_the_sql_lane_with_pydantic_values(tmp_path: Path) -> None:
    events = [e for c in Generator(5, start=datetime(2026, 3, 1, tzinfo=UTC)).contacts(600) for e in c]
    lines = [orjson.dumps(e) for e in events]
    accepted = sql_lane(tmp_path, lines)
    assert len(accepted) == len(lines)
    for i, line in enumerate(lines):
        assert accepted[i] == by_pydantic(line), line


def test_no_rejection_case_is_accepted(tmp_path: Path) -> None:
    lines = [message for _, message, _ in REJECTIONS]
    assert sql_lane(tmp_path, lines, REJECTIONS_NOW) == {}


@pytest.mark.parametrize("seed", range(4))
def test_mutations_accepted_by_sql_are_accepted_by_pydantic_with_equal_values(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    lines = [mutate(rng) for _ in range(2500)]
    accepted = sql_lane(tmp_path, lines)
    for i, row in accepted.items():
        assert row == by_pydantic(lines[i]), lines[i]
    valid = sum(by_pydantic(line) is not None for line in lines)
    # both sides are exercised: about half the valid mutations take the lane (not those with a repeated key,
    # a backslash, or another type's field that is not a string), and many lines are rejected
    assert 0.45 * valid < len(accepted) <= valid < 0.8 * len(lines)
