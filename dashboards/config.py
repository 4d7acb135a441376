"""dashboards/config.toml as typed values."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.measures import ABANDONMENT, SERVICE_LEVEL

HERE = Path(__file__).parent
CONFIG = HERE / "config.toml"
KINDS = ("wait_warning_seconds", "wait_critical_seconds", "hold_seconds", "service_level_target")


@dataclass(frozen=True)
class Override:
    """A threshold for one council's channel, one queue in every council, or one council's queue."""

    council: str | None
    channel: str
    queue: str | None
    values: dict[str, float]

    @property
    def level(self) -> str:
        return "council_queue" if self.council and self.queue else ("council" if self.council else "queue")


@dataclass(frozen=True)
class AlertSettings:
    abandonment_rate_max: float = ABANDONMENT.target or 0.0  # the target's one home: pipelines/measures.py
    min_offered_per_hour: int = 20
    source_silent_seconds: int = 1800
    pipeline_stalled_seconds: int = 300
    dead_letters_per_10m: int = 10
    for_wait: str = "1m"
    for_hold: str = "1m"
    for_rates: str = "15m"
    for_source: str = "5m"
    for_pipeline: str = "5m"
    for_dead_letters: str = "10m"
    for_label_cap: str = "5m"
    standard_due_soon_max: int = 25  # contacts due within the next working day, per council and standard
    for_standards: str = "15m"


@dataclass(frozen=True)
class Config:
    runbook_base: str
    channels: dict[str, dict[str, float]]
    overrides: list[Override] = field(default_factory=list)
    alerts: AlertSettings = field(default_factory=AlertSettings)


def load(path: Path = CONFIG) -> Config:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    channels = {name: {k: float(v) for k, v in values.items()} for name, values in raw["channels"].items()}
    for name, values in channels.items():
        target = SERVICE_LEVEL.target_for(name)
        if "service_level_target" in values or target is None:
            raise ValueError(
                f"{path}: channel {name}'s service-level target is TARGETS' in pipelines/measures.py "
                "(an override may set one for a council or a queue)"
            )
        values["service_level_target"] = target
        missing = [k for k in KINDS if k not in values]
        if missing:
            raise ValueError(f"{path}: channel {name} lacks {', '.join(missing)}")
    overrides = []
    for o in raw.get("overrides", []):
        values = {k: float(v) for k, v in o.items() if k in KINDS}
        if not (o.get("council") or o.get("queue")):
            raise ValueError(f"{path}: an override names a council, a queue, or both")
        overrides.append(Override(o.get("council"), o["channel"], o.get("queue"), values))
    alerts = raw.get("alerts", {})
    if "abandonment_rate_max" in alerts:
        raise ValueError(f"{path}: abandonment_rate_max is the abandonment target, TARGETS' in pipelines/measures.py")
    return Config(raw["runbook_base"], channels, overrides, AlertSettings(**alerts))
