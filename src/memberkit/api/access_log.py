"""Server logs without personal data: phone numbers and QR tokens masked in every line."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

#: A query parameter that names a member by something personal: its value is dropped.
_PERSONAL_PARAM = re.compile(r"(?i)\b(phone|mobile|qr_token)=[^&\s\"]*")
#: A mainland mobile number anywhere else (a path, a free text); card numbers (12 digits,
#: starting with 8) do not match.
_MOBILE = re.compile(r"(?<![0-9])((?:\+|%2[bB])?86)?(1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9])")


def mask(text: str) -> str:
    """Return ``text`` with phone numbers and QR tokens masked."""
    text = _PERSONAL_PARAM.sub(lambda m: f"{m.group(1)}=***", text)
    return _MOBILE.sub(lambda m: f"{m.group(2)}****{m.group(4)}", text)


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

    On every logger and handler of it; ``memberkit serve`` runs with it.
    """
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"personal_data": {"()": MaskPersonalData}}
    for part in ("handlers", "loggers"):
        for entry in config[part].values():
            entry["filters"] = ["personal_data"]
    return config
