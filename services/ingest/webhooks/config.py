"""The webhooks file (setting ``gateway_webhooks``): one ``[webhook.NAME]`` table per vendor endpoint.

``NAME`` is the endpoint (``POST /v1/webhooks/NAME``), the prefix of its events' ids and the name on its
dead letters. Every table has ``vendor`` (a webhook source's name: services/ingest/sources.py),
``council`` and ``source`` (the events' CloudEvents source; the caller's token must cover it). The rest
are the options that vendor's ``SOURCE`` declares (docs/adapters.md lists them). A missing file means no
webhooks.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from services.errors import UserError
from services.ingest.sources import of_kind, webhook_options
from services.ingest.webhooks.adapter import Adapter

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
    webhooks = of_kind("webhook")
    if vendor not in webhooks:
        raise ValueError(f"vendor {vendor!r} is not one of {', '.join(webhooks)}")
    declared = webhooks[vendor]
    options = webhook_options(declared, {k: v for k, v in t.items() if k not in _COMMON})
    adapter: Adapter = declared.load()(name, t["council"], t["source"], options)
    return adapter
