"""The decoder fuzzed (hypothesis): every input, valid or not, JSON or not, comes out as an event or as a
rejection with one of the stable reasons (schemas/reasons.py); nothing else escapes, so every message
the consumer reads is accounted for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.decode import decode
from pipelines.events import Event
from schemas.reasons import BAD_FIELD_PREFIX, Rejected
from tests.support.builders import ev

pytestmark = pytest.mark.chaos
STABLE = {
    "invalid_json",
    "not_cloudevent",
    "unknown_type",
    "pii_in_customer_ref",
    "future_time",
    "before_2000",
    "subject_mismatch",
}
NOW = datetime(2026, 3, 3, tzinfo=UTC)
INT64 = st.integers(-(2**63), 2**63 - 1)
SCALARS = st.none() | st.booleans() | INT64 | st.floats(allow_nan=False) | st.text(max_size=20)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)


def accounted(raw: bytes) -> None:
    try:
        assert isinstance(decode(raw, NOW), Event)
    except Rejected as exc:
        assert exc.reason in STABLE or exc.reason.startswith(BAD_FIELD_PREFIX), exc.reason


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=300))
def test_any_bytes(raw: bytes) -> None:
    accounted(raw)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.sampled_from(["contact.queued", "contact.answered", "contact.wrapped_up", "contact.surveyed"]),
    st.dictionaries(
        st.sampled_from(["id", "source", "type", "time", "subject", "specversion", "data"]), JSONISH, max_size=3
    ),
    st.dictionaries(
        st.sampled_from(
            [
                "contact_id",
                "council",
                "channel",
                "queue",
                "customer_ref",
                "resolution",
                "rating",
                "service",
                "agent_ref",
            ]
        ),
        JSONISH,
        max_size=3,
    ),
)
def test_valid_events_with_fields_broken(type_: str, envelope: dict[str, Any], data: dict[str, Any]) -> None:
    e = ev(type_, 60, channel="phone", queue="revenues", resolution="resolved", rating=4)
    e.update(envelope)
    if isinstance(e.get("data"), dict):
        e["data"] = {**e["data"], **data}
    accounted(orjson.dumps(e))
