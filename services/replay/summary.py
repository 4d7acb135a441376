"""What a replay did: lines read, valid, new, duplicates, erased, rejected by reason, and the contacts
by outcome."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ReplaySummary:
    lines: int = 0
    valid: int = 0
    duplicates: int = 0
    erased: int = 0  # events of a person whose data was erased: counted, never stored
    rejected: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def new_events(self) -> int:
        return self.valid - self.duplicates - self.erased
