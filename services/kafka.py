"""Broker checks and topic creation for scripts/kafka.sh and the tests (kafka-python admin client)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from services.settings import load_settings


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
    parser = argparse.ArgumentParser(prog="kafka_admin")
    parser.add_argument("action", choices=["ping", "create-topics", "recreate-topics"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--partitions", type=int, default=None)
    args = parser.parse_args(argv)
    if args.action == "ping":
        return 0 if ping(args.bootstrap) else 1
    s = load_settings()
    partitions = args.partitions or s.topic_partitions
    if args.action == "recreate-topics":
        delete_topics(args.bootstrap, [s.events_topic, s.dlq_topic])
        for _ in range(50):  # deletion is asynchronous
            try:
                create_topics(args.bootstrap, {s.events_topic: partitions, s.dlq_topic: 1})
                break
            except KafkaError:
                time.sleep(0.2)
        return 0
    created = create_topics(args.bootstrap, {s.events_topic: partitions, s.dlq_topic: 1})
    for name in created:
        print(f"kafka: created topic {name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
