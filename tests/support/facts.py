"""Helpers: raw test events to facts, through the real parser, by each path to the one fact engine.

``walk``: pipelines/facts.py, both all at once and one event at a time (asserted equal). ``store``: bulk
replay's write, the staged events walked out of DuckDB and the store's settle step (time-outs, FCR), in
an in-memory DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from pipelines.events import US, Event, from_contract
from pipelines.facts import ContactState, compute_facts
from pipelines.rules import MetricRules
from schemas.facts import ContactFacts
from schemas.reasons import parse_event
from services.replay.bulk import write_slices
from services.store.schema import FACTS, STAGING
from services.store.store import Store
from services.store.walk import Walker
from tests.support.builders import T0, raw

T0_US = round(T0.timestamp() * US)
Engine = Callable[..., ContactFacts]


def to_events(events: list[dict[str, Any]]) -> list[Event]:
    return [from_contract(parse_event(raw(e), T0.replace(year=2030))) for e in events]


def both_paths(
    events: list[dict[str, Any]], rules: MetricRules | None = None, watermark_s: float | None = None
) -> ContactFacts:
    """Facts from the whole list and from applying events one at a time; asserts they agree."""
    rules = rules or MetricRules()
    parsed = to_events(events)
    watermark = None if watermark_s is None else T0_US + round(watermark_s * US)
    whole = compute_facts(parsed, rules, watermark)
    state = ContactState(parsed[0].council, parsed[0].contact_id)
    for e in parsed:
        state.add(e)
    assert state.facts(rules, watermark) == whole
    return whole


def store_path(
    events: list[dict[str, Any]], rules: MetricRules | None = None, watermark_s: float | None = None
) -> ContactFacts:
    """Facts of the one contact by bulk replay's write: the walk over the staged events, then the store's
    time-out and FCR step."""
    rules = rules or MetricRules()
    parsed = to_events(events)
    with Store(":memory:") as store:
        con = store.con
        rows = [(i, *e) for i, e in enumerate(parsed)]
        table = pa.table({n: pa.array([r[k] for r in rows], t) for k, (n, t) in enumerate(STAGING)})
        con.register("_rows", table)
        con.execute("CREATE OR REPLACE TEMP TABLE _staging AS SELECT * FROM _rows")
        con.unregister("_rows")
        if watermark_s is not None:
            con.execute(
                "INSERT INTO watermarks VALUES (?, to_timestamp(0) + to_microseconds(?))",
                [parsed[0].council, T0_US + round(watermark_s * US)],
            )
        write_slices(store, Walker(rules), ["_staging"])
        cols = ", ".join(f"epoch_us({c.name})" if c.is_time else c.name for c in FACTS)
        (row,) = con.execute(f"SELECT {cols} FROM contacts").fetchall()
    return ContactFacts(*row)


ENGINES: dict[str, Engine] = {"walk": both_paths, "store": store_path}


def at(seconds: float) -> int:
    return T0_US + round(seconds * US)
