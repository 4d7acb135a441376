"""JSON records as vendors' exports hold them: one object per line, objects written back to back (Kinesis
Firehose), or a JSON document with a list of them; a file or every file under a directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from services.errors import UserError
from services.ingest.adapters.base import Reject

_WS = b" \t\r\n"


def files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not found:
            raise UserError(f"no files under {path}")
        return found
    if not path.exists():
        raise UserError(f"no such file or directory: {path}")
    return [path]


def objects(data: bytes) -> Iterator[tuple[int, Any | Reject]]:
    """(line it starts on, the decoded value, or a Reject for text that is not JSON), in order."""
    try:  # the common case: a file that is exactly one JSON document, or one object per line
        yield from _lines(data)
        return
    except _NotLines:
        pass
    yield from _concatenated(data)


class _NotLines(Exception):
    pass


def _lines(data: bytes) -> Iterator[tuple[int, Any | Reject]]:
    stripped = data.strip(_WS)
    if stripped[:1] == b"[" or stripped.count(b"\n") == 0:
        try:
            value = orjson.loads(stripped) if stripped else None
        except orjson.JSONDecodeError:
            raise _NotLines from None
        if value is not None:
            yield 1, value
        return
    rows = []
    for n, line in enumerate(data.split(b"\n"), start=1):
        if line.strip(_WS):
            try:
                rows.append((n, orjson.loads(line)))
            except orjson.JSONDecodeError:
                raise _NotLines from None
    yield from rows


def _concatenated(data: bytes) -> Iterator[tuple[int, Any | Reject]]:
    """Objects back to back (``}{``), as Firehose writes them, possibly across lines. Text that is not
    JSON is one rejection up to where the next document can start (a ``{`` at the start of a line, or
    after a ``}`` as Firehose joins them), never one for each ``{`` inside it."""
    text = data.decode("utf-8", "replace")
    decoder = json.JSONDecoder()
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            break
        line = text.count("\n", 0, i) + 1
        try:
            value, end = decoder.raw_decode(text, i)
        except ValueError as exc:
            nxt = _next_document(text, i + 1)
            yield line, Reject(line, "unmappable:not_json", str(exc)[:100], text[i : nxt if nxt > 0 else n][:2000])
            if nxt < 0:
                break
            i = nxt
            continue
        yield line, value
        i = end


def _next_document(text: str, start: int) -> int:
    """Where the next document after ``start`` can begin, or -1."""
    starts = [p + 1 for p in (text.find("\n{", start - 1), text.find("}{", start - 1)) if p >= 0]
    return min(starts, default=-1)
