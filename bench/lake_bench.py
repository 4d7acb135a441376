"""Scale-out benchmark (docs/scale-out.md): streaming into the embedded DuckDB file with one consumer, and into
a DuckLake on PostgreSQL (Debian's package, scripts/postgres.sh on port 15545) with one and with two
consumers of one group, in one run on the real local broker (port 19192); then replay into the lake.

1. Throughput: N events produced by kcat (a separate process) onto six partitions; events/s until the
   consumers' live counts hold them all; every event is then checked in the store.
2. Freshness at 1,000 events/s for 15 s: produce to counted in the consumers' live series (summed over
   consumers), p50 and p99; on a lake also produce to committed, as a reader of the lake sees it.
3. Replay of the same events into the lake, against a file.

Targets (issue 23): two consumers on the lake reach at least 1.3x one consumer on the lake; freshness
p99 stays under 2 s with several writers.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb
import orjson

from bench.stream_bench import BOOTSTRAP, ROOT, broker, histogram, paced, processed, start_consumer
from services.kafka import create_topics
from services.store.location import Location, parse_location
from services.store.readers import open_read_only
from tests.support.generator import Generator

PG_PORT = 15545
PASSWORD_FILE = ROOT / ".cache" / "postgres" / "password"
LOGS = Path(tempfile.mkdtemp(prefix="lake-bench-logs-"))


def postgres(action: str) -> None:
    env = {**os.environ, "PG_PORT": str(PG_PORT)}
    subprocess.run(["bash", "scripts/postgres.sh", action], cwd=ROOT, env=env, check=True, capture_output=True)


def new_lake(tmp: Path) -> tuple[Location, dict[str, str]]:
    name = "bench_" + uuid.uuid4().hex[:8]
    password = PASSWORD_FILE.read_text().strip()
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "contactpulse", "-d", "postgres", "-qc",
         f"CREATE DATABASE {name}"],
        env={**os.environ, "PGPASSWORD": password}, check=True, capture_output=True,
    )  # fmt: skip
    data = tmp / name
    env = {"CONTACTPULSE_PG_PASSWORD_FILE": str(PASSWORD_FILE), "CONTACTPULSE_DUCKLAKE_DATA_PATH": str(data)}
    os.environ.update(env)
    uri = f"ducklake:postgres:dbname={name} host=127.0.0.1 port={PG_PORT} user=contactpulse"
    return parse_location(uri, str(data)), env


def stored(where: Location | Path) -> int:
    if isinstance(where, Path):
        con = duckdb.connect(str(where), read_only=True)
    else:
        con, _ = open_read_only(where)
    try:
        return int(con.execute("SELECT count(*) FROM contact_events").fetchall()[0][0])
    finally:
        con.close()


def corpus(n_events: int, path: Path) -> int:
    gen, n, i = Generator(seed=9, customers=20_000), 0, 0
    with path.open("wb") as f:
        while n < n_events:
            for e in gen.contact(i):
                f.write(e["data"]["contact_id"].encode() + b"\t" + orjson.dumps(e) + b"\n")
                n += 1
            i += 1
    return n


Procs = list[tuple[subprocess.Popen[bytes], int]]


def consumers(where: Location | Path, topic: str, count: int, env: dict[str, str]) -> Procs:
    procs: Procs = []
    for k in range(count):
        port = 19510 + k
        log = LOGS / f"{topic}-{k}.log"
        procs.append((start_consumer(str(where), topic, port, env, log), port))
    return procs


def redone(topic: str) -> int:
    """Commits the consumers of ``topic`` redone after a conflict (from their logs)."""
    return sum(p.read_text().count("commit conflicted") for p in LOGS.glob(f"{topic}-*.log"))


def throughput(label: str, where: Location | Path, count: int, env: dict[str, str], tsv: Path, n: int) -> float:
    topic = "lakebench-" + uuid.uuid4().hex[:8]
    create_topics(BOOTSTRAP, {topic: 6, topic + "-dlq": 1})
    procs = consumers(where, topic, count, env)
    time.sleep(3 if count > 1 else 0)  # the group settles on its partitions before the clock starts
    start = time.perf_counter()
    producer = subprocess.Popen(["kcat", "-P", "-b", BOOTSTRAP, "-t", topic, "-K", "\t", "-l", str(tsv)])
    while live_total(procs) < n:
        time.sleep(0.1)
    stop(procs)
    elapsed = time.perf_counter() - start
    producer.wait()
    assert stored(where) == n, "every event must be in the store"
    rate = n / elapsed
    print(f"{label}: {n:,} events in {elapsed:.1f} s = {rate:,.0f} events/s ({redone(topic)} commits redone)")
    return rate


def stop(procs: Procs) -> None:
    """SIGTERM: each consumer writes what it holds, then exits."""
    for proc, _ in procs:
        proc.terminate()
    for proc, _ in procs:
        proc.wait()


def live_total(procs: Procs) -> float:
    return sum(max(0.0, processed(port)) for _, port in procs)


def produce(topic: str, rate: int, total: int, prefix: str) -> list[float]:
    """``total`` events at ``rate`` a second (after 200 to warm up, not timed); when each was sent."""
    from kafka import KafkaProducer

    return paced(KafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=0, acks=1), topic, rate, total, prefix)


class Poller(threading.Thread):
    """How many of the timed events a count shows, every 50 ms, with when."""

    def __init__(self, count: Callable[[], float]) -> None:
        super().__init__(daemon=True)
        self.count, self.seen, self.done = count, [(0.0, 0.0)], threading.Event()

    def run(self) -> None:
        base = self.count()
        while not self.done.is_set():
            self.seen.append((time.perf_counter(), self.count() - base))
            time.sleep(0.05)


def freshness(label: str, where: Location | Path, count: int, env: dict[str, str], rate: int = 1000) -> None:
    seconds, prefix = 15, uuid.uuid4().hex[:6]
    topic = "lakefresh-" + prefix
    create_topics(BOOTSTRAP, {topic: 6, topic + "-dlq": 1})
    procs = consumers(where, topic, count, env)
    produce(topic, 1000, 200, prefix + "-W")
    while live_total(procs) < 200:
        time.sleep(0.05)
    time.sleep(3 if count > 1 else 0)  # the group settled
    pollers = [Poller(lambda: live_total(procs))]
    if isinstance(where, Location):
        reader, _ = open_read_only(where)
        pollers.append(Poller(lambda: float(reader.execute("SELECT count(*) FROM contact_events").fetchall()[0][0])))
    for p in pollers:
        p.start()
    time.sleep(0.2)
    total = rate * seconds
    sent = produce(topic, rate, total, prefix + "-F")
    deadline = time.perf_counter() + 60
    while any(p.seen[-1][1] < total for p in pollers) and time.perf_counter() < deadline:
        time.sleep(0.1)
    for p in pollers:
        p.done.set()
        p.join()
    writes = [histogram(port, "contactpulse_batch_duration_seconds") for _, port in procs]
    stop(procs)
    parts = [f"live p50 {_q(sent, pollers[0].seen, 49):.0f} ms, p99 {_q(sent, pollers[0].seen, 98):.0f} ms"]
    if len(pollers) > 1:
        reader.close()
        seen = pollers[1].seen
        parts.append(
            f"committed (seen by a lake reader) p50 {_q(sent, seen, 49):.0f} ms, p99 {_q(sent, seen, 98):.0f} ms"
        )
    n_writes: float = sum(w[2] for w in writes)
    total_s: float = sum(w[1] for w in writes)
    parts.append(f"{n_writes:.0f} writes of mean {1000 * total_s / max(n_writes, 1):.0f} ms, {redone(topic)} redone")
    print(f"{label} freshness at {rate:,} events/s for {seconds} s: " + "; ".join(parts))


def _q(sent: list[float], seen: list[tuple[float, float]], q: int) -> float:
    latencies, j = [], 0
    for i, at in enumerate(sent):
        while j < len(seen) and seen[j][1] <= i:
            j += 1
        if j < len(seen):
            latencies.append((seen[j][0] - at) * 1000)
    return statistics.quantiles(latencies, n=100)[q] if len(latencies) > 100 else float("nan")


def replay(tsv: Path, tmp: Path) -> None:
    from pipelines.rules import MetricRules
    from services.replay.bulk import bulk_replay
    from services.store.store import Store

    data = b"\n".join(line.split(b"\t", 1)[1] for line in tsv.read_bytes().splitlines()) + b"\n"
    n = data.count(b"\n")
    lake, _ = new_lake(tmp)
    for label, where in (("file", tmp / "replay.duckdb"), ("lake", lake)):
        start = time.perf_counter()
        with Store(where) as store:
            bulk_replay([("bench", io.BytesIO(data))], store, MetricRules())
        elapsed = time.perf_counter() - start
        print(f"replay into the {label}: {n:,} events in {elapsed:.1f} s = {n / elapsed:,.0f} events/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    broker("up")
    postgres("up")
    try:
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            tsv = tmp / "events.tsv"
            n = corpus(args.events, tsv)
            rates = {}
            for label, count, lake in (("file, 1 consumer", 1, False), ("lake, 1 consumer", 1, True),
                                       ("lake, 2 consumers", 2, True)):  # fmt: skip
                where, env = new_lake(tmp) if lake else (tmp / f"{uuid.uuid4().hex[:6]}.duckdb", {})
                rates[label] = throughput(f"stream throughput, {label}", where, count, env, tsv, n)
                where, env = new_lake(tmp) if lake else (tmp / f"{uuid.uuid4().hex[:6]}.duckdb", {})
                freshness(f"stream, {label}", where, count, env)
            ratio = rates["lake, 2 consumers"] / rates["lake, 1 consumer"]
            print(f"two consumers on the lake / one: {ratio:.2f}x (target >= 1.3x)")
            replay(tsv, tmp)
    finally:
        broker("reset")
        postgres("down")


if __name__ == "__main__":
    main()
