"""The SQL lane of contract validation (``services/store/sql/validate.sql``), for bulk replay, with its
rules for an event's fields in a file of their own (``contract_fields.sql``).

DuckDB checks many lines at once in C++, and accepts only lines in the contract's plainest form;
every line it leaves goes to ``pipelines.decode`` (the Python fast lane, then the pydantic models,
which accept it or name its reason). So the lane never decides a rejection, and
``tests/integration/test_sql_validation.py`` checks that what it accepts, pydantic accepts with the
same values. Its enums, patterns and time bounds are formatted in from ``schemas/`` and the Python
lane, so the three cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

import duckdb

from pipelines.decode import AHEAD_US, EARLIEST_US, NEEDS_CHANNEL, NEEDS_QUEUE, PLAIN_TIME_PATTERN
from pipelines.events import micros
from schemas.events import (
    COUNCIL_PATTERN,
    CUSTOMER_REF_PATTERN,
    LIFECYCLE_RANK,
    SLUG_PATTERN,
    SPECVERSION,
    Channel,
    EventType,
    Resolution,
)
from services.store.schema import EVENT_FIELDS, sql_text


def _values(items: Iterable[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in sorted(items, key=lambda v: LIFECYCLE_RANK.get(v, 0))) + ")"


def _literals(now: datetime) -> dict[str, object]:
    return dict(
        now_us=micros(now),
        earliest_us=EARLIEST_US,
        ahead_us=AHEAD_US,
        time_pattern=PLAIN_TIME_PATTERN,
        event_fields=EVENT_FIELDS,
        specversion=SPECVERSION,
        types=_values(LIFECYCLE_RANK),
        channels=_values(c.value for c in Channel),
        resolutions=_values(r.value for r in Resolution),
        needs_channel=_values(NEEDS_CHANNEL),
        needs_queue=_values(NEEDS_QUEUE),
        council_pattern=COUNCIL_PATTERN.strip("^$"),
        slug_pattern=SLUG_PATTERN.strip("^$"),
        customer_ref_pattern=CUSTOMER_REF_PATTERN.strip("^$"),
        wrapped_up=EventType.WRAPPED_UP.value,
        surveyed=EventType.SURVEYED.value,
    )


def contract_fields_sql(now: datetime) -> str:
    """``contract_fields.sql``: the contract's rules for an event's fields at ingest time ``now``, as one
    condition over its columns (for a query that has them as columns already, not as JSON)."""
    return sql_text("contract_fields.sql").format(**_literals(now))


def validation_sql(now: datetime) -> str:
    """``validate.sql``: the query of the lines in ``_chunk`` that pass; run it under ``filter_pushdown_off``."""
    return sql_text("validate.sql").format(contract_fields=contract_fields_sql(now), **_literals(now))


@contextmanager
def filter_pushdown_off(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The validation query is written in the order it should run (see ``validate.sql``)."""
    con.execute("SET disabled_optimizers = 'filter_pushdown'")
    try:
        yield
    finally:
        con.execute("RESET disabled_optimizers")
