"""Gateway tokens: each bound to one council (or ``all``) and a ``source`` prefix, kept only as a hash.

The tokens file (setting ``gateway_tokens``) is JSON: ``{"tokens": [{"id", "sha256", "council",
"source_prefix", "created_at", "revoked_at"}]}``. A token is 32 random bytes (``cpg_`` and URL-safe
base64), so its SHA-256 is enough to recognise it and gives nothing away. The token itself is shown
once, when it is made, and never logged, counted or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import orjson

from services.errors import UserError

ALL = "all"
PREFIX = "cpg_"


@dataclass(frozen=True, slots=True)
class Token:
    id: str  # a short public name for listing and revoking
    sha256: str
    council: str  # a council slug, or "all"
    source_prefix: str
    created_at: str
    revoked_at: str | None = None

    def may_emit(self, council: str, source: str) -> bool:
        return (self.council == ALL or self.council == council) and covers(self.source_prefix, source)


def covers(prefix: str, source: str) -> bool:
    """Whether a source is under the prefix, whole path segments only (/boston/web does not cover /boston/webchat)."""
    base = prefix.rstrip("/")
    return source == base or source.startswith(base + "/")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenFile:
    """The tokens file: read on start and on change; written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime: float | None = None
        self._by_hash: dict[str, Token] = {}

    def load(self) -> list[Token]:
        if not self.path.exists():
            return []
        try:
            raw = orjson.loads(self.path.read_bytes())
            return [Token(**t) for t in raw["tokens"]]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise UserError(f"{self.path} is not a gateway tokens file: {exc}") from None

    def save(self, tokens: list[Token]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(orjson.dumps({"tokens": [asdict(t) for t in tokens]}, option=orjson.OPT_INDENT_2))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def add(self, council: str, source_prefix: str) -> tuple[Token, str]:
        """A new token: returns it and its secret (to show once)."""
        if not source_prefix.startswith("/"):
            raise UserError(f"--source is a source URI prefix such as /{council}/webchat (got {source_prefix!r})")
        secret = PREFIX + secrets.token_urlsafe(32)
        tokens = self.load()
        token = Token(
            id=secrets.token_hex(4),
            sha256=digest(secret),
            council=council,
            source_prefix=source_prefix,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self.save([*tokens, token])
        return token, secret

    def revoke(self, token_id: str) -> Token:
        tokens = self.load()
        found = [t for t in tokens if t.id == token_id]
        if not found:
            raise UserError(f"no token {token_id!r} in {self.path} (see: contactpulse gateway-token list)")
        revoked = replace(found[0], revoked_at=datetime.now(UTC).isoformat(timespec="seconds"))
        self.save([revoked if t.id == token_id else t for t in tokens])
        return revoked

    def lookup(self, secret: str) -> Token | None:
        """The live token with this secret, or None; the file is read again when it changes."""
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            mtime = None
        if mtime != self._mtime:
            self._by_hash = {t.sha256: t for t in self.load() if t.revoked_at is None} if mtime else {}
            self._mtime = mtime
        wanted = digest(secret)
        token = self._by_hash.get(wanted)
        return token if token is not None and hmac.compare_digest(token.sha256, wanted) else None
