"""Replay benchmark: 1,000,000 and 5,000,000 events (shuffled, 2% duplicates) through `contactpulse replay`'s
code path, with the default settings (chunks of replay_chunk_events, DuckDB's duckdb_memory_limit).

Prints events per second and the peak resident memory of a separate process for each, with the walk's
worker processes (sampled), and the ratio of the peaks. Floors: at least 100,000 events/s on 2 cores; peak
below 1.5 GB and the larger run's peak within 1.3x the 1M peak (memory bounded, not growing with the input).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

from tests.support.generator import Generator

CACHE = Path(".cache/bench")


def corpus(n_events: int) -> Path:
    path = CACHE / f"events-{n_events}.jsonl"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    gen = Generator(seed=1, customers=50_000)
    lines: list[bytes] = []
    i = 0
    while len(lines) < n_events * 0.98:
        lines += [orjson.dumps(e) for e in gen.contact(i)]
        i += 1
    rng = random.Random(2)
    lines += rng.sample(lines, n_events - len(lines))
    rng.shuffle(lines)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(b"\n".join(lines) + b"\n")
    tmp.rename(path)
    return path


def rss_kib(pid: int | str) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # gone meanwhile
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)


class TreeMemory(threading.Thread):
    """The largest resident memory of this process and its children (the walk's workers) together, sampled
    every 100 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop, self.peak_mib = threading.Event(), 0.0

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.wait(0.1):
            children = {c for f in Path(f"/proc/{me}/task").glob("*/children") for c in _read(f).split()}
            total = rss_kib(me) + sum(rss_kib(c) for c in children)
            self.peak_mib = max(self.peak_mib, total / 1024)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:  # a thread gone meanwhile
        return ""


def child(path: str, db: str) -> None:
    """Runs in a fresh process so that peak memory is the replay's own."""
    from services.replay.bulk import bulk_replay
    from services.settings import load_settings
    from services.store.store import Store
    from services.stream.gcpolicy import THRESHOLDS, gc_thresholds

    sampler = TreeMemory()
    sampler.start()
    start = time.perf_counter()
    settings = load_settings()
    # the collector's thresholds as the replay command sets them for its process
    with (
        open(path, "rb") as f,
        Store(db, memory_limit=settings.duckdb_memory_limit) as store,
        gc_thresholds(THRESHOLDS),
    ):
        summary = bulk_replay([("bench", f)], store, settings.rules(), chunk_events=settings.replay_chunk_events)
    elapsed = time.perf_counter() - start
    # VmHWM, this process's own peak: getrusage's ru_maxrss survives exec, so a child of a parent that
    # generated the corpus in memory would report the parent's peak
    status = Path("/proc/self/status").read_text()
    own = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024
    sampler.stop.set()
    print(json.dumps({"lines": summary.lines, "seconds": elapsed, "own_mib": own, "peak_mib": sampler.peak_mib}))


def measure(path: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-m", "bench.replay_bench", "--child", str(path), f"{tmp}/bench.duckdb"],
            check=True,
            capture_output=True,
            text=True,
        )
    r: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    rate = r["lines"] / r["seconds"]
    print(
        f"replay: {r['lines']:,.0f} events in {r['seconds']:.2f} s = {rate:,.0f} events/s; "
        f"peak memory {r['peak_mib']:,.0f} MiB with the walk's workers ({r['own_mib']:,.0f} MiB this process)",
        flush=True,
    )
    return r


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--child", nargs=2, metavar=("FILE", "DB"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    peaks = {}
    for n in args.events:
        path = corpus(n)
        peaks[n] = measure(path)["peak_mib"]
    if len(peaks) > 1:
        small, large = min(peaks), max(peaks)
        ratio = peaks[large] / peaks[small]
        worst = max(peaks.values()) * 1024 * 1024 / 1e9
        met = ("met" if worst < 1.5 else "NOT met", "met" if ratio <= 1.3 else "NOT met")
        print(
            f"replay memory: peak {worst:.2f} GB at most (target < 1.5 GB: {met[0]}); "
            f"{large:,} events / {small:,} events = {ratio:.2f}x (target <= 1.3x: {met[1]})"
        )


if __name__ == "__main__":
    main()
