"""The CSV adapter's SQL lane: DuckDB maps the plain rows of an export many at a time (table_events.sql)
and checks the events it builds by the contract's rules for their fields
(services/store/sql/contract_fields.sql, which bulk replay's validate.sql applies to parsed lines).

Like replay's lane, it never decides a rejection. A row it is not sure of goes to ``Table.row``, which maps
it or names its reason:
- a record with a double quote (a quoted cell, perhaps over lines), a NUL, or fewer cells than the header;
- a time not in the mapping's slicing format, or in a local hour the clocks change (one that happens twice,
  or not at all);
- a duration other than whole seconds or [h:]mm:ss;
- an unknown outcome, a missing id or start, an id too long for a plain event id;
- any event those rules refuse, or whose JSON needs an escape (a backslash, a control character).
The values the mapping decides (outcome, channel, the slugs, customer_ref, resolution) are Table's own,
asked once per distinct value, so the two lanes share one definition of each; table_events.sql only reads
times and durations and assembles. ``tests/unit/test_table_lane.py`` checks that the lanes give the same
events, on generated exports and on rows mutated into every case above.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from importlib import resources
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from services.ingest.adapters.base import MAX_ID, slug
from services.ingest.adapters.run import Batch, encode_batch
from services.ingest.adapters.table import DURATIONS, TEXTS, TIMES, Table, plain_time_pattern
from services.store.lane import contract_fields_sql

# the longest contact id whose events' ids stay plain ("row:<id>:contact.hold_started"), in bytes
MAX_CID = MAX_ID - len("row::contact.hold_started")
NAMES = (*TIMES, *DURATIONS, *TEXTS)
Row = tuple[int, list[str]]  # (the line the record ends on, its cells)


# what Python's str.strip strips (Table.cells strips each cell) but DuckDB's trim does not, as a character
# class (line ends are not in a line)
OTHER_SPACE = (
    "[" + "".join(f"\\x{{{ord(c):x}}}" for c in map(chr, range(0x110000)) if c.isspace() and c not in " \r\n") + "]"
)
# the values Table decides, each from a cell: column of _read -> the contract name of its cell
DECIDED = {"outcome": "outcome", "channel": "channel", "queue": "queue", "service": "service", "site": "site",
           "ref": "caller", "resolution": "resolution"}  # fmt: skip


def lane_sql(pattern: str, fmt: str, columns: dict[str, int], constants: Iterable[str], now: datetime) -> list[str]:
    """table_events.sql's statements, with the per-column expressions written out for the export's
    columns (contract name -> index) and constants; the times and durations it lacks cost nothing."""
    text = resources.files("services.ingest.adapters").joinpath("table_events.sql").read_text(encoding="utf-8")
    have = set(columns) | set(constants)

    def cell(name: str) -> str:
        if name in columns:
            return f"trim(coalesce(parts[{columns[name] + 1}], '')) AS c_{name}"
        return f"$k_{name} AS c_{name}" if name in have else f"'' AS c_{name}"

    def each(template: str, absent: str, names: Iterable[str], sep: str = ",\n    ") -> str:
        return sep.join((template if t in have else absent).format(t=t) for t in names)

    def duration(d: str) -> str:
        u = d.removesuffix("_seconds")
        if d not in have:
            return f"0::BIGINT AS {u}_us"
        return (f"CASE WHEN c_{d} = '' THEN 0 WHEN regexp_full_match(c_{d}, '[0-9]{{1,7}}') THEN CAST(c_{d} AS BIGINT) "
                f"* 1000000 WHEN regexp_full_match(c_{d}, '([0-9]{{1,5}}:)?[0-9]{{1,2}}:[0-9]{{2}}') THEN list_reduce("
                f"list_transform(string_split(c_{d}, ':'), lambda x: CAST(x AS BIGINT)), lambda a, b: a * 60 + b) "
                f"* 1000000 END AS {u}_us")  # fmt: skip

    body = text.format(
        cells=",\n    ".join(cell(n) for n in NAMES),
        other_space=OTHER_SPACE,
        width=max(columns.values()) + 1,
        decided=", ".join(f"_d_{c}.out AS {c}" for c in DECIDED),
        decided_joins=" ".join(f"LEFT JOIN _d_{c} ON _d_{c}.v = c_{n}" for c, n in DECIDED.items()),
        naive_times=each(f"CASE WHEN regexp_full_match(c_{{t}}, '{pattern}') THEN try_strptime(c_{{t}}, '{fmt}') "
                         "END AS n_{t}", "NULL::TIMESTAMP AS n_{t}", TIMES),
        bad_times=each("(c_{t} <> '' AND n_{t} IS NULL) AS bad_{t}", "false AS bad_{t}", TIMES),
        durations=",\n    ".join(duration(d) for d in DURATIONS),
        hour_list=", ".join(f"date_trunc('hour', n_{t})" for t in TIMES if t in have),
        utc_times=each("epoch_us(n_{t}) - o_{t}.off AS u_{t}, o_{t}.off AS off_{t}",
                       "NULL::BIGINT AS u_{t}, NULL::BIGINT AS off_{t}", TIMES),
        offset_joins=each("LEFT JOIN _offsets o_{t} ON o_{t}.h = date_trunc('hour', r.n_{t})", "", TIMES, " "),
        any_bad=each("bad_{t}", "false", TIMES, " OR "),
        all_offsets=each("(n_{t} IS NULL OR off_{t} IS NOT NULL)", "true", TIMES, " AND "),
        all_durations=" AND ".join(f"{d.removesuffix('_seconds')}_us IS NOT NULL" for d in DURATIONS),
        max_cid=MAX_CID,
        contract_fields=contract_fields_sql(now),
    )  # fmt: skip
    statements = ("\n".join(x for x in s.splitlines() if not x.lstrip().startswith("--")) for s in body.split(";\n"))
    return [s for s in statements if s.strip()]  # without comments: bound_params looks for $names in them


class TableLane:
    """One export's rows through DuckDB, a block at a time, with ``Table`` for the rows it leaves."""

    def __init__(self, table: Table, now: datetime, threads: int | None = None) -> None:
        pattern = plain_time_pattern(table.m.time_format)
        if pattern is None:
            raise ValueError(f"the SQL lane does not read {table.m.time_format}")
        self.t, self.now = table, now
        self.con = duckdb.connect(":memory:", config={"threads": threads} if threads else {})
        constants = {n: v for n, v in table.m.constants.items() if n not in table.header}
        self.statements = lane_sql(pattern, table.m.time_format, table.header, constants, now)
        self.params: dict[str, str] = {
            "delimiter": table.m.delimiter,
            "source": table.e.source, "council": table.e.council,
            "source_json": orjson.dumps(table.e.source).decode(),
            "council_json": orjson.dumps(table.e.council).decode(),
            **{f"k_{n}": v for n, v in constants.items()}}  # fmt: skip
        e = table.e
        self.decide: dict[str, Callable[[str], Any]] = {
            "outcome": table.outcome, "channel": table.channel, "queue": lambda v: slug(v or "general"),
            "service": _slug_or_none, "site": _slug_or_none, "ref": e.ref, "resolution": table.resolution}  # fmt: skip

    def close(self) -> None:
        self.con.close()

    def block(self, first: int, lines: list[str]) -> Iterator[Batch]:
        """A block of whole records (raw lines, the first on line ``first``): the lane's batch, then Python's."""
        numbers, plain, rest = self._split(first, lines)
        if plain:
            batch, unsure = self._map(numbers, plain)
            yield batch
            rest += unsure
        if rest:
            rest.sort(key=lambda r: r[0])
            yield encode_batch((self.t.item(line, row) for line, row in rest), self.now)

    def _split(self, first: int, lines: list[str]) -> tuple[list[int], list[str], list[Row]]:
        """The lines that are one record without a double quote (plain), with their numbers, and the others'
        records with their cells, as csv reads them."""
        if not any('"' in text or "\x00" in text for text in lines):
            return list(range(first, first + len(lines))), lines, []
        numbers: list[int] = []
        plain: list[str] = []
        rest: list[Row] = []
        group: list[str] = []  # the lines of a record with quotes, until they are even
        delimiter = self.t.m.delimiter
        try:
            for line, text in enumerate(lines, start=first):
                if group or '"' in text or "\x00" in text:
                    group.append(text)
                    if sum(g.count('"') for g in group) % 2 == 0:
                        rest += _rows(group, line - len(group) + 1, delimiter, strict=True)
                        group = []
                else:
                    numbers.append(line)
                    plain.append(text)
            if group:
                rest += _rows(group, first + len(lines) - len(group), delimiter, strict=True)
        except csv.Error:  # a stray quote: csv's records are not the even-quote groups, so csv reads them all
            return [], [], _rows(lines, first, delimiter)
        return numbers, plain, rest

    def _map(self, numbers: list[int], plain: list[str]) -> tuple[Batch, list[Row]]:
        con, params = self.con, self.params
        con.register("_rows", pa.table({"line": pa.array(numbers, pa.int64()), "text": pa.array(plain, pa.string())}))
        registered = ["_rows"]
        try:
            cells, read, hours, *rest = self.statements
            con.execute(cells, bound_params(cells, params))
            for column, name in DECIDED.items():  # Table decides each distinct cell
                values = [v for (v,) in con.execute(f"SELECT DISTINCT c_{name} FROM _cells").fetchall()]
                decide = self.decide[column]
                con.register(
                    f"_d_{column}",
                    pa.table(
                        {"v": pa.array(values, pa.string()), "out": pa.array([decide(v) for v in values], pa.string())}
                    ),
                )
                registered.append(f"_d_{column}")
            con.execute(read)
            con.execute(hours)
            found = con.execute("SELECT h FROM _hours").fetchall()
            offsets = {h: self.t.offsets(h) for (h,) in found}
            sure = [(h, int(o[0].total_seconds()) * 1_000_000) for h, o in offsets.items() if len(o) == 1]
            con.register("_offsets", pa.table({"h": pa.array([h for h, _ in sure], pa.timestamp("us")),
                                               "off": pa.array([o for _, o in sure], pa.int64())}))  # fmt: skip
            registered.append("_offsets")
            for statement in rest:
                con.execute(statement, bound_params(statement, params))
            # a row is the lane's when it is plain and every one of its events passed
            con.execute("CREATE OR REPLACE TEMP TABLE _done AS SELECT line FROM _plain EXCEPT "
                        "SELECT DISTINCT line FROM _events ANTI JOIN _accepted USING (seq)")  # fmt: skip
            events = con.sql("SELECT key, line_json || chr(10) AS line FROM _events SEMI JOIN _done USING (line) "
                             "ORDER BY seq").to_arrow_table()  # fmt: skip
            done = int(con.execute("SELECT count(*) FROM _done").fetchone()[0])  # type: ignore[index]
            unsure = [n for (n,) in con.execute("SELECT line FROM _cells ANTI JOIN _done USING (line)").fetchall()]
        finally:
            for name in registered:
                con.unregister(name)
        batch = Batch(joined(events["line"]), events["key"].to_pylist(),
                      pc.binary_length(events["line"]).to_pylist(), [], done, done)  # fmt: skip
        if not unsure:
            return batch, []
        text = dict(zip(numbers, plain, strict=True))
        rows = [(n, text[n].rstrip("\r\n").split(self.t.m.delimiter)) for n in unsure]
        return batch, [(n, cells) for n, cells in rows if any(c.strip() for c in cells)]  # csv skips blank rows


def bound_params(statement: str, params: dict[str, str]) -> dict[str, str] | None:
    """The parameters a statement names (DuckDB refuses any it does not)."""
    named = {k: v for k, v in params.items() if re.search(rf"\${k}\b", statement)}
    return named or None


def joined(column: pa.ChunkedArray) -> bytes:
    """A string column's values end to end: the bytes between its first and last offsets, per chunk."""
    parts = []
    for chunk in column.chunks:
        _, offset_buffer, data = chunk.buffers()
        offsets = memoryview(offset_buffer).cast("q" if pa.types.is_large_string(chunk.type) else "i")
        if data is not None and len(chunk):
            parts.append(memoryview(data)[offsets[chunk.offset] : offsets[chunk.offset + len(chunk)]])
    return b"".join(parts)


def _slug_or_none(name: str) -> str | None:
    return slug(name) if name else None


def _rows(group: list[str], first: int, delimiter: str, strict: bool = False) -> list[Row]:
    """A quoted record's lines read as csv does, each row with the line it ends on; blank rows skipped.
    ``strict``: csv.Error unless the quotes are where a quoted cell puts them (a quote in the middle of an
    unquoted cell is text to csv, but makes the group end where csv's record does not)."""
    reader = csv.reader(group, delimiter=delimiter, strict=strict)
    return [(first + reader.line_num - 1, row) for row in reader if any(c.strip() for c in row)]
