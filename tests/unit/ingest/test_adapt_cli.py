"""``contactpulse adapt``: one-line errors for what a user gets wrong, and the dry run's events and summary."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from services.cli import main

ROOT = Path(__file__).resolve().parents[3]
MAPPING = str(ROOT / "docs" / "adapters" / "call-detail.toml")


@pytest.mark.parametrize(("argv", "message"), [
    (["adapt", "asterisk-queue-log", "nowhere/queue_log", "--council", "boston"], "no such file: nowhere/queue_log"),
    (["adapt", "asterisk-queue-log", "{log}", "--council", "Boston Borough"], "is not a council slug"),
    (["adapt", "asterisk-queue-log", "{log}", "--council", "boston", "--follow", "--cel", "{log}"],
     "cannot be used with --follow"),
    (["adapt", "asterisk-queue-log", "{log}", "--council", "boston", "--cel", "{log}", "--cel-fields", "a,b"],
     "--cel-fields lacks eventtime, eventtype, linkedid, uniqueid"),
    (["adapt", "csv", "{log}", "--council", "boston", "--mapping", "{log}"], "is not TOML"),
    (["adapt", "csv", "{log}", "--council", "boston", "--mapping", MAPPING, "--dry-run"], "has no column"),
    (["adapt", "genesys", "nowhere", "--council", "boston"], "no such file or directory: nowhere"),
    (["adapt", "amazon-connect", "{log}", "--council", "boston", "--default-resolution", "fixed"],
     "--default-resolution is one of"),
    (["adapt", "asterisk-queue-log", "{log}", "--council", "boston", "--ami", "{log}", "--dry-run"],
     "--ami: line 1 is not an AMI 'Key: Value' line"),  # a queue log given as the AMI file: not zero holds
])  # fmt: skip
def test_mistakes_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str
) -> None:
    monkeypatch.setenv("CONTACTPULSE_PSEUDONYM_KEY", "a test key of 16+ bytes")
    log = tmp_path / "queue_log"
    log.write_text("1700000000|1.1|revenues|NONE|ENTERQUEUE||01205310010|1\n")
    code = main([a.replace("{log}", str(log)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err and "01205310010" not in err


def test_a_dry_run_prints_the_events_and_a_summary_and_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "queue_log"
    log.write_text(
        "1700000000|1.1|revenues|NONE|ENTERQUEUE||01205310010|1\n"
        "1700000030|1.1|revenues|NONE|ABANDON|1|1|30\nnot a line\n"
    )
    assert (
        main(
            ["adapt", "asterisk-queue-log", str(log), "--council", "boston", "--dry-run", "--bootstrap", "127.0.0.1:1"]
        )
        == 0
    )
    out, err = capsys.readouterr()
    events = [orjson.loads(line) for line in out.splitlines()]
    assert [e["type"] for e in events] == ["contact.started", "contact.queued", "contact.ended"]
    assert "records read  3" in err and "contacts      1" in err and "unmappable:not_queue_log" in err
    assert not (tmp_path / "queue_log.rejects.jsonl").exists()  # a dry run keeps nothing
    assert "01205310010" not in out


def test_the_summary_counts_callers_who_cannot_be_linked_and_conversations_still_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.ingest.test_adapter_genesys import INTERNAL, VOICE

    monkeypatch.setenv("CONTACTPULSE_PSEUDONYM_KEY", "a test key of 16+ bytes")
    live = orjson.loads(orjson.dumps(INTERNAL))
    live["conversationId"] = "still-talking"
    del live["participants"][4]["sessions"][0]["segments"][1]["segmentEnd"]
    export = tmp_path / "details.json"
    export.write_bytes(orjson.dumps({"conversations": [VOICE, INTERNAL, live]}))
    assert main(["adapt", "genesys", str(export), "--council", "boston", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "records read  1\n" in err and "contacts      3\n" in err  # one document, three conversations
    assert "not linked    2 contacts without customer_ref" in err  # the two internal calls: a SIP URI, no number
    assert "still open    1\n" in err
