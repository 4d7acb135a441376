"""``contactpulse adapt amazon-connect PATH`` and ``adapt genesys PATH``: JSON exports, a file or a directory."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from services.errors import UserError
from services.ingest.adapters.base import Emitter, Reject
from services.ingest.adapters.cli import emitter, finish, read_toml, sink
from services.ingest.adapters.connect import RESOLUTIONS, Connect
from services.ingest.adapters.connect import SOURCE as CONNECT
from services.ingest.adapters.genesys import SOURCE as GENESYS
from services.ingest.adapters.genesys import Genesys, GenesysNames, conversations
from services.ingest.adapters.json_records import files, objects
from services.ingest.adapters.run import Item, Runner, Summary, attempt
from services.settings import Settings

Events = list[dict[str, Any]]


class Mapper(Protocol):
    def record(self, doc: Any) -> Events: ...

    def released(self, everything: bool = False) -> Events:
        """Events the mapper held back until later records told it more (all of them at the end)."""
        ...

    def notes(self) -> dict[str, int]:
        """The mapper's own counts for the summary."""
        ...


def documents(path: Path) -> Iterator[tuple[int, Any]]:
    for f in files(path):
        yield from objects(f.read_bytes())


def items(
    docs: Iterable[tuple[int, Any]], mapper: Mapper, summary: Summary, split: Callable[[Any], list[Any]] = lambda d: [d]
) -> Iterator[Item]:
    """Each document's records (a document is one record read, whatever it holds), and what the mapper
    releases, as items of their own, so a record rejected never takes another's events with it."""
    line = 0
    for line, value in docs:
        summary.records += 1
        if isinstance(value, Reject):
            yield line, value
            continue
        for record in split(value):
            yield attempt(line, record, mapper.record)
        held = mapper.released()
        if held:
            yield line, held
    held = mapper.released(everything=True)
    if held:
        yield line, held


def _run(
    args: argparse.Namespace,
    settings: Settings,
    system: str,
    mapper: Callable[[Emitter], Mapper],
    split: Callable[[Any], list[Any]] = lambda d: [d],
) -> int:
    path = Path(args.path)
    files(path)  # a missing path, or an empty directory, fails here: before any connection
    m = mapper(emitter(args, system))
    out = sink(args, settings, path if path.is_file() else path / "records")
    runner = Runner(out, str(path))
    try:
        runner.feed(items(documents(path), m, runner.summary, split), counted=False)
    finally:
        out.close()
    runner.summary.notes.update(m.notes())
    return finish(runner)


def run_connect(args: argparse.Namespace, settings: Settings) -> int:
    if args.default_resolution not in RESOLUTIONS:
        raise UserError(f"--default-resolution is one of {', '.join(sorted(RESOLUTIONS))}")
    queues = load_names(Path(args.mapping)).queues if args.mapping else {}
    return _run(
        args,
        settings,
        CONNECT.system,
        lambda e: Connect(e, args.resolution_attribute, args.default_resolution, queues),
    )


def run_genesys(args: argparse.Namespace, settings: Settings) -> int:
    names = load_names(Path(args.mapping)) if args.mapping else GenesysNames()
    return _run(args, settings, GENESYS.system, lambda e: Genesys(e, names), conversations)


def load_names(path: Path) -> GenesysNames:
    doc = read_toml(path)
    unknown = set(doc) - {"queues", "wrapup_codes", "default_resolution"}
    if unknown:
        raise UserError(
            f"{path}: unknown key(s) {', '.join(sorted(unknown))} (queues, wrapup_codes, default_resolution)"
        )
    codes = {str(k): str(v) for k, v in doc.get("wrapup_codes", {}).items()}
    default = str(doc.get("default_resolution", "resolved"))
    bad = sorted({*codes.values(), default} - RESOLUTIONS)
    if bad:
        raise UserError(f"{path}: {', '.join(bad)} is not a resolution ({', '.join(sorted(RESOLUTIONS))})")
    return GenesysNames({str(k): str(v) for k, v in doc.get("queues", {}).items()}, codes, default)
