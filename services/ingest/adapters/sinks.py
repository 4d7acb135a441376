"""Where an adapter's events and rejects go: Kafka (an idempotent producer, ``acks=all``; rejects to the
dead-letter topic), a JSON Lines file, or the terminal (``--dry-run``). Rejects also go to a reject file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Protocol

import orjson

from services.errors import UserError
from services.ingest.adapters.base import Reject
from services.kafka import PLAINTEXT, KafkaSecurity, kafka_python_producer, refused


class Sink(Protocol):
    def events(self, events: list[tuple[bytes, bytes]]) -> None:
        """(contact_id, the event's JSON) of one record."""
        ...

    def lines(self, blob: bytes, keys: list[bytes], sizes: list[int]) -> None:
        """Many events at once: their JSON, each followed by a newline, with their keys and sizes."""
        ...

    def reject(self, r: Reject, origin: str) -> None: ...
    def flush(self) -> None:
        """Return once everything sent is durable (Kafka acknowledged, the file flushed)."""
        ...

    def close(self) -> None: ...


class RejectFile:
    """Rejected records as JSON Lines: line, reason, detail and the record (numbers masked)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.out: IO[bytes] | None = None

    def write(self, r: Reject, origin: str) -> None:
        if self.path is None:
            return
        if self.out is None:
            self.out = self.path.open("ab")
        row = {"origin": origin, "line": r.line, "reason": r.reason, "detail": r.detail, "record": r.record}
        self.out.write(orjson.dumps(row) + b"\n")

    def flush(self) -> None:
        if self.out is not None:
            self.out.flush()

    def close(self) -> None:
        if self.out is not None:
            self.out.close()


class FileSink:
    def __init__(self, path: str, rejects: RejectFile) -> None:
        try:
            self.out: IO[bytes] = sys.stdout.buffer if path == "-" else Path(path).open("ab")  # noqa: SIM115 - open as long as the sink
        except OSError as exc:
            raise UserError(f"cannot write {path}: {exc.strerror}") from None
        self.rejects = rejects

    def events(self, events: list[tuple[bytes, bytes]]) -> None:
        self.out.write(b"".join(v + b"\n" for _, v in events))

    def lines(self, blob: bytes, keys: list[bytes], sizes: list[int]) -> None:
        self.out.write(blob)

    def reject(self, r: Reject, origin: str) -> None:
        self.rejects.write(r, origin)

    def flush(self) -> None:
        self.out.flush()
        self.rejects.flush()

    def close(self) -> None:
        self.flush()
        if self.out is not sys.stdout.buffer:
            self.out.close()
        self.rejects.close()


class DryRun(FileSink):
    """The events on standard output; nothing is sent or kept."""

    def __init__(self) -> None:
        super().__init__("-", RejectFile(None))


class KafkaSink:
    def __init__(
        self, bootstrap: str, topic: str, dlq_topic: str, rejects: RejectFile, security: KafkaSecurity = PLAINTEXT
    ) -> None:
        from kafka.errors import KafkaError

        self.KafkaError = KafkaError
        self.bootstrap, self.topic, self.dlq_topic, self.rejects = bootstrap, topic, dlq_topic, rejects
        try:
            self.producer = kafka_python_producer(bootstrap, security, linger_ms=20, batch_size=512 * 1024)
        except KafkaError as exc:
            raise refused(exc, bootstrap) from None

    def events(self, events: list[tuple[bytes, bytes]]) -> None:
        send = self.producer.send
        for key, value in events:
            send(self.topic, key=key, value=value)

    def lines(self, blob: bytes, keys: list[bytes], sizes: list[int]) -> None:
        view, at = memoryview(blob), 0
        for key, size in zip(keys, sizes, strict=True):
            self.producer.send(self.topic, key=key, value=bytes(view[at : at + size - 1]))
            at += size

    def reject(self, r: Reject, origin: str) -> None:
        self.rejects.write(r, origin)
        headers = [
            ("reason", r.reason.encode()),
            ("detail", r.detail[:200].encode()),
            ("original_source", origin.encode()),
            ("original_line", str(r.line).encode()),
        ]
        self.producer.send(self.dlq_topic, value=r.record.encode(), headers=headers)

    def flush(self) -> None:
        try:
            self.producer.flush(timeout=60)
        except self.KafkaError as exc:
            raise UserError(f"Kafka at {self.bootstrap} did not acknowledge: {type(exc).__name__}") from None
        self.rejects.flush()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.producer.close(timeout=5)
            self.rejects.close()
