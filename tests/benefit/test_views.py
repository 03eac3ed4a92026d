"""Benefit pages through HTTP: the console's catalog, verifying at the till, the member panel."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.audit.models import AuditEntry
from memberkit.benefit import service
from memberkit.benefit.models import BenefitUse
from memberkit.benefit.rules import BenefitKind, Period
from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.member import service as member_service
from memberkit.program.service import ProgramConfig
from memberkit.staff import service as staff_service
from memberkit.staff.rules import Actor
from tests.pos.conftest import PASSWORDS, cheap_hashes, member, staff
from tests.pos.test_views import form_of
from tests.rest import table_contents

__all__ = ["cheap_hashes", "member", "staff"]

MORE = {"marketer": "marketer-pass-2026", "analyst": "analyst-pass-2026"}


def sign_in(client: TestClient, username: str) -> None:
    password = PASSWORDS.get(username) or MORE[username]
    body = {"username": username, "password": password, "next": "/admin"}
    assert client.post("/login", data=body, follow_redirects=False).status_code == 303


@pytest.fixture
def more_staff(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> None:
    """A marketer and an analyst besides the owner, admin, manager and cashier."""
    with database.session_scope() as session:
        for username in MORE:
            staff_service.create_user(
                session,
                program_id=program.id,
                username=username,
                password=MORE[username],
                role=username,
                stores=(),
            )


@pytest.fixture
def parking(database: Database, program: ProgramConfig, member: str) -> str:
    """2 free parking vouchers a month for regular members (the member's tier)."""
    with database.session_scope() as session:
        service.define(
            session, program=program, code="free_parking", kind=BenefitKind.parking, name="免费停车"
        )
        service.grant(
            session,
            program=program,
            code="free_parking",
            grants=[service.GrantIn("regular", 2, Period.month, 2)],
        )
    return "free_parking"


def use_through_the_api(
    database: Database, program: ProgramConfig, member_no: str, external_id: str, store: str
) -> None:
    """One free parking voucher verified at ``store`` (as the POS API would)."""
    with database.session_scope() as session:
        service.use(
            session,
            program=program,
            member_no=member_no,
            code="free_parking",
            external_id=external_id,
            quantity=1,
            store_code=store,
            actor="api",
        )


def audits(database: Database, action: str) -> list[AuditEntry]:
    with database.session_scope() as session:
        found = session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return list(found)


def uses(database: Database) -> list[tuple[str, int, bool]]:
    with database.session_scope() as session:
        rows = session.scalars(select(BenefitUse).order_by(BenefitUse.id))
        return [(u.external_id, u.quantity, u.undone_at is not None) for u in rows]


# --- the console ---------------------------------------------------------------------------


def test_the_catalog_lists_every_benefit_with_its_grants(
    client: TestClient, parking: str, more_staff: None
) -> None:
    # given the system benefits and free parking granted to regular members
    sign_in(client, "analyst")

    # when an analyst opens the catalog
    page = client.get("/admin/benefits")

    # then every benefit is listed with kind and grant, read-only
    assert page.status_code == 200
    codes = re.findall(r'class="card mb-3 benefit" id="benefit-([a-z_]+)"', page.text)
    assert codes == ["tier_discount", "member_price", "free_shipping", "free_parking"]
    card = page.text.split('id="benefit-free_parking"')[1]
    assert "免费停车" in card
    assert re.search(r'class="grant-quota">2<', card)
    assert 'id="form-define"' not in page.text and 'name="quota-regular"' not in page.text
    assert 'href="/admin/benefits"' in page.text  # in the navigation


def test_an_admin_defines_a_benefit_and_grants_it_per_tier(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/benefits").text

    # when a lounge benefit is defined
    defined = client.post(
        "/admin/benefits",
        data={
            **form_of(page, "form-define"),
            "code": "vip_lounge",
            "kind": "lounge",
            "name": "贵宾室",
            "description": "机场贵宾室",
            "icon": "ti-armchair",
        },
    )
    assert defined.status_code == 200 and str(defined.url).endswith("?done=define")
    assert 'id="benefit-vip_lounge"' in defined.text

    # and granted to two tiers, one with a quota and one without
    tiers = [tier.code for tier in program.ladder.tiers]
    granted = client.post(
        "/admin/benefits/vip_lounge/grants",
        data={
            **form_of(defined.text, "form-grants-vip_lounge"),
            f"on-{tiers[0]}": "on",
            f"quota-{tiers[0]}": "3",
            f"period-{tiers[0]}": "year",
            f"on-{tiers[1]}": "on",
            f"quota-{tiers[1]}": "",
            f"period-{tiers[1]}": "month",
        },
    )
    assert granted.status_code == 200 and str(granted.url).endswith("?done=grant")

    # then the service has them, and both changes are audited
    with database.session_scope() as session:
        view = next(
            v for v in service.catalog(session, program=program) if v.benefit.code == "vip_lounge"
        )
        assert (view.benefit.name, view.benefit.icon) == ("贵宾室", "ti-armchair")
        assert view.grants == [
            service.GrantIn(tiers[0], 3, Period.year, 0),
            service.GrantIn(tiers[1], None, Period.month, 0),
        ]
    assert [a.subject_id for a in audits(database, "benefit.define")] == ["vip_lounge"]
    [grant_audit] = audits(database, "benefit.grant")
    assert grant_audit.before == [] and len(grant_audit.after) == 2

    # and a change of name, and switching it off, are saved; a system one is only renamed
    changed = client.post(
        "/admin/benefits/vip_lounge",
        data={
            **form_of(granted.text, "form-change-vip_lounge"),
            "name": "贵宾休息室",
            "description": "",
            "icon": "ti-armchair",
        },
    )
    assert changed.status_code == 200 and str(changed.url).endswith("?done=change")
    renamed = client.post(
        "/admin/benefits/tier_discount",
        data={
            **form_of(changed.text, "form-change-tier_discount"),
            "name": "金卡折扣",
            "description": "全场95折",
        },
    )
    assert renamed.status_code == 200
    with database.session_scope() as session:
        found = {v.benefit.code: v.benefit for v in service.catalog(session, program=program)}
        assert (found["vip_lounge"].name, found["vip_lounge"].active) == ("贵宾休息室", False)
        assert (found["tier_discount"].name, found["tier_discount"].active) == ("金卡折扣", True)

    # and the unused one is deleted
    deleted = client.post(
        "/admin/benefits/vip_lounge/delete", data=form_of(renamed.text, "form-delete-vip_lounge")
    )
    assert deleted.status_code == 200 and 'id="benefit-vip_lounge"' not in deleted.text
    assert [a.subject_id for a in audits(database, "benefit.delete")] == ["vip_lounge"]


def test_wrong_fields_are_said_beside_them_and_change_nothing(
    client: TestClient, database: Database, parking: str
) -> None:
    sign_in(client, "owner")
    page = client.get("/admin/benefits").text
    before = table_contents(database)
    bad_code = client.post(
        "/admin/benefits",
        data={**form_of(page, "form-define"), "code": "Bad Code", "kind": "lounge", "name": ""},
    )
    assert bad_code.status_code == 422
    assert 'id="error-define-code"' in bad_code.text and 'id="error-define-name"' in bad_code.text
    system_kind = client.post(
        "/admin/benefits",
        data={**form_of(page, "form-define"), "code": "x", "kind": "discount", "name": "x"},
    )
    assert system_kind.status_code == 409 and 'id="refusal"' in system_kind.text
    bad_quota = client.post(
        "/admin/benefits/free_parking/grants",
        data={
            **form_of(page, "form-grants-free_parking"),
            "on-regular": "on",
            "quota-regular": "0",
        },
    )
    assert bad_quota.status_code == 422
    assert 'id="error-free_parking-regular-quota"' in bad_quota.text
    bad_discount = client.post(
        "/admin/benefits/tier_discount/grants",
        data={
            **form_of(page, "form-grants-tier_discount"),
            "on-regular": "on",
            "value-regular": "0",
        },
    )
    assert bad_discount.status_code == 422 and 'id="refusal"' in bad_discount.text
    assert table_contents(database) == before


@pytest.mark.parametrize("username", ["analyst", "manager", "cashier"])
def test_roles_that_do_not_manage_benefits_are_refused_and_nothing_changes(
    client: TestClient, database: Database, parking: str, more_staff: None, username: str
) -> None:
    sign_in(client, username)
    csrf = form_of(client.get("/pos").text, "identify-form") if username == "cashier" else None
    if csrf is None:
        page = client.get("/admin/benefits")
        assert page.status_code == 200
        csrf = form_of(page.text, "form-grants-free_parking")
    before = table_contents(database)
    for path, data in (
        ("/admin/benefits", {"code": "x", "kind": "lounge", "name": "x"}),
        ("/admin/benefits/free_parking", {"name": "y", "description": ""}),
        ("/admin/benefits/free_parking/grants", {"on-regular": "on", "quota-regular": "9"}),
        ("/admin/benefits/free_parking/delete", {}),
    ):
        refused = client.post(path, data={**csrf, **data})
        assert refused.status_code == 403, (path, refused.status_code)
    assert table_contents(database) == before


def test_a_marketer_manages_benefits(
    client: TestClient, database: Database, parking: str, more_staff: None
) -> None:
    sign_in(client, "marketer")
    page = client.get("/admin/benefits").text
    assert 'id="form-define"' in page
    changed = client.post(
        "/admin/benefits/free_parking",
        data={**form_of(page, "form-change-free_parking"), "name": "停车券", "active": "on"},
    )
    assert changed.status_code == 200 and "停车券" in changed.text


# --- the till ------------------------------------------------------------------------------


def benefits_page(client: TestClient, member_no: str) -> str:
    page = client.get(f"/pos/benefits?m={member_no}")
    assert page.status_code == 200, page.text
    return page.text


def left(page: str, code: str = "free_parking") -> str:
    found = re.search(rf'id="left-{code}">([^<]*)<', page)
    assert found, "no left"
    return found.group(1)


def test_the_till_links_to_the_members_benefits_which_show_what_is_left(
    client: TestClient, database: Database, program: ProgramConfig, member: str, parking: str
) -> None:
    with database.session_scope() as session:
        service.grant(
            session,
            program=program,
            code="tier_discount",
            grants=[service.GrantIn("regular", None, Period.month, 9800)],
        )
    sign_in(client, "cashier")
    till = client.get(f"/pos?m={member}").text
    assert f'href="/pos/benefits?m={member}" id="member-benefits-link"' in till
    page = benefits_page(client, member)
    assert left(page) == "2"
    # the system benefits are applied at checkout, with no verify form
    system = page.split('id="benefit-tier_discount"')[1].split('class="list-group-item benefit"')[0]
    assert "benefit-system" in system and "use-form" not in system
    assert 'id="use-form-free_parking"' in page
    assert 'id="no-uses"' in page


def test_a_verification_uses_the_quota_once_per_form_and_says_what_is_left(
    client: TestClient, database: Database, member: str, parking: str
) -> None:
    sign_in(client, "cashier")
    form = form_of(benefits_page(client, member), "use-form-free_parking")

    # when the verify button is tapped twice with the same form
    first = client.post("/pos/benefits/use", data=form)
    second = client.post("/pos/benefits/use", data=form)

    # then one use is made, at SH001, and both answers say 1 is left
    for answer in (first, second):
        assert answer.status_code == 200
        assert re.search(
            r'id="benefit-done">\s*已核销 1 × 免费停车。\s*本期剩余：1。', answer.text
        ), answer.text
        assert left(answer.text) == "1"
    assert uses(database) == [(f"POSB-{form['key']}", 1, False)]
    [entry] = audits(database, "benefit.use")
    assert entry.after["store_code"] == "SH001" and entry.after["left"] == 1
    assert 'class="list-group-item benefit-use"' in first.text


def test_a_verification_past_the_quota_is_refused_and_changes_nothing(
    client: TestClient, database: Database, member: str, parking: str
) -> None:
    sign_in(client, "cashier")
    form = form_of(benefits_page(client, member), "use-form-free_parking")
    assert client.post("/pos/benefits/use", data={**form, "quantity": "2"}).status_code == 200
    page = benefits_page(client, member)
    assert left(page) == "0"
    before = table_contents(database)

    refused = client.post(
        "/pos/benefits/use", data={**form_of(page, "use-form-free_parking"), "quantity": "1"}
    )

    assert refused.status_code == 409
    assert re.search(
        r'id="benefit-error">[^<]*免费停车|id="benefit-error">[^<]*free_parking', refused.text
    )
    assert table_contents(database) == before
    wrong = client.post(
        "/pos/benefits/use", data={**form_of(page, "use-form-free_parking"), "quantity": "0"}
    )
    assert wrong.status_code == 422 and 'id="error-quantity-free_parking"' in wrong.text
    assert table_contents(database) == before


def test_a_frozen_member_is_refused_and_nothing_changes(
    client: TestClient, database: Database, program: ProgramConfig, member: str, parking: str
) -> None:
    sign_in(client, "cashier")
    form = form_of(benefits_page(client, member), "use-form-free_parking")
    with database.session_scope() as session:
        found = member_service.find(session, program_id=program.id, member_no=member)
        member_service.change(session, member=found, changes={"status": "frozen"})
    before = table_contents(database)
    refused = client.post("/pos/benefits/use", data=form)
    assert refused.status_code >= 400 and 'id="benefit-error"' in refused.text
    assert 'id="member-status"' in refused.text
    assert table_contents(database) == before


def test_an_undo_needs_a_reason_and_gives_the_quota_back(
    client: TestClient, database: Database, member: str, parking: str
) -> None:
    sign_in(client, "cashier")
    used = client.post(
        "/pos/benefits/use", data=form_of(benefits_page(client, member), "use-form-free_parking")
    )
    undo = form_of(used.text, "undo-form-1")
    before = table_contents(database)
    no_reason = client.post("/pos/benefits/undo", data={**undo, "reason": " "})
    assert no_reason.status_code == 422 and 'id="error-reason-1"' in no_reason.text
    assert table_contents(database) == before

    undone = client.post("/pos/benefits/undo", data={**undo, "reason": "误操作"})

    assert undone.status_code == 200 and 'id="benefit-done"' in undone.text
    assert left(undone.text) == "2"
    assert uses(database) == [(undo["use"], 1, True)]
    [entry] = audits(database, "benefit.undo")
    assert entry.after["reason"] == "误操作"
    assert 'id="undo-form-1"' not in undone.text and "use-undone" in undone.text


def test_the_undo_window_closes(
    client: TestClient, database: Database, member: str, parking: str
) -> None:
    sign_in(client, "cashier")
    used = client.post(
        "/pos/benefits/use", data=form_of(benefits_page(client, member), "use-form-free_parking")
    )
    undo = form_of(used.text, "undo-form-1")
    with time_machine.travel(utcnow() + timedelta(minutes=31), tick=True):
        sign_in(client, "cashier")
        page = benefits_page(client, member)
        assert 'id="undo-form-1"' not in page and 'class="list-group-item benefit-use"' in page
        before = table_contents(database)
        refused = client.post(
            "/pos/benefits/undo",
            data={
                **undo,
                "csrf_token": form_of(page, "use-form-free_parking")["csrf_token"],
                "reason": "晚了",
            },
        )
        assert refused.status_code == 409 and 'id="benefit-error"' in refused.text
        assert table_contents(database) == before


def test_an_undo_of_another_stores_use_is_refused(
    client: TestClient, database: Database, program: ProgramConfig, member: str, parking: str
) -> None:
    # given a use made at SH002
    use_through_the_api(database, program, member, "ELSEWHERE-1", "SH002")
    sign_in(client, "cashier")
    page = benefits_page(client, member)
    assert 'data-use="ELSEWHERE-1"' not in page  # this store's uses only
    before = table_contents(database)

    # when the cashier of SH001 sends an undo of it
    csrf = form_of(page, "use-form-free_parking")["csrf_token"]
    refused = client.post(
        "/pos/benefits/undo",
        data={
            "csrf_token": csrf,
            "store": "SH001",
            "member": member,
            "use": "ELSEWHERE-1",
            "reason": "试试",
        },
    )

    # then it is refused on the page and nothing changes
    assert refused.status_code == 403 and 'id="benefit-error"' in refused.text
    assert table_contents(database) == before


def test_a_form_made_for_another_store_is_refused(
    client: TestClient, database: Database, member: str, parking: str
) -> None:
    sign_in(client, "cashier")
    form = form_of(benefits_page(client, member), "use-form-free_parking")
    before = table_contents(database)
    assert client.post("/pos/benefits/use", data={**form, "store": "SH002"}).status_code == 403
    assert table_contents(database) == before


# --- the member page -----------------------------------------------------------------------


def test_the_member_page_shows_what_is_left_and_the_last_uses(
    client: TestClient, database: Database, program: ProgramConfig, member: str, parking: str
) -> None:
    use_through_the_api(database, program, member, "USE-1", "SH001")
    sign_in(client, "admin")
    page = client.get(f"/admin/members/{member}")
    assert page.status_code == 200
    row = page.text.split('id="member-benefit-free_parking"')[1].split("</tr>")[0]
    assert "剩余 1 / 2" in row
    assert 'data-use="USE-1"' in page.text


def test_a_used_benefit_is_not_deleted_and_a_system_one_cannot_be(
    client: TestClient, database: Database, program: ProgramConfig, member: str, parking: str
) -> None:
    use_through_the_api(database, program, member, "USE-1", "SH001")
    sign_in(client, "admin")
    page = client.get("/admin/benefits").text
    assert 'id="form-delete-tier_discount"' not in page
    before = table_contents(database)
    used = client.post(
        "/admin/benefits/free_parking/delete", data=form_of(page, "form-delete-free_parking")
    )
    assert used.status_code == 409 and 'id="refusal"' in used.text
    system = client.post(
        "/admin/benefits/tier_discount/delete", data=form_of(page, "form-delete-free_parking")
    )
    assert system.status_code == 409
    switched = client.post(
        "/admin/benefits/tier_discount",
        data={**form_of(page, "form-change-tier_discount"), "name": "会员折扣", "active": ""},
    )
    assert switched.status_code == 200  # the switch of a system benefit is not read
    assert table_contents(database) == before
