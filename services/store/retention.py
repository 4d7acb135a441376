"""Retention: raw events and rejected lines are personal data kept no longer than needed (setting
``retention_days``; 0 keeps them). Facts and aggregates are kept.

A contact's raw events go once its last event is older than the horizon, all of them together, and the
contact is noted in ``retired_contacts``: an event for it that arrives later cannot be added to events
that are gone, so it is refused as ``beyond_retention`` (kept in ``rejected_events``), and the contact's
facts stay as they were. Rejected lines go once older than the horizon. Each run writes a row to
``retention_log``. The consumer applies it at start and daily; ``contactpulse retention`` on demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

BEYOND_RETENTION = "beyond_retention"
MIN_RETENTION_DAYS = 7  # at least a week: surveys and wrap-ups come days after a contact


@dataclass(frozen=True)
class Retention:
    horizon: datetime
    contacts: int
    events: int
    rejected_lines: int


def apply_retention(con: duckdb.DuckDBPyConnection, days: int, now: datetime) -> Retention:
    horizon = now - timedelta(days=days)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _retire AS SELECT council, contact_id FROM contacts "
        "ANTI JOIN retired_contacts USING (council, contact_id) WHERE contacts.last_event_at < $h",
        {"h": horizon},
    )
    contacts = _count(
        con.execute("INSERT INTO retired_contacts SELECT council, contact_id, $now FROM _retire", {"now": now})
    )
    events = _count(
        con.execute(
            "DELETE FROM contact_events e USING _retire r WHERE e.council = r.council AND e.contact_id = r.contact_id"
        )
    )
    con.execute(
        "DELETE FROM contact_partitions p USING _retire r WHERE p.council = r.council AND p.contact_id = r.contact_id"
    )
    rejected = _count(con.execute("DELETE FROM rejected_events WHERE rejected_at < ?", [horizon]))
    con.execute("DROP TABLE _retire")
    con.execute("INSERT INTO retention_log VALUES (?, ?, ?, ?, ?)", [now, horizon, contacts, events, rejected])
    return Retention(horizon, contacts, events, rejected)


def _count(cursor: duckdb.DuckDBPyConnection) -> int:
    rows = cursor.fetchall()
    return int(rows[0][0]) if rows else 0
