"""Streaming benchmark on a real local broker (port 19192).

1. Throughput: a separate producer process (kcat) writes N events; events/s until the consumer has them all in DuckDB
   (it counts them live, then is stopped, which writes what it holds; the file is checked). The count is read every
   0.1 s from /metrics?name[]=contactpulse_events_total (a whole scrape 20 times a second had slowed the consumer
   by a quarter; Prometheus scrapes it every 15 s).
2. Freshness: a steady 1,000 events/s for 20 s, once the consumer has its partitions (200 warm-up events);
   time from produce until the consumer's live series count the event, p50 and p99. Target p99 <= 250 ms.
3. Ceiling: the raw read rate of the same topic by a bare aiokafka consumer, and the ratio of 1 to it.

BENCH_PROFILE=FILE runs the consumer under cProfile (its event loop thread) and writes the profile to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import duckdb
import orjson

from services.kafka import create_topics
from tests.support.generator import Generator

PORT = 19192
WARMUP = 200
POLL_SECONDS = float(os.environ.get("BENCH_POLL_SECONDS", "0.05"))  # faster polling loads the consumer
BOOTSTRAP = f"127.0.0.1:{PORT}"
ROOT = Path(__file__).resolve().parents[1]


def broker(action: str) -> None:
    env = {**os.environ, "KAFKA_PORT": str(PORT), "KAFKA_CONTROLLER_PORT": str(PORT + 1), "PYTHON": sys.executable}
    subprocess.run(["bash", "scripts/kafka.sh", action], cwd=ROOT, env=env, check=True, capture_output=True)


def processed(port: int) -> float:
    try:
        # only the one series: a whole scrape (3,500 series) holds the consumer's interpreter lock for ~30 ms
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/metrics?name[]=contactpulse_events_total", timeout=1
        ) as r:
            text = r.read().decode()
    except OSError:
        return -1
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("contactpulse_events_total{")
    )


def histogram(port: int, name: str) -> tuple[list[tuple[float, float]], float, float]:
    """(cumulative buckets, sum, count) of a histogram on the consumer's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        text = r.read().decode()
    buckets, total, count = [], 0.0, 0.0
    for line in text.splitlines():
        if line.startswith(name + "_bucket{"):
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
        elif line.startswith(name + "_sum "):
            total = float(line.rsplit(" ", 1)[1])
        elif line.startswith(name + "_count "):
            count = float(line.rsplit(" ", 1)[1])
    return buckets, total, count


def quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """Linear interpolation within the bucket, as PromQL's histogram_quantile does."""
    count = buckets[-1][1]
    rank, prev_le, prev_n = q * count, 0.0, 0.0
    for le, n in buckets:
        if n >= rank:
            return prev_le if le == float("inf") else prev_le + (le - prev_le) * (rank - prev_n) / max(n - prev_n, 1e-9)
        prev_le, prev_n = le, n
    return prev_le


def start_consumer(
    db: Path | str, topic: str, port: int, extra: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """A consumer process (``extra``: more environment, such as a lake's; ``log``: where its log goes);
    returns once it serves /metrics."""
    env = {
        **os.environ,
        **(extra or {}),
        "CONTACTPULSE_KAFKA_BOOTSTRAP": BOOTSTRAP,
        "CONTACTPULSE_EVENTS_TOPIC": topic,
        "CONTACTPULSE_DLQ_TOPIC": topic + "-dlq",
        "CONTACTPULSE_CONSUMER_GROUP": "bench-" + topic,
        "CONTACTPULSE_METRICS_PORT": str(port),
        "CONTACTPULSE_SNAPSHOT_SECONDS": "0",
    }
    prof = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
    command = [sys.executable, *prof, "-m", "services.cli", "consume", "--db", str(db)]
    out = log.open("ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    while processed(port) < 0:
        time.sleep(0.1)
    return proc


def throughput(n_events: int, tmp: Path) -> float:
    topic = "bench-" + uuid.uuid4().hex[:8]
    create_topics(BOOTSTRAP, {topic: 6, topic + "-dlq": 1})
    gen = Generator(seed=9, customers=20_000)
    path = tmp / "events.tsv"
    n = 0
    with path.open("wb") as f:
        i = 0
        while n < n_events:
            for e in gen.contact(i):
                f.write(e["data"]["contact_id"].encode() + b"\t" + orjson.dumps(e) + b"\n")
                n += 1
            i += 1
    consumer = start_consumer(tmp / "tp.duckdb", topic, 19500)
    start = time.perf_counter()
    # kcat (C, librdkafka) produces about 400,000 events/s here; a Python producer managed 9,000 and was the
    # bottleneck it was meant to measure past
    producer = subprocess.Popen(["kcat", "-P", "-b", BOOTSTRAP, "-t", topic, "-K", "\t", "-l", str(path)])
    while processed(19500) < n:
        time.sleep(0.1)
    consumer.terminate()  # the consumer writes what it holds, then exits: then all is in DuckDB
    consumer.wait()
    elapsed = time.perf_counter() - start
    producer.wait()
    stored = duckdb.connect(str(tmp / "tp.duckdb"), read_only=True).execute("SELECT count(*) FROM contact_events")
    assert stored.fetchall() == [(n,)], "every event must be in DuckDB"
    rate = n / elapsed
    print(
        f"stream throughput: {n:,} events produced by a separate process, all in DuckDB in {elapsed:.1f} s "
        f"= {rate:,.0f} events/s (target >= 50,000)"
    )
    ceiling(topic, n)
    return rate


def ceiling(topic: str, n: int) -> None:
    from aiokafka import AIOKafkaConsumer

    async def read() -> float:
        c = AIOKafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, group_id=None, auto_offset_reset="earliest")
        await c.start()
        got, start = 0, time.perf_counter()
        try:
            while got < n:
                batch = await c.getmany(timeout_ms=500, max_records=10_000)
                got += sum(len(v) for v in batch.values())
        finally:
            await c.stop()
        return got / (time.perf_counter() - start)

    raw = asyncio.run(read())
    print(f"stream ceiling: a bare aiokafka consumer reads the same topic at {raw:,.0f} events/s")


def event(contact: str, t: float) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": contact.lower(),
        "source": "/bench/telephony/acd",
        "type": "contact.queued",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + "Z",
        "subject": contact,
        "data": {"contact_id": contact, "council": "bench", "channel": "phone", "queue": "q"},
    }


def paced(producer: Any, topic: str, rate: int, total: int, prefix: str) -> list[float]:
    """``total`` events at a steady ``rate`` a second, each keyed by its contact; when each was sent."""
    sent = [0.0] * total
    start, wall = time.perf_counter(), time.time()
    for i in range(total):
        due = start + i / rate
        while time.perf_counter() < due:
            time.sleep(0.0002)
        ev = event(f"{prefix}-{i}", wall + i / rate)
        sent[i] = time.perf_counter()
        producer.send(topic, key=str(ev["subject"]).encode(), value=orjson.dumps(ev))
    producer.flush()
    return sent


def freshness(tmp: Path, rate: int = 1000, seconds: int = 20) -> None:
    from kafka import KafkaProducer

    topic = "fresh-" + uuid.uuid4().hex[:8]
    create_topics(BOOTSTRAP, {topic: 6, topic + "-dlq": 1})
    consumer = start_consumer(tmp / "fresh.duckdb", topic, 19501)
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=0, acks=1)
    # steady state only: the first events wait for the group to form and partitions to be assigned
    for i in range(WARMUP):
        ev = event(f"W-{i}", time.time())
        producer.send(topic, key=ev["subject"].encode(), value=orjson.dumps(ev))  # type: ignore[attr-defined]
    producer.flush()
    while processed(19501) < WARMUP:
        time.sleep(0.05)
    lat0, _, _ = histogram(19501, "contactpulse_ingest_latency_seconds")
    total = rate * seconds
    seen: list[tuple[float, float]] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            seen.append((time.perf_counter(), processed(19501) - WARMUP))
            time.sleep(POLL_SECONDS)

    poller = threading.Thread(target=poll)
    poller.start()
    sent = paced(producer, topic, rate, total, "F")
    while processed(19501) < WARMUP + total:
        time.sleep(0.05)
    done.set()
    poller.join()
    lat, _, _ = histogram(19501, "contactpulse_ingest_latency_seconds")
    lat = [(le, n - n0) for (le, n), (_, n0) in zip(lat, lat0, strict=True)]
    _, bsum, bcount = histogram(19501, "contactpulse_batch_duration_seconds")
    print(
        f"stream freshness, the consumer's own view: ingest latency p50 {1000 * quantile(lat, 0.5):.0f} ms, "
        f"p99 {1000 * quantile(lat, 0.99):.0f} ms; "
        f"{bcount:.0f} batches, mean {1000 * bsum / max(bcount, 1):.0f} ms each"
    )
    consumer.terminate()
    consumer.wait()
    latencies, j = [], 0
    for i in range(total):
        while j < len(seen) and seen[j][1] <= i:
            j += 1
        if j < len(seen):
            latencies.append((seen[j][0] - sent[i]) * 1000)
    q = statistics.quantiles(latencies, n=100)
    print(
        f"stream freshness at {rate:,} events/s for {seconds} s: p50 {q[49]:.0f} ms, p99 {q[98]:.0f} ms "
        f"(target p99 <= 250 ms; produce to visible in the consumer's /metrics, "
        f"polled every {POLL_SECONDS * 1000:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--only", choices=["throughput", "freshness"])
    args = parser.parse_args()
    broker("up")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.only != "freshness":
                throughput(args.events, Path(tmp))
            if args.only != "throughput":
                freshness(Path(tmp))
    finally:
        broker("reset")


if __name__ == "__main__":
    main()
