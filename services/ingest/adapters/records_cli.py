"""``contactpulse adapt amazon-connect PATH`` and ``adapt genesys PATH``: JSON exports, a file or a directory."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from services.errors import UserError
from services.ingest.adapters.base import Reject
from services.ingest.adapters.cli import emitter, finish, read_toml, sink
from services.ingest.adapters.connect import RESOLUTIONS, Connect
from services.ingest.adapters.genesys import Genesys, GenesysNames, conversations
from services.ingest.adapters.json_records import files, objects
from services.ingest.adapters.run import Item, Runner, attempt
from services.settings import Settings

Mapper = Callable[[Any], list[dict[str, Any]]]


def _items(path: Path, mapper: Mapper, split: Callable[[Any], list[Any]] = lambda d: [d]) -> Iterator[Item]:
    for f in files(path):
        for line, value in objects(f.read_bytes()):
            if isinstance(value, Reject):
                yield line, value
                continue
            for record in split(value):
                yield attempt(line, record, mapper)


def _run(args: argparse.Namespace, settings: Settings, system: str, mapper_of: Callable[[Any], Mapper],
         split: Callable[[Any], list[Any]] = lambda d: [d]) -> int:  # fmt: skip
    path = Path(args.path)
    files(path)  # a missing path, or an empty directory, fails here: before any connection
    e = emitter(args, system)
    out = sink(args, settings, path if path.is_file() else path / "records")
    runner = Runner(out, str(path))
    try:
        runner.feed(_items(path, mapper_of(e), split))
    finally:
        out.close()
    return finish(runner)


def run_connect(args: argparse.Namespace, settings: Settings) -> int:
    if args.default_resolution not in RESOLUTIONS:
        raise UserError(f"--default-resolution is one of {', '.join(sorted(RESOLUTIONS))}")
    return _run(args, settings, "telephony/amazon-connect",
                lambda e: Connect(e, args.resolution_attribute, args.default_resolution).record)  # fmt: skip


def run_genesys(args: argparse.Namespace, settings: Settings) -> int:
    names = load_names(Path(args.mapping)) if args.mapping else GenesysNames()
    return _run(args, settings, "telephony/genesys", lambda e: Genesys(e, names).conversation, conversations)


def load_names(path: Path) -> GenesysNames:
    doc = read_toml(path)
    unknown = set(doc) - {"queues", "wrapup_codes", "default_resolution"}
    if unknown:
        raise UserError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} (queues, wrapup_codes, "
                        "default_resolution)")  # fmt: skip
    codes = {str(k): str(v) for k, v in doc.get("wrapup_codes", {}).items()}
    default = str(doc.get("default_resolution", "resolved"))
    bad = sorted({*codes.values(), default} - RESOLUTIONS)
    if bad:
        raise UserError(f"{path}: {', '.join(bad)} is not a resolution ({', '.join(sorted(RESOLUTIONS))})")
    return GenesysNames({str(k): str(v) for k, v in doc.get("queues", {}).items()}, codes, default)
