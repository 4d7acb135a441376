"""Replay benchmark: 1,000,000 events (shuffled, 2% duplicates) through `contactpulse replay`'s code path.

Prints events per second and the peak resident memory of a separate process. Target: >= 200,000 events/s.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
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


def child(path: str, db: str, engine: str) -> None:
    """Runs in a fresh process so that peak memory is the replay's own."""
    from services.replay.bulk import bulk_replay
    from services.replay.incremental import numbered_lines, replay
    from services.settings import load_settings
    from services.store.store import Store

    start = time.perf_counter()
    with open(path, "rb") as f, Store(db) as store:
        if engine == "sql":
            summary = bulk_replay([("bench", f)], store, load_settings().rules())
        else:
            summary = replay(numbered_lines("bench", f), store, load_settings().rules())
    elapsed = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"lines": summary.lines, "seconds": elapsed, "peak_mib": peak_mib}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=3, metavar=("FILE", "DB", "ENGINE"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    path = corpus(args.events)
    for engine in ("sql", "incremental"):
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                [sys.executable, "-m", "bench.replay_bench", "--child", str(path), f"{tmp}/bench.duckdb", engine],
                check=True,
                capture_output=True,
                text=True,
            )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rate = r["lines"] / r["seconds"]
        print(
            f"replay ({engine}): {r['lines']:,} events in {r['seconds']:.2f} s = {rate:,.0f} events/s; "
            f"peak memory {r['peak_mib']:,.0f} MiB"
        )
        if engine == "sql":
            print(f"replay target >= 200,000 events/s: {'met' if rate >= 200_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
