"""Following a log file as it is written: through rotation (rename and a new file, or copytruncate), from
a position stored durably, so that a restart loses and repeats nothing.

The position file holds the file's inode, the offset and line number after the last line whose events
Kafka acknowledged, and the adapter's memory at that point (JSON, written to a temporary file, fsynced,
renamed). After a restart the follower seeks there; if the log was rotated meanwhile, it first reads the
rest of the rotated file (found by its inode beside the log: ``queue_log.1``, ``queue_log-20261201``...).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from services.errors import UserError

log = logging.getLogger("contactpulse.adapt")


@dataclass
class Position:
    inode: int
    offset: int = 0
    line: int = 0
    memory: dict[str, Any] = field(default_factory=dict)


class PositionFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Position | None:
        if not self.path.exists():
            return None
        try:
            return Position(**orjson.loads(self.path.read_bytes()))
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise UserError(f"{self.path} is not a position file ({exc}); move it away to start afresh") from None

    def save(self, position: Position) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("wb") as f:
            f.write(orjson.dumps(asdict(position)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)  # the rename itself survives a power cut
        finally:
            os.close(fd)


class Follower:
    """Complete lines of ``path`` as (line number, text), with ``None`` whenever it is idle at the end."""

    def __init__(
        self, path: Path, start: Position | None, poll: float = 0.2, stop: Callable[[], bool] = lambda: False
    ) -> None:
        self.path, self.poll, self.stop = path, poll, stop
        self.start = start
        self.inode, self.offset, self.line = 0, 0, 0

    def position(self, memory: dict[str, Any]) -> Position:
        return Position(self.inode, self.offset, self.line, memory)

    def lines(self) -> Iterator[tuple[int, str] | None]:
        f: IO[bytes] | None = self._resume()
        while f is not None and not self.stop():
            raw = f.readline()
            if raw.endswith(b"\n"):
                self.offset += len(raw)
                self.line += 1
                yield self.line, raw.decode("utf-8", "replace")
                continue
            if raw:
                f.seek(self.offset)  # half a line: wait for the rest of it
            yield None
            f = self._after_end(f)
            time.sleep(self.poll)
        if f is not None:
            f.close()

    def _resume(self) -> IO[bytes] | None:
        """The file to read first, at the stored position: the log, or the rotated file it was reading;
        ``None`` if told to stop while waiting for the log to appear."""
        start = self.start
        if start is None:
            return self._open_current()
        try:
            moved = self.path.stat().st_ino != start.inode
        except FileNotFoundError:
            moved = True
        # rotated while stopped, or stopped between logrotate's rename and the new file
        rotated = self._find(start.inode) if moved else None
        if rotated is not None:  # finish the old file first; at its end the loop moves on to the new one
            old = rotated.open("rb")
            old.seek(start.offset)
            self.inode, self.offset, self.line = start.inode, start.offset, start.line
            return old
        f = self._open_current()
        if f is None:
            return None
        if self.inode != start.inode:
            log.warning(
                "%s was rotated while stopped and its old file is gone; reading the new one from its start", self.path
            )
        elif os.fstat(f.fileno()).st_size < start.offset:  # copytruncate, or a new file given the old inode
            log.warning("%s is shorter than when it stopped; reading it from its start", self.path)
        else:
            f.seek(start.offset)
            self.offset, self.line = start.offset, start.line
        return f

    def _open_current(self) -> IO[bytes] | None:
        """The file at the path, waited for while it is missing (a rotation's window); ``None`` if told to
        stop meanwhile."""
        warned = False
        while True:
            try:
                f = self.path.open("rb")
                break
            except FileNotFoundError:
                if self.stop():
                    return None
                if not warned:
                    log.warning("%s is not there (rotated?); waiting for it", self.path)
                    warned = True
                time.sleep(self.poll)
            except OSError as exc:
                raise UserError(f"cannot read {self.path}: {exc.strerror}") from None
        self.inode, self.offset, self.line = os.fstat(f.fileno()).st_ino, 0, 0
        return f

    def _after_end(self, f: IO[bytes]) -> IO[bytes] | None:
        """At the end of the file: a new file at the path (rotation), or the same one truncated."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return f  # between the rename and the new file: keep reading the old one
        if st.st_ino != self.inode:
            if f.read(1):  # written before the rotation and not read yet
                f.seek(self.offset)
                return f
            f.close()
            log.info("%s rotated; following the new file", self.path)
            return self._open_current()
        if st.st_size < self.offset:
            log.info("%s truncated; following it from its start", self.path)
            f.seek(0)
            self.offset, self.line = 0, 0
        return f

    def _find(self, inode: int) -> Path | None:
        for candidate in sorted(self.path.parent.glob(self.path.name + "*")):
            try:
                if candidate.stat().st_ino == inode and candidate != self.path:
                    return candidate
            except OSError:
                continue
        return None
