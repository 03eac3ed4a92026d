"""The store picker: a cashier or manager of several stores chooses the one they work for.

The choice is remembered for their session only, offers their stores only, and the till
books sales, refunds and recharges to it; a form made for another store is refused.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.audit.models import AuditEntry
from memberkit.db import Database
from memberkit.faces.web import STORE_COOKIE
from memberkit.member import service as member_service
from memberkit.order.models import Order
from memberkit.program.service import ProgramConfig
from memberkit.staff import service as staff_service
from memberkit.staff.rules import Actor
from memberkit.store.models import Store
from tests.factories import make_store, post_order
from tests.pos.test_views import form_of, sign_in, till
from tests.program.test_views import english
from tests.rest import table_contents


@pytest.fixture
def two_stores(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> None:
    """The cashier works at SH001 and SH002; SH003 is another store of the chain."""
    with database.session_scope() as session:
        make_store(session, program, code="SH003")
        staff_service.update_user(
            session, program_id=program.id, username="cashier", stores=["SH001", "SH002"]
        )


def choose(client: TestClient, store: str, *, next: str = "/pos") -> Any:
    page = client.get("/pos")
    token = form_of(page.text, "store-picker")["csrf_token"]
    return client.post(
        "/account/store",
        data={"csrf_token": token, "store": store, "next": next},
        follow_redirects=False,
    )


def _stores_of_orders(database: Database) -> list[tuple[str, str | None]]:
    with database.session_scope(read_only=True) as session:
        return [
            (external_id, code)
            for external_id, code in session.execute(
                select(Order.external_id, Store.code)
                .outerjoin(Store, Store.id == Order.store_id)
                .where(Order.external_id.like("POS%"))
                .order_by(Order.id)
            )
        ]


def _sell(client: TestClient, member: str, amount: str = "20.00") -> Any:
    page = till(client, member)
    preview = client.post(
        "/pos/sale/preview", data={**form_of(page, "sale-form"), "amount": amount}
    ).text
    return client.post("/pos/sale", data=form_of(preview, "confirm-form"), follow_redirects=False)


def test_a_cashier_of_two_stores_picks_one_and_the_till_books_to_it(
    client: TestClient, database: Database, member: str, two_stores: None
) -> None:
    # given the cashier of SH001 and SH002 signed in: they work for the first, SH001
    sign_in(client, "cashier")
    page = client.get("/pos").text
    assert re.search(r'id="working-store">SH001<', page)
    assert 'id="choose-store-SH001"' in page and 'id="choose-store-SH002"' in page
    assert 'id="choose-store-SH003"' not in page

    # when they choose SH002
    chosen = choose(client, "SH002")
    assert (chosen.status_code, chosen.headers["location"]) == (303, "/pos")

    # then the navbar says so, and a sale and a recharge are booked to SH002
    page = till(client, member)
    assert re.search(r'id="working-store">SH002<', page)
    assert re.search(r'id="till-store">SH002<', page)
    assert 'name="store" value="SH002"' in page
    assert _sell(client, member).status_code == 303
    asked = {**form_of(page, "recharge-form"), "amount": "100.00", "method": "cash"}
    confirm = form_of(
        client.post("/pos/recharge/preview", data=asked).text, "recharge-confirm-form"
    )
    assert 'id="recharge-done"' in client.post("/pos/recharge", data=confirm).text
    [(_sale, store)] = _stores_of_orders(database)
    assert store == "SH002"
    with database.session_scope(read_only=True) as session:
        afters = {
            entry.action: entry.after
            for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.action.in_(("order.post", "wallet.recharge")))
            )
        }
    assert {action: after["store_code"] for action, after in afters.items() if after} == {
        "order.post": "SH002",
        "wallet.recharge": "SH002",
    }

    # and the manager's dashboard scope is untouched: they still see both their stores
    assert client.get("/admin/members").status_code == 200


def test_a_refund_is_of_an_order_of_the_store_worked_for(
    client: TestClient, database: Database, program: ProgramConfig, member: str, two_stores: None
) -> None:
    # given an order made at SH001
    with database.session_scope() as session:
        found = member_service.find(session, program_id=program.id, member_no=member)
        post_order(session, program, found, external_id="SH1-1", store_code="SH001")
    sign_in(client, "cashier")
    english(client)
    choose(client, "SH002")
    page = client.get("/pos/refund?order=SH1-1")
    assert page.status_code == 409 and "Choose store SH001 to refund it." in page.text
    token = form_of(till(client, member), "sale-form")["csrf_token"]
    sent = {"csrf_token": token, "order": "SH1-1", "how": "all", "key": "k" * 22}
    before = table_contents(database)

    # when the refund is sent while working for SH002, it is refused and nothing changes
    refused = client.post("/pos/refund", data={**sent, "store": "SH002"})
    assert refused.status_code == 409
    assert table_contents(database) == before

    # once SH001 is chosen, the same refund goes through
    choose(client, "SH001")
    form = form_of(client.get("/pos/refund?order=SH1-1").text, "refund-form")
    assert form["store"] == "SH001"
    done = client.post("/pos/refund", data={**form, "how": "all"})
    assert done.status_code == 200 and 'id="refund-done"' in done.text


@pytest.mark.parametrize(
    "store", ["SH003", "NOPE", "", "<script>alert(1)</script>", "S" * 5000, "门店一"]
)
def test_a_store_not_ones_own_is_never_chosen(
    client: TestClient, database: Database, member: str, two_stores: None, store: str
) -> None:
    sign_in(client, "cashier")
    english(client)
    before = table_contents(database)
    refused = choose(client, store)
    assert refused.status_code == 403 and 'id="refusal"' in refused.text
    assert "<script>alert(1)</script>" not in refused.text
    assert STORE_COOKIE not in refused.headers.get("set-cookie", "")
    assert table_contents(database) == before
    assert re.search(r'id="working-store">SH001<', client.get("/pos").text)


@pytest.mark.parametrize(
    ("sent", "status"),
    [("SH003", 403), ("SH001", 409), ("<script>alert(1)</script>", 403), ("x" * 5000, 403)],
)
def test_a_till_form_of_another_store_books_nothing(
    client: TestClient,
    database: Database,
    member: str,
    two_stores: None,
    sent: str,
    status: int,
) -> None:
    # given the cashier working for SH002
    sign_in(client, "cashier")
    choose(client, "SH002")
    page = till(client, member)
    preview = client.post(
        "/pos/sale/preview", data={**form_of(page, "sale-form"), "amount": "20.00"}
    ).text
    blank = client.get("/pos").text
    before = table_contents(database)

    # when a sale, a recharge and a registration carry another store in their hidden field
    forms = [
        ("/pos/sale", {**form_of(preview, "confirm-form"), "store": sent}),
        (
            "/pos/recharge",
            {**form_of(page, "recharge-form"), "amount": "100.00", "method": "cash", "store": sent},
        ),
        (
            "/pos/register",
            {
                **form_of(blank, "register-form"),
                "phone": "13700001111",
                "store": sent,
            },
        ),
        ("/pos/refund", {**form_of(page, "sale-form"), "order": "X", "how": "all", "store": sent}),
    ]
    for path, data in forms:
        refused = client.post(path, data=data, follow_redirects=False)
        # then each is refused, shown as a page, and nothing is booked anywhere
        assert refused.status_code == status, (path, refused.text[-1500:])
        assert "<script>alert(1)</script>" not in refused.text
    assert table_contents(database) == before


def test_the_choice_is_bound_to_its_session_and_cannot_be_forged(
    client: TestClient, database: Database, program: ProgramConfig, member: str, two_stores: None
) -> None:
    sign_in(client, "cashier")
    choose(client, "SH002")
    remembered = client.cookies[STORE_COOKIE]
    assert remembered.startswith("SH002~")

    # a forged choice (another store, or a changed code) is ignored: the first store it is
    for forged in ("SH003~" + remembered.split("~")[1], "SH002~forged", "SH002", "~" * 300):
        client.cookies.set(STORE_COOKIE, forged)
        assert re.search(r'id="working-store">SH001<', client.get("/pos").text)

    # a new session does not inherit the old choice
    client.cookies.set(STORE_COOKIE, remembered)
    assert re.search(r'id="working-store">SH002<', client.get("/pos").text)
    sign_in(client, "cashier")
    assert re.search(r'id="working-store">SH001<', client.get("/pos").text)

    # and a store taken away from the account is no longer worked for
    choose(client, "SH002")
    with database.session_scope() as session:
        staff_service.update_user(
            session,
            program_id=program.id,
            username="cashier",
            stores=["SH001", "SH003"],
        )
    page = client.get("/pos").text
    assert re.search(r'id="working-store">SH001<', page)
    assert 'id="choose-store-SH002"' not in page


def test_staff_of_one_store_and_chain_wide_staff_see_no_picker(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "cashier")
    page = client.get("/pos").text
    assert 'id="store-menu"' not in page and 'id="store-picker"' not in page
    token = form_of(page, "identify-form")["csrf_token"]
    other = client.post(
        "/account/store", data={"csrf_token": token, "store": "SH002"}, follow_redirects=False
    )
    assert other.status_code == 403
    client.cookies.clear()
    sign_in(client, "owner")
    english(client)
    page = client.get("/admin/staff").text
    assert 'id="store-menu"' not in page
    before = table_contents(database)
    refused = client.post(
        "/account/store",
        data={
            "csrf_token": re.findall(r'name="csrf_token" value="([^"]+)"', page)[0],
            "store": "SH001",
        },
    )
    assert refused.status_code == 403 and "no store to choose" in refused.text
    forged = client.post("/account/store", data={"csrf_token": "forged", "store": "SH001"})
    assert forged.status_code == 403
    assert table_contents(database) == before
