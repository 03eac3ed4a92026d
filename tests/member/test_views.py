"""The console's member pages through HTTP: list, search, CSV, masking, store scope, actions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from memberkit.db import Database
from memberkit.member import service as member_service
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from tests.admin.conftest import PASSWORDS, cheap_hashes, staff
from tests.admin.test_views import csrf, sign_in
from tests.factories import make_member
from tests.rest import table_contents

__all__ = ["PASSWORDS", "cheap_hashes", "staff"]

ZH = "张三丰"


@pytest.fixture
def members(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> dict[str, str]:
    """A member of SH001 (named, tagged), one of SH002, one with no store: their card numbers."""
    with database.session_scope() as session:
        home = make_member(
            session, program, phone="13800138000", name=ZH, store_code="SH001", tags=["vip"]
        )
        other = make_member(session, program, phone="13900139000", name="李四", store_code="SH002")
        loose = make_member(session, program, phone="13700137000")
        return {"home": home.member_no, "other": other.member_no, "loose": loose.member_no}


def signed(client: TestClient, username: str) -> TestClient:
    assert sign_in(client, username).status_code == 303
    return client


def key_of(page: str) -> str:
    found = re.search(r'name="key" value="([0-9a-f]{32})"', page)
    assert found
    return found.group(1)


def form_of(client: TestClient, member_no: str) -> dict[str, str]:
    page = client.get(f"/admin/members/{member_no}")
    assert page.status_code == 200
    return {"csrf_token": csrf(page.text), "key": key_of(page.text)}


def test_the_owner_lists_searches_and_filters_members_unmasked(
    client: TestClient, members: dict[str, str]
) -> None:
    signed(client, "owner")

    listed = client.get("/admin/members")
    assert listed.status_code == 200
    assert all(no in listed.text for no in members.values())
    assert ZH in listed.text and "13800138000" in listed.text
    assert "found whole" in listed.text or "只能按完整姓名查找" in listed.text

    by_phone = client.get("/admin/members", params={"q": "138 0013 8000"})
    assert members["home"] in by_phone.text and members["other"] not in by_phone.text
    by_card = client.get("/admin/members", params={"q": members["other"]})
    assert members["other"] in by_card.text and members["home"] not in by_card.text
    by_tag = client.get("/admin/members", params={"q": "vip"})
    assert members["home"] in by_tag.text and members["loose"] not in by_tag.text
    by_name = client.get("/admin/members", params={"q": ZH})
    assert members["home"] in by_name.text and members["other"] not in by_name.text
    by_surname = client.get("/admin/members", params={"q": ZH[0]})
    assert not any(f'class="member-link">{no}<' in by_surname.text for no in members.values())
    by_store = client.get("/admin/members", params={"store": "SH002"})
    assert members["other"] in by_store.text and members["home"] not in by_store.text
    by_status = client.get("/admin/members", params={"status": "frozen"})
    assert not any(no in by_status.text for no in members.values())


def test_the_list_pages_by_keyset(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    with database.session_scope() as session:
        made = [make_member(session, program).member_no for _ in range(55)]
    signed(client, "owner")

    first = client.get("/admin/members")
    following = re.search(r'href="(/admin/members\?before=\d+)"', first.text)
    assert following
    second = client.get(following.group(1))

    shown = [re.findall(r'class="member-link">(\d+)<', page.text) for page in (first, second)]
    assert len(shown[0]) == 50 and len(shown[1]) == 5
    assert shown[0] + shown[1] == list(reversed(made))
    assert 'id="next-page"' not in second.text


def test_the_csv_export_streams_the_filtered_list_masked_per_role(
    client: TestClient, members: dict[str, str]
) -> None:
    signed(client, "owner")
    full = client.get("/admin/members.csv", params={"q": "vip"})
    assert full.status_code == 200 and full.headers["content-type"].startswith("text/csv")
    lines = full.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("member_no,phone,name")
    assert len(lines) == 2 and "13800138000" in lines[1] and ZH in lines[1]

    client.cookies.clear()
    signed(client, "manager")
    masked = client.get("/admin/members.csv").text
    assert "138****8000" in masked and "13800138000" not in masked and ZH not in masked
    assert members["other"] not in masked and members["loose"] not in masked


def test_a_store_manager_sees_only_their_stores_members(
    client: TestClient, members: dict[str, str]
) -> None:
    signed(client, "manager")

    listed = client.get("/admin/members")
    assert members["home"] in listed.text
    assert members["other"] not in listed.text and members["loose"] not in listed.text
    assert "138****8000" in listed.text and "13800138000" not in listed.text
    assert ZH not in listed.text and "张**" in listed.text
    # a search by another store's phone, card or name finds nothing
    for q in ("13900139000", members["other"], "李四"):
        found = client.get("/admin/members", params={"q": q}).text
        assert f'class="member-link">{members["other"]}<' not in found
    # another store asked for in the filter (a tampered URL) is refused
    assert client.get("/admin/members", params={"store": "SH002"}).status_code == 403
    assert client.get("/admin/members.csv", params={"store": "SH002"}).status_code == 403

    # another store's member opens as at the till: no history, no actions
    other = client.get(f"/admin/members/{members['other']}")
    assert other.status_code == 200 and 'id="other-store"' in other.text
    assert 'id="timeline"' not in other.text and 'id="orders"' not in other.text
    assert '<form method="post" action="/admin/members/' not in other.text
    assert "139****9000" in other.text and "13900139000" not in other.text


def test_the_owner_adjusts_points_once_per_form_with_an_audit_entry(
    client: TestClient, database: Database, program: ProgramConfig, members: dict[str, str]
) -> None:
    signed(client, "owner")
    form = {**form_of(client, members["home"]), "points": "150", "reason": "补偿 <b>"}

    done = client.post(
        f"/admin/members/{members['home']}/points", data=form, follow_redirects=False
    )
    again = client.post(
        f"/admin/members/{members['home']}/points", data=form, follow_redirects=False
    )

    assert done.status_code == again.status_code == 303
    page = client.get(done.headers["location"])
    assert 'id="points-balance">150<' in page.text and "补偿 &lt;b&gt;" in page.text
    with database.session_scope(read_only=True) as session:
        member = member_service.find(session, program_id=program.id, member_no=members["home"])
        assert member_service.view(session, member).points_balance == 150
    audit = client.get("/admin/audit", params={"action": "member.points"}).text
    assert audit.count("<code>member.points</code>") == 1


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"points": "", "reason": "x"}, "adjust-points"),
        ({"points": "abc", "reason": "x"}, "adjust-points"),
        ({"points": "9" * 2000, "reason": "x"}, "adjust-points"),
        ({"points": "10", "reason": ""}, "adjust-reason"),
        ({"points": "10", "reason": "长" * 201}, "adjust-reason"),
    ],
)
def test_a_wrong_adjustment_is_shown_next_to_its_field_and_changes_nothing(
    client: TestClient,
    database: Database,
    members: dict[str, str],
    fields: dict[str, str],
    error: str,
) -> None:
    signed(client, "owner")
    form = {**form_of(client, members["home"]), **fields}
    before = table_contents(database)

    refused = client.post(f"/admin/members/{members['home']}/points", data=form)

    assert refused.status_code == 422 and f'id="error-{error}"' in refused.text
    assert table_contents(database) == before


def test_a_zero_adjustment_is_refused_on_the_page(
    client: TestClient, database: Database, members: dict[str, str]
) -> None:
    signed(client, "owner")
    form = {**form_of(client, members["home"]), "points": "0", "reason": "x"}
    before = table_contents(database)

    refused = client.post(f"/admin/members/{members['home']}/points", data=form)

    assert refused.status_code in (409, 422) and 'id="refusal"' in refused.text
    assert table_contents(database) == before


def test_forms_without_the_csrf_token_or_key_change_nothing(
    client: TestClient, database: Database, members: dict[str, str]
) -> None:
    signed(client, "owner")
    form = form_of(client, members["home"])
    before = table_contents(database)
    url = f"/admin/members/{members['home']}"

    wrong = {**form, "csrf_token": "forged"}
    for action, extra in (
        ("points", {"points": "5", "reason": "x"}),
        ("status", {"status": "frozen"}),
    ):
        assert client.post(f"{url}/{action}", data={**wrong, **extra}).status_code == 403
    no_key = client.post(f"{url}/status", data={**form, "key": "<script>", "status": "frozen"})
    assert no_key.status_code == 422 and 'id="form-error"' in no_key.text

    assert table_contents(database) == before


def test_freeze_unfreeze_and_close_are_audited(client: TestClient, members: dict[str, str]) -> None:
    signed(client, "owner")
    url = f"/admin/members/{members['home']}"
    for status, button in (("frozen", 'id="unfreeze"'), ("active", 'id="freeze"')):
        form = {**form_of(client, members["home"]), "status": status}
        assert client.post(f"{url}/status", data=form, follow_redirects=False).status_code == 303
        assert client.post(f"{url}/status", data=form, follow_redirects=False).status_code == 303
        assert button in client.get(url).text
    audit = client.get("/admin/audit", params={"action": "member.status"}).text
    assert audit.count("<code>member.status</code>") == 2

    closing = {**form_of(client, members["home"]), "status": "closed"}
    client.post(f"{url}/status", data=closing)
    page = client.get(url).text
    assert 'id="freeze"' not in page
    # a closed member cannot be changed: the service's refusal is shown
    again = {**form_of(client, members["home"]), "status": "active"}
    refused = client.post(f"{url}/status", data=again)
    assert refused.status_code == 409 and 'id="refusal"' in refused.text


def test_profile_and_tags_are_edited_and_hostile_input_is_escaped(
    client: TestClient, database: Database, program: ProgramConfig, members: dict[str, str]
) -> None:
    signed(client, "owner")
    url = f"/admin/members/{members['home']}"
    form = {
        **form_of(client, members["home"]),
        "phone": "13800138000",
        "name": "<script>alert(1)</script>",
        "email": "",
        "birthday": "",
        "gender": "female",
        "tags": "vip, 新客 <i>",
    }
    assert client.post(f"{url}/profile", data=form, follow_redirects=False).status_code == 303
    page = client.get(url).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    with database.session_scope(read_only=True) as session:
        member = member_service.find(session, program_id=program.id, member_no=members["home"])
        assert sorted(member.tags) == ["<i>", "vip", "新客"]

    before = table_contents(database)
    for bad in (
        {"phone": "12345"},
        {"email": "not-mail"},
        {"birthday": "1990-13-45"},
        {"tags": "x" * 40},
    ):
        refused = client.post(
            f"{url}/profile", data={**form, **form_of(client, members["home"]), **bad}
        )
        assert refused.status_code in (409, 422), bad
    assert table_contents(database) == before


def test_a_tier_is_granted_and_a_qr_token_rotated(
    client: TestClient, members: dict[str, str]
) -> None:
    signed(client, "owner")
    url = f"/admin/members/{members['home']}"
    form = {
        **form_of(client, members["home"]),
        "tier": "gold",
        "until": "2099-12-31",
        "reason": "VIP",
    }
    assert client.post(f"{url}/tier", data=form, follow_redirects=False).status_code == 303
    assert client.post(f"{url}/tier", data=form, follow_redirects=False).status_code == 303
    assert (
        client.get("/admin/audit", params={"action": "member.tier"}).text.count(
            "<code>member.tier</code>"
        )
        == 1
    )
    bad = client.post(f"{url}/tier", data={**form, "until": "soon"})
    assert bad.status_code == 422 and 'id="error-grant-until"' in bad.text

    qr = {**form_of(client, members["home"])}
    first = client.post(f"{url}/qr", data=qr)
    repeat = client.post(f"{url}/qr", data=qr)
    assert "新的会员码：" in first.text and "新的会员码：" not in repeat.text
    assert first.status_code == repeat.status_code == 200
    assert 'id="qr-issued"' in repeat.text


def test_roles_and_stores_are_checked_on_every_action(
    client: TestClient, database: Database, members: dict[str, str]
) -> None:
    signed(client, "manager")
    home = form_of(client, members["home"])
    page = client.get(f"/admin/members/{members['home']}").text
    assert 'id="form-points"' not in page and 'id="form-profile"' in page
    before = table_contents(database)

    # a manager may not adjust points, nor change another store's member (tampered path)
    refused: list[Any] = [
        client.post(
            f"/admin/members/{members['home']}/points", data={**home, "points": "5", "reason": "x"}
        ),
        client.post(f"/admin/members/{members['other']}/profile", data={**home, "tags": "x"}),
        client.post(f"/admin/members/{members['other']}/qr", data=home),
    ]
    assert [answer.status_code for answer in refused] == [403, 403, 403]
    assert table_contents(database) == before


@pytest.mark.parametrize(
    "params",
    [
        {"q": "<script>alert(1)</script>"},
        {"q": "会员" * 50},
        {"q": '%_!\\"'},
        {"q": "x" * 101},
        {"from": "2026-02-30"},
        {"to": "<b>"},
        {"status": "gone"},
        {"tier": "<i>"},
        {"before": "-1"},
        {"before": "9" * 40},
    ],
)
def test_hostile_list_queries_are_refused_or_escaped_never_a_500(
    client: TestClient, members: dict[str, str], params: dict[str, str]
) -> None:
    signed(client, "owner")

    for url in ("/admin/members", "/admin/members.csv"):
        answer = client.get(url, params=params)
        assert answer.status_code in (200, 422), (url, params, answer.status_code)
        assert "<script>alert(1)</script>" not in answer.text
        assert "<b>" not in answer.text and "<i>" not in answer.text


def test_an_unknown_or_malformed_card_number_is_a_404_page(
    client: TestClient, members: dict[str, str]
) -> None:
    signed(client, "owner")
    for member_no in ("000000000000", "<script>", "9" * 300):
        answer = client.get(f"/admin/members/{member_no}")
        assert answer.status_code == 404 and "<script>" not in answer.text.split("</head>")[1]


@pytest.mark.parametrize(
    ("path", "fields", "error"),
    [
        ("points", {"points": "10", "reason": "补偿\u202e"}, "adjust-reason"),
        ("points", {"points": "10", "reason": "a\tb"}, "adjust-reason"),
        ("profile", {"phone": "13800138000", "name": "张\u202e三", "tags": "vip"}, "profile-name"),
        ("tier", {"tier": "gold", "until": "2099-12-31", "reason": "VIP\x1b"}, "grant-reason"),
    ],
)
def test_control_characters_are_refused_next_to_the_field_and_change_nothing(
    client: TestClient,
    database: Database,
    members: dict[str, str],
    path: str,
    fields: dict[str, str],
    error: str,
) -> None:
    signed(client, "owner")
    form = {**form_of(client, members["home"]), **fields}
    before = table_contents(database)

    refused = client.post(f"/admin/members/{members['home']}/{path}", data=form)

    assert refused.status_code == 422, refused.text
    found = re.search(rf'id="error-{error}">([^<]*)<', refused.text)
    assert found, refused.text
    assert found.group(1) == "此处不得包含控制字符（换行、制表符或文字方向控制符）。"
    assert table_contents(database) == before
