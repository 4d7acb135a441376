"""Each thread reads through a cursor of its own.

The consumer's event loop reads the store (ids, evicted contacts) while its writer thread runs the standards'
refresh, which reads it too. Both once went through one cursor, and DuckDB's Python connection must not be
used by two threads at once: the consumer hung mid-batch, its /metrics with it (the end-to-end
observability test caught it, intermittently). Here two threads read at once, as those two do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from services.store.store import Store

ROUNDS = 1500


def test_a_thread_keeps_its_cursor_and_another_thread_gets_its_own(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        mine = store.reader
        assert store.reader is mine and mine is not store.con
        theirs: list[object] = []
        thread = threading.Thread(target=lambda: theirs.append(store.reader))
        thread.start()
        thread.join()
        assert theirs and theirs[0] is not mine and theirs[0] is not store.con


def test_two_threads_reading_at_once_neither_fail_nor_hang(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        errors: list[str] = []

        def rounds(read: Callable[[], object]) -> None:
            try:
                for _ in range(ROUNDS):
                    read()
            except Exception as exc:  # reported below, with the other thread's
                errors.append(repr(exc))

        threads = [
            threading.Thread(target=rounds, args=(store.watermarks,), daemon=True),  # the standards' refresh
            threading.Thread(target=rounds, args=(lambda: store.existing_ids(["a", "b"]),), daemon=True),  # a batch
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a reading thread hung"
        assert errors == []
