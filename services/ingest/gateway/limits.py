"""A per-token rate limit on events: a token bucket (``rate`` events a second, up to ``burst`` at once)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class RateLimit:
    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.buckets: dict[str, tuple[float, float]] = {}  # token id -> (tokens left, when)

    def take(self, key: str, n: int) -> float:
        """0 if ``n`` events may go now (and counts them); otherwise the seconds to wait before trying again."""
        now = self.clock()
        left, then = self.buckets.get(key, (self.burst, now))
        left = min(self.burst, left + (now - then) * self.rate)
        if n <= left:
            self.buckets[key] = (left - n, now)
            return 0.0
        self.buckets[key] = (left, now)
        return max(1.0, math.ceil((min(n, self.burst) - left) / self.rate))
