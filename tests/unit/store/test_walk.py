"""Replay's walk of many contacts (services/store/walk.py): batches cut only between contacts, the same facts
as the walk of each contact on its own, and a walk that fails leaves the store as it was."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

import services.store.walk
from pipelines.events import Event
from pipelines.facts import compute_facts
from pipelines.rules import MetricRules
from pipelines.standards import standard_of, verdict_rows
from pipelines.working_time import Calendars
from services.replay.bulk import write_slices
from services.store.schema import FACTS, STAGING, arrow_table, verdicts_table
from services.store.store import Store
from services.store.walk import Walker, whole_contacts
from tests.support.facts import to_events
from tests.support.generator import Generator

COLUMNS = STAGING[1:]  # an Event's fields


def columns(events: list[Event]) -> dict[str, pa.Array]:
    return {n: pa.array(c, t) for (n, t), c in zip(COLUMNS, zip(*events, strict=True), strict=True)}


def batches(events: list[Event], size: int) -> list[pa.RecordBatch]:
    out: list[pa.RecordBatch] = pa.table(columns(events)).to_batches(max_chunksize=size)
    return out


def generated(n: int, seed: int) -> list[Event]:
    events = to_events([e for c in Generator(seed).contacts(n) for e in c])
    random.Random(seed).shuffle(events)  # a contact's events together, in any order within it
    return sorted(events, key=lambda e: (e.council, e.contact_id))


@pytest.mark.parametrize("size", [1, 2, 7, 64, 10_000])
def test_batches_are_cut_between_contacts_and_lose_nothing(size: int) -> None:
    events = generated(60, 3)
    cut = list(whole_contacts(batches(events, size)))
    assert sum(b.num_rows for b in cut) == len(events)
    seen: set[tuple[str, str]] = set()
    for b in cut:
        keys = list(zip(b.column("council").to_pylist(), b.column("contact_id").to_pylist(), strict=True))
        assert not (set(keys) & seen), "a contact's events in two batches"
        seen |= set(keys)
    assert pa.Table.from_batches(cut).to_pylist() == pa.Table.from_batches(batches(events, size)).to_pylist()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_walker_gives_each_contacts_own_facts(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    monkeypatch.setattr(services.store.walk, "IN_PROCESS_BELOW", 0)  # two workers even for a small write
    calls = standard_of({"name": "calls-20s", "channels": ["phone"], "milestone": "answered", "seconds": 20,
                         "target": 0.8})  # fmt: skip
    events = generated(300, 5)
    rules = MetricRules(short_abandon_seconds=7.0, standards=(calls,), calendars=Calendars())
    by_contact: dict[tuple[str, str], list[Event]] = {}
    for e in events:
        by_contact.setdefault(e.contact, []).append(e)
    facts = [compute_facts(group, rules) for group in by_contact.values()]
    expected = arrow_table(facts, FACTS)
    monkeypatch.setattr(services.store.walk, "BATCH_ROWS", 50)
    with Walker(rules, workers) as walker:
        got, verdicts = walker.submit(pa.Table.from_batches(batches(events, 10_000)))()
    assert got.to_pylist() == expected.to_pylist()
    rows = verdict_rows(facts, rules.standards, rules.calendars)
    assert sorted(verdicts.to_pylist(), key=str) == sorted(verdicts_table(rows).to_pylist(), key=str)
    assert len(rows) == sum(f.channel == "phone" for f in facts) > 0


def test_a_walk_that_fails_rolls_the_write_back(monkeypatch: pytest.MonkeyPatch) -> None:
    events = generated(20, 7)
    with Store(":memory:") as store:
        table = pa.table({"seq": pa.array(range(len(events)), pa.int64()), **columns(events)})
        store.con.register("_rows", table)
        store.con.execute("CREATE TEMP TABLE _staging AS SELECT * FROM _rows")

        def broken(batch: pa.RecordBatch, rules: MetricRules) -> tuple[pa.Table, pa.Table]:
            raise RuntimeError("the walk failed")

        monkeypatch.setattr(services.store.walk, "facts_table", broken)
        with pytest.raises(RuntimeError, match="the walk failed"):
            write_slices(store, Walker(MetricRules()), ["_staging"])
        assert store.con.execute("SELECT count(*) FROM contact_events").fetchall() == [(0,)]
        monkeypatch.undo()
        assert write_slices(store, Walker(MetricRules()), ["_staging"]) == len(events)  # the store goes on
        assert store.con.execute("SELECT count(*) FROM contacts").fetchall() == [(20,)]
