"""Identifiers masked in text that leaves the edge: reject files, dead letters, error details and logs.

Every run of seven or more digits (a space, dot or dash allowed between two of them, a leading ``+``)
is ``[number]``, whatever its country or prefix: a caller's number, a national number of another
country, an account number. Every e-mail address (and SIP URI's ``user@host``) is ``[email]``. An ISO
8601 date or time is kept as it is: it is no identifier, and a reject without its times cannot be
traced. Masking is one way: what is masked cannot be recovered, so the record is only evidence of
where and why, never of who.
"""

from __future__ import annotations

import re

NUMBER, EMAIL = "[number]", "[email]"
_MASK = re.compile(
    r"(?P<time>\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?)"
    r"|(?P<email>[\w.%+-]+@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<number>\+?\d(?:[ .-]?\d){6,})"
)


def _mask(m: re.Match[str]) -> str:
    if m.lastgroup == "time":
        return m.group()
    return EMAIL if m.lastgroup == "email" else NUMBER


def redact(text: str) -> str:
    """``text`` with every identifier masked (see the module's rule)."""
    return _MASK.sub(_mask, text)
