"""The right to erasure: a person's contacts and events removed from every table ContactPulse keeps, and
kept out afterwards.

``erase`` (one transaction, with the consumer stopped: one writer per DuckDB file) deletes every contact
whose facts or any of whose events carry the ``customer_ref``, their events, their FCR verdicts, and the
rejected lines that contain the ref (or the raw identifier it was made from); judges again the FCR
groups those contacts were in; writes an audit row (when, and how many rows; not who). The ref is kept
only as a salted SHA-256 (the salt is random and lives in this file), with the keys of the contacts
erased with it: the consumer and replay drop an event that carries the ref, or belongs to one of those
contacts, even one with no ref of its own, and count it (EVENTS.md, "Bad input").
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from pipelines.events import Event
from services.store.settle import judge_groups

# the staged events of a replay that belong to an erased person ({salt} filled in)
ERASED_STAGED = (
    "(council, contact_id) IN (SELECT council, contact_id FROM erased_contacts) OR (customer_ref IS NOT NULL "
    "AND sha256('{salt}' || customer_ref) IN (SELECT ref_hash FROM erased_refs))"
)


@dataclass(frozen=True)
class Erasure:
    contacts: int
    events: int
    fcr_verdicts: int
    rejected_lines: int
    groups_judged: int


def salt(con: duckdb.DuckDBPyConnection, create: bool = False) -> str | None:
    found = con.execute("SELECT salt FROM erasure_salt").fetchall()  # fetchall: no result left open
    row = found[0] if found else None
    if row is None and create:
        value = secrets.token_hex(16)
        con.execute("INSERT INTO erasure_salt VALUES (?)", [value])
        return value
    return None if row is None else str(row[0])


def ref_hash(salt_value: str, ref: str) -> str:
    return hashlib.sha256((salt_value + ref).encode()).hexdigest()


def erase(con: duckdb.DuckDBPyConnection, ref: str, raw_values: tuple[str, ...], fcr_window_days: int) -> Erasure:
    """Everything of ``ref`` gone, in the caller's transaction; ``raw_values``: the identifier it was made
    from, in the forms a bad line could hold it (rejected lines that contain one are removed too)."""
    now = datetime.now(UTC)
    value = salt(con, create=True)
    assert value is not None
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _erase AS SELECT DISTINCT council, contact_id FROM "
        "(SELECT council, contact_id FROM contacts WHERE customer_ref = $ref UNION "
        "SELECT council, contact_id FROM contact_events WHERE customer_ref = $ref)",
        {"ref": ref},
    )
    groups = con.execute(
        "SELECT DISTINCT c.council, c.customer_ref, c.service FROM contacts c JOIN _erase "
        "USING (council, contact_id) WHERE c.customer_ref IS NOT NULL AND c.service IS NOT NULL "
        "AND c.customer_ref <> ?",
        [ref],
    ).fetchall()
    counts = {}
    for table in ("contact_events", "fcr_verdicts", "contact_standards", "contacts"):
        counts[table] = _count(
            con.execute(
                f"DELETE FROM {table} t USING _erase e WHERE t.council = e.council AND t.contact_id = e.contact_id"
            )
        )
    con.execute(
        "DELETE FROM contact_partitions p USING _erase e WHERE p.council = e.council AND p.contact_id = e.contact_id"
    )
    needles = [ref, *[v for v in raw_values if v]]
    found = " OR ".join("contains(raw, ?)" for _ in needles)
    rejected = _count(con.execute(f"DELETE FROM rejected_events WHERE {found}", needles))
    con.execute(
        "MERGE INTO erased_contacts USING (SELECT DISTINCT council, contact_id, ?::TIMESTAMPTZ AS erased_at "
        "FROM _erase) s USING (council, contact_id) WHEN NOT MATCHED THEN INSERT",
        [now],
    )
    con.execute(
        "MERGE INTO erased_refs USING (SELECT ? AS ref_hash, ?::TIMESTAMPTZ AS erased_at) s USING (ref_hash) "
        "WHEN NOT MATCHED THEN INSERT",
        [ref_hash(value, ref), now],
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _facts AS SELECT * FROM contacts LIMIT 0")
    try:  # the other people's groups a shared contact was in: judged again without it
        judge_groups(con, [(a, b, c) for a, b, c in groups], fcr_window_days)
    finally:
        con.execute("DROP TABLE IF EXISTS _facts")
        con.execute("DROP TABLE IF EXISTS _erase")
    con.execute(
        "INSERT INTO erasure_audit VALUES (?, ?, ?, ?, ?)",
        [now, counts["contacts"], counts["contact_events"], counts["fcr_verdicts"], rejected],
    )
    return Erasure(counts["contacts"], counts["contact_events"], counts["fcr_verdicts"], rejected, len(groups))


def _count(cursor: duckdb.DuckDBPyConnection) -> int:
    rows = cursor.fetchall()
    return int(rows[0][0]) if rows else 0


@dataclass
class ErasedFilter:
    """What the consumer and replay drop: events of erased contacts, and events carrying an erased ref."""

    salt: str | None = None
    refs: set[str] = field(default_factory=set)
    contacts: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> ErasedFilter:
        refs = {r for (r,) in con.execute("SELECT ref_hash FROM erased_refs").fetchall()}
        keys = {(a, b) for a, b in con.execute("SELECT council, contact_id FROM erased_contacts").fetchall()}
        return cls(salt(con), refs, keys)

    def __bool__(self) -> bool:
        return bool(self.refs or self.contacts)

    def drops(self, e: Event) -> bool:
        if (e.council, e.contact_id) in self.contacts:
            return True
        return e.customer_ref is not None and self.salt is not None and ref_hash(self.salt, e.customer_ref) in self.refs
