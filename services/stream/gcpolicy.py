"""The cyclic garbage collector, set for a process that holds many objects and makes few cycles.

Events are tuples, contact states and facts hold no cycles: reference counting frees them. The
cyclic collector only costs time here, rescanning what is alive, so batch work pauses it, and the
consumer runs it less often.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# At the default first threshold (700 net allocations) the consumer collected every few hundred events
# and rescanned each batch's events and facts, alive until written: over 1.3 s of every 300,000 events
# (10% of its time). At 100,000, a batch's objects are mostly freed before a collection sees them:
# 0.3 s. Garbage in cycles (asyncio makes a little) waits longer to be freed, a few MB at most.
CONSUMER_THRESHOLDS = (100_000, 10, 10)


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic GC rescans every live object as a batch grows (4x slower); events make no cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def gc_thresholds(thresholds: tuple[int, int, int]) -> Iterator[None]:
    """Collection thresholds for the duration (a process's run; tests run the consumer in-process)."""
    before = gc.get_threshold()
    gc.set_threshold(*thresholds)
    try:
        yield
    finally:
        gc.set_threshold(*before)
