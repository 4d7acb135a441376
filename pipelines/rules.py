"""The configurable parameters of METRICS.md, as a plain frozen value, and the rules that use them alone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pipelines.standards import Standard
from pipelines.working_time import Calendars

DEFAULT_SL_SECONDS: Mapping[str, float] = MappingProxyType(
    {"phone": 20, "webchat": 60, "video": 60, "face_to_face": 900, "social": 86400, "email": 432000}
)
DEFAULT_UNIT_COSTS: Mapping[str, float] = MappingProxyType({"face_to_face": 8.62, "phone": 2.83, "web": 0.15})
US = 1_000_000


@dataclass(frozen=True, slots=True)
class MetricRules:
    sl_seconds: Mapping[str, float] = field(default_factory=lambda: DEFAULT_SL_SECONDS)
    short_abandon_seconds: float = 5.0
    contact_timeout_seconds: float = 86400.0
    fcr_window_days: int = 7
    unit_costs: Mapping[str, float] = field(default_factory=lambda: DEFAULT_UNIT_COSTS)
    # customer care standards (METRICS.md section 5) and the councils' working calendars; none by default
    standards: tuple[Standard, ...] = ()
    calendars: Calendars = field(default_factory=Calendars)

    @property
    def timeout_us(self) -> int:
        return round(self.contact_timeout_seconds * US)


# The time-out rule (METRICS.md section 1, outcome): an open contact times out once its council's
# watermark is contact_timeout_seconds or more past its last event. Python's form and DuckDB's.
def timed_out(last_event_us: int, watermark_us: int | None, timeout_us: int) -> bool:
    return watermark_us is not None and watermark_us - last_event_us >= timeout_us


TIMED_OUT_SQL = "epoch_us({watermark}) - epoch_us({last_event}) >= {timeout_us}"
