"""Schemathesis against the gateway's own OpenAPI document, over a real uvicorn server on loopback: a
bounded number of generated requests for every operation, none answered with a 5xx, every answer as the
document says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from prometheus_client import CollectorRegistry
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from services.ingest.gateway.app import Webhooks, create_app
from services.ingest.gateway.edge import keys_from_env
from services.ingest.gateway.openapi import document, event_schema
from services.ingest.gateway.tokens import TokenFile
from services.ingest.webhooks.config import load_webhooks
from tests.support.gateway import Recording, serving
from tests.unit.ingest.test_gateway import KEY

SCHEMA = schemathesis.openapi.from_dict(document())
EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "webhooks.example.toml"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tokens = TokenFile(Path(tmp_path_factory.mktemp("gw")) / "tokens.json")
    _, secret = tokens.add("all", "/")
    app = create_app(
        tokens,
        Recording(),
        CollectorRegistry(),
        keys_from_env({"CONTACTPULSE_PSEUDONYM_KEY": KEY}),
        event_schema=event_schema(),
        webhooks=Webhooks(load_webhooks(EXAMPLE)),
    )
    with serving(app) as url:
        yield url, secret


@SCHEMA.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_no_server_error(case: schemathesis.Case, live: tuple[str, str]) -> None:  # type: ignore[type-arg]
    url, secret = live
    response = case.call(base_url=url, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code < 500, response.text
    # not "schema-valid data is accepted": the contract has rules no JSON Schema states (time bounds, subject
    # equal to contact_id, no phone number as customer_ref, binary mode's ce- headers together), so a 400 or
    # 415 for a schema-valid body is the gateway doing its job; nor "schema-violating data gets 400-ish": a
    # batch over the limit is 413 by design. Left: documented statuses, content types and response bodies
    case.validate_response(response, excluded_checks=[positive_data_acceptance, negative_data_rejection])
