"""Pseudonyms made at the edge: a keyed hash of a normalised identifier.

``customer_ref(kind, value, key)`` normalises a phone number (to E.164, by
libphonenumber, the UK the default region), an email address (trimmed,
lower-cased) or a property reference (UPRN, digits only), then returns URL-safe
base64 of HMAC-SHA256 over ``kind:value`` without padding (43 characters). The same identifier and key always give the
same ref; without the key the ref cannot be reversed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from enum import StrEnum

import phonenumbers

MIN_KEY_BYTES = 16


class IdentifierKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    UPRN = "uprn"


class PseudonymError(ValueError):
    """An identifier or key that cannot be pseudonymised; the message says why."""


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_REGION = "GB"  # a number written without its country code is a UK one
_POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE
_BARE = phonenumbers.CountryCodeSource.FROM_DEFAULT_COUNTRY  # written without a country code


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """A telephone number as E.164, parsed by libphonenumber (``phonenumbers``): UK numbers as written in
    the UK, any country's number with its ``+`` or ``00`` prefix, and the number in a ``tel:`` or ``sip:``
    URI. A number must be of a possible length for its country; letters are refused, not read as a
    keypad's digits; one with neither a country code nor the national 0 (``9031396745``: a US caller on
    a US trunk, or an extension) is refused rather than guessed. Ranges not yet allocated are accepted
    (libphonenumber's metadata lags Ofcom's allocations; Ofcom's drama numbers are such a range)."""
    if len(raw) in (10, 11) and raw[0] == "0" and raw[1] != "0" and raw.isascii() and raw.isdigit():
        return "+44" + raw[1:]  # the common case, as libphonenumber makes it, at a tenth of its cost
    s = raw.strip()
    if s[:4].lower() in ("tel:", "sip:") or s[:5].lower() == "sips:":
        s = s.split(":", 1)[1].split(";", 1)[0].split("@", 1)[0]  # the URI's user part
    if not s or any(c.isalpha() for c in s):
        raise PseudonymError("not a telephone number")
    try:
        number = phonenumbers.parse(s, region, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        raise PseudonymError("not a telephone number") from None
    if number.country_code_source == _BARE and not s.lstrip(" (").startswith("0"):
        raise PseudonymError("neither a country code nor the national 0: whose number it is cannot be told")
    if phonenumbers.is_possible_number_with_reason(number) != _POSSIBLE:
        raise PseudonymError("not a telephone number of a possible length for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    s = raw.strip().lower()
    if not _EMAIL.match(s):
        raise PseudonymError("not an email address")  # never the value: errors are logged
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
    """HMAC-SHA256 with ``key`` and nothing hashed yet: a copy of it skips keying."""
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
