"""The queue log's SQL lane: the mapper (``QueueLog``, in order, in Python) decides each line's events as
specs, and DuckDB assembles and checks them many at a time (queue_events.sql, with the contract's rules
for an event's fields from services/store/sql/contract_fields.sql).

Like the CSV adapter's lane, it never decides a rejection: a line any of whose events is not plain (a
text that is not printable ASCII without a double quote or a backslash, or an id long enough to be
hashed) or is refused by those rules goes to ``asterisk.event`` and the Python check (``run.encode``),
which encode it or name its reason, and its events take their place in the line order. The pseudonyms
are made by the mapper, so a caller's number never reaches DuckDB. ``tests/unit/test_queue_lane.py``
checks that both lanes give the same bytes, on generated logs and on lines made to leave the lane.
"""

from __future__ import annotations

import bisect
import gc
import itertools
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from importlib import resources

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from services.ingest.adapters.asterisk import QueueLog, Spec, event
from services.ingest.adapters.base import MAX_ID, Reject
from services.ingest.adapters.run import Batch, encode
from services.ingest.adapters.table_lane import bound_params, joined
from services.store.lane import contract_fields_sql

BLOCK_LINES = 50_000  # as fast as 100,000 (interleaved, 83-85k against 82-90k lines/s) at 430 MiB, not 610
STARTED = "contact.started"
Specs = tuple[int, list[Spec] | Reject]  # (line, its events' specs, or why it was rejected)


def lane_sql(now: datetime) -> list[str]:
    text = resources.files("services.ingest.adapters").joinpath("queue_events.sql").read_text(encoding="utf-8")
    body = text.format(max_id=MAX_ID, contract_fields=contract_fields_sql(now))
    statements = ("\n".join(x for x in s.splitlines() if not x.lstrip().startswith("--")) for s in body.split(";\n"))
    return [s for s in statements if s.strip()]


class QueueLane:
    """One log's events through DuckDB, a block of lines at a time, with Python for the lines it leaves."""

    def __init__(self, qlog: QueueLog, now: datetime, threads: int | None = None) -> None:
        self.q, self.now = qlog, now
        self.con = duckdb.connect(":memory:", config={"threads": threads} if threads else {})
        self.statements = lane_sql(now)
        e = qlog.e
        self.params = {"source": e.source, "council": e.council, "source_json": orjson.dumps(e.source).decode(),
                       "council_json": orjson.dumps(e.council).decode()}  # fmt: skip

    def close(self) -> None:
        self.con.close()

    def batches(self, numbered: Iterable[tuple[int, str]]) -> Iterator[Batch]:
        """The log's lines, then what the end of the file settles (not a line: not counted as a record).
        DuckDB works on a block in a thread of its own (it lets go of the GIL) while the mapper reads the
        next one."""
        specs = self.q.specs
        lines = iter(numbered)
        threshold = gc.get_threshold()
        gc.set_threshold(50_000, *threshold[1:])  # a block is 50,000 lines of young tuples: collect less often
        try:
            with ThreadPoolExecutor(1, thread_name_prefix="queue-lane") as duck:
                pending: Future[Batch] | None = None
                while block := [(n, specs(n, text)) for n, text in itertools.islice(lines, BLOCK_LINES)]:
                    ready = self._prepare(block)
                    if pending is not None:
                        yield pending.result()
                    pending = duck.submit(self._finish, *ready)
                if pending is not None:
                    yield pending.result()
        finally:
            gc.set_threshold(*threshold)
        end = self._finish(*self._prepare([(0, self.q.close_specs())]))
        end.records = 0
        yield end

    def block(self, items: list[Specs]) -> Batch:
        """A block of lines' specs as one batch (the lines the lane leaves encoded by Python)."""
        return self._finish(*self._prepare(items))

    def _prepare(self, items: list[Specs]) -> tuple[list[Specs], pa.Table | None]:
        made = [(n, x) for n, x in items if type(x) is list and x]
        if not made:
            return items, None
        lines = [n for n, x in made for _ in x]
        types, cids, ts, tags, names, values = zip(*[s for _, x in made for s in x], strict=True)
        return items, pa.table({
            "seq": pa.array(range(len(lines)), pa.int64()), "line": pa.array(lines, pa.int64()),
            "type": pa.array(types, pa.string()), "cid": pa.array(cids, pa.string()),
            "t": pa.array(ts, pa.int64()), "tag": pa.array(tags, pa.string()),
            "name": pa.array(names, pa.string()), "value": pa.array(values, pa.string())})  # fmt: skip

    def _finish(self, items: list[Specs], specs: pa.Table | None) -> Batch:
        b = Batch(rejects=[x for _, x in items if isinstance(x, Reject)], records=len(items))
        if specs is None:
            return b
        con = self.con
        con.register("_specs", specs)
        try:
            for statement in self.statements:
                con.execute(statement, bound_params(statement, self.params))
            out = con.sql("SELECT line, key, json, type = $s AS started FROM _out ORDER BY seq",
                          params={"s": STARTED}).to_arrow_table()  # fmt: skip
            left = sorted(n for (n,) in con.execute("SELECT line FROM _left").fetchall())
        finally:
            con.unregister("_specs")
        b.blob = joined(out["json"])
        b.keys = out["key"].to_pylist()
        b.sizes = pc.binary_length(out["json"]).to_pylist()
        b.contacts = pc.sum(out["started"]).as_py() or 0
        if left:
            self._python(b, left, items, out["line"].to_pylist())
        return b

    def _python(self, b: Batch, left: list[int], items: list[Specs], lane_lines: list[int]) -> None:
        """The lines the lane left, encoded by Python, put in their places among the lane's events."""
        e, wanted = self.q.e, set(left)
        mine = [(n, [event(e, s) for s in x]) for n, x in items if n in wanted and not isinstance(x, Reject)]
        offsets = [0, *itertools.accumulate(b.sizes)]
        parts: list[bytes] = []
        keys: list[bytes] = []
        sizes: list[int] = []
        at = 0  # the lane's events up to here are placed
        for n, out, started in encode(mine, self.now):
            if isinstance(out, Reject):
                b.rejects.append(out)
                continue
            i = bisect.bisect_left(lane_lines, n)
            parts.append(b.blob[offsets[at] : offsets[i]])
            keys += b.keys[at:i]
            sizes += b.sizes[at:i]
            parts += [v + b"\n" for _, v in out]
            keys += [k for k, _ in out]
            sizes += [len(v) + 1 for _, v in out]
            b.contacts += started
            at = i
        parts.append(b.blob[offsets[at] :])
        b.blob, b.keys, b.sizes = b"".join(parts), keys + b.keys[at:], sizes + b.sizes[at:]
        b.rejects.sort(key=lambda r: r.line)
