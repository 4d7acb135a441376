"""The configurable parameters of METRICS.md, as a plain frozen value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

DEFAULT_SL_SECONDS: Mapping[str, float] = MappingProxyType(
    {"phone": 20, "webchat": 60, "video": 60, "face_to_face": 900, "social": 86400, "email": 432000}
)
DEFAULT_UNIT_COSTS: Mapping[str, float] = MappingProxyType({"face_to_face": 8.62, "phone": 2.83, "web": 0.15})


@dataclass(frozen=True, slots=True)
class MetricRules:
    sl_seconds: Mapping[str, float] = field(default_factory=lambda: DEFAULT_SL_SECONDS)
    short_abandon_seconds: float = 5.0
    contact_timeout_seconds: float = 86400.0
    fcr_window_days: int = 7
    unit_costs: Mapping[str, float] = field(default_factory=lambda: DEFAULT_UNIT_COSTS)
