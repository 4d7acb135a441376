"""``--db``: a file or a DuckLake URI, checked before anything is opened; the password from the environment
or its file only; each mistake one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli import main
from services.errors import UserError
from services.settings import load_settings
from services.store.location import PASSWORD_ENV, PASSWORD_FILE_ENV, parse_location, password

URI = "ducklake:postgres:dbname=contactpulse host=127.0.0.1 port=5544 user=contactpulse"


@pytest.mark.parametrize(
    ("text", "lake"),
    [("var/contactpulse.duckdb", False), (URI, True), (f"  {URI} ", True), (":memory:", False)],
)
def test_a_file_or_a_lake(text: str, lake: bool) -> None:
    where = parse_location(text, "var/lake")
    assert where.is_lake is lake
    if not lake:
        assert where.path == Path(text.strip())


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "no database: give --db"),
        ("ducklake:sqlite:lake.db", "its catalog is a PostgreSQL database"),
        (URI + " password=hunter2", "no password in the URI"),
        (URI.replace("dbname", "PASSWORD = x dbname"), "no password in the URI"),
    ],
)
def test_mistakes_are_one_line(text: str, says: str) -> None:
    with pytest.raises(UserError, match=says) as caught:
        parse_location(text)
    assert "\n" not in str(caught.value) and "hunter2" not in str(caught.value)


def test_a_lake_has_no_file() -> None:
    with pytest.raises(UserError, match="needs a DuckDB file"):
        _ = parse_location(URI).path


def test_the_password_from_the_environment_or_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.delenv(PASSWORD_FILE_ENV, raising=False)
    assert password() is None  # libpq's own ways then (~/.pgpass)
    secret = tmp_path / "pg-password"
    secret.write_text("from-the-file\n")
    monkeypatch.setenv(PASSWORD_FILE_ENV, str(secret))
    assert password() == "from-the-file"
    monkeypatch.setenv(PASSWORD_ENV, "from-the-env")
    assert password() == "from-the-env"  # the variable wins over the file
    monkeypatch.delenv(PASSWORD_ENV)
    monkeypatch.setenv(PASSWORD_FILE_ENV, str(tmp_path / "missing"))
    with pytest.raises(UserError, match=f"cannot read {PASSWORD_FILE_ENV}"):
        password()


def test_the_db_setting_is_the_default_of_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTACTPULSE_DB", URI)
    monkeypatch.setenv("CONTACTPULSE_DUCKLAKE_DATA_PATH", "/srv/lake")
    settings = load_settings()
    assert settings.location().text == URI and settings.location().data_path == "/srv/lake"
    assert settings.location("other.duckdb").text == "other.duckdb"  # --db overrides it


def test_commands_without_a_database_say_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("CONTACTPULSE_DB", raising=False)
    assert main(["summary"]) == 2
    assert "no database: give --db" in capsys.readouterr().err
    existing = tmp_path / "out.duckdb"
    existing.write_bytes(b"")
    assert main(["export", "--db", str(tmp_path / "x.duckdb"), "--out", str(existing)]) == 2
    assert "exists: export writes a new file" in capsys.readouterr().err


def test_export_copies_every_table_of_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import duckdb
    import orjson

    from tests.support.builders import ev

    events = tmp_path / "e.jsonl"
    events.write_bytes(b"\n".join(orjson.dumps(e) for e in [ev("contact.started", 0), ev("contact.ended", 60)]))
    db, out = tmp_path / "c.duckdb", tmp_path / "copy.duckdb"
    assert main(["replay", str(events), "--db", str(db)]) == 0
    assert main(["export", "--db", str(db), "--out", str(out)]) == 0
    assert f"to {out}" in capsys.readouterr().out
    a, b = duckdb.connect(str(db), read_only=True), duckdb.connect(str(out), read_only=True)
    tables = [r[0] for r in a.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
    assert "contacts" in tables and "contact_events" in tables
    assert [r[0] for r in b.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()] == tables
    for t in tables:
        assert (
            a.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            == b.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        ), t
    a.close()
    b.close()
