"""The live board read by HTTP threads while the event loop applies batches: every answer is whole and
consistent, and nothing is lost. Several threads hammer /metrics and /wallboard.json on a real local
socket while batches are applied, with the interpreter switching threads every microsecond."""

from __future__ import annotations

import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from pipelines.engine import FactEngine
from pipelines.live import LiveBoard
from pipelines.rules import MetricRules
from services.exposition.http import serve
from services.exposition.metrics import LiveCollector, PipelineMetrics
from services.store.store import Store
from services.stream.processor import StreamProcessor
from tests.support.builders import T0, TOPIC, Rec, ev, raw

QUEUES = [f"q{i:02d}" for i in range(40)]
BATCHES = 30
PER_BATCH = 80


@pytest.fixture
def fast_switching() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def batches() -> Iterator[list[Rec]]:
    """Each batch queues new contacts and answers or abandons (after 30 s: never a short abandon) the
    previous batch's, spread over many queues."""
    offset = 0
    previous: list[tuple[str, str, float]] = []
    for b in range(BATCHES + 1):
        records = []
        for contact, _queue, at in previous:
            done = (
                ev("contact.answered", at + 30, contact=contact)
                if hash(contact) % 3
                else ev("contact.ended", at + 30, contact=contact)
            )
            records.append(Rec(offset, raw(done)))
            offset += 1
        previous = []
        if b < BATCHES:
            for i in range(PER_BATCH):
                contact, queue, at = f"C-{b}-{i}", QUEUES[(b * PER_BATCH + i) % len(QUEUES)], b * 10.0
                records.append(Rec(offset, raw(ev("contact.queued", at, contact=contact, queue=queue))))
                offset += 1
                previous.append((contact, queue, at))
        yield records


def test_readers_see_whole_consistent_boards_while_batches_apply(tmp_path: Path, fast_switching: None) -> None:
    registry = CollectorRegistry()
    board = LiveBoard(queue_label_limit=100, day_of=lambda us: "all")
    registry.register(LiveCollector(board))
    proc = StreamProcessor(
        FactEngine(MetricRules()), Store(tmp_path / "t.duckdb"), PipelineMetrics(registry), board, TOPIC
    )
    server = serve("127.0.0.1", 0, registry, board, day_of=lambda us: "all")
    port = server.server_address[1]
    done = threading.Event()
    problems: list[str] = []
    answers = [0]

    def read(path: str) -> None:
        while not done.is_set():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
                    body = r.read().decode()
            except Exception as exc:  # an error page or a broken answer is what this test looks for
                problems.append(f"{path}: {exc!r}")
                return
            answers[0] += 1
            if path == "/metrics":
                list(text_string_to_metric_families(body))
                continue
            for row in orjson.loads(body)["rows"]:
                if "offered_today" not in row:
                    continue
                settled = row["waiting"] + row["answered_today"] + row["abandoned_today"]
                if settled != row["offered_today"]:
                    problems.append(f"inconsistent row {row}")

    readers = [threading.Thread(target=read, args=(p,)) for p in ("/wallboard.json", "/metrics") * 3]
    for t in readers:
        t.start()
    try:
        for records in batches():
            proc.commit(proc.decode(records, ingest_time=T0.replace(year=2030)))
    finally:
        done.set()
        for t in readers:
            t.join(timeout=30)
        server.close()
    assert problems == []
    assert answers[0] > 20
    waiting, _ = board.snapshot()
    assert waiting == {}  # every contact answered or abandoned in the end
    tallies = board.tallies("all")
    assert sum(t.offered for t in tallies.values()) == BATCHES * PER_BATCH
