"""Coupons and the tier discount at the till: scanned, previewed, posted, on the receipt."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.coupon.models import Coupon
from memberkit.db import Database
from memberkit.member.models import Member
from memberkit.order.models import Order
from memberkit.program.service import ProgramConfig
from tests.coupon.factories import grant_tier_discount, make_coupon, make_template
from tests.pos.test_views import form_of, sale_form, sign_in, till
from tests.rest import table_contents


def _coupon(database: Database, program: ProgramConfig, member_no: str, **terms: object) -> str:
    with database.session_scope() as session:
        holder = session.scalars(select(Member).where(Member.member_no == member_no)).one()
        template = make_template(session, program, name="十元券", **terms)
        return make_coupon(session, template, holder).code


def test_a_scanned_coupon_and_the_tier_discount_are_previewed_posted_and_on_the_receipt(
    client: TestClient, database: Database, program: ProgramConfig, member: str
) -> None:
    # given regular members pay 95 % and the member holds a ¥10.00 voucher
    with database.session_scope() as session:
        grant_tier_discount(session, program, rate=9500)
    code = _coupon(database, program, member, off_minor=1000)
    sign_in(client, "cashier")
    page = till(client, member)
    before = table_contents(database)

    # when the cashier scans it (in lower case, with dashes) on a ¥100.00 sale and previews
    scanned = f"{code[:5].lower()}-{code[5:]}"
    sent = sale_form(page, amount="100.00", coupons=scanned)
    preview = client.post("/pos/sale/preview", data=sent)

    # then ¥5.00 off for the tier and ¥10.00 for the coupon leave ¥85.00, nothing posted yet
    assert preview.status_code == 200, preview.text
    text = preview.text
    assert re.search(r'id="preview-lines">¥100.00<', text)
    assert re.search(r'id="preview-tier-discount">−¥5.00<', text)
    assert re.search(rf'data-code="{code}">−¥10.00<', text)
    assert re.search(r'id="preview-total">¥85.00<', text)
    assert re.search(r'id="preview-points-earned">85<', text)
    assert table_contents(database) == before

    # when they confirm
    posted = client.post("/pos/sale", data=form_of(text, "confirm-form"), follow_redirects=False)

    # then the order is posted with the coupon used, and the receipt shows the discounts
    assert posted.status_code == 303, posted.text
    with database.session_scope(read_only=True) as session:
        order = session.scalars(select(Order).where(Order.external_id.like("POS-%"))).one()
        assert (order.total_minor, order.tier_discount_minor, order.coupon_discount_minor) == (
            8500,
            500,
            1000,
        )
        used = session.scalars(select(Coupon).where(Coupon.code == code)).one()
        assert (used.status, used.order_id) == ("used", order.id)
    receipt = client.get(posted.headers["location"]).text
    assert re.search(r'id="receipt-lines-amount">¥100.00<', receipt)
    assert re.search(r'id="receipt-tier-discount">−¥5.00<', receipt)
    assert re.search(rf'data-code="{code}">−¥10.00<', receipt)
    assert re.search(r'id="receipt-total">¥85.00<', receipt)


def test_a_coupon_that_does_not_fit_is_said_on_the_page_and_changes_nothing(
    client: TestClient, database: Database, program: ProgramConfig, member: str
) -> None:
    code = _coupon(database, program, member, off_minor=1000, min_spend_minor=20000)
    sign_in(client, "cashier")
    page = till(client, member)
    before = table_contents(database)

    for path in ("/pos/sale/preview", "/pos/sale"):
        refused = client.post(path, data=sale_form(page, amount="100.00", coupons=code))

        assert refused.status_code == 409, refused.text
        assert re.search(r'id="sale-error">[^<]*' + code, refused.text)
    assert table_contents(database) == before


def test_a_refund_at_the_till_says_the_coupon_was_given_back(
    client: TestClient, database: Database, program: ProgramConfig, member: str
) -> None:
    code = _coupon(database, program, member, off_minor=1000)
    sign_in(client, "cashier")
    page = till(client, member)
    preview = client.post("/pos/sale/preview", data=sale_form(page, amount="100.00", coupons=code))
    posted = client.post(
        "/pos/sale", data=form_of(preview.text, "confirm-form"), follow_redirects=False
    )
    order_no = posted.headers["location"].rsplit("/", 1)[1]

    found = client.get(f"/pos/refund?order={order_no}").text
    done = client.post("/pos/refund", data={**form_of(found, "refund-form"), "how": "all"})

    assert done.status_code == 200, done.text
    assert re.search(r'id="refund-coupons-returned">[^<]*' + code, done.text)
