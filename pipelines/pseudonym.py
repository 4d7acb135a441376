"""Pseudonyms made at the edge: a keyed hash of a normalised identifier.

``customer_ref(kind, value, key)`` normalises a phone number (UK numbers to
E.164), an email address (trimmed, lower-cased) or a property reference (UPRN,
digits only), then returns URL-safe base64 of HMAC-SHA256 over ``kind:value``
without padding (43 characters). The same identifier and key always give the
same ref; without the key the ref cannot be reversed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from enum import StrEnum

MIN_KEY_BYTES = 16


class IdentifierKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    UPRN = "uprn"


class PseudonymError(ValueError):
    """An identifier or key that cannot be pseudonymised; the message says why."""


_PHONE_JUNK = re.compile(r"[\s().\-/]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_phone(raw: str) -> str:
    """UK numbers to E.164 (+44...), other '+'/00 international numbers kept as E.164."""
    if len(raw) in (10, 11) and raw[0] == "0" and raw[1] != "0" and raw.isascii() and raw.isdigit():
        return "+44" + raw[1:]  # the common case, as the steps below make it, at a fifth of their cost
    s = _PHONE_JUNK.sub("", raw.strip())
    if s.startswith("00"):
        s = "+" + s[2:]
    if s.startswith("+"):
        digits = s[1:]
    elif s.startswith("0"):
        digits = "44" + s[1:]
    elif s.startswith("44") and len(s) in (11, 12):
        digits = s
    else:
        raise PseudonymError(f"not a UK or international phone number: {raw!r}")
    if digits.startswith("440"):  # +44 (0)20 ...
        digits = "44" + digits[3:]
    if not digits.isdigit() or not 8 <= len(digits) <= 15:
        raise PseudonymError(f"not a phone number: {raw!r}")
    if digits.startswith("44") and len(digits) not in (11, 12):
        raise PseudonymError(f"a UK number has 9 or 10 digits after 0: {raw!r}")
    return "+" + digits


def normalise_email(raw: str) -> str:
    s = raw.strip().lower()
    if not _EMAIL.match(s):
        raise PseudonymError(f"not an email address: {raw!r}")
    return s


def normalise_uprn(raw: str) -> str:
    s = re.sub(r"\s", "", raw)
    if not s.isdigit() or len(s) > 12:
        raise PseudonymError(f"a UPRN is 1-12 digits: {raw!r}")
    return str(int(s))


_NORMALISERS = {
    IdentifierKind.PHONE: normalise_phone,
    IdentifierKind.EMAIL: normalise_email,
    IdentifierKind.UPRN: normalise_uprn,
}


_BY_NAME = {k.value: (k.value + ":", _NORMALISERS[k]) for k in IdentifierKind}


@functools.lru_cache(maxsize=16)
def _keyed(key: bytes) -> hmac.HMAC:
    """HMAC-SHA256 with ``key`` and nothing hashed yet: a copy of it skips keying (0.7 of 2.4 µs a ref)."""
    return hmac.new(key, digestmod=hashlib.sha256)


def customer_ref(kind: IdentifierKind | str, value: str, key: bytes) -> str:
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymError(f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes")
    try:
        prefix, normalise = _BY_NAME[kind]
    except KeyError:
        raise PseudonymError(f"unknown identifier kind {kind!r} (phone, email or uprn)") from None
    h = _keyed(key).copy()
    h.update((prefix + normalise(value)).encode())
    return base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode("ascii")
