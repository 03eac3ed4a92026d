"""Pure audit rules: who acted, and what of a change may be kept in clear.

An entry's ``before`` and ``after`` are kept in clear with personal data masked: the personal
fields of a member (phone, name, e-mail, birthday) and any mobile number in any text. The
values as they were are sealed beside them (AES-GCM, bound to the entry) only when masking
changed something, and shown only to roles that may see personal data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from memberkit.kit.privacy import mask_mobiles
from memberkit.kit.time import iso
from memberkit.member.rules import mask_personal

#: The longest actor name, action, subject type and id, network address and user agent kept.
ACTOR_MAX, ACTION_MAX, SUBJECT_TYPE_MAX, SUBJECT_ID_MAX = 100, 64, 32, 64
IP_MAX, USER_AGENT_MAX = 45, 300
#: What a subject's personal fields are, by subject type: masked by field, wherever they are.
PERSONAL_SUBJECTS = frozenset({"member"})


@dataclass(frozen=True)
class Origin:
    """Who made a change and from where: a staff member, or a system actor such as ``cli``."""

    actor_name: str
    actor_id: int | None = None
    ip: str | None = None
    user_agent: str | None = None

    def fitted(self) -> Origin:
        """Return the origin cut to what the log keeps (a user agent is the client's text)."""
        return Origin(
            self.actor_name[:ACTOR_MAX],
            self.actor_id,
            self.ip[:IP_MAX] if self.ip else None,
            self.user_agent[:USER_AGENT_MAX] if self.user_agent else None,
        )


#: The origin of changes made with the ``memberkit`` command.
CLI = Origin("cli")


def plain(value: Any) -> Any:
    """Return ``value`` as JSON-ready data: times as ISO 8601, amounts and enums as text."""
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((plain(item) for item in value), key=repr)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _masked_texts(value: Any) -> Any:
    if isinstance(value, str):
        return mask_mobiles(value)
    if isinstance(value, dict):
        return {key: _masked_texts(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked_texts(item) for item in value]
    return value


def masked(subject_type: str, data: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return plain ``data`` of a subject with its personal data masked (see the module doc).

    The personal fields are masked at the top level of a member's data; mobile numbers in
    every text, in data of any subject.
    """
    if data is None:
        return None
    if subject_type in PERSONAL_SUBJECTS:
        data = mask_personal(data)
    masked_data: dict[str, Any] = _masked_texts(data)
    return masked_data
