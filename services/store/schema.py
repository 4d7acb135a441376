"""The DuckDB schema, declared once: each table's columns, from which the DDL, the Arrow tables the writes
hand DuckDB, the staging table and the SQL select lists all derive.

The event columns are ``pipelines.events.Event``'s fields and the contact columns ``ContactFacts``'s, in
their order, typed from their annotations: times (``t`` and ``*_at``, integer microseconds in Python) are
TIMESTAMPTZ in DuckDB, and the event time ``t`` is stored as ``time``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from operator import attrgetter

import pyarrow as pa

from pipelines.events import Event
from schemas.facts import ContactFacts
from services.store.writers import WRITE_TOKEN_DDL

TS = pa.timestamp("us", tz="UTC")
_SQL = {str: "VARCHAR", float: "DOUBLE", int: "INTEGER", bool: "BOOLEAN"}
_ARROW = {
    "TIMESTAMPTZ": TS,
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
    "BIGINT": pa.int64(),
}


@dataclass(frozen=True, slots=True)
class Column:
    attr: str  # the Python field
    name: str  # the DuckDB column
    sql: str  # its DuckDB type

    @property
    def is_time(self) -> bool:
        return self.sql == "TIMESTAMPTZ"

    @property
    def arrow(self) -> pa.DataType:
        return _ARROW[self.sql]


def _columns(cls: type, names: Sequence[str], renamed: dict[str, str] | None = None) -> tuple[Column, ...]:
    hints = typing.get_type_hints(cls)
    out = []
    for attr in names:
        hint = hints[attr]
        base = next(a for a in typing.get_args(hint) if a is not types.NoneType) if typing.get_args(hint) else hint
        sql = "TIMESTAMPTZ" if attr == "t" or attr.endswith("_at") else _SQL[base]
        out.append(Column(attr, (renamed or {}).get(attr, attr), sql))
    return tuple(out)


EVENTS = _columns(Event, Event._fields, {"t": "time"})
FACTS = _columns(ContactFacts, [f.name for f in dataclasses.fields(ContactFacts)])
EVENT_FIELDS = ", ".join(c.attr for c in EVENTS)  # an Event's fields, in order (staging and SQL's own rows)
# contact_events' columns as an Event's fields (times in microseconds)
EVENT_FIELDS_FROM_STORED = ", ".join(f"epoch_us({c.name}) AS {c.attr}" if c.is_time else c.name for c in EVENTS)
# an Event's fields (times in microseconds) as contact_events' columns
STORED_FROM_EVENT_FIELDS = ", ".join(
    f"to_timestamp(0) + to_microseconds({c.attr})" if c.is_time else c.attr for c in EVENTS
)
# the staging table of bulk replay: a line number, then an Event's fields (times in microseconds)
STAGING = (("seq", pa.int64()), *((c.attr, pa.int64() if c.is_time else c.arrow) for c in EVENTS))


# contact_standards: a standard's verdict on a contact (METRICS.md section 5), rows of pipelines.standards.VerdictRow
VERDICTS = (
    Column("council", "council", "VARCHAR"),
    Column("contact_id", "contact_id", "VARCHAR"),
    Column("standard", "standard", "VARCHAR"),
    Column("due_at", "due_at", "TIMESTAMPTZ"),
    Column("met", "met", "BOOLEAN"),
    Column("final", "final", "BOOLEAN"),
)


def verdicts_table(rows: Sequence[tuple[object, ...]]) -> pa.Table:
    """Verdict rows (times in microseconds) as an Arrow table of contact_standards' columns."""
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in VERDICTS]
    return pa.table({c.name: pa.array(v, type=c.arrow) for c, v in zip(VERDICTS, cols, strict=True)})


RETENTION_DDL = [  # contacts whose raw events retention deleted (their facts are kept in contacts)
    "CREATE TABLE IF NOT EXISTS retired_contacts (council VARCHAR, contact_id VARCHAR, "
    "retired_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (council, contact_id))",
    "CREATE TABLE IF NOT EXISTS retention_log (applied_at TIMESTAMPTZ NOT NULL, horizon TIMESTAMPTZ NOT NULL, "
    "contacts BIGINT, events BIGINT, rejected_lines BIGINT)",
]
ERASURE_DDL = [  # the right to erasure (services/store/erasure.py)
    "CREATE TABLE IF NOT EXISTS erasure_salt (salt VARCHAR NOT NULL)",
    "CREATE TABLE IF NOT EXISTS erased_refs (ref_hash VARCHAR PRIMARY KEY, erased_at TIMESTAMPTZ NOT NULL)",
    "CREATE TABLE IF NOT EXISTS erased_contacts (council VARCHAR, contact_id VARCHAR, erased_at TIMESTAMPTZ NOT NULL, "
    "PRIMARY KEY (council, contact_id))",
    "CREATE TABLE IF NOT EXISTS erasure_audit (erased_at TIMESTAMPTZ NOT NULL, contacts BIGINT, events BIGINT, "
    "fcr_verdicts BIGINT, rejected_lines BIGINT)",
]


def ddl(lake: bool = False) -> list[str]:
    """The tables, as CREATE statements; ``lake``: without keys (a DuckLake table has none; its writers
    keep the same rows unique, by MERGE and by dropping ids already stored), with the write token."""
    stmts = _ddl()
    if not lake:
        return stmts
    return [_NO_KEYS.sub("", s) for s in stmts] + list(WRITE_TOKEN_DDL)


_NO_KEYS = re.compile(r",\s*PRIMARY KEY \([^)]*\)| PRIMARY KEY")


def _ddl() -> list[str]:
    events = ", ".join(f"{c.name} {c.sql}" for c in EVENTS)
    facts = ", ".join(f"{c.name} {c.sql}" for c in FACTS)
    staging = ", ".join(f"{c.attr} {'BIGINT' if c.is_time else c.sql}" for c in EVENTS)
    return [
        f"CREATE TABLE IF NOT EXISTS contact_events ({events}, ingested_at TIMESTAMPTZ)",
        f"CREATE TABLE IF NOT EXISTS contacts ({facts})",
        # a database made before the fact existed gains its column, last, as ContactFacts has it
        "ALTER TABLE contacts ADD COLUMN IF NOT EXISTS opened_out_of_hours BOOLEAN",
        "CREATE TABLE IF NOT EXISTS contact_standards (council VARCHAR, contact_id VARCHAR, standard VARCHAR, "
        "due_at TIMESTAMPTZ, met BOOLEAN, final BOOLEAN NOT NULL, PRIMARY KEY (council, contact_id, standard))",
        "CREATE TABLE IF NOT EXISTS rejected_events (raw_sha256 VARCHAR PRIMARY KEY, reason VARCHAR NOT NULL, "
        "detail VARCHAR, raw VARCHAR NOT NULL, origin VARCHAR, rejected_at TIMESTAMPTZ NOT NULL)",
        "CREATE TABLE IF NOT EXISTS fcr_verdicts (council VARCHAR, contact_id VARCHAR, fcr_eligible BOOLEAN NOT NULL, "
        "has_repeat BOOLEAN, first_contact_resolved BOOLEAN, PRIMARY KEY (council, contact_id))",
        "CREATE TABLE IF NOT EXISTS watermarks (council VARCHAR PRIMARY KEY, watermark TIMESTAMPTZ NOT NULL)",
        "CREATE TABLE IF NOT EXISTS consumer_offsets (topic VARCHAR, partition INTEGER, next_offset BIGINT NOT NULL, "
        "committed_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (topic, partition))",
        # on a lake: the partition each contact's events come from, for the consumer a rebalance gives it to
        "CREATE TABLE IF NOT EXISTS contact_partitions (council VARCHAR, contact_id VARCHAR, "
        "partition INTEGER NOT NULL, PRIMARY KEY (council, contact_id))",
        f"CREATE OR REPLACE TEMP TABLE _staging_schema (seq BIGINT, {staging})",
        *ERASURE_DDL,
        *RETENTION_DDL,
    ]


def arrow_table(rows: Sequence[object], columns: Sequence[Column]) -> pa.Table:
    """Rows (Events or ContactFacts) as an Arrow table with the columns' DuckDB names and types."""
    attrs = [c.attr for c in columns]
    if not rows:
        cols: list[tuple[object, ...]] = [() for _ in columns]
    elif getattr(rows[0], "_fields", None) == tuple(attrs):  # NamedTuples in column order (events): half the cost
        cols = list(zip(*rows, strict=True))
    else:
        cols = list(zip(*map(attrgetter(*attrs), rows), strict=True))
    return pa.table({c.name: pa.array(v, type=c.arrow) for c, v in zip(columns, cols, strict=True)})


@cache
def sql_text(name: str) -> str:
    """A statement from ``services/store/sql/``, read once per process (the consumer runs fcr.sql on every write)."""
    return resources.files("services.store").joinpath("sql", name).read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class RejectedMessage:
    """A row of ``rejected_events``: a bad message, unchanged, with its reason."""

    raw: bytes
    reason: str
    detail: str
    origin: str  # "file.jsonl:12" or "topic/partition/offset"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()
