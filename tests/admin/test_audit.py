"""The audit log page: filters by actor, subject, action and days, keyset pages, bad input."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from memberkit.audit import service as audit
from memberkit.audit.rules import CLI, Origin
from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from tests.admin.test_views import sign_in
from tests.program.test_views import english
from tests.rest import table_contents


def _record(
    database: Database,
    program: ProgramConfig,
    who: Actor | None,
    action: str,
    subject: tuple[str, str | int],
    at: datetime,
) -> int:
    origin = Origin(who.username, actor_id=who.staff_id) if who else CLI
    with database.session_scope() as session:
        return audit.record(
            session,
            program_id=program.id,
            origin=origin,
            action=action,
            subject_type=subject[0],
            subject_id=subject[1],
            after={"n": 1},
            at=at,
        ).id


def _shown(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'class="audit-entry" data-id="(\d+)"', page)]


@pytest.fixture
def entries(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> dict[str, int]:
    """Entries around the program's midnights (Asia/Shanghai, UTC+8) of 2026-12-01."""
    admin, owner = staff["admin"], staff["owner"]
    cashier_id = staff["cashier"].staff_id
    return {
        # 2025-05-31 23:59 local: the day before
        "before": _record(
            database,
            program,
            admin,
            "store.update",
            ("store", "SH001"),
            datetime(2025, 5, 31, 15, 59, tzinfo=UTC),
        ),
        # 2025-06-01 00:00 local: the day's first minute
        "first": _record(
            database,
            program,
            admin,
            "member.update",
            ("member", "100000018"),
            datetime(2025, 5, 31, 16, 0, tzinfo=UTC),
        ),
        # 2025-06-01 23:59 local: its last minute
        "last": _record(
            database,
            program,
            owner,
            "staff.update",
            ("staff", cashier_id),
            datetime(2025, 6, 1, 15, 59, tzinfo=UTC),
        ),
        # 2025-06-02 00:00 local: the next day
        "after": _record(
            database,
            program,
            None,
            "member.update",
            ("member", "100000018"),
            datetime(2025, 6, 1, 16, 0, tzinfo=UTC),
        ),
    }


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("until=2025-12-31", ["after", "last", "first", "before"]),
        ("since=2025-06-01&until=2025-06-01", ["last", "first"]),
        ("since=2025-06-01&until=2025-06-02", ["after", "last", "first"]),
        ("until=2025-05-31", ["before"]),
        ("actor=admin&until=2025-12-31", ["first", "before"]),
        ("actor=ADMIN&until=2025-12-31", ["first", "before"]),
        ("actor=owner&since=2025-06-01", ["last"]),
        ("subject=100000018", ["after", "first"]),
        ("subject=100000018&kind=member&until=2025-06-01", ["first"]),
        ("kind=store", ["before"]),
        ("kind=staff&subject=cashier&until=2025-12-31", ["last"]),
        ("action=member.update", ["after", "first"]),
        ("action=member.update&actor=admin", ["first"]),
        ("action=nothing.like.this", []),
        ("subject=<script>alert(1)</script>", []),
    ],
)
def test_the_filters_narrow_the_log_and_days_are_the_programs_with_the_last_included(
    client: TestClient, entries: dict[str, int], query: str, wanted: list[str]
) -> None:
    sign_in(client, "owner")
    page = client.get(f"/admin/audit?{query}")
    assert page.status_code == 200, page.text[-2000:]
    assert _shown(page.text) == [entries[name] for name in wanted]
    assert "<script>alert(1)</script>" not in page.text
    for name, values in parse_qs(query).items():
        if name != "kind":
            assert f'name="{name}" value="{values[0]}"' in page.text.replace("&lt;", "<").replace(
                "&gt;", ">"
            )


@pytest.mark.parametrize(
    ("query", "where", "said"),
    [
        ("actor=nobody", "actor", "No staff account is named nobody"),
        ("actor=<script>alert(1)</script>", "actor", "No staff account is named &lt;script&gt;"),
        ("since=2026-13-01", "since", "2026-13-01 is not a date"),
        ("since=yesterday", "since", "yesterday is not a date"),
        ("until=2026-2-1", "until", "2026-2-1 is not a date"),
        ("until=" + "9" * 5000, "until", "is not a date"),
        ("since=0001-01-01", "since", "0001-01-01 is not a date"),
        ("since=2026-12-02&until=2026-12-01", "until", "The first day (2026-12-02) is after"),
        ("kind=staff&subject=nobody", "subject", "No staff account nobody."),
    ],
)
def test_a_filter_that_cannot_be_read_is_said_beside_it_never_a_500(
    client: TestClient,
    database: Database,
    entries: dict[str, int],
    query: str,
    where: str,
    said: str,
) -> None:
    sign_in(client, "owner")
    english(client)
    before = table_contents(database)
    page = client.get(f"/admin/audit?{query}")
    assert page.status_code in (404, 422), page.text[-2000:]
    found = re.search(rf'id="error-{where}">([^<]*)<', page.text)
    assert found and said in found.group(1), page.text[-3000:]
    assert _shown(page.text) == []
    assert "<script>alert(1)</script>" not in page.text
    assert table_contents(database) == before


def test_pages_follow_by_keyset_and_keep_the_filters(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    # given 60 entries by the admin on 2025-06-01 and 5 by the owner
    at = datetime(2025, 6, 1, 4, 0, tzinfo=UTC)
    mine = [
        _record(database, program, staff["admin"], "store.update", ("store", "SH001"), at)
        for _ in range(60)
    ]
    for _ in range(5):
        _record(database, program, staff["owner"], "store.update", ("store", "SH001"), at)
    sign_in(client, "owner")

    # when the admin's entries of that day are asked for
    first = client.get("/admin/audit?actor=admin&since=2025-06-01&until=2025-06-01").text
    assert _shown(first) == sorted(mine, reverse=True)[:50]
    older = re.search(r'href="/admin/audit\?([^"]+)" id="older-entries"', first)
    assert older is not None
    link = older.group(1).replace("&amp;", "&")
    assert parse_qs(link) == {
        "actor": ["admin"],
        "since": ["2025-06-01"],
        "until": ["2025-06-01"],
        "after": [str(sorted(mine, reverse=True)[49])],
    }

    # then the next page holds the other ten, and no further link
    second = client.get(f"/admin/audit?{link}").text
    assert _shown(second) == sorted(mine, reverse=True)[50:]
    assert 'id="older-entries"' not in second
    for after in ("abc", "-1", "9" * 40, ""):
        assert client.get(f"/admin/audit?after={after}").status_code == 200


def test_only_owners_and_admins_read_the_log(client: TestClient, staff: dict[str, Actor]) -> None:
    for username, status in (("admin", 200), ("manager", 403), ("cashier", 403)):
        client.cookies.clear()
        sign_in(client, username)
        assert client.get("/admin/audit?actor=admin").status_code == status
    assert urlsplit("/admin/audit").path == "/admin/audit"


def test_an_entrys_data_is_shown_as_text_chinese_as_itself_and_never_run(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    with database.session_scope() as session:
        audit.record(
            session,
            program_id=program.id,
            origin=CLI,
            action="store.update",
            subject_type="store",
            subject_id="SH001",
            before={"name": "门店一"},
            after={"name": "<script>alert(1)</script>门店二"},
        )
    sign_in(client, "owner")
    page = client.get("/admin/audit?kind=store").text
    assert "{&#34;name&#34;: &#34;门店一&#34;}" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;门店二" in page
    assert "<script>alert(1)</script>" not in page
