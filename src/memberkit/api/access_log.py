"""Server logs without personal data: phone numbers and QR tokens masked in every line."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from memberkit.kit.privacy import mask_mobiles

#: A query parameter that names a member by something personal: its value is dropped.
_PERSONAL_PARAM = re.compile(r"(?i)\b(phone|mobile|qr_token)=[^&\s\"]*")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
#: Characters a percent escape is not decoded to: delimiters of a query (so a decoded value
#: cannot swallow the next parameter), whitespace and control characters (so no line can be
#: forged in the log), and anything outside printable ASCII.
_KEPT_ENCODED = frozenset("&=?#/;+ ")


def _decoded(text: str) -> str:
    """Decode percent escapes of plain printable characters, repeatedly (double encoding)."""

    def plain(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        keep = not char.isprintable() or not char.isascii() or char in _KEPT_ENCODED
        return match.group(0) if keep else char

    for _round in range(4):
        decoded = _ESCAPE.sub(plain, text)
        if decoded == text:
            break
        text = decoded
    return text


def mask(text: str) -> str:
    """Return ``text`` with phone numbers and QR tokens masked, also when percent-encoded.

    A line with nothing to mask is returned as it came; one with something is returned
    decoded (printable characters only) and masked.
    """
    decoded = _decoded(text)
    masked = _PERSONAL_PARAM.sub(lambda m: f"{m.group(1)}=***", decoded)
    # A mainland mobile number anywhere else (a path, a free text).
    masked = mask_mobiles(masked)
    return text if masked == decoded else masked


class MaskPersonalData(logging.Filter):
    """Mask phone numbers and QR tokens in a record's message and arguments.

    uvicorn's access log passes the URL as an argument; the arguments keep their shape.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                name: mask(arg) if isinstance(arg, str) else arg
                for name, arg in record.args.items()
            }
        return True


def log_config() -> dict[str, Any]:
    """Return uvicorn's logging configuration with :class:`MaskPersonalData` installed.

    On every logger and handler of it; ``memberkit serve`` runs with it. Memberkit's own
    loggers (the scheduler's runs) log at INFO to the same handler as uvicorn's.
    """
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["memberkit"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config["filters"] = {"personal_data": {"()": MaskPersonalData}}
    for part in ("handlers", "loggers"):
        for entry in config[part].values():
            entry["filters"] = ["personal_data"]
    return config
