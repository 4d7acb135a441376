"""Kafka for every process: how to connect (``KafkaSecurity``: plaintext, TLS, mutual TLS or SASL/SCRAM
over TLS, from the settings, for each client library), can the broker be reached (and if not, why, in one
line), topic creation for scripts/kafka.sh, the demo and the tests (kafka-python's admin client).

Long-running services wait for the broker, one line per attempt (``wait_async``); one-shot commands wait a
bounded time and then stop with that line (``wait_or_fail``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from services.errors import UserError
from services.settings import Settings, load_settings

log = logging.getLogger("contactpulse.kafka")
BACKOFF_SECONDS = (1, 2, 4, 8, 15, 30)


@dataclass(frozen=True)
class KafkaSecurity:
    """How every client connects: ``kafka_security_protocol`` PLAINTEXT, SSL (mutual TLS with a
    certificate and key) or SASL_SSL (``kafka_sasl_mechanism`` SCRAM-SHA-512 by default, with a user and
    password), ``kafka_ca_file`` to trust a private CA. The password comes from the environment
    (``CONTACTPULSE_KAFKA_PASSWORD``) or a file (``kafka_password_file``); it is never logged or shown."""

    protocol: str = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""

    @classmethod
    def from_settings(cls, s: Settings) -> KafkaSecurity:
        password = s.kafka_password.get_secret_value()
        if not password and s.kafka_password_file:
            try:
                password = Path(s.kafka_password_file).read_text().strip()
            except OSError as exc:
                raise UserError(f"cannot read kafka_password_file: {exc.strerror}") from None
        sec = cls(
            s.kafka_security_protocol,
            s.kafka_sasl_mechanism,
            s.kafka_username,
            password,
            s.kafka_ca_file,
            s.kafka_cert_file,
            s.kafka_key_file,
        )
        if sec.sasl and not (sec.username and sec.password):
            raise UserError(
                "kafka_security_protocol SASL_SSL needs kafka_username and a password "
                "(CONTACTPULSE_KAFKA_PASSWORD or kafka_password_file)"
            )
        sec.ssl_context()  # a missing or bad file fails now, in one line
        return sec

    @property
    def sasl(self) -> bool:
        return self.protocol == "SASL_SSL"

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.protocol == "PLAINTEXT":
            return None
        try:
            ctx = ssl.create_default_context(cafile=self.ca_file or None)
            if self.cert_file:
                ctx.load_cert_chain(self.cert_file, self.key_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise UserError(f"cannot load Kafka's TLS files: {getattr(exc, 'strerror', None) or exc}") from None
        return ctx

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's clients (producers, the admin client)."""
        if self.protocol == "PLAINTEXT":
            return {}
        out: dict[str, Any] = {"security_protocol": self.protocol, "ssl_context": self.ssl_context()}
        if self.sasl:
            out |= {
                "sasl_mechanism": self.mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        return out

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's clients."""
        return self.kafka_python()

    def faststream(self) -> Any:
        """FastStream's security object for its KafkaBroker (None for plaintext)."""
        from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

        if self.protocol == "PLAINTEXT":
            return None
        ctx = self.ssl_context()
        if not self.sasl:
            return BaseSecurity(ssl_context=ctx)
        kind = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}[self.mechanism]
        return kind(username=self.username, password=self.password, ssl_context=ctx)


PLAINTEXT = KafkaSecurity()

# Every producer of events (the gateway, the webhooks mapper, the adapters): idempotent, acknowledged by
# every in-sync replica. Made here only, for FastStream (aiokafka) or kafka-python.
PRODUCER: dict[str, Any] = {"acks": "all", "enable_idempotence": True}


def faststream_broker(bootstrap: str, security: KafkaSecurity, logger: logging.Logger, **extra: Any) -> Any:
    """A FastStream Kafka broker whose producer is PRODUCER's (its own client log at debug)."""
    from faststream.kafka import KafkaBroker

    return KafkaBroker(
        bootstrap, **PRODUCER, security=security.faststream(), logger=logger, log_level=logging.DEBUG, **extra
    )


def kafka_python_producer(bootstrap: str, security: KafkaSecurity, **extra: Any) -> Any:
    """A kafka-python producer whose settings are PRODUCER's."""
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=bootstrap, **PRODUCER, **security.kafka_python(), **extra)


def refused(exc: BaseException, bootstrap: str) -> UserError:
    """A client's failure to connect as one line: never the password, never a traceback."""
    name = type(exc).__name__
    why = {
        "SaslAuthenticationFailedError": "the user or password was refused",
        "SSLCertVerificationError": "its TLS certificate is not trusted (set kafka_ca_file)",
        "NoBrokersAvailable": "answers, but not as a Kafka broker (or not ready yet)",
    }.get(name, name)
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        why = "its TLS certificate is not trusted (set kafka_ca_file)"
    return UserError(f"cannot connect to Kafka at {bootstrap}: {why}")


class Refused(UserError):
    """The broker answers but will not have us: credentials or its certificate. Waiting will not help."""


PERMANENT = ("the user or password was refused", "certificate is not trusted")


def unreachable(bootstrap: str, timeout: float = 3.0, security: KafkaSecurity = PLAINTEXT) -> str | None:
    """None when a broker of ``bootstrap`` (host:port, comma-separated) answers; otherwise why not. Raises
    ``Refused`` when it answers and refuses the credentials or is not trusted."""
    causes = []
    servers = [s.strip() for s in bootstrap.split(",") if s.strip()]
    for server in servers:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            return f"{server!r} is not host:port"
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                pass
        except socket.gaierror:
            causes.append(f"{server}: unknown host")
        except ConnectionRefusedError:
            causes.append(f"{server}: connection refused")
        except TimeoutError:
            causes.append(f"{server}: no answer within {timeout:g} s")
        except OSError as exc:
            causes.append(f"{server}: {exc.strerror or exc}")
        else:
            why = probe(server, security)
            if why is None:
                return None
            if any(p in why for p in PERMANENT):
                raise Refused(f"cannot connect to Kafka at {bootstrap}: {why}")
            return f"{server}: {why}"
    if len(servers) == 1 and causes:
        return causes[0].removeprefix(f"{servers[0]}: ")
    return "; ".join(causes) or "no bootstrap server given"


def wait_or_fail(
    bootstrap: str,
    wait_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    security: KafkaSecurity = PLAINTEXT,
) -> None:
    """For one-shot commands: return once the broker answers; a UserError naming it and the cause after
    ``wait_seconds``."""
    deadline = clock() + wait_seconds
    attempt = 0
    while (cause := unreachable(bootstrap, security=security)) is not None:
        if clock() >= deadline:
            raise UserError(f"cannot reach Kafka at {bootstrap}: {cause} (gave up after {wait_seconds:g} s)")
        time.sleep(min(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)], max(0.0, deadline - clock())))
        attempt += 1


async def wait_async(bootstrap: str, stop: asyncio.Event, security: KafkaSecurity = PLAINTEXT) -> bool:
    """For services: wait until the broker answers, logging one line per failed attempt with the backoff;
    False if ``stop`` was set meanwhile; ``Refused`` (one line) when credentials or TLS trust are wrong."""
    attempt = 0
    while not stop.is_set():
        cause = await asyncio.to_thread(unreachable, bootstrap, 3.0, security)
        if cause is None:
            return True
        delay = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]
        attempt += 1
        log.warning("cannot reach Kafka at %s: %s; retrying in %d s (attempt %d)", bootstrap, cause, delay, attempt)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
    return False


def ping(bootstrap: str, timeout_ms: int = 2000, security: KafkaSecurity = PLAINTEXT) -> bool:
    return probe(bootstrap, security, timeout_ms) is None


class _Heard(logging.Handler):
    """kafka-python retries a refused login until it times out, saying why only in its log: listen to it."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())


def probe(bootstrap: str, security: KafkaSecurity = PLAINTEXT, timeout_ms: int = 2000) -> str | None:
    """None when the broker answers a describe-cluster request; otherwise why not, in a few words."""
    kafka_log, heard = logging.getLogger("kafka"), _Heard()
    kafka_log.addHandler(heard)
    propagate, kafka_log.propagate = kafka_log.propagate, False  # its retries are not the user's to read
    try:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms, **security.kafka_python()
            )
        except Exception as exc:  # kafka-python's errors, and ssl's for an untrusted certificate
            return _why(exc, heard.texts)
        try:
            admin.describe_cluster()
            return None
        except Exception as exc:
            return _why(exc, heard.texts)
        finally:
            admin.close()
    finally:
        kafka_log.removeHandler(heard)
        kafka_log.propagate = propagate


def _why(exc: BaseException, heard: list[str]) -> str:
    said = " ".join(heard)
    if "SaslAuthenticationFailed" in said:
        return "the user or password was refused"
    if "CERTIFICATE_VERIFY_FAILED" in said:
        return "its TLS certificate is not trusted (set kafka_ca_file)"
    return str(refused(exc, "")).partition(": ")[2] or "answers, but not as a Kafka broker (or not ready yet)"


def create_topics(bootstrap: str, topics: dict[str, int], security: KafkaSecurity = PLAINTEXT) -> list[str]:
    """Create the topics that are missing; return the names created."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, **security.kafka_python())
    except KafkaError as exc:
        raise refused(exc, bootstrap) from None
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(name, num_partitions=n, replication_factor=1) for name, n in topics.items() if name not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):  # created meanwhile by another process
                admin.create_topics(new)
        return [t.name for t in new]
    finally:
        admin.close()


def delete_topics(bootstrap: str, names: list[str], security: KafkaSecurity = PLAINTEXT) -> None:
    """Delete the topics that exist (the demo starts from empty topics)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **security.kafka_python())
    try:
        existing = [n for n in names if n in set(admin.list_topics())]
        if existing:
            admin.delete_topics(existing)
    finally:
        admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.kafka")
    parser.add_argument("action", choices=["ping", "create-topics", "recreate-topics"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--partitions", type=int, default=None)
    parser.add_argument("--wait", type=float, default=15.0, help="seconds to wait for the broker")
    args = parser.parse_args(argv)
    try:
        s = load_settings()
        sec = KafkaSecurity.from_settings(s)
        if args.action == "ping":
            return 0 if ping(args.bootstrap, security=sec) else 1
        wait_or_fail(args.bootstrap, args.wait, security=sec)
        partitions = args.partitions or s.topic_partitions
        if args.action == "recreate-topics":
            delete_topics(args.bootstrap, list(s.topics()), sec)
            for _ in range(50):  # deletion is asynchronous
                try:
                    create_topics(args.bootstrap, s.topics(partitions), sec)
                    break
                except (KafkaError, UserError):
                    time.sleep(0.2)
            return 0
        created = create_topics(args.bootstrap, s.topics(partitions), sec)
    except UserError as exc:
        print(f"kafka: error: {exc}", file=sys.stderr)
        return 2
    for name in created:
        print(f"kafka: created topic {name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
