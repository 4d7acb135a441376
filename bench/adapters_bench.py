"""Adapter throughput: a 1M-line Asterisk queue_log and a 1M-row call-detail CSV through their adapters to
a JSON Lines file, as ``contactpulse adapt ... --out FILE`` runs them, each event checked by the contract.
Floors: >= 80,000 lines/s and >= 30,000 rows/s. The CSV in one process and with a worker per core (the
default), interleaved. Peak memory (VmHWM, of this process: the workers' own are not in it) too."""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from services.ingest.adapters.asterisk import QueueLog
from services.ingest.adapters.asterisk_cli import read_once
from services.ingest.adapters.base import Emitter
from services.ingest.adapters.cli import numbered
from services.ingest.adapters.csv_cli import encoded_rows, load_mapping
from services.ingest.adapters.run import Runner
from services.ingest.adapters.sinks import FileSink, RejectFile
from services.ingest.adapters.table import Table
from tests.support.queue_log import queue_log

ROOT = Path(__file__).resolve().parents[1]
EMITTER = Emitter("boston", "/boston/telephony/bench", b"a bench key of 16+ bytes")


def peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_csv(path: Path, n: int) -> None:
    rng = random.Random(3)
    with path.open("w", encoding="utf-8") as f:
        f.write("Call ID,Call Start,Queue,CLI,Queue Time,Talk Time,Hold Time,Wrap Time,Outcome,Agent ID\n")
        for i in range(n):
            day, sec = 1 + i % 28, rng.randint(8 * 3600, 18 * 3600)
            start = f"{day:02d}/03/2026 {sec // 3600:02d}:{sec % 3600 // 60:02d}:{sec % 60:02d}"
            outcome = "Abandoned" if rng.random() < 0.1 else "Answered"
            f.write(
                f"C{i},{start},{rng.choice(('Revenues', 'Benefits', 'Waste'))},01205{rng.randint(100000, 999999)},"
                f"{rng.randint(0, 120)},{rng.randint(30, 600)},{rng.choice((0, 0, 30))},{rng.randint(0, 90)},"
                f"{outcome},A{rng.randint(1, 40)}\n"
            )


def queue_log_rate(path: Path, out: Path) -> tuple[float, int, int]:
    out.unlink(missing_ok=True)  # the file sink appends
    sink = FileSink(str(out), RejectFile(None))
    runner = Runner(sink, "bench")
    started = time.perf_counter()
    read_once(QueueLog(EMITTER), numbered(path), runner)
    sink.close()
    return time.perf_counter() - started, runner.summary.records, runner.summary.events


def csv_rate(path: Path, out: Path, workers: int) -> tuple[float, int, int]:
    out.unlink(missing_ok=True)  # the file sink appends
    sink = FileSink(str(out), RejectFile(None))
    runner = Runner(sink, "bench")
    table = Table(EMITTER, load_mapping(ROOT / "docs" / "adapters" / "call-detail.toml"))
    started = time.perf_counter()
    for batch in encoded_rows(path, table, workers, runner.now()):
        runner.send_batch(batch)
    sink.close()
    return time.perf_counter() - started, runner.summary.records, runner.summary.events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2, help="each run this many times, interleaved")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log, table = Path(tmp) / "queue_log", Path(tmp) / "calls.csv"
        lines = queue_log(args.lines // 4 + 1, int(time.time()) - 30 * 86400)[: args.lines]
        log.write_text("".join(lines))
        make_csv(table, args.rows)
        for _ in range(args.rounds):
            seconds, read, events = queue_log_rate(log, Path(tmp) / "q.jsonl")
            print(
                f"queue_log: {read:,} lines, {events:,} events in {seconds:.2f} s: "
                f"{read / seconds:,.0f} lines/s (floor 80,000)",
                flush=True,
            )
        for n in [1, os.cpu_count() or 1] * args.rounds:  # interleaved
            seconds, read, events = csv_rate(table, Path(tmp) / "c.jsonl", n)
            print(
                f"csv ({n} worker process{'es' if n > 1 else ''}): {read:,} rows, {events:,} events in "
                f"{seconds:.2f} s: {read / seconds:,.0f} rows/s (floor 30,000)",
                flush=True,
            )
        print(f"peak memory {peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
