"""The DuckDB store: one writer process per file (DuckDB's rule), readers open it read-only.

Tables (see README "Data model"):
- ``contact_events``: one row per distinct valid event. ``id`` is the key, kept by the writers (both
  drop ids already stored), not by an index: a primary key's index doubled the cost of storing a
  million events and tripled the file;
- ``contacts``: one row per contact, the facts of METRICS.md section 1;
- ``rejected_events``: each distinct bad message with its reason;
- ``watermarks``: the latest event time per council;
- ``consumer_offsets``: the next offset per topic partition, written in the same
  transaction as the batch's effects (the streaming consumer seeks to them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from operator import attrgetter
from pathlib import Path
from typing import ForwardRef

import duckdb
import pyarrow as pa

from pipelines.engine import ContactKey
from pipelines.events import Event
from pipelines.facts import HANDLED, OPEN, SELF_SERVED, TIMED_OUT
from pipelines.fcr import DAY_US, FcrInput, verdicts
from pipelines.rules import MetricRules
from schemas.facts import ContactFacts

TS = pa.timestamp("us", tz="UTC")
_LATER_WATERMARK = "ON CONFLICT (council) DO UPDATE SET watermark = greatest(watermarks.watermark, excluded.watermark)"
EVENT_COLUMNS = list(Event._fields)
FACT_COLUMNS = [f.name for f in dataclasses.fields(ContactFacts)]
_SQL_TYPES = {"str": "VARCHAR", "float": "DOUBLE", "int": "INTEGER", "bool": "BOOLEAN"}


@cache
def sql_text(name: str) -> str:
    """A statement from ``services/sql/``, read once per process (the consumer runs fcr.sql on every write)."""
    return resources.files("services.store").joinpath("sql", name).read_text(encoding="utf-8")


def _is_time(name: str) -> bool:
    return name == "t" or name.endswith("_at")


def _column_types(cls: type) -> dict[str, str]:
    """SQL types from a dataclass's or NamedTuple's annotations (strings: ``from __future__ import annotations``)."""
    out = {}
    for name, annotation in cls.__annotations__.items():
        text = annotation.__forward_arg__ if isinstance(annotation, ForwardRef) else str(annotation)
        base = text.split(" |")[0]
        out[name] = "TIMESTAMPTZ" if _is_time(name) else _SQL_TYPES[base]
    return out


def _arrow_type(sql: str) -> pa.DataType:
    return {
        "TIMESTAMPTZ": TS,
        "VARCHAR": pa.string(),
        "DOUBLE": pa.float64(),
        "INTEGER": pa.int32(),
        "BOOLEAN": pa.bool_(),
    }[sql]


EVENT_TYPES = {("time" if k == "t" else k): v for k, v in _column_types(Event).items()}
FACT_TYPES = _column_types(ContactFacts)


def _ddl() -> list[str]:
    events = ", ".join(f"{k} {v}" for k, v in EVENT_TYPES.items())
    facts = ", ".join(f"{k} {v}" for k, v in FACT_TYPES.items())
    return [
        f"CREATE TABLE IF NOT EXISTS contact_events ({events}, ingested_at TIMESTAMPTZ)",
        f"CREATE TABLE IF NOT EXISTS contacts ({facts})",
        "CREATE TABLE IF NOT EXISTS rejected_events (raw_sha256 VARCHAR PRIMARY KEY, reason VARCHAR NOT NULL, "
        "detail VARCHAR, raw VARCHAR NOT NULL, origin VARCHAR, rejected_at TIMESTAMPTZ NOT NULL)",
        "CREATE TABLE IF NOT EXISTS fcr_verdicts (council VARCHAR, contact_id VARCHAR, fcr_eligible BOOLEAN NOT NULL, "
        "has_repeat BOOLEAN, first_contact_resolved BOOLEAN, PRIMARY KEY (council, contact_id))",
        "CREATE TABLE IF NOT EXISTS watermarks (council VARCHAR PRIMARY KEY, watermark TIMESTAMPTZ NOT NULL)",
        "CREATE TABLE IF NOT EXISTS consumer_offsets (topic VARCHAR, partition INTEGER, next_offset BIGINT NOT NULL, "
        "committed_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (topic, partition))",
    ]


def eligible_key(c: FcrInput) -> bool:
    """Contacts with both a customer_ref and a service can repeat each other; others stand alone."""
    return c.customer_ref is not None and c.service is not None


@dataclass(frozen=True, slots=True)
class RejectedMessage:
    raw: bytes
    reason: str
    detail: str
    origin: str  # "file.jsonl:12" or "topic/partition/offset"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()


def _table(rows: Sequence[object], columns: Sequence[str], types: dict[str, str], names: Sequence[str]) -> pa.Table:
    if not rows:
        cols: list[tuple[object, ...]] = [() for _ in columns]
    elif getattr(rows[0], "_fields", None) == tuple(columns):  # NamedTuples in column order (events): half the cost
        cols = list(zip(*rows, strict=True))
    else:
        cols = list(zip(*map(attrgetter(*columns), rows), strict=True))
    return pa.table({n: pa.array(c, type=_arrow_type(types[n])) for n, c in zip(names, cols, strict=True)})


class Store:
    def __init__(self, path: Path | str, read_only: bool = False, fcr_window_days: int = 7) -> None:
        self.path = Path(path)
        self.con = duckdb.connect(str(self.path), read_only=read_only)
        # reads that may run while another thread writes through ``con`` (the consumer's writer thread);
        # they see committed data only
        self.reader = self.con.cursor()
        for con in (self.con, self.reader):
            con.execute("SET enable_progress_bar = false")  # a service's log is no terminal
        if not read_only:
            for stmt in _ddl():
                self.con.execute(stmt)
            staging = ", ".join(
                f"{'t' if k == 'time' else k} {'BIGINT' if k == 'time' else v}" for k, v in EVENT_TYPES.items()
            )
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE _staging_schema (seq BIGINT, {staging})")
            self._fcr_view(fcr_window_days)
            self.con.execute(sql_text("measures.sql"))

    def _fcr_view(self, window_days: int) -> None:
        """``contact_fcr``: each verdict, final once its council's watermark is at or past started_at + W."""
        self.con.execute(
            "CREATE OR REPLACE VIEW contact_fcr AS SELECT v.council, v.contact_id, v.fcr_eligible, v.has_repeat, "
            "v.first_contact_resolved, coalesce(epoch_us(w.watermark) >= epoch_us(c.started_at) + "
            f"{window_days * DAY_US}, false) AS fcr_final "
            "FROM fcr_verdicts v JOIN contacts c USING (council, contact_id) LEFT JOIN watermarks w USING (council)"
        )

    def close(self) -> None:
        self.reader.close()
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def snapshot(self, target: Path) -> None:
        """Write a consistent copy of the database for readers (DuckDB allows one writer, no readers beside it)."""
        tmp = target.with_name(target.name + ".tmp")
        tmp.unlink(missing_ok=True)
        row = self.con.execute("SELECT current_database()").fetchone()
        assert row is not None
        self.con.execute(f"ATTACH '{tmp}' AS _snap")
        try:
            self.con.execute(f'COPY FROM DATABASE "{row[0]}" TO _snap')
        finally:
            self.con.execute("DETACH _snap")
        os.replace(tmp, target)

    # --- reads (through ``reader``) ---
    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        probe = pa.table({"id": pa.array(list(ids), type=pa.string())})
        self.reader.register("_probe", probe)
        try:
            rows = self.reader.execute("SELECT e.id FROM contact_events e JOIN _probe p USING (id)").fetchall()
        finally:
            self.reader.unregister("_probe")
        return {r[0] for r in rows}

    def load_events(self, keys: Iterable[ContactKey]) -> list[Event]:
        keys = list(keys)
        if not keys:
            return []
        probe = pa.table({"council": [k[0] for k in keys], "contact_id": [k[1] for k in keys]})
        self.reader.register("_keys", probe)
        cols = ", ".join("epoch_us(time)" if c == "t" else c for c in EVENT_COLUMNS)
        try:
            rows = self.reader.execute(
                f"SELECT {cols} FROM contact_events JOIN _keys USING (council, contact_id)"
            ).fetchall()
        finally:
            self.reader.unregister("_keys")
        return [Event(*r) for r in rows]

    def open_contacts(self) -> list[ContactKey]:
        rows = self.reader.execute("SELECT council, contact_id FROM contacts WHERE outcome = ?", [OPEN]).fetchall()
        return [(c, i) for c, i in rows]

    def outcomes(self) -> dict[str, int]:
        """Contacts by outcome, over the whole database."""
        return {o: n for o, n in self.con.execute("SELECT outcome, count(*) FROM contacts GROUP BY 1").fetchall()}

    def source_last_events(self) -> dict[str, int]:
        rows = self.reader.execute("SELECT source, epoch_us(max(time)) FROM contact_events GROUP BY source").fetchall()
        return {s: t for s, t in rows}

    def watermarks(self) -> dict[str, int]:
        rows = self.reader.execute("SELECT council, epoch_us(watermark) FROM watermarks").fetchall()
        return {c: w for c, w in rows}

    def offsets(self, topic: str) -> dict[int, int]:
        rows = self.reader.execute(
            "SELECT partition, next_offset FROM consumer_offsets WHERE topic = ?", [topic]
        ).fetchall()
        return {p: o for p, o in rows}

    # --- the one write: a batch's effects in one transaction ---
    def write_batch(
        self,
        events: Sequence[Event],
        facts: Sequence[ContactFacts],
        watermarks: dict[str, int],
        rejected: Sequence[RejectedMessage] = (),
        offsets: dict[tuple[str, int], int] | None = None,
        contact_timeout_seconds: float = 86400.0,
        fcr_window_days: int = 7,
        fcr_in_sql: bool = False,
    ) -> None:
        """The incremental path's batch: its events, the facts the engine computed, offsets; one transaction.

        FCR is judged in Python within the batch's reach, or with ``fcr_in_sql`` over the touched groups in
        DuckDB, which holds no interpreter lock (the consumer's writer thread then leaves its event loop be)."""
        now = datetime.now(UTC)
        con = self.con
        con.register("_ev", _table(events, EVENT_COLUMNS, EVENT_TYPES, list(EVENT_TYPES)))
        con.register("_facts", _table(facts, FACT_COLUMNS, FACT_TYPES, FACT_COLUMNS))
        try:
            with self._transaction():
                con.execute("INSERT INTO contact_events SELECT *, ? FROM _ev", [now])
                old_groups = self._replace_contacts()
                if watermarks:
                    values = ", ".join(["(?, to_timestamp(0) + to_microseconds(?))"] * len(watermarks))
                    con.execute(f"INSERT INTO watermarks VALUES {values} {_LATER_WATERMARK}",
                                [x for item in watermarks.items() for x in item])  # fmt: skip
                self._settle(old_groups, contact_timeout_seconds, fcr_window_days, rejected, now, fcr_in_sql)
                if offsets:
                    values = ", ".join(["(?, ?, ?, ?)"] * len(offsets))
                    params = [x for (topic, part), off in offsets.items() for x in (topic, part, off, now)]
                    con.execute(f"INSERT OR REPLACE INTO consumer_offsets VALUES {values}", params)
        finally:
            con.unregister("_ev")
            con.unregister("_facts")

    def apply_staged(self, rules: MetricRules, rejected: Sequence[RejectedMessage]) -> int:
        """The set-based path's one transaction over ``_staging``; returns the number of new events."""
        con = self.con
        sl_values = ", ".join(f"('{ch}', {float(v)!r})" for ch, v in rules.sl_seconds.items()) or "(NULL, NULL)"
        sql = sql_text("facts.sql").format(
            sl_values=sl_values, short_abandon_seconds=float(rules.short_abandon_seconds)
        )
        now = datetime.now(UTC)
        try:
            with self._transaction():
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE _new AS SELECT * EXCLUDE (seq) FROM _staging ANTI JOIN "
                    "contact_events USING (id) QUALIFY row_number() OVER (PARTITION BY id ORDER BY seq) = 1"
                )
                count = con.execute("SELECT count(*) FROM _new").fetchone()
                new = int(count[0]) if count else 0
                con.execute("CREATE OR REPLACE TEMP TABLE _affected AS SELECT DISTINCT council, contact_id FROM _new")
                con.execute(f"CREATE OR REPLACE TEMP TABLE _facts AS {sql}")  # before the new events are stored
                cols = ", ".join("to_timestamp(0) + to_microseconds(t)" if c == "t" else c for c in EVENT_COLUMNS)
                con.execute(f"INSERT INTO contact_events SELECT {cols}, ? FROM _new", [now])
                old_groups = self._replace_contacts()
                con.execute("INSERT INTO watermarks SELECT council, to_timestamp(0) + to_microseconds(max(t)) "
                            f"FROM _new GROUP BY council {_LATER_WATERMARK}")  # fmt: skip
                self._settle(old_groups, rules.contact_timeout_seconds, rules.fcr_window_days, rejected, now, True)
        finally:
            for t in ("_new", "_affected", "_facts", "_staging"):
                con.execute(f"DROP TABLE IF EXISTS {t}")
        return new

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def _replace_contacts(self) -> list[tuple[str, str, str, int]]:
        """Swap in the contacts rows held in ``_facts``; return their previous FCR keys and start times."""
        old = self._old_fcr_keys()
        self.con.execute(
            "DELETE FROM contacts USING _facts f "
            "WHERE contacts.council = f.council AND contacts.contact_id = f.contact_id"
        )
        self.con.execute("INSERT INTO contacts SELECT * FROM _facts")
        return old

    def _settle(self, old_groups: list[tuple[str, str, str, int]], timeout_seconds: float, window_days: int,
                rejected: Sequence[RejectedMessage], now: datetime, whole_groups: bool = False) -> None:  # fmt: skip
        """What follows new facts and watermarks in both paths: time-outs, FCR verdicts, rejected messages.

        FCR is judged in Python within a batch's reach (incremental replay), or in SQL over whole groups
        (bulk replay, and the consumer).
        """
        self._sweep_timeouts(timeout_seconds)
        if whole_groups:
            self._judge_groups(old_groups, window_days)
        else:
            self._update_fcr(old_groups, window_days)
        if rejected:
            self._insert_rejected(rejected, now)

    def _old_fcr_keys(self) -> list[tuple[str, str, str, int]]:
        """The group keys and start times, as stored before this batch, of the contacts in ``_facts``."""
        rows = self.con.execute(
            "SELECT c.council, c.customer_ref, c.service, epoch_us(c.started_at) FROM contacts c JOIN _facts "
            "USING (council, contact_id) WHERE c.customer_ref IS NOT NULL AND c.service IS NOT NULL"
        ).fetchall()
        return [(a, b, c, d) for a, b, c, d in rows]

    def _insert_rejected(self, rejected: Sequence[RejectedMessage], now: datetime) -> None:
        """One row per distinct bad message (by content), in one statement however many there are."""
        table = pa.table({
            "raw_sha256": [r.sha256 for r in rejected], "reason": [r.reason for r in rejected],
            "detail": [r.detail for r in rejected], "raw": [r.raw.decode("utf-8", "replace") for r in rejected],
            "origin": [r.origin for r in rejected],
        })  # fmt: skip
        self.con.register("_rejected", table)
        try:
            self.con.execute(
                "INSERT INTO rejected_events SELECT DISTINCT ON (raw_sha256) *, ? FROM _rejected "
                "ON CONFLICT DO NOTHING",
                [now],
            )
        finally:
            self.con.unregister("_rejected")

    def _update_fcr(self, old: list[tuple[str, str, str, int]], window_days: int) -> None:
        """Re-judge the contacts whose verdict a batch can change, in every group it touched (old and new keys).

        A touched contact started at s can change the verdicts of contacts of its group started in [s - W, s]
        and needs its group's contacts up to s + W to judge; ``old`` holds touched contacts' previous
        (council, customer_ref, service, started_at), since a late event can move them. Finality is not
        stored: the ``contact_fcr`` view compares each verdict's start with the council's watermark.
        """
        con = self.con
        window = window_days * DAY_US
        span = con.execute("SELECT epoch_us(min(started_at)), epoch_us(max(started_at)) FROM _facts").fetchall()
        starts = [t for t in (*span[0], *(o[3] for o in old)) if t is not None]
        if not starts:
            return
        lo, hi = min(starts) - window, max(starts)
        keys = pa.table({"council": [o[0] for o in old], "customer_ref": [o[1] for o in old],
                         "service": [o[2] for o in old]})  # fmt: skip
        con.register("_old_groups", keys)
        try:
            rows = con.execute(
                "WITH g AS (SELECT council, customer_ref, service FROM _facts "
                "           WHERE customer_ref IS NOT NULL AND service IS NOT NULL "
                "           UNION SELECT * FROM _old_groups) "
                "SELECT c.council, c.contact_id, epoch_us(c.started_at), c.outcome, c.short_abandon, "
                "       c.customer_ref, c.service, c.resolution "
                "FROM contacts c JOIN g USING (council, customer_ref, service) "
                "WHERE epoch_us(c.started_at) BETWEEN ? AND ? "
                "UNION SELECT council, contact_id, epoch_us(started_at), outcome, short_abandon, customer_ref, "
                "       service, resolution FROM _facts WHERE customer_ref IS NULL OR service IS NULL",
                [lo, hi + window],
            ).fetchall()
        finally:
            con.unregister("_old_groups")
        groups: dict[tuple[str, str | None, str | None], list[FcrInput]] = {}
        for r in rows:
            c = FcrInput(*r)
            key = (c.council, c.customer_ref, c.service) if eligible_key(c) else (c.council, None, c.contact_id)
            groups.setdefault(key, []).append(c)
        judged = {(c.council, c.contact_id) for m in groups.values() for c in m if c.started_at <= hi}
        out = [
            v for m in groups.values() for v in verdicts(m, window_days, None) if (v.council, v.contact_id) in judged
        ]
        table = pa.table({
            "council": [v.council for v in out], "contact_id": [v.contact_id for v in out],
            "fcr_eligible": pa.array([v.fcr_eligible for v in out], pa.bool_()),
            "has_repeat": pa.array([v.has_repeat for v in out], pa.bool_()),
            "first_contact_resolved": pa.array([v.first_contact_resolved for v in out], pa.bool_()),
        })  # fmt: skip
        con.register("_fcr", table)
        try:
            con.execute("INSERT OR REPLACE INTO fcr_verdicts SELECT * FROM _fcr")
        finally:
            con.unregister("_fcr")

    def _judge_groups(self, old: list[tuple[str, str, str, int]], window_days: int) -> None:
        """Every contact of each touched group judged again, in SQL (``services/sql/fcr.sql``)."""
        keys = pa.table({"council": pa.array([o[0] for o in old], pa.string()),
                         "customer_ref": pa.array([o[1] for o in old], pa.string()),
                         "service": pa.array([o[2] for o in old], pa.string())})  # fmt: skip
        self.con.register("_old_groups", keys)
        try:
            self.con.execute(sql_text("fcr.sql").format(
                window_us=window_days * DAY_US, eligible_outcomes=f"('{HANDLED}', '{SELF_SERVED}')"))  # fmt: skip
        finally:
            self.con.unregister("_old_groups")

    def _sweep_timeouts(self, timeout_seconds: float) -> None:
        """An open contact times out once its council's watermark is ``timeout`` past its last event."""
        self.con.execute(
            f"UPDATE contacts SET outcome = '{TIMED_OUT}' FROM watermarks w "
            f"WHERE contacts.outcome = '{OPEN}' AND w.council = contacts.council "
            "AND epoch_us(w.watermark) - epoch_us(contacts.last_event_at) >= ?",
            [round(timeout_seconds * 1_000_000)],
        )
