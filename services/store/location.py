"""Where the data lives: a DuckDB file (the embedded default) or a DuckLake (docs/scale-out.md).

``--db`` and the ``db`` setting take either a file path or a URI
``ducklake:postgres:dbname=contactpulse host=127.0.0.1 port=5544 user=contactpulse``: a DuckLake whose
catalog is that PostgreSQL database and whose Parquet files are under the ``ducklake_data_path`` setting
(a local folder for one machine; object storage for several; the lake keeps it, so only its first
writer must be given it). Many consumers write one lake and readers
see each commit. The PostgreSQL password comes from ``CONTACTPULSE_PG_PASSWORD`` or the file named by
``CONTACTPULSE_PG_PASSWORD_FILE``, never from a flag or the URI, and is given to DuckDB as a temporary
secret (never in a statement's text, so never in an error). The extensions load from their PyPI wheels,
never from the network.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from services.errors import UserError

if TYPE_CHECKING:  # DuckDB loads when a store is opened, not with the settings
    import duckdb

LAKE_PREFIX = "ducklake:"
LAKE_CATALOG = "ducklake:postgres:"
LAKE_ALIAS = "lake"
PASSWORD_ENV = "CONTACTPULSE_PG_PASSWORD"
PASSWORD_FILE_ENV = "CONTACTPULSE_PG_PASSWORD_FILE"
INIT_ATTEMPTS = 5
DB_HELP = "a DuckDB file, or a DuckLake URI 'ducklake:postgres:...' (default: the db setting)"


@dataclass(frozen=True, slots=True)
class Location:
    """A parsed ``--db``: a file path, or a lake's catalog URI with its data path."""

    text: str
    data_path: str = ""

    @property
    def is_lake(self) -> bool:
        return self.text.startswith(LAKE_PREFIX)

    @property
    def path(self) -> Path:
        """The DuckDB file (a lake has none)."""
        if self.is_lake:
            raise UserError("this needs a DuckDB file, not a DuckLake URI")
        return Path(self.text)

    def __str__(self) -> str:
        return self.text


def parse_location(text: str, data_path: str = "") -> Location:
    """``--db``'s value, checked: a lake URI must name a PostgreSQL catalog and carry no password."""
    text = text.strip()
    if not text:
        raise UserError("no database: give --db FILE.duckdb or --db 'ducklake:postgres:...' (or the db setting)")
    if text.startswith(LAKE_PREFIX):
        if not text.startswith(LAKE_CATALOG):
            raise UserError(f"a DuckLake URI starts with {LAKE_CATALOG!r}: its catalog is a PostgreSQL database")
        if re.search(r"(^|\s)password\s*=", text[len(LAKE_CATALOG) :], re.IGNORECASE):
            raise UserError(f"no password in the URI: set {PASSWORD_ENV} or {PASSWORD_FILE_ENV}")
    return Location(text, data_path)


def password() -> str | None:
    """The PostgreSQL password from the environment or its file (None: libpq's own ways, e.g. ~/.pgpass)."""
    if value := os.environ.get(PASSWORD_ENV):
        return value
    if name := os.environ.get(PASSWORD_FILE_ENV):
        try:
            return Path(name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UserError(f"cannot read {PASSWORD_FILE_ENV} ({name}): {exc.strerror}") from None
    return None


def _extension(module: ModuleType) -> Path:
    found = next(Path(module.__path__[0]).rglob("*.duckdb_extension"), None)
    if found is None:
        raise UserError(f"{module.__name__} holds no extension file: reinstall it (pip install -e .)")
    return found


def load_lake_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """postgres_scanner and ducklake, from their wheels (``INSTALL`` would try the network)."""
    import duckdb_extension_ducklake  # type: ignore[import-untyped]
    import duckdb_extension_postgres_scanner  # type: ignore[import-untyped]

    for module in (duckdb_extension_postgres_scanner, duckdb_extension_ducklake):
        con.execute(f"LOAD '{_extension(module)}'")


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def connect_lake(where: Location, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as ``lake`` and in use; one line if it cannot be reached."""
    import duckdb

    con = duckdb.connect()
    secret = None
    try:
        secret = _prepare(con, where)
        options = ["READ_ONLY"] if read_only else []
        if where.data_path and not read_only:  # a lake keeps its data path; a reader takes the stored one
            if "://" not in where.data_path:
                Path(where.data_path).mkdir(parents=True, exist_ok=True)
            options.append(f"DATA_PATH {_sql_string(_data_path(where.data_path))}")
        attach = f"ATTACH {_sql_string(where.text)} AS {LAKE_ALIAS}"
        _attach(con, f"{attach} ({', '.join(options)})" if options else attach)
        con.execute(f"USE {LAKE_ALIAS}")
    except duckdb.Error as exc:
        con.close()
        raise UserError(f"cannot open the lake {where.text}: {_first_line(exc, secret)}") from None
    except OSError as exc:
        con.close()
        raise UserError(f"cannot use ducklake_data_path {where.data_path}: {exc.strerror}") from None
    return con


def connect_catalog(where: Location) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake's PostgreSQL database attached as ``catalog`` (for the writers'
    advisory lock: services/store/writers.py)."""
    import duckdb

    con = duckdb.connect()
    secret = None
    try:
        secret = _prepare(con, where)
        con.execute(f"ATTACH {_sql_string(where.text[len(LAKE_CATALOG) :])} AS catalog (TYPE postgres)")
    except duckdb.Error as exc:
        con.close()
        raise UserError(f"cannot open the lake's catalog {where.text}: {_first_line(exc, secret)}") from None
    return con


def _prepare(con: duckdb.DuckDBPyConnection, where: Location) -> str | None:
    """The extensions loaded and the password given as a temporary secret (this connection only: the
    statement's text is never logged or shown); returns the password, to keep it out of messages."""
    load_lake_extensions(con)
    secret = password()
    if secret is not None:
        con.execute(f"CREATE OR REPLACE TEMPORARY SECRET __default_postgres ({_secret_options(where, secret)})")
    return secret


def _attach(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    """ATTACH, again after a moment when another process was creating the same new catalog (two consumers
    started together on a new lake: PostgreSQL refuses the second's CREATE TABLE)."""
    import duckdb

    for attempt in range(INIT_ATTEMPTS):
        try:
            con.execute(statement)
            return
        except duckdb.Error as exc:
            if "Failed to initialize DuckLake" not in str(exc) or attempt == INIT_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


# libpq's connection keywords and the postgres secret's names for them: postgres_scanner takes the default
# secret (__default_postgres) as the whole connection, so it names the URI's server too
_SECRET_KEYS = {"host": "HOST", "port": "PORT", "dbname": "DATABASE", "user": "USER"}


def _secret_options(where: Location, secret: str) -> str:
    pairs = dict(re.findall(r"(\w+)\s*=\s*(\S+)", where.text[len(LAKE_CATALOG) :]))
    options = ["TYPE postgres", f"PASSWORD {_sql_string(secret)}"]
    options += [f"{name} {_sql_string(pairs[key])}" for key, name in _SECRET_KEYS.items() if key in pairs]
    return ", ".join(options)


def _data_path(text: str) -> str:
    """A local folder as an absolute path ending in a separator; object storage (s3://...) as given."""
    if "://" in text:
        return text if text.endswith("/") else text + "/"
    return str(Path(text).absolute()) + os.sep


def _first_line(exc: BaseException, secret: str | None) -> str:
    line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return line.replace(secret, "***") if secret else line
