"""Pure member rules: mobile numbers and card numbers with a Luhn check digit."""

from __future__ import annotations

from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberkit.member.rules import (
    luhn_digit,
    new_member_no,
    normalize_phone,
    valid_email,
    valid_member_no,
)


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "(138) 0013 8000",
        " 13800138000 ",
        "+86 13800138000",
        "+8613800138000",
        "+86-138-0013-8000",
        "008613800138000",
        "0086 138 0013 8000",
        "8613800138000",
        "86 138 0013 8000",
    ],
)
def test_normalize_phone_accepts_separators_and_country_prefixes(raw: str) -> None:
    # given a mainland mobile number written in one of the usual ways
    # when it is normalized
    # then the 11 bare digits come back
    assert normalize_phone(raw) == "13800138000"


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("19912345678", "19912345678"),
        ("15000000000", "15000000000"),
        ("+86 199 1234 5678", "19912345678"),
    ],
)
def test_normalize_phone_keeps_other_mobile_prefixes(raw: str, phone: str) -> None:
    assert normalize_phone(raw) == phone


@pytest.mark.parametrize(
    "raw",
    [
        "12345678901",
        "10012345678",
        "23800138000",
        "1380013800",
        "138001380001",
        "1380013800a",
        "138OO138OOO",
        "abcdefghijk",
        "+1 13800138000",
        "861380013800",
        "+86 1380013800",
        "",
        "   ",
    ],
)
def test_normalize_phone_refuses_what_is_not_a_mainland_mobile(raw: str) -> None:
    assert normalize_phone(raw) is None


def test_normalize_phone_treats_none_as_no_number() -> None:
    assert normalize_phone(None) is None  # type: ignore[arg-type]


def test_normalize_phone_never_returns_non_ascii_digits() -> None:
    # given a number typed with one full-width zero (U+FF10)
    raw = "138\uff100138000"

    # when it is normalized
    phone = normalize_phone(raw)

    # then it is either refused or converted to ASCII digits, never stored as typed
    assert phone in (None, "13800138000")


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("li.lei@example.com", True),
        ("a@b.cn", True),
        ("li.lei@example", False),
        ("li lei@example.com", False),
        ("@example.com", False),
        ("li.lei", False),
        ("a@" + "b" * 250 + ".cn", False),
    ],
)
def test_valid_email(raw: str, valid: bool) -> None:
    assert valid_email(raw) is valid


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        ("7992739871", "3"),
        ("0", "0"),
        ("1", "8"),
        ("9", "1"),
        ("80000000000", "3"),
        ("", "0"),
    ],
)
def test_luhn_digit(digits: str, check: str) -> None:
    assert luhn_digit(digits) == check


@given(st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_luhn_digit_makes_the_number_pass_the_luhn_check(digits: str) -> None:
    # the standard check: double every second digit from the right, the sum ends in 0
    number = digits + luhn_digit(digits)

    total = 0
    for position, char in enumerate(reversed(number)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    assert total % 10 == 0


def test_new_member_no_with_a_seeded_rng_is_deterministic_and_valid() -> None:
    # given two random sources with the same seed
    # when each draws a card number
    first = new_member_no(Random(20261122))
    second = new_member_no(Random(20261122))

    # then both are the same valid 12-digit number starting with 8
    assert first == second == "821686376749"
    assert len(first) == 12
    assert first.isdigit()
    assert first[0] == "8"
    assert first[-1] == luhn_digit(first[:-1])
    assert valid_member_no(first) is True


def test_new_member_no_pads_a_small_draw_with_zeros() -> None:
    class Zero(Random):
        def randrange(self, *args: object, **kwargs: object) -> int:
            return 0

    assert new_member_no(Zero()) == "800000000003"


def test_new_member_no_without_rng_is_valid() -> None:
    number = new_member_no()

    assert len(number) == 12
    assert number[0] == "8"
    assert valid_member_no(number) is True


@given(st.integers(min_value=0, max_value=2**32))
def test_new_member_no_is_always_a_valid_card_number(seed: int) -> None:
    number = new_member_no(Random(seed))

    assert len(number) == 12
    assert number.isascii() and number.isdigit()
    assert number.startswith("8")
    assert valid_member_no(number) is True


def test_valid_member_no_accepts_a_known_number() -> None:
    assert valid_member_no("800000000003") is True


@given(
    st.integers(min_value=0, max_value=2**32),
    st.integers(min_value=0, max_value=11),
    st.integers(min_value=1, max_value=9),
)
def test_valid_member_no_refuses_any_single_changed_digit(
    seed: int, position: int, shift: int
) -> None:
    # given a valid card number
    number = new_member_no(Random(seed))

    # when one of its digits is changed
    changed_digit = str((int(number[position]) + shift) % 10)
    changed = number[:position] + changed_digit + number[position + 1 :]

    # then the check digit no longer fits
    assert changed != number
    assert valid_member_no(changed) is False


@pytest.mark.parametrize(
    "member_no",
    [
        "800000000004",
        "80000000003",
        "8000000000003",
        "80000000000a",
        "8000 0000003",
        "",
    ],
)
def test_valid_member_no_refuses_wrong_shapes_and_check_digits(member_no: str) -> None:
    assert valid_member_no(member_no) is False


def test_valid_member_no_answers_false_for_a_superscript_digit() -> None:
    assert valid_member_no("8\u00b20000000000") is False


def test_masks() -> None:
    from memberkit.member.rules import mask_birthday, mask_phone

    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("1380013") == "*******"
    assert (mask_birthday("1990-05-01"), mask_birthday(None), mask_birthday("x")) == (
        "****-05-01",
        None,
        "****",
    )
