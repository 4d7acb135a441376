"""The log follower, driven step by step: every line once and in order, through logrotate's rename (and the
moment between the rename and the new file), copytruncate, half-written lines and restarts from a stored
position, including a restart that lands in the middle of a rotation."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.ingest.adapters.follow import Follower, Position, PositionFile

Lines = Iterator[tuple[int, str] | None]


def write(path: Path, *lines: str, end: str = "\n") -> None:
    with path.open("a") as f:
        f.write("".join(x + end for x in lines))


def until_idle(it: Lines) -> list[tuple[int, str]]:
    """The lines the follower gives before it is next idle at the end of what is written."""
    got: list[tuple[int, str]] = []
    for item in it:
        if item is None:
            return got
        got.append(item)
    return got


def texts(items: list[tuple[int, str]]) -> list[str]:
    return [text.rstrip("\n") for _, text in items]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "queue_log"


def test_it_waits_for_the_rest_of_a_half_written_line(log: Path) -> None:
    write(log, "a", "b")
    write(log, "c-first-half", end="")
    it = Follower(log, None, poll=0).lines()
    assert until_idle(it) == [(1, "a\n"), (2, "b\n")]
    write(log, "-second-half")
    assert until_idle(it) == [(3, "c-first-half-second-half\n")]


def test_a_rename_rotation_gives_the_old_files_last_lines_then_the_new_file(log: Path) -> None:
    write(log, "a", "b")
    it = Follower(log, None, poll=0).lines()
    assert texts(until_idle(it)) == ["a", "b"]
    os.rename(log, log.with_name("queue_log.1"))
    write(log.with_name("queue_log.1"), "c")  # still written until Asterisk reopens its log
    assert texts(until_idle(it)) == ["c"]
    assert until_idle(it) == []  # no file at the path yet: it keeps the old one
    write(log, "d", "e")
    assert texts(until_idle(it)) == ["d", "e"]


def test_copytruncate_starts_it_again_from_the_files_start(log: Path) -> None:
    write(log, "a", "b", "c")
    it = Follower(log, None, poll=0).lines()
    assert texts(until_idle(it)) == ["a", "b", "c"]
    log.write_text("")
    write(log, "d")
    assert until_idle(it) == [(1, "d\n")]


def position_after(log: Path, lines: int) -> Position:
    """The position a follower stores after reading ``lines`` lines of the log."""
    follower = Follower(log, None, poll=0)
    it = follower.lines()
    for _ in range(lines):
        next(it)
    return follower.position({"calls": 1})


def test_a_restart_goes_on_from_the_stored_position(tmp_path: Path, log: Path) -> None:
    write(log, "a", "b", "c")
    state = PositionFile(tmp_path / "position.json")
    state.save(position_after(log, 2))
    loaded = state.load()
    assert loaded is not None and loaded.memory == {"calls": 1} and loaded.line == 2
    assert until_idle(Follower(log, loaded, poll=0).lines()) == [(3, "c\n")]


def test_a_restart_after_a_rotation_reads_the_rest_of_the_rotated_file_first(log: Path) -> None:
    write(log, "a", "b", "c")
    start = position_after(log, 1)
    os.rename(log, log.with_name("queue_log.1"))
    write(log, "d")
    it = Follower(log, start, poll=0).lines()
    assert until_idle(it) == [(2, "b\n"), (3, "c\n")]
    assert until_idle(it) == [(1, "d\n")]


def test_a_restart_between_the_rename_and_the_new_file_neither_fails_nor_loses_a_line(log: Path) -> None:
    write(log, "a", "b", "c")
    start = position_after(log, 1)
    os.rename(log, log.with_name("queue_log.1"))  # and no new queue_log yet
    it = Follower(log, start, poll=0).lines()
    assert until_idle(it) == [(2, "b\n"), (3, "c\n")]
    assert until_idle(it) == []
    write(log, "d")
    assert until_idle(it) == [(1, "d\n")]


def test_a_restart_with_the_log_gone_waits_for_it_and_says_so(log: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(log, "a", "b")
    start = position_after(log, 2)
    os.rename(log, log.with_name("archived"))  # rotated and gone from beside the log (kept, so that the new
    checks = iter(range(1000))  # file cannot be given its inode) = iter(range(1000))

    def stop() -> bool:  # the log appears after a few polls
        if next(checks) == 3:
            write(log, "new")
        return False

    with caplog.at_level(logging.WARNING, logger="contactpulse.adapt"):
        got = until_idle(Follower(log, start, poll=0, stop=stop).lines())
    assert got == [(1, "new\n")]
    assert [r.getMessage() for r in caplog.records] == [
        f"{log} is not there (rotated?); waiting for it",
        f"{log} was rotated while stopped and its old file is gone; reading the new one from its start",
    ]


def test_a_log_truncated_while_stopped_is_read_from_its_start(log: Path) -> None:
    write(log, "a", "b")
    start = position_after(log, 2)
    log.write_text("c\n")  # copytruncate, then a shorter day
    assert until_idle(Follower(log, start, poll=0).lines()) == [(1, "c\n")]


def test_told_to_stop_while_waiting_for_the_log_it_ends(log: Path) -> None:
    write(log, "a")
    start = position_after(log, 1)
    log.unlink()
    polls = iter(range(1000))
    assert list(Follower(log, start, poll=0, stop=lambda: next(polls) >= 5).lines()) == []
