"""The webhooks file (setting ``gateway_webhooks``): one ``[webhook.NAME]`` table per vendor endpoint.

``NAME`` is the endpoint (``POST /v1/webhooks/NAME``), the prefix of its events' ids and the name on its
dead letters. Every table has ``vendor`` (``chatwoot`` or ``json``), ``council`` and ``source`` (the
events' CloudEvents source; the caller's token must cover it). The rest is the vendor's: see
``services/ingest/webhooks/chatwoot.py`` and ``jsonmap.py``. A missing file means no webhooks.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.errors import UserError
from services.ingest.webhooks.adapter import JSON_BODY, Adapter
from services.ingest.webhooks.chatwoot import Chatwoot
from services.ingest.webhooks.jsonmap import JsonMapping

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
COUNCIL = re.compile(r"^[a-z0-9-]{2,40}$")
_COMMON = ("vendor", "council", "source")


def load_webhooks(path: Path) -> dict[str, Adapter]:
    """The adapters by name; a one-line UserError naming the file and the webhook when one is wrong."""
    if not path.exists():
        return {}
    try:
        doc = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not a webhooks file: {exc}") from None
    unknown = set(doc) - {"webhook"}
    if unknown:
        raise UserError(f"{path}: unknown table(s) {', '.join(sorted(unknown))} (webhooks are [webhook.NAME])")
    out: dict[str, Adapter] = {}
    for name, table in doc.get("webhook", {}).items():
        try:
            out[name] = _adapter(name, table)
        except (ValueError, TypeError, KeyError) as exc:
            raise UserError(f"{path}: webhook {name}: {exc}") from None
    return out


def _adapter(name: str, t: Any) -> Adapter:
    if not NAME.match(name):
        raise ValueError("the name is 1-40 of a-z, 0-9, '-' and '_' (it is part of a URL and of event ids)")
    if not isinstance(t, dict):
        raise ValueError("is a table")
    missing = [k for k in _COMMON if k not in t]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    if not COUNCIL.match(str(t["council"])):
        raise ValueError(f"council {t['council']!r} is not a council slug")
    if not str(t["source"]).startswith("/"):
        raise ValueError(f"source {t['source']!r} is a URI path such as /{t['council']}/webchat/chatwoot")
    vendor = t["vendor"]
    rest = {k: v for k, v in t.items() if k not in _COMMON}
    if vendor == "chatwoot":
        _only(rest, ("account", "queues", "channel", "service"))
        if not isinstance(rest.get("account"), int):
            raise ValueError("account is the Chatwoot account's number (its webhook is per account)")
        return Chatwoot(
            name,
            t["council"],
            t["source"],
            rest["account"],
            {str(k): str(v) for k, v in rest.get("queues", {}).items()},
            rest.get("channel"),
            rest.get("service"),
        )
    if vendor == "json":
        _only(rest, ("fields", "events", "times", "constants", "customer", "time_format", "time_zone", "content_type"))
        try:
            zone = ZoneInfo(rest.get("time_zone", "Europe/London"))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time_zone {rest.get('time_zone')!r} (an IANA name)") from None
        events = {str(k): tuple(v) for k, v in rest.get("events", {}).items()}
        return JsonMapping(
            name,
            t["council"],
            t["source"],
            dict(rest.get("fields", {})),
            events,
            zone,
            dict(rest.get("times", {})),
            dict(rest.get("constants", {})),
            dict(rest.get("customer", {})),
            str(rest.get("time_format", "auto")),
            str(rest.get("content_type", JSON_BODY)),
        )
    raise ValueError(f"vendor {vendor!r} is not one of chatwoot, json")


def _only(table: dict[str, Any], allowed: tuple[str, ...]) -> None:
    extra = set(table) - set(allowed)
    if extra:
        raise ValueError(f"unknown key(s) {', '.join(sorted(extra))} (allowed: {', '.join(allowed)})")
