"""Log lines are masked before they are written (services/logs.py)."""

from __future__ import annotations

import io
import logging

from services.logs import Masking, RateLimited


def test_a_log_line_never_carries_a_number_or_an_address() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(Masking())
    log = logging.getLogger("contactpulse.test.masking")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("vendor said: caller %s (%s) unknown", "447700900123", "jo@example.org")
        log.warning("batch at %s done", "2026-03-02T09:00:00Z")
    finally:
        log.removeHandler(handler)
    assert out.getvalue() == "vendor said: caller [number] ([email]) unknown\nbatch at 2026-03-02T09:00:00Z done\n"


def test_warnings_are_rate_limited_per_message_and_say_what_was_held_back() -> None:
    now = [0.0]
    limit = RateLimited(every=60, clock=lambda: now[0])

    def record(msg: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord:
        return logging.LogRecord("aiokafka.conn", level, "f", 1, msg, args, None)

    outage = [record("Unable connect to node with id %s: %s", 1, "refused") for _ in range(500)]
    written = [r for r in outage if limit.filter(r)]
    assert len(written) == 1
    assert limit.filter(record("another thing went wrong"))  # another message has its own minute
    assert all(limit.filter(record("info %d", i, level=logging.INFO)) for i in range(5))  # info passes
    now[0] = 61.0
    later = record("Unable connect to node with id %s: %s", 1, "refused")
    assert limit.filter(later) and later.getMessage().endswith("(499 more like it in the last minute)")


def test_contactpulses_own_lines_are_not_rate_limited() -> None:
    limit = RateLimited(every=60, clock=lambda: 0.0)
    lines = [
        logging.LogRecord("contactpulse.kafka", logging.WARNING, "f", 1, "retrying (attempt %d)", (i,), None)
        for i in range(3)
    ]
    assert all(limit.filter(r) for r in lines)
