"""TLS and basic auth for the HTTP endpoints, in the Prometheus exporter-toolkit's ``web-config.yml``
convention (prometheus/exporter-toolkit, docs/web-configuration.md), so that one file format serves
Prometheus, its exporters and ContactPulse:

```yaml
tls_server_config:
  cert_file: /etc/contactpulse/tls/server.pem
  key_file: /etc/contactpulse/tls/server.key
  client_ca_file: /etc/contactpulse/tls/ca.pem    # optional: with client_auth_type, mutual TLS
  client_auth_type: RequireAndVerifyClientCert     # optional: NoClientCert (default) or this
basic_auth_users:
  prometheus: $2y$10$...                           # bcrypt hashes (htpasswd -nBC 10 prometheus)
```

Setting ``web_config`` (environment ``CONTACTPULSE_WEB_CONFIG``) names the file; without it the endpoints
are plain HTTP without auth, bound to 127.0.0.1. ``/healthz`` stays open (it says only "ok"). Passwords
are checked with bcrypt; a successful check is remembered by a SHA-256 of the header for five minutes,
so a wallboard polling each second does not pay bcrypt's cost each time. Nothing secret is logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from services.errors import UserError

REMEMBER_SECONDS = 300.0
CLIENT_AUTH = {"NoClientCert": ssl.CERT_NONE, "RequireAndVerifyClientCert": ssl.CERT_REQUIRED}


@dataclass
class WebConfig:
    cert_file: str | None = None
    key_file: str | None = None
    client_ca_file: str | None = None
    client_auth_type: str = "NoClientCert"
    users: dict[str, bytes] = field(default_factory=dict)  # user -> bcrypt hash
    _good: dict[bytes, float] = field(default_factory=dict, repr=False)

    @property
    def tls(self) -> bool:
        return self.cert_file is not None

    @property
    def auth(self) -> bool:
        return bool(self.users)

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
            if self.client_ca_file:
                ctx.load_verify_locations(self.client_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise UserError(
                f"cannot load the web config's TLS files: {getattr(exc, 'strerror', None) or exc}"
            ) from None
        ctx.verify_mode = CLIENT_AUTH[self.client_auth_type]
        return ctx

    def uvicorn_tls(self) -> dict[str, Any]:
        """uvicorn's TLS settings for this config ({} without TLS)."""
        if not self.tls:
            return {}
        return {
            "ssl_certfile": self.cert_file,
            "ssl_keyfile": self.key_file,
            "ssl_ca_certs": self.client_ca_file,
            "ssl_cert_reqs": CLIENT_AUTH[self.client_auth_type],
        }

    def allows(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header passes (always, when no users are configured)."""
        if not self.users:
            return True
        if not authorization or not authorization.lower().startswith("basic "):
            return False
        token = hashlib.sha256(authorization.encode()).digest()
        now = time.monotonic()
        if self._good.get(token, 0.0) > now:
            return True
        try:
            user, _, password = base64.b64decode(authorization[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        hashed = self.users.get(user)
        ok = hashed is not None and bcrypt.checkpw(password.encode(), hashed)
        if ok:
            if len(self._good) > 1000:
                self._good.clear()
            self._good[token] = now + REMEMBER_SECONDS
        else:  # the same work for an unknown user, so that timing tells nothing
            hmac.compare_digest(b"x", b"y")
        return ok


def load_web_config(path: str) -> WebConfig | None:
    """The web config at ``path``, or None when ``path`` is empty; a one-line UserError when it is wrong."""
    if not path:
        return None
    try:
        doc: Any = yaml.safe_load(Path(path).read_text()) or {}
    except OSError as exc:
        raise UserError(f"cannot read the web config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"the web config {path} is not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or set(doc) - {"tls_server_config", "basic_auth_users", "http_server_config"}:
        raise UserError(f"the web config {path} has keys other than tls_server_config and basic_auth_users")
    tls = doc.get("tls_server_config") or {}
    users = doc.get("basic_auth_users") or {}
    if set(tls) - {"cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version"}:
        raise UserError(f"the web config {path}: unknown tls_server_config key(s) {', '.join(sorted(set(tls)))}")
    if bool(tls.get("cert_file")) != bool(tls.get("key_file")):
        raise UserError(f"the web config {path}: tls_server_config needs both cert_file and key_file")
    auth_type = str(tls.get("client_auth_type", "NoClientCert"))
    if auth_type not in CLIENT_AUTH:
        raise UserError(f"the web config {path}: client_auth_type is one of {', '.join(CLIENT_AUTH)}")
    for user, hashed in users.items():
        if not (isinstance(hashed, str) and hashed.startswith(("$2a$", "$2b$", "$2y$"))):
            raise UserError(f"the web config {path}: the password of {user!r} is not a bcrypt hash")
    config = WebConfig(
        tls.get("cert_file"),
        tls.get("key_file"),
        tls.get("client_ca_file"),
        auth_type,
        {str(u): str(h).replace("$2y$", "$2b$", 1).encode() for u, h in users.items()},
    )
    config.ssl_context()  # a missing or bad certificate fails now, in one line
    return config
