"""Replay's reader thread (services/bulk_replay.prefetched): order kept, errors raised where they happened,
and a consumer that stops early stops the thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from services.replay.bulk import prefetched


def test_items_arrive_in_order_and_all_of_them() -> None:
    assert list(prefetched(iter(range(1000)), depth=3)) == list(range(1000))


def test_an_empty_source_ends_at_once() -> None:
    assert list(prefetched(iter([]))) == []


def test_a_read_error_is_raised_at_the_item_it_stopped_at() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("disk went away")

    got = []
    with pytest.raises(OSError, match="disk went away"):
        for item in prefetched(source()):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_stops_the_reader_thread() -> None:
    produced = []

    def source() -> Iterator[int]:
        for i in range(10_000):
            produced.append(i)
            yield i

    before = {t.ident for t in threading.enumerate()}
    items = prefetched(source(), depth=1)
    assert next(items) == 0
    items.close()  # what a for loop does on break or on an exception in its body
    readers = [t for t in threading.enumerate() if t.name == "replay-reader" and t.ident not in before]
    assert readers == []
    assert len(produced) < 10  # it read at most a few items ahead, not the whole source
