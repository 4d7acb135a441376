"""Log lines are masked before they are written (services/logs.py)."""

from __future__ import annotations

import io
import logging

from services.logs import Masking


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
