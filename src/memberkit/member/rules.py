"""Pure member rules: phone numbers, card numbers with a check digit; the naming errors."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from random import Random
from typing import Any

from memberkit.errors import InvalidInput, NotFound
from memberkit.kit import crypto
from memberkit.kit.i18n import _

_PHONE = re.compile(r"^1[3-9][0-9]{9}$")
_SEPARATORS = re.compile(r"[\s\-()]")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"[0-9]+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MEMBER_NO_PREFIX = "8"
MEMBER_NO_LENGTH = 12


def normalize_phone(raw: str) -> str | None:
    """Return an 11-digit mainland-China mobile number, or None if ``raw`` is not one.

    Spaces, dashes, brackets and a +86 / 0086 / 86 prefix are accepted and removed.
    """
    phone = _SEPARATORS.sub("", raw or "")
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix) :]
    if len(phone) == 13 and phone.startswith("86"):
        phone = phone[2:]
    return phone if _PHONE.match(phone) else None


def valid_email(raw: str) -> bool:
    """Tell whether ``raw`` looks like an e-mail address."""
    return bool(_EMAIL.match(raw)) and len(raw) <= 254


def luhn_digit(digits: str) -> str:
    """Return the Luhn check digit for a string of digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def valid_member_no(member_no: str) -> bool:
    """Tell whether a card number has the right shape and check digit."""
    return (
        _DIGITS.fullmatch(member_no) is not None
        and len(member_no) == MEMBER_NO_LENGTH
        and luhn_digit(member_no[:-1]) == member_no[-1]
    )


def new_member_no(rng: Random | None = None) -> str:
    """Return a random card number: prefix, random digits, Luhn check digit.

    Random rather than sequential so a card number tells nobody how many members there are;
    the caller retries on the (rare) collision. ``rng`` makes demo data deterministic.
    """
    width = MEMBER_NO_LENGTH - len(MEMBER_NO_PREFIX) - 1
    number = rng.randrange(10**width) if rng is not None else secrets.randbelow(10**width)
    body = f"{MEMBER_NO_PREFIX}{number:0{width}d}"
    return body + luhn_digit(body)


def mask_phone(phone: str) -> str:
    """Return a phone number with its middle hidden: 13800138000 -> 138****8000."""
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_birthday(birthday: str | None) -> str | None:
    """Return a birthday (ISO date) with its year hidden: 1990-05-01 -> ****-05-01.

    Month and day stay, so a till can still wish a happy birthday.
    """
    if not birthday:
        return birthday
    return f"****{birthday[4:]}" if len(birthday) == 10 else "****"


def mask_name(name: str | None) -> str | None:
    """Return a name with all but its first character hidden: 张三丰 -> 张**."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_email(email: str | None) -> str | None:
    """Return an e-mail address with its local part hidden but the first character: z***@x.cn."""
    if not email:
        return email
    local, at, domain = email.partition("@")
    return f"{local[:1]}***{at}{domain}"


#: The personal fields of a member (stored encrypted), each with how it is shown masked.
PERSONAL_MASKS: dict[str, Callable[[str], str | None]] = {
    "phone": mask_phone,
    "name": mask_name,
    "email": mask_email,
    "birthday": mask_birthday,
}


def mask_personal(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Return a member's fields with the personal ones (phone, name, e-mail, birthday) masked."""
    return {
        name: PERSONAL_MASKS[name](value)
        if name in PERSONAL_MASKS and isinstance(value, str)
        else value
        for name, value in fields.items()
    }


class MemberNotFound(NotFound):
    """No member matches the given identifier."""

    code = "member_not_found"
    message = _("No member matches {identifier}.")


class InvalidPhone(InvalidInput):
    """Not a mainland-China mobile number."""

    code = "invalid_phone"
    message = _("{phone} is not a valid mainland China mobile number.")


class InvalidMember(InvalidInput):
    """Some member field is wrong."""

    code = "invalid_member"
    message = _("Invalid member data: {problem}")


def normalize_name(raw: str) -> str:
    """Return a full name as it is indexed: NFKC, case folded, inner spaces removed.

    So ``"Zhang San"``, ``"zhang  san"`` and ``"ｚｈａｎｇ san"`` are one name, and ``"张 三"`` is
    ``"张三"``; a part of a name (a surname alone) stays another name.
    """
    return _SPACES.sub("", unicodedata.normalize("NFKC", raw or "")).casefold()


def name_index(raw: str | None) -> str | None:
    """Return the blind index of a full name (None: no name): exact search, never by part."""
    name = normalize_name(raw or "")
    # Keyed apart from the phone's index: the same text as a name and as a phone differ.
    return crypto.blind_index(f"name:{name}") if name else None


def phone_index(raw: str) -> str:
    """Return the blind index of a phone number, refusing a malformed one."""
    phone = normalize_phone(raw)
    if phone is None:
        raise InvalidPhone(phone=raw)
    return crypto.blind_index(phone)
