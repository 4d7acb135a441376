"""Vendors' webhooks end to end on the real broker: the gateway (with the webhooks file shipped in
docs/webhooks.example.toml) keeps each payload on the webhooks topic, its mapper makes contract events,
the consumer makes facts. Chatwoot's and Typeform's payloads are in their own formats (see
tests/support/chatwoot.py and tests/unit/ingest/test_webhooks_jsonmap.py for the sources). The mapper's memory
survives a restart of the gateway: a conversation reopened after it is still a new contact."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from tests.conftest import BOOTSTRAP, ROOT, Consumer, Topics
from tests.integration.test_gateway import Gateway
from tests.support import chatwoot as cw
from tests.support.gateway import post
from tests.support.net import free_port
from tests.unit.ingest.test_webhooks_jsonmap import typeform

pytestmark = pytest.mark.integration
T = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def test_chatwoot_and_forms_webhooks_become_facts_and_survive_a_restart(
    tmp_path: Path, topics: Topics, consumer_factory: type[Consumer]
) -> None:
    env = {
        "CONTACTPULSE_GATEWAY_WEBHOOKS": str(ROOT / "docs" / "webhooks.example.toml"),
        "CONTACTPULSE_WEBHOOKS_TOPIC": f"webhooks-{topics.group}",
        "CONTACTPULSE_DLQ_TOPIC": topics.dlq,
        "CONTACTPULSE_CONSUMER_GROUP": topics.group,
        "CONTACTPULSE_PSEUDONYM_KEY": "integration key, 16+ bytes",
    }
    gateway = Gateway(tmp_path, topics, env)
    try:
        gateway.connected()
        url = f"{gateway.url}/v1/webhooks/chatwoot-boston/{gateway.token}"

        def send(payload: Any, to: str = url) -> None:
            assert post(to, orjson.dumps(payload), "application/json").status == 200

        send(cw.conversation_event("conversation_created", cw.conversation(10, at(0))))
        send(cw.message("message_created", 1, cw.conversation(10, at(3)), at(3)))
        send(cw.message("message_created", 2, cw.conversation(10, at(40)), at(40), "outgoing", "user"))
        send(cw.conversation_event("conversation_status_changed", cw.conversation(10, at(200), "resolved")))
        send(cw.csat(3, cw.conversation(10, at(200), "resolved"), at(200), 4))
        forms = f"{gateway.url}/v1/webhooks/forms-boston/{gateway.token}"
        form = typeform(token="resp-1")
        form["form_response"] |= {"landed_at": at(10).isoformat(), "submitted_at": at(130).isoformat()}
        send(form, forms)
        send({"event_type": "form_deleted", "form_response": {"token": "resp-2"}}, forms)  # not in [events]
        time.sleep(2)  # mapped, and the group's offsets committed
        gateway.stop()
        gateway.start()  # the mapper's memory is rebuilt from the webhooks topic
        gateway.connected()
        send(cw.conversation_event("conversation_status_changed", cw.conversation(10, at(900), "open")))
        send(cw.message("message_created", 4, cw.conversation(10, at(960)), at(960), "outgoing", "user"))
        send(cw.conversation_event("conversation_status_changed", cw.conversation(10, at(1000), "resolved")))
        consumer = consumer_factory(tmp_path / "stream.duckdb", topics, free_port())
        consumer.start()
        consumer.wait_for(6 + 2 + 5)  # the first chat, the form, the reopened chat (no survey)
        time.sleep(1.5)
        consumer.stop()
        with urllib.request.urlopen(gateway.url + "/metrics", timeout=10) as r:
            scraped = r.read().decode()
        # since the restart: the three Chatwoot payloads, each mapped
        assert 'contactpulse_webhook_mapped_payloads_total{outcome="mapped",webhook="chatwoot-boston"} 3.0' in scraped
    finally:
        if gateway.proc.poll() is None:
            gateway.stop()
    con = duckdb.connect(str(tmp_path / "stream.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT contact_id, channel, queue, outcome, time_to_answer_seconds, rating, service, "
        "customer_ref IS NOT NULL FROM contacts ORDER BY contact_id"
    ).fetchall()
    con.close()
    reopened = f"cw1-10-r{int(at(900).timestamp())}"
    assert rows == [
        ("cw1-10", "webchat", "customer-services", "handled", 40.0, 4, None, True),
        (reopened, "webchat", "customer-services", "handled", 60.0, None, None, True),
        ("resp-1", "web", None, "self_served", None, None, "waste", True),
    ]
    dead = subprocess.run(
        ["kcat", "-C", "-b", BOOTSTRAP, "-t", topics.dlq, "-e", "-q", "-f", "%h\\t%s\\n"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert len(dead) == 1 and "reason=unmappable:unknown_status" in dead[0] and "vendor=json" in dead[0]
    assert "form_deleted" in dead[0]
    log = (tmp_path / "gateway.log").read_text()
    assert "memory rebuilt from 7 payload(s)" in log
    assert gateway.token not in log and "jane@acme.inc" not in log
