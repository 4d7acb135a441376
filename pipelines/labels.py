"""Prometheus label values that come from input (council, queue, source) kept bounded, so that a
misbehaving emitter cannot make unbounded series: a value longer than ``max_length``, or new once
``cap`` distinct values are known (within a scope, such as a council's queues), is counted as ``other``,
and ``over(label)`` is told, so that a counter rises and an alert can fire."""

from __future__ import annotations

from collections.abc import Callable

OTHER = "other"
DEFAULT_MAX_LENGTH = 100


class BoundedLabels:
    def __init__(
        self, label: str, cap: int, max_length: int = DEFAULT_MAX_LENGTH, over: Callable[[str], None] | None = None
    ) -> None:
        self.label, self.cap, self.max_length = label, cap, max_length
        self.over = over or (lambda label: None)
        self.seen: dict[str, set[str]] = {}  # scope -> the values given their own series

    def __call__(self, value: str, scope: str = "") -> str:
        known = self.seen.get(scope)
        if known is None:
            known = self.seen[scope] = set()
        if value in known:
            return value
        if len(value) <= self.max_length and len(known) < self.cap:
            known.add(value)
            return value
        self.over(self.label)
        return OTHER
