"""The ``contactpulse`` command: the composition root of every process.

Each sub-command builds what it needs from one ``Settings`` object here and
nowhere else; nothing connects or opens a file at import time. Bad arguments,
config or files get a one-line message and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from services import logs
from services.errors import UserError
from services.settings import CONFIG_ENV, ConfigError, Settings, load_settings
from services.store.location import DB_HELP

EXIT_USAGE = 2


def _config_path(args: argparse.Namespace) -> Path | None:
    path = args.config or os.environ.get(CONFIG_ENV)
    return Path(path) if path else None


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(_config_path(args))


def _cmd_replay(args: argparse.Namespace) -> int:
    from services.replay.cli import run_replay

    settings = _settings(args)
    return run_replay(args.files, settings.location(args.db), settings)


def _cmd_consume(args: argparse.Namespace) -> int:
    import asyncio
    import faulthandler

    from services.stream.consumer import run

    overrides = {
        k: v
        for k, v in {
            "kafka_bootstrap": args.bootstrap,
            "events_topic": args.topic,
            "metrics_port": args.metrics_port,
            "metrics_host": args.metrics_host,
        }.items()
        if v
    }
    settings = load_settings(_config_path(args), **overrides)
    logs.configure()
    # `kill -USR1 PID` writes every thread's stack to stderr: what a consumer that stopped is waiting on
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    asyncio.run(run(settings, settings.location(args.db)))
    return 0


def _cmd_pseudonymise(args: argparse.Namespace) -> int:
    from pipelines.pseudonym import customer_ref

    key = os.environ.get(args.key_env, "")
    if not key:
        raise UserError(f"set {args.key_env} to the pseudonym key (at least 16 bytes, kept secret)")
    values = args.values or [line.strip() for line in sys.stdin if line.strip()]
    for value in values:
        print(customer_ref(args.kind, value, key.encode()))
    return 0


def _cmd_export_schemas(args: argparse.Namespace) -> int:
    from schemas.export import SCHEMA_DIR, drift, export

    out = Path(args.out)
    extra = _exported_documents()
    if args.check:
        stale = drift(out, extra)
        if stale:
            raise UserError(f"exported JSON Schema out of date: {', '.join(stale)} (run: contactpulse export-schemas)")
        return 0
    if out == SCHEMA_DIR and not Path("pyproject.toml").is_file():
        raise UserError(f"run export-schemas from the repository's root (it writes {SCHEMA_DIR}), or give --out DIR")
    try:
        written = export(out, extra)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    for path in written:
        print(path)
    return 0


def _exported_documents() -> dict[str, dict[str, object]]:
    """Documents exported beside the contract's JSON Schema: the gateway's OpenAPI, the topics' AsyncAPI."""
    from services.ingest.gateway import openapi
    from services.stream import asyncapi

    return {openapi.FILE: openapi.document(), asyncapi.FILE: asyncapi.document()}


def build_parser() -> argparse.ArgumentParser:
    from schemas.export import SCHEMA_DIR

    parser = argparse.ArgumentParser(
        prog="contactpulse", description="Contact telemetry for councils' customer services."
    )
    parser.add_argument("--config", help=f"TOML settings file (or set {CONFIG_ENV})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("replay", help="validate JSONL event files and build the DuckDB tables")
    p.add_argument("files", nargs="+", help="JSON Lines files of events, '-' for standard input")
    p.add_argument("--db", help=DB_HELP)
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser("consume", help="consume contact events from Kafka into DuckDB and serve /metrics")
    p.add_argument("--db", help=DB_HELP + "; a file has this one writer, a lake many")
    p.add_argument("--bootstrap", help="Kafka bootstrap servers (default from settings: 127.0.0.1:9092)")
    p.add_argument("--topic", help="events topic (default contact.events.v1)")
    p.add_argument("--metrics-host", help="bind address for /metrics (default 127.0.0.1)")
    p.add_argument("--metrics-port", type=int, help="port for /metrics (default 9464)")
    p.set_defaults(func=_cmd_consume)

    p = sub.add_parser("pseudonymise", help="turn phone numbers, emails or UPRNs into customer_ref pseudonyms")
    p.add_argument("--kind", required=True, choices=["phone", "email", "uprn"])
    p.add_argument("--key-env", default="CONTACTPULSE_PSEUDONYM_KEY", help="environment variable holding the key")
    p.add_argument("values", nargs="*", help="identifiers (default: one per line on standard input)")
    p.set_defaults(func=_cmd_pseudonymise)

    p = sub.add_parser("export-schemas", help="write the contract's JSON Schema files")
    p.add_argument("--out", default=str(SCHEMA_DIR))
    p.add_argument("--check", action="store_true", help="fail if the files differ from the models")
    p.set_defaults(func=_cmd_export_schemas)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


def _cmd_simulate(args: argparse.Namespace) -> int:
    from services.simulator.cli import run

    return run(args, _settings(args))


def _register_simulate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from services.simulator.cli import add_parser

    add_parser(sub).set_defaults(func=_cmd_simulate)


def _cmd_wallboard(args: argparse.Namespace) -> int:
    from services.views.wallboard import run

    settings = _settings(args)
    urls = args.url or [f"http://{settings.metrics_host}:{settings.metrics_port}"]
    return run(urls, args.minutes, once=args.once, council=args.council)


def _register_wallboard(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("wallboard", help="live terminal wallboard: waits, holds, answered and abandoned today")
    p.add_argument(
        "--url",
        action="append",
        help="a consumer's HTTP address (default from settings: http://127.0.0.1:9464); give each consumer of a "
        "group on a lake to see the whole partnership",
    )
    p.add_argument("--minutes", type=float, help="stop after this many minutes")
    p.add_argument("--once", action="store_true", help="print the board once and exit")
    p.add_argument("--council", help="show this council's queues only")
    p.set_defaults(func=_cmd_wallboard)


def _cmd_summary(args: argparse.Namespace) -> int:
    from services.views.summary import run

    settings = _settings(args)
    return run(settings.location(args.db), settings.rules().sl_seconds, settings.timezone, settings.fcr_window_days)


def _register_summary(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("summary", help="one-screen summary per council (works while the consumer runs)")
    p.add_argument("--db", help=DB_HELP)
    p.set_defaults(func=_cmd_summary)


def _cmd_standards(args: argparse.Namespace) -> int:
    from services.views.standards import run

    settings = _settings(args)
    standards = settings.care_standards()
    if not standards:
        raise UserError("no customer care standards are configured ([[standards]] in the settings file)")
    return run(settings.location(args.db), args.period, standards, args.council, settings.timezone)


def _register_standards(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("standards", help="each customer care standard's met rate for a month, against its target")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--period", required=True, help="the month, YYYY-MM")
    p.add_argument("--council", help="this council only")
    p.set_defaults(func=_cmd_standards)


def _cmd_alert_webhook(args: argparse.Namespace) -> int:
    from services.exposition.alert_webhook import serve

    if args.log == "-":
        serve(args.host, args.port, sys.stdout.buffer)
    else:
        with Path(args.log).open("ab") as out:
            serve(args.host, args.port, out)
    return 0


def _register_alert_webhook(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("alert-webhook", help="example Alertmanager webhook receiver: logs each alert as JSON")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9099)
    p.add_argument("--log", default="-", help="file to append JSON lines to ('-' for stdout)")
    p.set_defaults(func=_cmd_alert_webhook)


def _cmd_report(args: argparse.Namespace) -> int:
    from services.views.report.cli import run

    return run(args, _settings(args))


def _register_report(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from services.views.report.cli import add_parser

    add_parser(sub).set_defaults(func=_cmd_report)


def _cmd_gateway(args: argparse.Namespace) -> int:
    from services.ingest.gateway.cli import run_gateway

    return run_gateway(args, _settings(args))


def _cmd_gateway_token(args: argparse.Namespace) -> int:
    from services.ingest.gateway.cli import run_token

    return run_token(args, _settings(args))


def _cmd_adapt(args: argparse.Namespace) -> int:
    from services.ingest.adapters.cli import run

    return run(args, _settings(args))


def _register_adapt(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from services.ingest.adapters.cli import add_parser

    add_parser(sub)["adapt"].set_defaults(func=_cmd_adapt)


def _cmd_erase(args: argparse.Namespace) -> int:
    from services.store.erase_cli import run

    return run(args, _settings(args))


def _register_erase(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from services.store.erase_cli import add_parser

    add_parser(sub).set_defaults(func=_cmd_erase)


def _cmd_retention(args: argparse.Namespace) -> int:
    from services.store.retention_cli import run

    return run(args, _settings(args))


def _register_retention(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from services.store.retention_cli import add_parser

    add_parser(sub).set_defaults(func=_cmd_retention)


def _cmd_export(args: argparse.Namespace) -> int:
    from services.store.export import run

    return run(args, _settings(args))


def _register_export(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from services.store.export import add_parser

    add_parser(sub).set_defaults(func=_cmd_export)


def _register_gateway(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from services.ingest.gateway.cli import add_parsers

    gateway, token = add_parsers(sub)
    gateway.set_defaults(func=_cmd_gateway)
    token.set_defaults(func=_cmd_gateway_token)


_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [
    _register_report,
    _register_alert_webhook,
    _register_summary,
    _register_standards,
    _register_simulate,
    _register_wallboard,
    _register_gateway,
    _register_adapt,
    _register_erase,
    _register_retention,
    _register_export,
]


_CTRL_C = threading.Event()


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _CTRL_C.set()
    signal.default_int_handler(signum, frame)


def _watch_ctrl_c() -> Callable[[], None]:
    """Remember that Ctrl-C came, then raise KeyboardInterrupt as Python does. When the interrupt lands
    inside a DuckDB call (a query, or DuckDB reading a registered Arrow table), DuckDB wraps it in an
    error of its own, whose wording varies by where it landed; the flag, not the wording, says why.
    Returns what puts the previous handler back."""
    _CTRL_C.clear()
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:  # ignored (e.g. `cmd &`) or someone else's
        return lambda: None
    signal.signal(signal.SIGINT, _on_sigint)

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    return restore


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C during a DuckDB query: DuckDB interrupts the query and raises an error of its own."""
    return _CTRL_C.is_set() or type(exc).__name__ == "InterruptException" or str(exc) == "Query interrupted"


def main(argv: Sequence[str] | None = None) -> int:
    from pipelines.pseudonym import PseudonymError

    parser = build_parser()
    args = parser.parse_args(argv)
    restore = _watch_ctrl_c()
    try:
        return int(args.func(args))
    except (UserError, ConfigError, PseudonymError) as exc:
        print(f"contactpulse: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("contactpulse: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `contactpulse simulate --out - | head` (before the catch-all below)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # fd 1 itself: the command may have closed sys.stdout
        return 0
    except Exception as exc:
        if not _interrupted(exc):
            raise
        print("contactpulse: interrupted (the transaction under way was rolled back)", file=sys.stderr)
        return 130
    finally:
        restore()


if __name__ == "__main__":
    raise SystemExit(main())
