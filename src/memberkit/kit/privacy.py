"""Personal data in free text: mainland mobile numbers found wherever they appear."""

from __future__ import annotations

import re

#: Between the groups of a number: a space, a dash, or a percent-encoded space (in URLs).
_SEPARATOR = r"(?:[ -]|%20)?"
#: A mainland mobile number, with an optional +86, 0086 or 86 prefix and optional spaces or
#: dashes between its groups; card numbers (12 digits, starting with 8) do not match.
MOBILE = re.compile(
    rf"(?<![0-9])(?:(?:\+|%2[bB]|00)?86{_SEPARATOR})?"
    rf"(1[3-9][0-9]){_SEPARATOR}([0-9]{{4}}){_SEPARATOR}([0-9]{{4}})(?![0-9])"
)


def mask_mobiles(text: str) -> str:
    """Return ``text`` with every mobile number in it masked: 13800138000 -> 138****8000."""
    return MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
