"""Logging for every command and service: one format; every line masked by pipelines.redact before it
is written, so an identifier in a message (a vendor's error text, a record quoted in a warning) never
reaches a log file; and the libraries' warnings and errors at most once a minute for each message
(``RateLimited``),
so that a broker outage, which makes the Kafka clients warn many times a second, writes a line a minute
for each thing that went wrong, with a count of those held back, rather than megabytes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pipelines.redact import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
OWN = "contactpulse"  # loggers not rate-limited: the libraries' (aiokafka, kafka, faststream, uvicorn) are


class Masking(logging.Filter):
    """Masks the message of every record that passes the handler it sits on."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class RateLimited(logging.Filter):
    """The libraries' warnings and errors: one line per logger and message template every ``every``
    seconds; the next line after a quiet spell says how many like it were held back. Info and debug pass,
    and so do ContactPulse's own lines, which come once per state change or per attempt with a backoff."""

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every, self.clock = every, clock
        self.seen: dict[tuple[str, str], tuple[float, int]] = {}  # (logger, template) -> (last written, held)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or record.name == OWN or record.name.startswith(OWN + "."):
            return True
        key, now = (record.name, str(record.msg)), self.clock()
        last, held = self.seen.get(key, (None, 0))
        if last is not None and now - last < self.every:
            self.seen[key] = (last, held + 1)
            return False
        if len(self.seen) > 10_000:  # templates are few; this only bounds a pathological logger
            self.seen.clear()
        self.seen[key] = (now, 0)
        if held:
            record.msg, record.args = f"{record.getMessage()} ({held} more like it in the last minute)", None
        return True


def configure(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RateLimited) for f in handler.filters):
            handler.addFilter(RateLimited())
        if not any(isinstance(f, Masking) for f in handler.filters):
            handler.addFilter(Masking())
