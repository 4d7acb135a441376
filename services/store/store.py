"""The DuckDB store: one writer process per file (DuckDB's rule), readers open it read-only.

Tables (see README "Data model"; columns in ``schema``):
- ``contact_events``: one row per distinct valid event. ``id`` is the key, kept by the writers (both
  drop ids already stored), not by an index: a primary key's index doubled the cost of storing a
  million events and tripled the file;
- ``contacts``: one row per contact, the facts of METRICS.md section 1;
- ``fcr_verdicts`` (read through the ``contact_fcr`` view): METRICS.md section 2;
- ``rejected_events``: each distinct bad message with its reason;
- ``watermarks``: the latest event time per council;
- ``consumer_offsets``: the next offset per topic partition, written in the same
  transaction as the batch's effects (the streaming consumer seeks to them).

Two writes, each one transaction: ``write_batch`` (the consumer's: its engine's facts) and
``apply_staged`` (replay's: staged events, whose contacts ``walk`` walked). The facts come from the
one walk (``pipelines.facts``) either way. Both end in ``settle``.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa

from pipelines.calendar import DEFAULT_TIMEZONE
from pipelines.engine import ContactKey
from pipelines.events import Event
from pipelines.facts import OPEN
from pipelines.rules import MetricRules
from pipelines.standards import verdict_rows
from schemas.facts import ContactFacts
from services.errors import UserError
from services.store.erasure import ErasedFilter, Erasure, erase
from services.store.location import LAKE_ALIAS, Location, connect_catalog, connect_lake
from services.store.maintenance import Upkeep, maintain
from services.store.readers import declare_readers, snapshot_path, write_snapshot
from services.store.retention import Retention, apply_retention
from services.store.schema import (
    EVENT_FIELDS,
    EVENT_FIELDS_FROM_STORED,
    EVENTS,
    FACTS,
    STORED_FROM_EVENT_FIELDS,
    RejectedMessage,
    arrow_table,
    ddl,
    verdicts_table,
)
from services.store.settle import insert_rejected, later_watermarks, replace_contacts, settle, unregister
from services.store.writers import (
    CommitStats,
    Turns,
    check_fence,
    commit,
    owners_table,
    store_offsets,
    wait_for_the_lake,
    waits_for_the_lake,
)

T = TypeVar("T")


class Store:
    def __init__(
        self,
        where: Location | Path | str,
        read_only: bool = False,
        fcr_window_days: int = 7,
        timezone: str = DEFAULT_TIMEZONE,
        memory_limit: str | None = None,
    ) -> None:
        self.where = where if isinstance(where, Location) else Location(str(where))
        self.lake = self.where.is_lake
        self.path: Path | None = None if self.lake else self.where.path  # a lake has no file (nor snapshot)
        self.fcr_window_days = fcr_window_days
        self.con = connect_lake(self.where, read_only) if self.lake else connect(self.where.path, read_only)
        self._local = threading.local()  # each thread's reader, in _readers too (to close them)
        self._readers: list[duckdb.DuckDBPyConnection] = []
        self.stats = CommitStats()  # a lake's commits redone after a conflict
        # a lake's writers take turns (services/store/writers.py); readers need none
        self.turns = Turns(connect_catalog(self.where)) if self.lake and not read_only else None
        self.con.execute("SET enable_progress_bar = false")  # a service's log is no terminal
        if memory_limit:
            self.con.execute("SET memory_limit = ?", [memory_limit])
        _require_icu(self.con)
        if not read_only:
            self._commit(lambda: [self.con.execute(stmt) for stmt in ddl(self.lake)], token=False)
        if self.lake:  # each connection's own: nothing for concurrent consumers to conflict over
            declare_readers(self.con, fcr_window_days, timezone, temp=True)
        elif not read_only:  # kept in the file, for its read-only readers
            declare_readers(self.con, fcr_window_days, timezone)

    @property
    def reader(self) -> duckdb.DuckDBPyConnection:
        """The calling thread's own cursor (reads see committed data only). One per thread: two threads on one
        cursor hung the consumer (``tests/unit/store/test_reader_threads.py``)."""
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self.con.cursor()
            if self.lake:  # a cursor is a connection of its own: the lake is not its default until told
                cursor.execute(f"USE {LAKE_ALIAS}")
            cursor.execute("SET enable_progress_bar = false")
            self._local.cursor = cursor
            self._readers.append(cursor)  # one call under the GIL: no lock needed
        return cursor

    def close(self) -> None:
        for cursor in self._readers:
            cursor.close()
        self.con.close()
        if self.turns is not None:
            self.turns.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def snapshot(self, target: Path) -> None:
        """A copy of the file for readers (a lake needs none: its readers see each commit)."""
        write_snapshot(self.con, target)

    # --- reads (through ``reader``) ---
    @waits_for_the_lake
    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        probe = pa.table({"id": pa.array(list(ids), type=pa.string())})
        self.reader.register("_probe", probe)
        try:
            rows = self.reader.execute("SELECT e.id FROM contact_events e JOIN _probe p USING (id)").fetchall()
        finally:
            self.reader.unregister("_probe")
        return {r[0] for r in rows}

    @waits_for_the_lake
    def load_events(self, keys: Iterable[ContactKey]) -> list[Event]:
        keys = list(keys)
        if not keys:
            return []
        probe = pa.table({"council": [k[0] for k in keys], "contact_id": [k[1] for k in keys]})
        self.reader.register("_keys", probe)
        try:
            rows = self.reader.execute(
                f"SELECT {EVENT_FIELDS_FROM_STORED} FROM contact_events JOIN _keys USING (council, contact_id)"
            ).fetchall()
        finally:
            self.reader.unregister("_keys")
        return [Event(*r) for r in rows]

    def open_contacts(self) -> list[ContactKey]:
        rows = self.reader.execute("SELECT council, contact_id FROM contacts WHERE outcome = ?", [OPEN]).fetchall()
        return [(c, i) for c, i in rows]

    @waits_for_the_lake
    def open_contacts_of(self, partitions: Iterable[int]) -> dict[ContactKey, int]:
        """The open contacts whose events come from these partitions (a lake's consumer group), with them."""
        parts = sorted(partitions)
        if not parts:
            return {}
        rows = self.reader.execute(
            "SELECT c.council, c.contact_id, p.partition FROM contacts c JOIN contact_partitions p "
            "USING (council, contact_id) WHERE c.outcome = ? AND list_contains(?, p.partition)",
            [OPEN, parts],
        ).fetchall()
        return {(c, i): p for c, i, p in rows}

    def outcomes(self) -> dict[str, int]:
        """Contacts by outcome, over the whole database."""
        return {o: n for o, n in self.con.execute("SELECT outcome, count(*) FROM contacts GROUP BY 1").fetchall()}

    @waits_for_the_lake
    def source_last_events(self) -> dict[str, int]:
        rows = self.reader.execute("SELECT source, epoch_us(max(time)) FROM contact_events GROUP BY source").fetchall()
        return {s: t for s, t in rows}

    @waits_for_the_lake
    def watermarks(self) -> dict[str, int]:
        rows = self.reader.execute("SELECT council, epoch_us(watermark) FROM watermarks").fetchall()
        return {c: w for c, w in rows}

    @waits_for_the_lake
    def standards_live(
        self, horizons: dict[str, int], default_horizon: int
    ) -> tuple[list[tuple[str, str, int, int]], list[tuple[str, str, int]]]:
        """The live series of METRICS.md section 5: per council and standard, verdicts pending and due by the
        council's horizon (microseconds) and verdicts final and not met; and the due-soon contacts per
        council and queue (the queue they were last in), for the wallboard."""
        probe = pa.table(
            {"council": pa.array(list(horizons), pa.string()), "horizon": pa.array(list(horizons.values()), pa.int64())}
        )
        soon = "NOT s.final AND epoch_us(s.due_at) <= coalesce(h.horizon, $default)"
        self.reader.register("_horizons", probe)
        try:
            series = self.reader.execute(
                f"SELECT s.council, s.standard, count(*) FILTER (WHERE {soon}), "
                "count(*) FILTER (WHERE s.final AND NOT s.met) "
                "FROM contact_standards s LEFT JOIN _horizons h USING (council) GROUP BY ALL ORDER BY 1, 2",
                {"default": default_horizon},
            ).fetchall()
            queues = self.reader.execute(
                "SELECT s.council, coalesce(c.last_queue, c.queue), count(DISTINCT s.contact_id) "
                "FROM contact_standards s JOIN contacts c USING (council, contact_id) "
                f"LEFT JOIN _horizons h USING (council) WHERE {soon} AND coalesce(c.last_queue, c.queue) IS NOT NULL "
                "GROUP BY ALL ORDER BY 1, 2",
                {"default": default_horizon},
            ).fetchall()
        finally:
            self.reader.unregister("_horizons")
        return [(c, s, int(d), int(b)) for c, s, d, b in series], [(c, q, int(n)) for c, q, n in queues]

    @waits_for_the_lake
    def offsets(self, topic: str) -> dict[int, int]:
        rows = self.reader.execute(
            "SELECT partition, next_offset FROM consumer_offsets WHERE topic = ?", [topic]
        ).fetchall()
        return {p: o for p, o in rows}

    # --- the two writes, each one transaction ---
    def write_batch(
        self,
        events: Sequence[Event],
        facts: Sequence[ContactFacts],
        watermarks: dict[str, int],
        rules: MetricRules,
        rejected: Sequence[RejectedMessage] = (),
        offsets: dict[tuple[str, int], int] | None = None,
        expected: dict[tuple[str, int], int] | None = None,
        owners: dict[ContactKey, int] | None = None,
    ) -> None:
        """Events and the facts the engine computed for them, with watermarks and offsets.

        ``expected``: each partition's stored offset as this writer last saw it (None: none stored). If
        another consumer has committed past it, the write is fenced (``Fenced``) and nothing is stored.
        ``owners``: each contact's partition, kept on a lake for the consumer a rebalance gives it to."""
        now = datetime.now(UTC)
        con = self.con
        con.register("_ev", arrow_table(events, EVENTS))
        con.register("_facts", arrow_table(facts, FACTS))
        con.register("_verdicts", verdicts_table(verdict_rows(facts, rules.standards, rules.calendars)))
        con.register("_owners", owners_table(owners or {}))

        def body() -> None:
            if offsets and expected is not None:
                check_fence(con, {tp: expected.get(tp) for tp in offsets})
            con.execute("INSERT INTO contact_events SELECT *, ? FROM _ev", [now])
            old_groups = replace_contacts(con, bool(rules.standards))
            if watermarks:
                values = ", ".join(["(?, to_timestamp(0) + to_microseconds(?))"] * len(watermarks))
                con.execute(
                    later_watermarks(f"SELECT * FROM (VALUES {values}) v (council, watermark)"),
                    [x for item in watermarks.items() for x in item],
                )
            settle(con, old_groups, rules, rejected, now)
            if offsets:
                store_offsets(con, offsets, now)
            if owners:
                con.execute(
                    "INSERT INTO contact_partitions SELECT * FROM _owners ANTI JOIN contact_partitions "
                    "USING (council, contact_id)"
                )

        try:
            self._commit(body)
        finally:
            unregister(con, "_ev", "_facts", "_verdicts", "_owners")

    def new_events(self, source: str, name: str) -> int:
        """``name``: a temp table of the staged events of ``source`` (a relation of seq and an Event's fields)
        that are new: the first line of each id, and no id stored already. Returns how many."""
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * EXCLUDE (seq) FROM {source} ANTI JOIN "
            "contact_events USING (id) QUALIFY row_number() OVER (PARTITION BY id ORDER BY seq) = 1"
        )
        return int(self.con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])

    def walk_input(self, name: str) -> pa.Table:
        """Every event of the contacts in ``name`` (new events) with those stored before, sorted by contact:
        what the walk needs for their facts, whatever share of a contact's events a write holds."""
        query = (
            f"WITH seen AS (SELECT DISTINCT council, contact_id FROM {name} "
            "SEMI JOIN contacts USING (council, contact_id)) "
            f"SELECT {EVENT_FIELDS} FROM {name} UNION ALL SELECT {EVENT_FIELDS_FROM_STORED} FROM contact_events "
            "SEMI JOIN seen USING (council, contact_id) ORDER BY council, contact_id"
        )
        table: pa.Table = self.con.sql(query).to_arrow_table()
        return table

    def apply_staged(
        self,
        name: str,
        walked: tuple[pa.Table, pa.Table],
        rules: MetricRules,
        rejected: Sequence[RejectedMessage] = (),
    ) -> None:
        """Replay's write: the new events in ``name`` (``new_events``) and the facts and standards' verdicts
        the walk made of their contacts (``walk_input``), with watermarks, time-outs and FCR."""
        con = self.con
        now = datetime.now(UTC)
        con.register("_facts", walked[0])
        con.register("_verdicts", walked[1])

        def body() -> None:
            con.execute(f"INSERT INTO contact_events SELECT {STORED_FROM_EVENT_FIELDS}, ? FROM {name}", [now])
            old_groups = replace_contacts(con, bool(rules.standards))
            con.execute(
                later_watermarks(
                    "SELECT council, to_timestamp(0) + to_microseconds(max(t)) AS watermark "
                    f"FROM {name} GROUP BY council"
                )
            )
            settle(con, old_groups, rules, rejected, now)

        try:
            self._commit(body)
        finally:
            unregister(con, "_facts", "_verdicts")

    def erase(self, ref: str, raw_values: tuple[str, ...] = ()) -> Erasure:
        """A person's contacts and events gone (services/store/erasure.py), in one transaction; on a lake,
        then from every snapshot and file too (``maintain``)."""
        done = self._commit(lambda: erase(self.con, ref, raw_values, self.fcr_window_days))
        self.maintain()
        return done

    def apply_retention(self, days: int, now: datetime | None = None) -> Retention:
        """Raw events of contacts quiet for ``days``, and rejected lines older than that, deleted; facts kept."""
        done = self._commit(lambda: apply_retention(self.con, days, now or datetime.now(UTC)))
        self.maintain()
        return done

    def maintain(self) -> Upkeep | None:
        """A lake's upkeep (services/store/maintenance.py); a file needs none."""
        if not self.lake:
            return None
        with self.turns.turn() if self.turns is not None else contextlib.nullcontext():
            return wait_for_the_lake(lambda: maintain(self.con), self.stats)

    @waits_for_the_lake
    def retired(self, keys: Iterable[ContactKey]) -> set[ContactKey]:
        """Those of these contacts whose raw events retention deleted."""
        probe = pa.table(
            {
                "council": pa.array([k[0] for k in keys], pa.string()),
                "contact_id": pa.array([k[1] for k in keys], pa.string()),
            }
        )
        self.reader.register("_retired_probe", probe)
        try:
            found = self.reader.execute(
                "SELECT council, contact_id FROM retired_contacts SEMI JOIN _retired_probe USING (council, contact_id)"
            ).fetchall()
        finally:
            self.reader.unregister("_retired_probe")
        return {(a, b) for a, b in found}

    @waits_for_the_lake
    def erased(self) -> ErasedFilter:
        return ErasedFilter.load(self.con)

    def store_rejected(self, rejected: Sequence[RejectedMessage]) -> None:
        """Bad messages on their own: each distinct one is stored once, so storing them early changes nothing."""
        if rejected:
            self._commit(lambda: insert_rejected(self.con, rejected, datetime.now(UTC)))

    def _commit(self, body: Callable[[], T], token: bool = True) -> T:
        """``body`` in one transaction; on a lake, with the write token, redone after a conflict and
        waiting out a catalog outage (``writers.commit``)."""
        return commit(self.con, body, self.lake and token, self.lake, self.stats, self.turns if token else None)


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection, or a one-line UserError: the file is held by another writer, or cannot be opened."""
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            holder = re.search(r"\(PID (\d+)\)", text)
            who = f" (PID {holder.group(1)})" if holder else ""
            raise UserError(
                f"{path} is in use by another process{who}: DuckDB allows one writer per file. Stop that process "
                f"first; to read the data while it runs, open its snapshot {snapshot_path(path).name}"
            ) from None
        raise UserError(f"cannot open {path}: {text.splitlines()[0]}") from None


def _require_icu(con: duckdb.DuckDBPyConnection) -> None:
    """The period macros need ICU's time zones; DuckDB's Python wheel links it in (no download, no extension)."""
    row = con.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'icu'").fetchone()
    if not (row and row[0]):
        raise UserError(f"this DuckDB ({duckdb.__version__}) has no ICU extension loaded: local periods need it")
