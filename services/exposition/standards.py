"""The customer care standards' live series (METRICS.md section 5), from ``contact_standards``:

- ``contactpulse_standard_due_soon{council, standard}``: contacts whose milestone is pending and whose
  ``due_at`` falls within the next working day (by the council's working calendar);
- ``contactpulse_standard_breached_total{council, standard}``: verdicts that became final with
  ``met = false``. The stored verdicts are the count, so a restart neither loses nor repeats one.

The consumer refreshes them on its writer thread every ``REFRESH_SECONDS`` (``refresh``); a scrape reads the
last refresh. Councils beyond the label cap are summed as ``other`` (standards are the settings' few).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from pipelines.events import US
from pipelines.working_time import Calendars
from services.store.store import Store

log = logging.getLogger("contactpulse.standards")
REFRESH_SECONDS = 15.0
LABELS = ("council", "standard")
Row = tuple[str, str, int, int]  # council, standard, due soon, breached
QueueRow = tuple[str, str, int]  # council, queue, contacts due soon (the wallboard's column)
Live = tuple[list[Row], list[QueueRow]]


class StandardsCollector(Collector):
    def __init__(self, council_limit: int = 200) -> None:
        self.rows: list[Row] = []
        self.by_queue: dict[tuple[str, str], int] = {}
        self.council_limit = council_limit

    def due_soon_by_queue(self) -> dict[tuple[str, str], int]:
        return self.by_queue

    def update(self, rows: Sequence[Row], queues: Sequence[QueueRow] = ()) -> None:
        self.by_queue = {(council, queue): n for council, queue, n in queues}
        councils = sorted({r[0] for r in rows})[: self.council_limit]
        summed: dict[tuple[str, str], list[int]] = {}
        for council, standard, due_soon, breached in rows:
            key = (council if council in councils else "other", standard)
            acc = summed.setdefault(key, [0, 0])
            acc[0] += due_soon
            acc[1] += breached
        self.rows = [(c, s, d, b) for (c, s), (d, b) in sorted(summed.items())]

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        due = GaugeMetricFamily(
            "contactpulse_standard_due_soon",
            "Contacts whose standard's milestone is pending and due within the next working day.",
            labels=LABELS,
        )
        breached = CounterMetricFamily(
            "contactpulse_standard_breached", "Standards' verdicts that became final and not met.", labels=LABELS
        )
        for council, standard, due_soon, count in self.rows:
            due.add_metric([council, standard], due_soon)
            breached.add_metric([council, standard], count)
        yield due
        yield breached


def horizons(calendars: Calendars, councils: Sequence[str], now_us: int) -> dict[str, int]:
    """Each council's end of the next working day (the start of the day after it), in microseconds."""
    out = {}
    for council in councils:
        end = calendars.of(council).due_after_working_days(now_us, 1, None)
        out[council] = end if end is not None else now_us
    return out


def read(store: Store, calendars: Calendars) -> Live:
    """On the writer thread: the due-soon and breached counts by council and standard, and by queue."""
    now_us = int(time.time() * US)
    councils = list(store.watermarks())
    return store.standards_live(horizons(calendars, councils, now_us), horizons(calendars, ["-"], now_us)["-"])


async def refresh(
    collector: StandardsCollector,
    run_on_writer: Callable[
        [Callable[[], tuple[list[Row], list[QueueRow]]]], Awaitable[tuple[list[Row], list[QueueRow]]]
    ],
    store: Store,
    calendars: Calendars,
    every: float = REFRESH_SECONDS,
) -> None:
    while True:
        try:
            collector.update(*await run_on_writer(lambda: read(store, calendars)))
        except Exception as exc:  # a failed read keeps the last values; the writer's own failure stops it
            log.warning("cannot read the standards' verdicts: %s", str(exc).splitlines()[0] if str(exc) else exc)
        await asyncio.sleep(every)
