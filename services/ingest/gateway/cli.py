"""``contactpulse gateway`` (the HTTP ingest server on uvicorn) and ``contactpulse gateway-token``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry

from services import logs
from services.errors import UserError
from services.exposition.webconfig import load_web_config
from services.ingest.gateway.app import Limits, Webhooks, create_app
from services.ingest.gateway.edge import keys_from_env
from services.ingest.gateway.openapi import event_schema
from services.ingest.gateway.protocol import listening_socket, server_config
from services.ingest.gateway.publisher import Publisher
from services.ingest.gateway.tokens import ALL, TokenFile
from services.ingest.webhooks import consumer as mapper
from services.ingest.webhooks.adapter import Adapter
from services.ingest.webhooks.config import load_webhooks
from services.kafka import KafkaSecurity, create_topics, wait_async
from services.settings import Settings

log = logging.getLogger("contactpulse.gateway")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> tuple[argparse.ArgumentParser, ...]:
    g = sub.add_parser("gateway", help="HTTP ingest: CloudEvents over HTTP, validated and published to Kafka")
    g.add_argument("--host", help="bind address (default from settings: 127.0.0.1)")
    g.add_argument("--port", type=int, help="port (default from settings: 8088)")
    g.add_argument("--bootstrap", help="Kafka bootstrap servers (default from settings)")
    t = sub.add_parser("gateway-token", help="make, list and revoke the gateway's tokens (kept as hashes)")
    ts = t.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    add = ts.add_parser("add", help="make a token for one council (or all) and a source prefix; shown once")
    add.add_argument("--council", required=True, help=f"a council slug, or {ALL!r}")
    add.add_argument("--source", required=True, help="the source URI prefix it may emit, e.g. /boston/webchat")
    ts.add_parser("list", help="the tokens (never their secrets)")
    rev = ts.add_parser("revoke", help="revoke a token by its id")
    rev.add_argument("id")
    return g, t


def run_token(args: argparse.Namespace, settings: Settings) -> int:
    tokens = TokenFile(Path(settings.gateway_tokens))
    if args.token_command == "add":
        token, secret = tokens.add(args.council, args.source)
        print(f"token {token.id} for council {token.council}, sources {token.source_prefix}* ({tokens.path});")
        print("it is shown only now. Send it as: Authorization: Bearer <token>")
        print(secret)
    elif args.token_command == "list":
        for t in tokens.load():
            state = f"revoked {t.revoked_at}" if t.revoked_at else "live"
            print(f"{t.id}  {t.council:<16} {t.source_prefix:<32} created {t.created_at}  {state}")
    else:
        t = tokens.revoke(args.id)
        print(f"token {t.id} revoked at {t.revoked_at}")
    return 0


class _Server(uvicorn.Server):
    """uvicorn's server, but SIGINT and SIGTERM stop it through ``shutdown`` (uvicorn's own handling raises
    the signal again once served, so a SIGTERM would end the process before the producer is closed)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_gateway(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host or settings.gateway_host
    port = args.port if args.port is not None else settings.gateway_port
    bootstrap = args.bootstrap or settings.kafka_bootstrap
    logs.configure()
    for chatty in ("kafka", "aiokafka"):  # the clients' connection chatter; their warnings still show
        logging.getLogger(chatty).setLevel(logging.WARNING)
    adapters = load_webhooks(Path(settings.gateway_webhooks))
    sock = listening_socket(host, port, "the gateway", "set gateway_host and gateway_port, or --host and --port")
    asyncio.run(_serve(settings, sock, bootstrap, adapters))
    return 0


async def _serve(settings: Settings, sock: socket.socket, bootstrap: str, adapters: dict[str, Adapter]) -> None:
    stop = asyncio.Event()
    security = KafkaSecurity.from_settings(settings)
    publisher = Publisher(bootstrap, settings.events_topic, security=security)
    limits = Limits(
        settings.gateway_max_body_bytes,
        settings.gateway_max_events,
        settings.gateway_rate_per_second,
        settings.gateway_burst,
        settings.gateway_webhook_rate_per_second,
        settings.gateway_webhook_burst,
        settings.gateway_liveness_seconds,
    )
    registry = CollectorRegistry()
    webhooks = Webhooks(adapters, settings.webhooks_topic, settings.dlq_topic)
    web = load_web_config(settings.web_config)
    app = create_app(
        TokenFile(Path(settings.gateway_tokens)),
        publisher,
        registry,
        keys_from_env(dict(os.environ)),
        limits,
        event_schema(),
        webhooks,
        web,
    )
    tls = web.uvicorn_tls() if web is not None else {}
    server = _Server(server_config(app, settings.gateway_read_timeout_seconds, settings.gateway_max_connections, **tls))
    loop = asyncio.get_running_loop()

    def shutdown() -> None:
        stop.set()
        server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shutdown)
    connect = asyncio.create_task(publisher.run(stop))
    mapping = asyncio.create_task(_map_webhooks(settings, bootstrap, adapters, app.state.metrics, stop, security))
    failed: list[BaseException] = []

    def refused(task: asyncio.Task[None]) -> None:  # wrong credentials or an untrusted broker: stop, in one line
        if not task.cancelled() and isinstance(task.exception(), UserError):
            failed.append(task.exception())  # type: ignore[arg-type]
            shutdown()

    connect.add_done_callback(refused)
    mapping.add_done_callback(refused)
    host, port = sock.getsockname()[:2]
    log.info(
        "gateway on http://%s:%d/v1/events (tokens: %s; webhooks: %s)",
        host,
        port,
        settings.gateway_tokens,
        ", ".join(adapters) or "none",
    )
    try:
        await server.serve(sockets=[sock])
    finally:
        stop.set()
        connect.cancel()
        with contextlib.suppress(UserError):
            await mapping
        await publisher.close()
    if failed:
        raise failed[0]
    log.info("stopped cleanly")


async def _map_webhooks(
    settings: Settings,
    bootstrap: str,
    adapters: dict[str, Adapter],
    metrics: Any,
    stop: asyncio.Event,
    security: KafkaSecurity,
) -> None:
    """The webhooks mapper, while the gateway runs (only when webhooks are configured)."""
    if not adapters or not await wait_async(bootstrap, stop, security):
        return
    await asyncio.to_thread(create_topics, bootstrap, {settings.webhooks_topic: settings.topic_partitions}, security)
    broker, _ = mapper.build(
        bootstrap,
        settings.webhooks_topic,
        settings.consumer_group + "-webhooks",
        settings.events_topic,
        settings.dlq_topic,
        adapters,
        lambda w, o, n: metrics.webhook_mapped.labels(w, o).inc(n),
        security,
    )
    await broker.start()
    log.info("mapping webhooks from %s", settings.webhooks_topic)
    try:
        await stop.wait()
    finally:
        await broker.stop()
