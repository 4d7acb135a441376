"""Gateway benchmark on a real local broker (port 19192) and a real gateway process, over loopback.

1. Batches: a bounded client (8 threads, each its own keep-alive connection) posts batches of 100 fresh
   events for 10 s; events per second acknowledged (202). Target >= 10,000.
2. Single events: the same client posts one event a request for 10 s; requests per second. Target >= 1,000.
3. Latency: single-event requests paced at half the rate of 2, for 10 s; p50 and p99 from send to answer.

Every request is bounded (count and time); the client and the gateway share this machine's two cores
with the broker, as a council's small server would.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson

from bench.stream_bench import BOOTSTRAP, ROOT, broker
from services.ingest.gateway.tokens import TokenFile
from services.kafka import create_topics
from tests.support.net import free_port

THREADS = 8
SECONDS = 10.0
_ids = itertools.count()


def event(now: str) -> dict[str, object]:
    n = next(_ids)
    contact = f"B-{n // 4}"
    data = {"contact_id": contact, "council": "boston", "channel": "webchat", "queue": "revenues"}
    return {
        "specversion": "1.0",
        "id": f"bench-{n}",
        "source": "/boston/webchat/bench",
        "type": "contact.queued",
        "time": now,
        "subject": contact,
        "data": data,
    }


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token

    def run(self, batch: int, seconds: float, rate: float | None = None) -> tuple[int, int, list[float]]:
        """(requests accepted, events accepted, latencies) over ``seconds``; ``rate`` paces all threads."""
        deadline = time.monotonic() + seconds
        results: list[tuple[int, int, list[float]]] = []
        lock = threading.Lock()

        def worker(i: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            ok = events = 0
            lat: list[float] = []
            gap = THREADS / rate if rate else 0.0
            due = time.monotonic() + i * gap / THREADS
            ctype = "application/cloudevents-batch+json" if batch > 1 else "application/cloudevents+json"
            headers = {"Content-Type": ctype, "Authorization": f"Bearer {self.token}"}
            while (now := time.monotonic()) < deadline:
                if gap:
                    if now < due:
                        time.sleep(due - now)
                    due += gap
                stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                payload = [event(stamp) for _ in range(batch)]
                body = orjson.dumps(payload if batch > 1 else payload[0])
                sent = time.perf_counter()
                conn.request("POST", "/v1/events", body, headers)
                response = conn.getresponse()
                response.read()
                lat.append(time.perf_counter() - sent)
                if response.status == 202:
                    ok, events = ok + 1, events + batch
            conn.close()
            with lock:
                results.append((ok, events, lat))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(r[0] for r in results), sum(r[1] for r in results), [x for r in results for x in r[2]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=SECONDS)
    args = parser.parse_args()
    broker("up")
    topic = "bench-gw-" + uuid.uuid4().hex[:8]
    create_topics(BOOTSTRAP, {topic: 6})
    with tempfile.TemporaryDirectory() as tmp:
        tokens = Path(tmp) / "tokens.json"
        _, secret = TokenFile(tokens).add("all", "/")
        port = free_port()
        env = {
            **os.environ,
            "CONTACTPULSE_KAFKA_BOOTSTRAP": BOOTSTRAP,
            "CONTACTPULSE_EVENTS_TOPIC": topic,
            "CONTACTPULSE_GATEWAY_TOKENS": str(tokens),
            "CONTACTPULSE_GATEWAY_RATE_PER_SECOND": "1000000",
            "CONTACTPULSE_GATEWAY_BURST": "1000000",
        }
        gateway = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "gateway", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                        if orjson.loads(r.read())["kafka"] == "connected":
                            break
                except OSError:
                    pass
                time.sleep(0.1)
            client = Client(port, secret)
            client.run(10, 1.0)  # warm-up
            _, events, _ = client.run(100, args.seconds)
            rate = events / args.seconds
            print(
                f"gateway batches of 100: {rate:,.0f} events/s acknowledged (target >= 10,000: "
                f"{'met' if rate >= 10_000 else 'NOT met'})",
                flush=True,
            )
            requests, _, _ = client.run(1, args.seconds)
            single = requests / args.seconds
            print(
                f"gateway single events: {single:,.0f} requests/s (target >= 1,000: "
                f"{'met' if single >= 1_000 else 'NOT met'})",
                flush=True,
            )
            paced, _, lat = client.run(1, args.seconds, rate=single / 2)
            lat.sort()
            p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000
            print(
                f"gateway latency at {single / 2:,.0f} requests/s ({paced / args.seconds:,.0f} achieved): "
                f"p50 {statistics.median(lat) * 1000:.1f} ms, p99 {p99:.1f} ms",
                flush=True,
            )
        finally:
            gateway.terminate()
            gateway.wait(timeout=30)
    broker("down")


if __name__ == "__main__":
    main()
