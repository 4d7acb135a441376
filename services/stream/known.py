"""What DuckDB already holds, as 64-bit hashes in memory: event ids, and contacts.

Each consumer batch must know which of its event ids are stored already (duplicates) and
which of the contacts it does not hold in memory have stored events (to reload them). Asking
DuckDB means a scan of ``contact_events`` per batch (it uses no index for a join), which grows
with years of history. Here a batch asks DuckDB only about the ids and contacts whose hash is
known: new ones (nearly all) cost a hash and a lookup, and count as held from then on (the
batch stores them). A hash match only means "ask DuckDB",
so a collision costs a query, never a wrong answer.

Hashes are the first 8 bytes of MD5, little-endian: DuckDB's ``md5_number_upper``. The stored
hashes are one sorted array, loaded from DuckDB; hashes noted since are a set, folded into the
array by ``reload`` (when nothing is waiting to be written).
"""

from __future__ import annotations

import hashlib
import struct
from array import array
from bisect import bisect_left
from collections.abc import Iterable

import duckdb

ID_SQL = "SELECT md5_number_upper(id) AS h FROM contact_events ORDER BY h"
CONTACT_SQL = "SELECT md5_number_upper(council || chr(31) || contact_id) AS h FROM contacts ORDER BY h"


_FIRST_8_LE = struct.Struct("<Q").unpack_from


def key_hash(text: str) -> int:
    return int(_FIRST_8_LE(hashlib.md5(text.encode()).digest())[0])


def contact_hash(council: str, contact_id: str) -> int:
    return key_hash(f"{council}\x1f{contact_id}")


class HashSet:
    """Hashes of stored keys: a sorted array from DuckDB, and a set of those noted since."""

    def __init__(self, stored: array[int]) -> None:
        self.stored = stored
        self.recent: set[int] = set()

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, sql: str) -> HashSet:
        column = con.sql(sql).to_arrow_table().column(0).combine_chunks()
        hashes = array("Q")
        if len(column):
            hashes.frombytes(column.buffers()[1])
            del hashes[len(column) :]  # the buffer may be padded
        return cls(hashes)

    def check_and_note(self, hashes: Iterable[int]) -> list[bool]:
        """For each hash, whether DuckDB may hold its key; from now on all count as held (the batch asking
        stores them). One loop over locals: it runs for every event the consumer reads."""
        recent, stored = self.recent, self.stored
        n, out = len(stored), []
        for h in hashes:
            if h in recent:
                out.append(True)
                continue
            i = bisect_left(stored, h)
            if i < n and stored[i] == h:
                out.append(True)
            else:
                recent.add(h)
                out.append(False)
        return out

    def __len__(self) -> int:
        return len(self.stored) + len(self.recent)


class Known:
    """Stored event ids and contacts, for the consumer's batches."""

    def __init__(self, ids: HashSet, contacts: HashSet) -> None:
        self.ids, self.contacts = ids, contacts

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> Known:
        return cls(HashSet.load(con, ID_SQL), HashSet.load(con, CONTACT_SQL))

    def ids_maybe_stored(self, ids: Iterable[str]) -> list[str]:
        """The ids DuckDB may hold already. All of them count as held from now on: the batch asking stores
        the new ones (one that ends up not stored, a duplicate say, only costs a query later)."""
        ids = list(ids)
        held = self.ids.check_and_note([key_hash(i) for i in ids])
        return [i for i, maybe in zip(ids, held, strict=True) if maybe]

    def contacts_maybe_stored(self, keys: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """The contacts DuckDB may hold already; as with ids, all count as held from now on."""
        keys = list(keys)
        held = self.contacts.check_and_note([contact_hash(*k) for k in keys])
        return [k for k, maybe in zip(keys, held, strict=True) if maybe]

    def needs_reload(self) -> bool:
        return len(self.ids.recent) > max(200_000, len(self.ids.stored) // 4)
