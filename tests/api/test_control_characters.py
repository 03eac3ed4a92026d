"""Free text holding control characters or direction overrides is refused at the schema.

A tag, reason, name or description with a line break, a tab, an escape or a right-to-left
override would break CSV exports and logs, or show staff a text that reads otherwise than it
is stored (``\u202e``). Each is refused with 422 ``control_characters``, changing nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from memberkit.db import Database
from memberkit.kit.schemas import has_control_characters
from tests.rest import Api, order_body, table_contents

#: One of each kind refused: C0 controls (line feed, tab, escape), DEL, a bidi override and
#: a bidi isolate.
CONTROLS = ["\n", "\t", "\x1b", "\x7f", "\x85", "\u2028", "\u200f", "\u202e", "\u2066"]

Send = Callable[[Api, dict[str, Any], str], Any]


def _register(admin: Api, member: dict[str, Any], text: str) -> Any:
    return admin.post("/api/v1/members", {"phone": "13900139000", "name": f"李{text}四"})


def _tag(admin: Api, member: dict[str, Any], text: str) -> Any:
    return admin.patch(f"/api/v1/members/{member['member_no']}", {"tags": [f"vip{text}x"]})


def _rename(admin: Api, member: dict[str, Any], text: str) -> Any:
    return admin.patch(f"/api/v1/members/{member['member_no']}", {"name": f"张{text}三"})


def _store(admin: Api, member: dict[str, Any], text: str) -> Any:
    return admin.post("/api/v1/stores", {"code": "BJ001", "name": f"北京{text}店"})


def _adjust(admin: Api, member: dict[str, Any], text: str) -> Any:
    return admin.post(
        f"/api/v1/members/{member['member_no']}/points/adjustments",
        {"points": 10, "reason": f"补偿{text}说明"},
        **{"Idempotency-Key": "adj-1"},
    )


def _grant(admin: Api, member: dict[str, Any], text: str) -> Any:
    return admin.post(
        f"/api/v1/members/{member['member_no']}/tier/grants",
        {"tier": "gold", "until": "2027-12-31", "reason": f"VIP{text}x"},
    )


def _line_name(admin: Api, member: dict[str, Any], text: str) -> Any:
    body = order_body(member["member_no"], "O-1")
    body["lines"][0]["name"] = f"拿铁{text}热"
    return admin.post("/api/v1/orders", body)


def _key_name(admin: Api, member: dict[str, Any], text: str) -> Any:
    return admin.post("/api/v1/apikeys", {"name": f"till{text}1", "scope": "pos"})


def _webhook(admin: Api, member: dict[str, Any], text: str) -> Any:
    return admin.post(
        "/api/v1/webhooks",
        {"url": "https://example.com/hooks", "description": f"crm{text}x"},
    )


SENDS: list[tuple[str, Send, str]] = [
    ("register a member's name", _register, "name"),
    ("a member's tag", _tag, "tags.0"),
    ("a member's new name", _rename, "name"),
    ("a store's name", _store, "name"),
    ("an adjustment's reason", _adjust, "reason"),
    ("a grant's reason", _grant, "reason"),
    ("an order line's name", _line_name, "lines.0.name"),
    ("an API key's name", _key_name, "name"),
    ("a webhook's description", _webhook, "description"),
]


@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
@pytest.mark.parametrize(("what", "send", "field"), SENDS, ids=[s[0] for s in SENDS])
def test_free_text_with_a_control_character_is_refused_and_changes_nothing(
    admin: Api,
    member: dict[str, Any],
    database: Database,
    what: str,
    send: Send,
    field: str,
    control: str,
) -> None:
    before = table_contents(database)
    refused = send(admin, member, control)
    assert (refused.status_code, refused.json()["code"]) == (422, "control_characters"), (
        what,
        refused.text,
    )
    assert refused.json()["errors"] == [
        {
            "field": field,
            "message": "不得包含控制字符（换行、制表符或文字方向控制符）",
            "type": "control_characters",
        }
    ]
    assert table_contents(database) == before


def test_the_refusal_is_said_in_english_when_asked(admin: Api, member: dict[str, Any]) -> None:
    refused = admin.patch(
        f"/api/v1/members/{member['member_no']}",
        {"name": "a\u202eb"},
        **{"Accept-Language": "en"},
    )
    assert refused.json()["detail"] == (
        "The request is not valid: name: must not contain control characters (line breaks, "
        "tabs or text-direction overrides)."
    )


def test_text_without_them_is_taken_as_sent(admin: Api, member: dict[str, Any]) -> None:
    # Chinese, emoji, a right-to-left script and punctuation are all text, not controls.
    changed = admin.patch(
        f"/api/v1/members/{member['member_no']}", {"name": "张三 🍵 مرحبا", "tags": ["金卡·VIP"]}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["tags"] == ["金卡·VIP"]


@pytest.mark.parametrize(
    ("text", "held"),
    [
        ("plain", False),
        ("张三", False),
        ("a\nb", True),
        ("\x00", True),
        ("\x1f", True),
        (" ", False),
        ("\x7f", True),
        ("\x80", True),  # C1 controls, NEL (U+0085) among them, are line breaks to some readers
        ("\x85", True),
        ("\x9f", True),
        ("\xa0", False),  # a no-break space is text
        ("\u2028", True),
        ("\u2029", True),
        ("\u061c", True),
        ("\u200e", True),
        ("\u202a", True),
        ("\u202d", True),
        ("\u2069", True),
        ("\u200f", True),  # a direction mark reorders what is shown around it, unseen
        ("\u200d", False),  # a zero-width joiner is part of emoji and scripts
    ],
)
def test_which_characters_are_controls(text: str, held: bool) -> None:
    assert has_control_characters(text) is held


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/members", {"phone": "13900139000", "name": "名" * 51}, "name"),
        ("/api/v1/members", {"phone": "13900139000", "tags": ["t" * 33]}, "tags.0"),
        ("/api/v1/members", {"phone": "13900139000", "email": "a" * 255}, "email"),
    ],
)
def test_a_text_too_long_is_still_said_as_a_texts_length(
    admin: Api, path: str, body: dict[str, Any], field: str
) -> None:
    # The check sits after the bound of length, which stays a text's bound (not a list's).
    refused = admin.post(path, body, **{"Accept-Language": "en"})
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert (error["field"], error["type"]) == (field, "string_too_long")
