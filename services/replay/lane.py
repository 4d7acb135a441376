"""The SQL lane of contract validation (``services/sql/validate.sql``), for replay.

DuckDB checks many lines at once in C++, and accepts only lines in the contract's plainest form;
every line it leaves goes to ``pipelines.decode`` (the Python fast lane, then the pydantic models,
which accept it or name its reason). So the lane never decides a rejection, and
``tests/integration/test_sql_validation.py`` checks that what it accepts, pydantic accepts with the
same values.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import duckdb

from pipelines.events import micros
from services.store.store import sql_text


def validation_sql(now: datetime) -> str:
    """``validate.sql``: the query of the lines in ``_chunk`` that pass; run it under ``filter_pushdown_off``."""
    return sql_text("validate.sql").format(now_us=micros(now))


@contextmanager
def filter_pushdown_off(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The validation query is written in the order it should run (see ``validate.sql``)."""
    con.execute("SET disabled_optimizers = 'filter_pushdown'")
    try:
        yield
    finally:
        con.execute("RESET disabled_optimizers")
