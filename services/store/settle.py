"""What follows a write's new events and facts, in both write paths, inside their transaction: the contacts
rows and their standards' verdicts swapped in, watermarks, time-outs, standards that fell due, FCR verdicts
and rejected messages.

FCR has one engine in production, ``sql/fcr.sql``: every contact of each group a write touched is judged
again. ``pipelines/fcr.py`` is the same rule in Python, the tests' oracle.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime

import duckdb
import pyarrow as pa

from pipelines.facts import OPEN, TIMED_OUT
from pipelines.fcr import DAY_US, ELIGIBLE_OUTCOMES
from pipelines.rules import TIMED_OUT_SQL, MetricRules
from pipelines.standards import FINAL_BY_WATERMARK_SQL
from services.store.schema import RejectedMessage, sql_text


def unregister(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Arrow tables registered for a statement, let go. After an interrupt or an error inside a transaction,
    DuckDB refuses even this ("transaction is aborted"): the rollback on the way drops them, and the error
    already under way, not this one, is the one to report (the replay's Ctrl-C test)."""
    for name in names:
        with contextlib.suppress(duckdb.TransactionException):
            con.unregister(name)


def later_watermarks(source: str) -> str:
    """The statement that raises each council's stored watermark to ``source``'s (a query of council and
    watermark), never lowering it. MERGE, not ON CONFLICT: a DuckLake table has no keys."""
    return (
        f"MERGE INTO watermarks USING ({source}) s USING (council) "
        "WHEN MATCHED AND s.watermark > watermarks.watermark THEN UPDATE SET watermark = s.watermark "
        "WHEN NOT MATCHED THEN INSERT (council, watermark) VALUES (s.council, s.watermark)"
    )


GroupKeys = list[tuple[str, str, str]]


def replace_contacts(con: duckdb.DuckDBPyConnection, standards: bool = True) -> GroupKeys:
    """Swap in the contacts rows held in ``_facts``, and their standards' verdicts in ``_verdicts`` (when
    ``standards`` are configured: otherwise the table is not touched, which on a lake saves reading its
    catalog at every write); return the FCR groups they were in before."""
    old = con.execute(
        "SELECT c.council, c.customer_ref, c.service FROM contacts c JOIN _facts "
        "USING (council, contact_id) WHERE c.customer_ref IS NOT NULL AND c.service IS NOT NULL"
    ).fetchall()
    con.execute(
        "DELETE FROM contacts USING _facts f WHERE contacts.council = f.council AND contacts.contact_id = f.contact_id"
    )
    con.execute("INSERT INTO contacts SELECT * FROM _facts")
    if not standards:
        return [(a, b, c) for a, b, c in old]
    con.execute(
        "DELETE FROM contact_standards USING _facts f "
        "WHERE contact_standards.council = f.council AND contact_standards.contact_id = f.contact_id"
    )
    con.execute("INSERT INTO contact_standards SELECT * FROM _verdicts")
    return [(a, b, c) for a, b, c in old]


def settle(
    con: duckdb.DuckDBPyConnection,
    old_groups: GroupKeys,
    rules: MetricRules,
    rejected: Sequence[RejectedMessage],
    now: datetime,
) -> None:
    """Once the new facts and watermarks are in: time-outs, FCR verdicts, rejected messages."""
    sweep_timeouts(con, rules.timeout_us)
    if rules.standards:
        con.execute(FINAL_BY_WATERMARK_SQL)
    judge_groups(con, old_groups, rules.fcr_window_days)
    if rejected:
        insert_rejected(con, rejected, now)


def sweep_timeouts(con: duckdb.DuckDBPyConnection, timeout_us: int) -> None:
    """Open contacts whose council's watermark has passed their time-out (``pipelines.rules.timed_out``)."""
    rule = TIMED_OUT_SQL.format(watermark="w.watermark", last_event="contacts.last_event_at", timeout_us=timeout_us)
    con.execute(
        f"UPDATE contacts SET outcome = '{TIMED_OUT}' FROM watermarks w "
        f"WHERE contacts.outcome = '{OPEN}' AND w.council = contacts.council AND {rule}"
    )


def judge_groups(con: duckdb.DuckDBPyConnection, old: GroupKeys, window_days: int) -> None:
    """Every contact of each touched group judged again, in SQL (``sql/fcr.sql``)."""
    keys = pa.table(
        {
            "council": pa.array([o[0] for o in old], pa.string()),
            "customer_ref": pa.array([o[1] for o in old], pa.string()),
            "service": pa.array([o[2] for o in old], pa.string()),
        }
    )
    con.register("_old_groups", keys)
    try:
        eligible = "(" + ", ".join(f"'{o}'" for o in ELIGIBLE_OUTCOMES) + ")"
        con.execute(sql_text("fcr.sql").format(window_us=window_days * DAY_US, eligible_outcomes=eligible))
    finally:
        unregister(con, "_old_groups")


def insert_rejected(con: duckdb.DuckDBPyConnection, rejected: Sequence[RejectedMessage], now: datetime) -> None:
    """One row per distinct bad message (by content), the first copy's, in one statement however many there are."""
    table = pa.table(
        {
            "raw_sha256": [r.sha256 for r in rejected],
            "reason": [r.reason for r in rejected],
            "detail": [r.detail for r in rejected],
            "raw": [r.raw.decode("utf-8", "replace") for r in rejected],
            "origin": [r.origin for r in rejected],
            "n": range(len(rejected)),
        }
    )
    con.register("_rejected", table)
    try:  # the first of a message's copies (its origin), as they came
        con.execute(
            "MERGE INTO rejected_events USING (SELECT DISTINCT ON (raw_sha256) raw_sha256, reason, detail, raw, "
            "origin, ?::TIMESTAMPTZ AS rejected_at FROM _rejected ORDER BY raw_sha256, n) s USING (raw_sha256) "
            "WHEN NOT MATCHED THEN INSERT",
            [now],
        )
    finally:
        unregister(con, "_rejected")
