"""Live state for the wallboard series (METRICS.md section 4), pure and free of Prometheus.

``LiveBoard.update(facts, walk)`` is called for every contact a batch touched. It
keeps who is waiting and on hold now (with when that started, so ages grow in
wall-clock time at scrape) and returns the counter and histogram observations
that the contact's change implies. Each contact counts at most once per counter.

Threads: one writer (the consumer's event loop) changes the board, holding
``board.lock``; readers (the HTTP threads) take the same lock in ``snapshot``,
``tallies`` and ``view`` (both at once), which copy what they return and change nothing.
"""

from __future__ import annotations

import dataclasses
import heapq
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from pipelines.facts import ABANDONED, HANDLED, TIMED_OUT, Walk
from pipelines.labels import BoundedLabels
from schemas.facts import ContactFacts

Labels = tuple[str, str, str]  # council, channel, queue
UNKNOWN = "unknown"


@dataclass(slots=True)
class Observations:
    offered: Counter[Labels] = field(default_factory=Counter)
    answered: Counter[Labels] = field(default_factory=Counter)
    abandoned: Counter[Labels] = field(default_factory=Counter)
    short_abandoned: Counter[Labels] = field(default_factory=Counter)
    answered_within_sl: Counter[Labels] = field(default_factory=Counter)
    time_to_answer: list[tuple[Labels, float]] = field(default_factory=list)
    hold: list[tuple[tuple[str, str], float]] = field(default_factory=list)
    handle: list[tuple[tuple[str, str], float]] = field(default_factory=list)


@dataclass(slots=True)
class DayTally:
    """One (day, council, queue)'s figures for the wallboard: counts by ``queued_at``'s day, named as
    ``pipelines.measures.Counts`` names them, so its ratios apply."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandons: int = 0
    answered_within_sl: int = 0
    tta_sum: float = 0.0
    tta_count: int = 0


class _Counted(NamedTuple):  # immutable, and cheap to build once per contact update
    offered: bool = False
    answered: bool = False
    abandoned: bool = False
    within_sl: bool = False
    ended: bool = False


_NOTHING_COUNTED = _Counted()


class LiveBoard:
    def __init__(
        self,
        queue_label_limit: int = 200,
        day_of: Callable[[int], str] | None = None,
        council_label_limit: int = 200,
        over: Callable[[str], None] | None = None,
    ) -> None:
        """``queue_label_limit`` distinct queues per council and ``council_label_limit`` councils get series of
        their own; beyond them, ``other`` (and ``over(label)`` is told)."""
        self.queues = BoundedLabels("queue", queue_label_limit, over=over)
        self.councils = BoundedLabels("council", council_label_limit, over=over)
        self.day_of = day_of or (lambda us: "all")  # maps queued_at (us) to the wallboard's day
        self.days: dict[tuple[str, str, str], DayTally] = {}  # (day, council, queue) -> tally
        self.waiting = LiveSet()  # contact -> (labels, wait started at, us)
        self.on_hold = LiveSet()
        self.counted: dict[tuple[str, str], _Counted] = {}
        self.lock = threading.Lock()  # held by the one writer while it changes the board, and by readers

    def update(self, facts: ContactFacts, walk: Walk, obs: Observations) -> None:
        key = (facts.council, facts.contact_id)
        channel = facts.channel or UNKNOWN
        council = self.councils(facts.council)
        live_open = facts.outcome != TIMED_OUT  # an interval still open means waiting or on hold now
        current = (council, channel, self.queues(facts.last_queue or UNKNOWN, council))
        if live_open and walk.wait_open is not None:
            self.waiting.put(key, current, walk.wait_open)
        else:
            self.waiting.pop(key)
        if live_open and walk.hold_open is not None:
            self.on_hold.put(key, current, walk.hold_open)
        else:
            self.on_hold.pop(key)
        self._count(key, facts, (council, channel, self.queues(facts.queue or UNKNOWN, council)), obs)

    def _count(self, key: tuple[str, str], f: ContactFacts, entry: Labels, obs: Observations) -> None:
        before = self.counted.get(key, _NOTHING_COUNTED)
        offered = before.offered or f.queued_at is not None
        answered = before.answered or (f.outcome == HANDLED and f.queued_at is not None)
        abandoned = before.abandoned or f.outcome == ABANDONED
        within = before.within_sl or bool(f.answered_within_sl)
        ended = before.ended or f.ended_at is not None
        tally = self._tally(f, entry) if f.queued_at is not None else DayTally()
        if offered and not before.offered:
            obs.offered[entry] += 1
            tally.offered += 1
        if answered and not before.answered:
            obs.answered[entry] += 1
            tally.answered += 1
            if f.time_to_answer_seconds is not None:
                obs.time_to_answer.append((entry, f.time_to_answer_seconds))
                tally.tta_sum += f.time_to_answer_seconds
                tally.tta_count += 1
        if abandoned and not before.abandoned:
            (obs.short_abandoned if f.short_abandon else obs.abandoned)[entry] += 1
            if f.short_abandon:
                tally.short_abandons += 1
            else:
                tally.abandoned += 1
        if within and not before.within_sl:
            obs.answered_within_sl[entry] += 1
            tally.answered_within_sl += 1
        if ended and not before.ended and f.outcome == HANDLED:
            obs.hold.append((entry[:2], f.hold_seconds))
            obs.handle.append((entry[:2], f.handle_seconds or 0.0))
        self.counted[key] = _Counted(offered, answered, abandoned, within, ended)

    def _tally(self, f: ContactFacts, entry: Labels) -> DayTally:
        assert f.queued_at is not None
        key = (self.day_of(f.queued_at), entry[0], entry[2])
        tally = self.days.get(key)
        if tally is None:
            tally = self.days[key] = DayTally()
        return tally

    def is_live(self, key: tuple[str, str]) -> bool:
        """Waiting or on hold now."""
        return key in self.waiting or key in self.on_hold

    def forget(self, keys: Iterable[tuple[str, str]], counted: bool = False) -> None:
        """Take contacts off the live gauges; with ``counted``, also drop what was counted for them."""
        for k in keys:
            self.waiting.pop(k)
            self.on_hold.pop(k)
            if counted:
                self.counted.pop(k, None)

    def snapshot(self) -> tuple[dict[Labels, tuple[int, int]], dict[Labels, tuple[int, int]]]:
        """Per label set: (how many, earliest start in us) for waiting and for on hold; a consistent copy."""
        with self.lock:
            return self.waiting.grouped(), self.on_hold.grouped()

    def tallies(self, day: str) -> dict[tuple[str, str], DayTally]:
        """(council, queue) -> a copy of that day's tally."""
        with self.lock:
            return self._tallies(day)

    def view(
        self, day: str
    ) -> tuple[dict[Labels, tuple[int, int]], dict[Labels, tuple[int, int]], dict[tuple[str, str], DayTally]]:
        """``snapshot`` and ``tallies`` read together, under one hold of the lock: one consistent board."""
        with self.lock:
            return self.waiting.grouped(), self.on_hold.grouped(), self._tallies(day)

    def _tallies(self, day: str) -> dict[tuple[str, str], DayTally]:
        return {(c, q): dataclasses.replace(t) for (d, c, q), t in self.days.items() if d == day}


class LiveSet:
    """Contacts in one live state (waiting, or on hold), with each label set's count and oldest start.

    Kept as contacts come and go, so a scrape costs O(label sets) however long the queue (an inbox
    may hold thousands of emails). Each label set's starts are a heap whose entries go stale when a
    contact leaves or restarts; stale entries are dropped when they reach the top, and the heap is
    rebuilt once it holds more stale entries than live ones.
    """

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], tuple[Labels, int]] = {}
        self.counts: dict[Labels, int] = {}
        self.heaps: dict[Labels, list[tuple[int, tuple[str, str]]]] = {}

    def __contains__(self, key: object) -> bool:
        return key in self.items

    def __len__(self) -> int:
        return len(self.items)

    def put(self, key: tuple[str, str], labels: Labels, since: int) -> None:
        old = self.items.get(key)
        if old == (labels, since):
            return
        self.items[key] = (labels, since)  # first: the old entry is stale when its label set is cleaned
        if old is not None:
            self._leave(old[0])
        self.counts[labels] = self.counts.get(labels, 0) + 1
        heap = self.heaps.setdefault(labels, [])
        heapq.heappush(heap, (since, key))
        if len(heap) > 2 * self.counts[labels] + 64:
            self.heaps[labels] = [(t, k) for k, (lb, t) in self.items.items() if lb == labels]
            heapq.heapify(self.heaps[labels])
        else:
            self._drop_stale(labels)

    def pop(self, key: tuple[str, str]) -> None:
        old = self.items.pop(key, None)
        if old is not None:
            self._leave(old[0])

    def _leave(self, labels: Labels) -> None:
        self.counts[labels] -= 1
        if not self.counts[labels]:
            del self.counts[labels], self.heaps[labels]
        else:
            self._drop_stale(labels)

    def _drop_stale(self, labels: Labels) -> None:
        """Keep a live entry on top of the label set's heap, so that reads need change nothing."""
        heap, items = self.heaps[labels], self.items
        while items.get(heap[0][1]) != (labels, heap[0][0]):
            heapq.heappop(heap)

    def grouped(self) -> dict[Labels, tuple[int, int]]:
        """Per label set: (how many, earliest start). Reads only: every heap's top is live."""
        return {labels: (n, self.heaps[labels][0][0]) for labels, n in self.counts.items()}
