"""First-contact resolution, METRICS.md section 2, for one group of contacts.

A group is every contact of one (council, customer_ref, service). A contact is
eligible when its outcome is handled or self_served and it has a customer_ref and
a service; it has a repeat when another contact of its group that is not a short
abandon started in (started_at, started_at + W]; it is resolved first time when
eligible, without a repeat, and its resolution is null or "resolved". The verdict
is final once the council's watermark is at or past started_at + W.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.events import US
from pipelines.facts import HANDLED, SELF_SERVED

DAY_US = 86_400 * US
ELIGIBLE_OUTCOMES = (HANDLED, SELF_SERVED)  # with a customer_ref and a service (sql/fcr.sql uses these too)


@dataclass(frozen=True, slots=True)
class FcrInput:
    council: str
    contact_id: str
    started_at: int  # us
    outcome: str
    short_abandon: bool
    customer_ref: str | None
    service: str | None
    resolution: str | None


@dataclass(frozen=True, slots=True)
class FcrVerdict:
    council: str
    contact_id: str
    fcr_eligible: bool
    has_repeat: bool | None
    first_contact_resolved: bool | None
    fcr_final: bool


def eligible(c: FcrInput) -> bool:
    return c.outcome in ELIGIBLE_OUTCOMES and c.customer_ref is not None and c.service is not None


def verdicts(group: Sequence[FcrInput], window_days: int, watermark: int | None) -> list[FcrVerdict]:
    """Verdicts for every contact of one group (contacts without a customer_ref or service form their own)."""
    window = window_days * DAY_US
    repeats = sorted(c.started_at for c in group if not c.short_abandon)
    out = []
    for c in group:
        final = watermark is not None and watermark >= c.started_at + window
        if not eligible(c):
            out.append(FcrVerdict(c.council, c.contact_id, False, None, None, final))
            continue
        # another non-short-abandon contact started in (started_at, started_at + W]
        lo = bisect.bisect_right(repeats, c.started_at)
        hi = bisect.bisect_right(repeats, c.started_at + window)
        has_repeat = hi > lo
        resolved = not has_repeat and c.resolution in (None, "resolved")
        out.append(FcrVerdict(c.council, c.contact_id, True, has_repeat, resolved, final))
    return out
