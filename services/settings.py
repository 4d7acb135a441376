"""One frozen settings object: environment variables (``CONTACTPULSE_*``) over an
optional TOML file over the defaults of METRICS.md.

Maps (``sl_seconds``, ``unit_costs``) are merged into the defaults key by key;
set a channel to ``null`` in TOML/JSON to unset it (no threshold, cost unknown).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from pipelines.calendar import DEFAULT_TIMEZONE
from pipelines.rules import DEFAULT_SL_SECONDS, DEFAULT_UNIT_COSTS, MetricRules
from pipelines.standards import Standard, standard_of
from pipelines.working_time import Calendars, calendar_of
from schemas.events import COUNCIL_PATTERN, Channel
from services.store.location import Location, parse_location
from services.store.retention import MIN_RETENTION_DAYS

CONFIG_ENV = "CONTACTPULSE_CONFIG"


class ConfigError(ValueError):
    """A bad setting, with a one-line message for the user."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTACTPULSE_", frozen=True, extra="forbid")

    # metric rules (METRICS.md)
    sl_seconds: dict[Channel, float] = Field(
        default_factory=lambda: {Channel(k): v for k, v in DEFAULT_SL_SECONDS.items()}
    )
    short_abandon_seconds: float = Field(5.0, ge=0)
    contact_timeout_seconds: float = Field(86400.0, gt=0)
    fcr_window_days: int = Field(7, ge=1, le=366)
    unit_costs: dict[Channel, float] = Field(
        default_factory=lambda: {Channel(k): v for k, v in DEFAULT_UNIT_COSTS.items()}
    )
    # label values from input with series of their own; beyond these, "other" (pipelines/labels.py)
    queue_label_limit: int = Field(200, ge=1)  # per council
    council_label_limit: int = Field(200, ge=1)
    source_label_limit: int = Field(1000, ge=1)
    # the calendar of every day, week, month and quarter (METRICS.md section 3)
    timezone: str = DEFAULT_TIMEZONE

    # the wallboard: a queue's longest wait turns amber, then red, at these
    wallboard_amber_seconds: float = Field(120.0, gt=0)
    wallboard_red_seconds: float = Field(300.0, gt=0)

    # Kafka
    kafka_bootstrap: str = "127.0.0.1:9092"
    events_topic: str = "contact.events.v1"
    dlq_topic: str = "contact.events.dlq.v1"
    # vendors' webhook payloads, as the gateway kept them, before the mapper makes contract events of them
    webhooks_topic: str = "contact.webhooks.v1"
    consumer_group: str = "contactpulse-consumer"
    # one-shot commands (simulate, topic creation) give up on an unreachable broker after this long
    kafka_wait_seconds: float = Field(15.0, ge=0)
    topic_partitions: int = Field(6, ge=1)
    # how every client connects (services/kafka.py KafkaSecurity); the password from the environment or a file
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_username: str = ""
    kafka_password: SecretStr = SecretStr("")  # CONTACTPULSE_KAFKA_PASSWORD
    kafka_password_file: str = ""
    kafka_ca_file: str = ""
    kafka_cert_file: str = ""  # mutual TLS: this client's certificate and key
    kafka_key_file: str = ""

    # live metrics endpoint
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9464, ge=0, le=65535)
    # TLS and basic auth for /metrics, /wallboard.json and the gateway (exporter-toolkit's web-config.yml)
    web_config: str = ""

    # DuckDB: the most memory each process lets it use (it spills to FILE.tmp beyond), and replay's transaction
    duckdb_memory_limit: str = Field("384MB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$")
    replay_chunk_events: int = Field(250_000, ge=1)  # with 384MB: 4M events replayed within 1.4 GB

    # the HTTP ingest gateway
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(8088, ge=0, le=65535)
    gateway_tokens: str = "gateway-tokens.json"  # the tokens file (hashes only); CONTACTPULSE_GATEWAY_TOKENS
    gateway_webhooks: str = "webhooks.toml"  # vendors' webhooks ([webhook.NAME] tables); none if it is absent
    gateway_max_body_bytes: int = Field(1 << 20, ge=1024)
    gateway_max_events: int = Field(500, ge=1)
    gateway_rate_per_second: float = Field(5000.0, gt=0)  # events a second, per token
    gateway_burst: float = Field(10000.0, gt=0)
    gateway_webhook_rate_per_second: float = Field(20.0, gt=0)  # webhook requests a second, per token
    gateway_webhook_burst: float = Field(100.0, ge=1)
    gateway_read_timeout_seconds: float = Field(30.0, gt=0)  # a request's headers, then its body: else 408
    gateway_max_connections: int = Field(1000, ge=1)  # open connections; past it, 503 and closed
    gateway_liveness_seconds: float = Field(120.0, gt=0)  # /healthz answers 503 once unable to publish so long

    # the store: a DuckDB file, or a DuckLake URI (ducklake:postgres:...; services/store/location.py) whose
    # Parquet files go under ducklake_data_path; --db overrides db
    db: str = ""
    ducklake_data_path: str = ""
    # a lake's maintenance (merging small files, expiring snapshots, removing unused files) this often (0: never)
    lake_maintenance_seconds: float = Field(3600.0, ge=0)

    # raw events and rejected lines deleted once this many days old (0 keeps them; facts are always kept)
    retention_days: int = Field(0, ge=0)

    # readers: the consumer writes FILE.snapshot.duckdb this often (0 disables)
    snapshot_seconds: float = Field(60.0, ge=0)

    # the simulated partnership
    councils: tuple[str, ...] = ("boston", "east-lindsey", "south-holland")

    # customer care standards (METRICS.md section 5): working calendars ([calendars.default], [calendars.COUNCIL])
    # and the councils' published standards ([[standards]])
    calendars: dict[str, dict[str, Any]] = Field(default_factory=dict)
    standards: tuple[dict[str, Any], ...] = ()

    @field_validator("sl_seconds", "unit_costs", mode="before")
    @classmethod
    def _merge_defaults(cls, value: Any, info: Any) -> Any:
        if not isinstance(value, dict):
            return value
        base = dict(DEFAULT_SL_SECONDS if info.field_name == "sl_seconds" else DEFAULT_UNIT_COSTS)
        base.update(value)
        return {k: v for k, v in base.items() if v is not None}

    @field_validator("sl_seconds", "unit_costs")
    @classmethod
    def _non_negative(cls, value: dict[Channel, float]) -> dict[Channel, float]:
        bad = [k.value for k, v in value.items() if v < 0]
        if bad:
            raise ValueError(f"negative value for {', '.join(bad)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name, such as Europe/London)") from None
        return value

    @field_validator("calendars")
    @classmethod
    def _calendars(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name, table in value.items():
            if name != "default" and not re.fullmatch(COUNCIL_PATTERN, name):
                raise ValueError(f"{name!r} is neither default nor a council slug")
            try:
                calendar_of(table)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return value

    @field_validator("standards")
    @classmethod
    def _standards(cls, value: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
        names: set[str] = set()
        for i, table in enumerate(value):
            try:
                name = standard_of(table).name
            except ValueError as exc:
                raise ValueError(f"[{i}] ({table.get('name', 'no name')}): {exc}") from None
            if name in names:
                raise ValueError(f"[{i}]: a second standard named {name!r}")
            names.add(name)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.wallboard_amber_seconds > self.wallboard_red_seconds:
            raise ValueError("wallboard_amber_seconds must not be over wallboard_red_seconds")
        if 0 < self.retention_days < MIN_RETENTION_DAYS:
            raise ValueError(f"retention_days is 0 (keep) or at least {MIN_RETENTION_DAYS} (late surveys and wrap-ups)")
        held = self.contact_timeout_seconds + (self.fcr_window_days + 1) * 86400  # the consumer's memory of a contact
        if self.retention_days and self.retention_days * 86400 <= held:
            raise ValueError(
                "retention_days must be longer than contact_timeout_seconds, fcr_window_days and a day "
                "together (the consumer keeps a quiet contact that long)"
            )
        if self.gateway_burst < self.gateway_max_events:
            raise ValueError("gateway_burst must be at least gateway_max_events (a full batch could never pass)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if settings_cls.model_config.get("toml_file"):
            sources += (TomlConfigSettingsSource(settings_cls),)
        return sources

    def topics(self, partitions: int | None = None) -> dict[str, int]:
        """Every topic the pipeline uses, with its partition count."""
        n = partitions or self.topic_partitions
        return {self.events_topic: n, self.dlq_topic: 1, self.webhooks_topic: n}

    def working_calendars(self) -> Calendars:
        """Each council's working calendar: its own table, else ``[calendars.default]``, else the built-in."""
        tables = {name: calendar_of(t, self.timezone) for name, t in self.calendars.items()}
        return Calendars(tables.pop("default", calendar_of({}, self.timezone)), tables)

    def care_standards(self) -> tuple[Standard, ...]:
        return tuple(standard_of(t) for t in self.standards)

    def location(self, db: str | None = None) -> Location:
        """Where the data lives: ``--db`` if given, else the ``db`` setting (one line if neither)."""
        return parse_location(db or self.db, self.ducklake_data_path)

    def rules(self) -> MetricRules:
        return MetricRules(
            sl_seconds={k.value: v for k, v in self.sl_seconds.items()},
            short_abandon_seconds=self.short_abandon_seconds,
            contact_timeout_seconds=self.contact_timeout_seconds,
            fcr_window_days=self.fcr_window_days,
            unit_costs={k.value: v for k, v in self.unit_costs.items()},
            standards=self.care_standards(),
            calendars=self.working_calendars(),
        )


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from env over ``config_file`` (TOML) over defaults; ConfigError if invalid."""
    cls: type[Settings] = Settings
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"config file not found: {config_file}")
        try:
            tomllib.loads(config_file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:  # its message ends "(at line L, column C)"
            raise ConfigError(f"{config_file} is not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {config_file}: {exc}") from None
        cls = type("FileSettings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": config_file}})
    try:
        return cls(**overrides)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"invalid setting {where}: {message}" if where else f"invalid settings: {message}") from None
    except ValueError as exc:  # e.g. a TOML syntax error
        raise ConfigError(f"invalid config: {exc}") from None
