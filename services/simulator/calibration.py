"""Simulator parameters measured on the Technion bank records (see services/adapters/technion.py).

``calibrate(raw_dir)`` recomputes them; ``CALIBRATION`` holds the values committed
here, and a test checks that the two agree when the data are present.

- hour_profile: share of calls arriving in each hour of the day (24 values).
- weekday_profile: share by weekday, Monday first. The bank's week ran Sunday to
  Thursday with a short Friday; its first working day is mapped to Monday.
- service_log_mu / service_log_sigma: lognormal talk time of answered calls.
- patience_mean_seconds: mean of an exponential patience that reproduces the
  observed abandonment share given the observed waits (abandon share a, mean
  wait of answered w: patience = w / -ln(1 - a)).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from services.ingest.technion import read_calls


@dataclass(frozen=True)
class Calibration:
    hour_profile: tuple[float, ...]
    weekday_profile: tuple[float, ...]
    service_log_mu: float
    service_log_sigma: float
    abandon_share: float
    mean_wait_answered_seconds: float
    patience_mean_seconds: float


CALIBRATION = Calibration(
    hour_profile=(
        0.004, 0.0015, 0.0008, 0.0004, 0.0003, 0.0008, 0.0041, 0.028, 0.0612, 0.0796, 0.09, 0.0798,
        0.0721, 0.0727, 0.0733, 0.0708, 0.0701, 0.0564, 0.0473, 0.0403, 0.0383, 0.0419, 0.038, 0.0284,
    ),
    weekday_profile=(0.204, 0.177, 0.179, 0.172, 0.177, 0.067, 0.024),
    service_log_mu=4.621,
    service_log_sigma=1.26,
    abandon_share=0.2449,
    mean_wait_answered_seconds=102.97,
    patience_mean_seconds=367,
)  # fmt: skip


def calibrate(raw_dir: Path) -> Calibration:
    hours: Counter[int] = Counter()
    weekdays: Counter[int] = Counter()
    queued = abandoned = 0
    waits: list[int] = []
    logs: list[float] = []
    for path in sorted(raw_dir.glob("*_1999.txt")):
        for c in read_calls(path):
            hours[c.vru_entry // 3600 % 24] += 1
            weekdays[c.day.weekday()] += 1
            if c.q_start is not None:
                queued += 1
                if c.outcome == "HANG":
                    abandoned += 1
                elif c.outcome == "AGENT":
                    waits.append(c.q_time)
            if c.outcome == "AGENT" and c.ser_time > 0:
                logs.append(math.log(c.ser_time))
    total_h, total_w = sum(hours.values()), sum(weekdays.values())
    israeli = [weekdays[d] / total_w for d in range(7)]  # Monday=0 ... Sunday=6
    share = abandoned / queued
    mean_wait = statistics.mean(waits)
    return Calibration(
        hour_profile=tuple(round(hours[h] / total_h, 4) for h in range(24)),
        weekday_profile=tuple(round(x, 3) for x in [israeli[6], *israeli[0:4], israeli[4], israeli[5]]),
        service_log_mu=round(statistics.mean(logs), 3),
        service_log_sigma=round(statistics.pstdev(logs), 2),
        abandon_share=round(share, 4),
        mean_wait_answered_seconds=round(mean_wait, 2),
        patience_mean_seconds=round(mean_wait / -math.log(1 - share)),
    )
