"""Kafka for every process: can the broker be reached (and if not, why, in one line), topic creation for
scripts/kafka.sh, the demo and the tests (kafka-python's admin client).

Long-running services wait for the broker, one line per attempt (``wait_async``); one-shot commands wait a
bounded time and then stop with that line (``wait_or_fail``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
import sys
import time
from collections.abc import Callable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from services.errors import UserError
from services.settings import load_settings

log = logging.getLogger("contactpulse.kafka")
BACKOFF_SECONDS = (1, 2, 4, 8, 15, 30)


def unreachable(bootstrap: str, timeout: float = 3.0) -> str | None:
    """None when a broker of ``bootstrap`` (host:port, comma-separated) answers; otherwise why not."""
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
            return None if ping(server) else f"{server}: answers, but not as a Kafka broker (or not ready yet)"
    if len(servers) == 1 and causes:
        return causes[0].removeprefix(f"{servers[0]}: ")
    return "; ".join(causes) or "no bootstrap server given"


def wait_or_fail(bootstrap: str, wait_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
    """For one-shot commands: return once the broker answers; a UserError naming it and the cause after
    ``wait_seconds``."""
    deadline = clock() + wait_seconds
    attempt = 0
    while (cause := unreachable(bootstrap)) is not None:
        if clock() >= deadline:
            raise UserError(f"cannot reach Kafka at {bootstrap}: {cause} (gave up after {wait_seconds:g} s)")
        time.sleep(min(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)], max(0.0, deadline - clock())))
        attempt += 1


async def wait_async(bootstrap: str, stop: asyncio.Event) -> bool:
    """For services: wait until the broker answers, logging one line per failed attempt with the backoff;
    False if ``stop`` was set meanwhile."""
    attempt = 0
    while not stop.is_set():
        cause = await asyncio.to_thread(unreachable, bootstrap)
        if cause is None:
            return True
        delay = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]
        attempt += 1
        log.warning("cannot reach Kafka at %s: %s; retrying in %d s (attempt %d)", bootstrap, cause, delay, attempt)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
    return False


def ping(bootstrap: str, timeout_ms: int = 2000) -> bool:
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    except KafkaError:
        return False
    try:
        admin.describe_cluster()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()


def create_topics(bootstrap: str, topics: dict[str, int]) -> list[str]:
    """Create the topics that are missing; return the names created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
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


def delete_topics(bootstrap: str, names: list[str]) -> None:
    """Delete the topics that exist (the demo starts from empty topics)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
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
    if args.action == "ping":
        return 0 if ping(args.bootstrap) else 1
    try:
        wait_or_fail(args.bootstrap, args.wait)
    except UserError as exc:
        print(f"kafka: error: {exc}", file=sys.stderr)
        return 2
    s = load_settings()
    partitions = args.partitions or s.topic_partitions
    if args.action == "recreate-topics":
        delete_topics(args.bootstrap, list(s.topics()))
        for _ in range(50):  # deletion is asynchronous
            try:
                create_topics(args.bootstrap, s.topics(partitions))
                break
            except KafkaError:
                time.sleep(0.2)
        return 0
    created = create_topics(args.bootstrap, s.topics(partitions))
    for name in created:
        print(f"kafka: created topic {name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
