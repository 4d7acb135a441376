"""The cyclic garbage collector, set by a process's entry point (the consumer, replay) for a process that
holds many objects and makes few cycles.

Events are tuples, contact states and facts hold no cycles: reference counting frees them. The
cyclic collector only costs time here, rescanning what is alive, so these processes run it less often,
and the consumer's event loop pauses it while it prepares a batch.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# At the default first threshold (700 net allocations) a collection ran every few hundred events and
# rescanned each batch's events and facts, alive until written; at 100,000 a batch's objects are mostly
# freed before a collection sees them (docs/performance.md). Garbage in cycles (asyncio makes a little)
# waits longer to be freed. Set by the entry points only: the consumer's and replay's.
THRESHOLDS = (100_000, 10, 10)


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic GC rescans every live object as a batch grows; events make no cycles."""
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
