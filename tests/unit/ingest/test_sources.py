"""One declaration per source (services/ingest/sources.py): the command line, the webhooks file, the
OpenAPI document and docs/adapters.md are made from it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from services.ingest.adapters.cli import add_parser
from services.ingest.gateway.vendors import webhook_doc
from services.ingest.sources import Option, Source, of_kind, rewrite, sources, webhook_options

ROOT = Path(__file__).resolve().parents[3]


def test_every_source_module_declares_one_source_with_its_reference() -> None:
    assert set(of_kind("records")) == {"asterisk-queue-log", "amazon-connect", "genesys", "csv"}
    assert set(of_kind("webhook")) == {"chatwoot", "twilio-taskrouter", "json"}
    for s in sources().values():
        assert s.reference.startswith("https://") and s.title and s.entry.count(":") == 1
        assert callable(s.load())


@pytest.mark.parametrize("name", sorted(of_kind("records")))
def test_each_records_source_is_an_adapt_command_with_its_declared_options(name: str) -> None:
    parser = argparse.ArgumentParser()
    parsers = add_parser(parser.add_subparsers())
    source = of_kind("records")[name]
    argv = ["adapt", name, "--council", "boston"]
    for o in source.options:
        if o.positional or o.required:
            argv += ["x"] if o.positional else [f"--{o.name.replace('_', '-')}", "x"]
    args = parsers["adapt"].parse_args(argv[1:])
    assert args.adapter == name
    for o in source.options:
        expected = "x" if (o.positional or o.required) else (False if o.type is bool else o.default)
        if callable(expected):
            expected = expected()
        assert getattr(args, o.name) == expected, o.name


def test_exclusive_options_may_not_be_given_together(capsys: pytest.CaptureFixture[str]) -> None:
    parsers = add_parser(argparse.ArgumentParser().add_subparsers())
    with pytest.raises(SystemExit):
        parsers["adapt"].parse_args(["asterisk-queue-log", "f", "--council", "b", "--cel", "c", "--ami", "a"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_webhook_options_are_checked_against_the_declaration_and_defaulted() -> None:
    s = Source("x", "webhook", "t", "s", "m:f", "https://example.org", (
        Option("account", "the account", int, required=True),
        Option("queues", "a table", dict, dict),
        Option("channel", "a channel", default="webchat"),
    ))  # fmt: skip
    assert webhook_options(s, {"account": 7}) == {"account": 7, "queues": {}, "channel": "webchat"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "missing account"),
        ({"account": True}, "account is a whole number"),
        ({"account": 7, "queues": "a"}, "queues is a table"),
        ({"account": 7, "team": 1}, "unknown key(s) team (allowed: account, queues, channel)"),
    ]
    for table, message in cases:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            webhook_options(s, table)


def test_the_openapi_document_names_every_webhook_vendor_and_its_content_type() -> None:
    text = webhook_doc()["requestBody"]["description"]
    for s in of_kind("webhook").values():
        assert f"`{s.name}` ({s.content_type})" in text


def test_docs_adapters_md_lists_every_source_as_declared() -> None:
    text = (ROOT / "docs" / "adapters.md").read_text(encoding="utf-8")
    assert rewrite(text) == text, "run: python -m services.ingest.sources"
    for name in sources():
        assert f"| `{name}` |" in text
    with pytest.raises(ValueError, match="markers are missing"):
        rewrite("no table here")
