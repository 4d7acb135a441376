"""Logging for every command and service: one format, and every line masked by pipelines.redact before
it is written, so an identifier in a message (a vendor's error text, a record quoted in a warning) never
reaches a log file."""

from __future__ import annotations

import logging

from pipelines.redact import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Masking(logging.Filter):
    """Masks the message of every record that passes the handler it sits on."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, Masking) for f in handler.filters):
            handler.addFilter(Masking())
