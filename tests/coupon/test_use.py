"""Orders with the tier discount and coupons: exact cents, refusals that change nothing, refunds."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from memberkit.coupon import use as coupon_use
from memberkit.coupon.models import Coupon, CouponTemplate, OrderCoupon
from memberkit.db import Database
from memberkit.errors import MemberkitError
from memberkit.events import OutboxEvent
from memberkit.kit.time import utcnow
from memberkit.member.models import Member
from memberkit.member.service import MemberRef
from memberkit.order import service as order_service
from memberkit.order.errors import PaymentsMismatch
from memberkit.order.models import Order, OrderLine
from memberkit.program.service import ProgramConfig
from memberkit.wallet import service as wallet_service
from tests.coupon.factories import grant_tier_discount, make_coupon, make_template
from tests.factories import make_member, make_store
from tests.factories import post_order as post_plain_order
from tests.rest import table_contents

_serial = itertools.count(1)
#: Two lines: 2 × ¥30.00 of coffee and 1 × ¥33.33 of cake (¥93.33 in all).
LINES = (("A1", "coffee", 2, 3000), ("B1", "cake", 1, 3333))


def lines_in(lines: tuple[tuple[str, str, int, int], ...] = LINES) -> list[order_service.LineIn]:
    return [
        order_service.LineIn(sku, sku, category, quantity, unit, quantity * unit)
        for sku, category, quantity, unit in lines
    ]


def post(
    database: Database,
    program: ProgramConfig,
    member: Member,
    *,
    pay: list[tuple[str, int]],
    coupons: tuple[str, ...] = (),
    lines: tuple[tuple[str, str, int, int], ...] = LINES,
    external_id: str | None = None,
    store_code: str | None = None,
    channel: str = "store",
    occurred_at: datetime | None = None,
) -> order_service.OrderResult:
    """Post an order in its own unit of work; ``pay``: (method, minor units, or points)."""
    payments = [
        order_service.PaymentIn("points", points=amount)
        if method == "points"
        else order_service.PaymentIn(method, amount)
        for method, amount in pay
    ]
    with database.session_scope() as session:
        return order_service.post_order(
            session,
            program=program,
            order=order_service.OrderIn(
                external_id=external_id or f"O-{next(_serial)}",
                member=MemberRef(member_no=member.member_no),
                store_code=store_code,
                channel=channel,
                occurred_at=occurred_at or utcnow(),
                lines=lines_in(lines),
                payments=payments,
                coupons=coupons,
            ),
        )


def refund(database: Database, order_external_id: str, **given: Any) -> order_service.RefundResult:
    with database.session_scope() as session:
        return order_service.post_refund(
            session,
            program=program_of(database),
            refund=order_service.RefundIn(
                external_id=f"R-{next(_serial)}",
                order_external_id=order_external_id,
                occurred_at=None,
                **given,
            ),
        )


def program_of(database: Database) -> ProgramConfig:
    from memberkit.program import service as program_service

    with database.session_scope(read_only=True) as session:
        return program_service.get(session)


def by_line(result: order_service.OrderResult) -> list[tuple[int, int, int, int, int]]:
    return [
        (d.line_no, d.amount_minor, d.tier_discount_minor, d.coupon_discount_minor, d.due_minor)
        for d in result.line_discounts
    ]


@pytest.fixture
def member(database: Database, program: ProgramConfig) -> Member:
    with database.session_scope() as session:
        found = make_member(session, program)
        session.expunge(found)
        return found


def coupon_of(
    database: Database, program: ProgramConfig, member: Member | None, **terms: Any
) -> str:
    """A coupon of a fresh template of ``terms`` (``coupon`` overrides of the coupon row)."""
    overrides = terms.pop("coupon", {})
    with database.session_scope() as session:
        template = make_template(session, program, **terms)
        holder = session.get(Member, member.id) if member is not None else None
        return make_coupon(session, template, holder, **overrides).code


def test_an_order_without_tier_discount_or_coupon_is_as_before(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    result = post(database, program, member, pay=[("cash", 9333)])

    assert (result.total_minor, result.discount_minor, result.line_discounts) == (9333, 0, ())
    assert result.points_earned == 93


def test_the_tier_discount_comes_off_every_line_and_payments_pay_the_due(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    # given regular members pay 95 %
    with database.session_scope() as session:
        grant_tier_discount(session, program, rate=9500)

    # when the member buys ¥93.33: 5 % is ¥4.66 (rounded down), spread by largest remainder
    result = post(database, program, member, pay=[("cash", 8867)])

    # then ¥88.67 is due and paid, and earns on what was paid
    assert (result.lines_minor, result.tier_discount_minor, result.total_minor) == (
        9333,
        466,
        8867,
    )
    assert by_line(result) == [(1, 6000, 300, 0, 5700), (2, 3333, 166, 0, 3167)]
    assert result.points_earned == 88
    with database.session_scope(read_only=True) as session:
        order = session.scalars(select(Order).where(Order.id == result.order_id)).one()
        lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).all()
        assert (order.total_minor, order.tier_discount_minor, order.coupon_discount_minor) == (
            8867,
            466,
            0,
        )
        assert sorted((x.amount_minor, x.tier_discount_minor) for x in lines) == [
            (3167, 166),
            (5700, 300),
        ]


def test_payments_adding_up_to_the_lines_and_not_the_due_are_refused_naming_the_due(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    with database.session_scope() as session:
        grant_tier_discount(session, program, rate=9500)
    before = table_contents(database)

    with pytest.raises(PaymentsMismatch) as refused:
        post(database, program, member, pay=[("cash", 9000)])

    assert refused.value.detail("en") == (
        "Payments add up to 90.00 but 88.67 is due: the lines' 93.33 less 4.66 of discounts."
    )
    assert table_contents(database) == before


def test_one_cash_coupon_is_spread_over_the_lines_and_marked_used(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    code = coupon_of(database, program, member, off_minor=1000)

    result = post(database, program, member, pay=[("wechat", 8333)], coupons=(code,))

    assert (result.coupon_discount_minor, result.total_minor) == (1000, 8333)
    assert by_line(result) == [(1, 6000, 0, 643, 5357), (2, 3333, 0, 357, 2976)]
    assert [(c.code, c.discount_minor, c.by_line) for c in result.coupons] == [
        (code, 1000, {1: 643, 2: 357})
    ]
    assert result.points_earned == 83
    with database.session_scope(read_only=True) as session:
        coupon = session.scalars(select(Coupon).where(Coupon.code == code)).one()
        template = session.get(CouponTemplate, coupon.template_id)
        use = session.scalars(select(OrderCoupon)).one()
        assert (coupon.status, coupon.order_id) == ("used", result.order_id)
        assert template is not None and template.discount_used_minor == 1000
        assert (use.discount_minor, use.taken_back_minor, use.by_line) == (
            1000,
            0,
            {"1": 643, "2": 357},
        )


def test_a_typed_code_is_read_forgivingly_and_an_imported_code_as_given(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    code = coupon_of(database, program, member, off_minor=100)
    partner = coupon_of(database, program, member, off_minor=100, coupon={"code": "mall-77"})
    typed = "-".join([code[:5].lower(), code[5:10], code[10:]])

    first = post(database, program, member, pay=[("cash", 9233)], coupons=(typed,))
    second = post(database, program, member, pay=[("cash", 9233)], coupons=(partner,))

    assert [c.code for c in first.coupons] == [code]
    assert [c.code for c in second.coupons] == ["mall-77"]


def test_stacked_coupons_apply_by_kind_after_the_tier_discount(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    # given 95 % for the tier, a 10 % off coupon and a ¥5.00 cash coupon that stack
    with database.session_scope() as session:
        grant_tier_discount(session, program, rate=9500)
    cash = coupon_of(database, program, member, off_minor=500, with_coupons=True)
    percent = coupon_of(
        database, program, member, kind="percent_off", percent_bp=1000, with_coupons=True
    )

    # when both are used: 4.66 tier, then 10 % of 88.67 (8.86), then 5.00
    result = post(database, program, member, pay=[("cash", 7481)], coupons=(cash, percent))

    assert (result.tier_discount_minor, result.coupon_discount_minor, result.total_minor) == (
        466,
        1386,
        7481,
    )
    assert [(c.code, c.discount_minor) for c in result.coupons] == [(percent, 886), (cash, 500)]
    assert by_line(result) == [(1, 6000, 300, 891, 4809), (2, 3333, 166, 495, 2672)]


def test_a_coupon_that_does_not_stack_with_the_tier_discount_replaces_it(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    with database.session_scope() as session:
        grant_tier_discount(session, program, rate=9500)
    code = coupon_of(database, program, member, off_minor=1000, with_tier_discount=False)

    result = post(database, program, member, pay=[("cash", 8333)], coupons=(code,))

    assert (result.tier_discount_minor, result.coupon_discount_minor) == (0, 1000)
    assert by_line(result) == [(1, 6000, 0, 643, 5357), (2, 3333, 0, 357, 2976)]


def test_points_pay_part_of_the_due_and_earn_nothing(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    # given the member holds 200 points (¥2.00 at 100 points to the yuan)
    post(database, program, member, pay=[("cash", 20000)], lines=(("X", "gift", 1, 20000),))
    code = coupon_of(database, program, member, off_minor=1000)

    # when ¥83.33 is due: 200 points pay ¥2.00, cash the rest
    result = post(database, program, member, pay=[("points", 200), ("cash", 8133)], coupons=(code,))

    # then points paid 200 and only the cash ¥81.33 earns
    assert (result.total_minor, result.points_paid, result.eligible_minor) == (8333, 200, 8133)
    assert result.points_earned == 81


def test_a_coupon_not_for_points_is_refused_when_points_pay(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    post(database, program, member, pay=[("cash", 20000)], lines=(("X", "gift", 1, 20000),))
    code = coupon_of(database, program, member, off_minor=1000, with_points=False)
    before = table_contents(database)

    with pytest.raises(coupon_use.CouponUnfit) as refused:
        post(database, program, member, pay=[("points", 200), ("cash", 8133)], coupons=(code,))

    assert refused.value.code == "coupon_not_with_points"
    assert table_contents(database) == before


def test_stored_value_pays_part_of_the_due(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    with database.session_scope() as session:
        wallet_service.recharge(
            session,
            program=program,
            member_no=member.member_no,
            external_id="RC-1",
            amount_minor=5000,
            method="cash",
            store_code=None,
            occurred_at=utcnow(),
        )
    code = coupon_of(database, program, member, off_minor=1000)

    result = post(
        database, program, member, pay=[("wallet", 5000), ("cash", 3333)], coupons=(code,)
    )

    assert (result.total_minor, result.wallet_principal_paid, result.eligible_minor) == (
        8333,
        5000,
        8333,
    )


def _refused(database: Database, action: Any) -> MemberkitError:
    before = table_contents(database)
    with pytest.raises(MemberkitError) as refused:
        action()
    assert table_contents(database) == before
    return refused.value


@pytest.mark.parametrize(
    ("terms", "order", "code"),
    [
        ({"coupon": {"valid_from": utcnow() + timedelta(days=1)}}, {}, "coupon_not_yet_valid"),
        ({"coupon": {"valid_until": utcnow() - timedelta(hours=1)}}, {}, "coupon_expired"),
        ({"scope": {"stores": ["SH002"]}}, {"store_code": "SH001"}, "coupon_not_for_store"),
        ({"scope": {"channels": ["online"]}}, {}, "coupon_not_for_channel"),
        ({"scope": {"categories": ["tea"]}}, {}, "coupon_no_eligible_line"),
        ({"kind": "amount_off", "threshold_minor": 10000}, {}, "coupon_below_minimum"),
        ({"min_spend_minor": 9334}, {}, "coupon_below_minimum"),
        ({"kind": "free_shipping"}, {}, "coupon_no_shipping"),
        ({"kind": "percent_off", "percent_bp": 1}, {"lines": (("A", "c", 1, 5000),)}, None),
    ],
)
def test_a_coupon_that_does_not_fit_refuses_the_order_and_changes_nothing(
    database: Database,
    program: ProgramConfig,
    member: Member,
    terms: dict[str, Any],
    order: dict[str, Any],
    code: str | None,
) -> None:
    with database.session_scope() as session:
        make_store(session, program, code="SH001")
    coupon = coupon_of(database, program, member, **terms)
    lines = order.get("lines", LINES)
    due = sum(quantity * unit for _s, _c, quantity, unit in lines)

    refusal = _refused(
        database,
        lambda: post(database, program, member, pay=[("cash", due)], coupons=(coupon,), **order),
    )

    assert isinstance(refusal, coupon_use.CouponUnfit)
    assert refusal.code == (code or "coupon_nothing_off")
    assert refusal.status == 409
    assert coupon in refusal.detail("en")
    assert refusal.detail("zh_CN") != refusal.detail("en")


def test_coupons_that_do_not_stack_are_refused_together(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    one = coupon_of(database, program, member, off_minor=100, with_coupons=True)
    other = coupon_of(database, program, member, off_minor=100)

    refusal = _refused(
        database,
        lambda: post(database, program, member, pay=[("cash", 9133)], coupons=(one, other)),
    )

    assert (refusal.code, refusal.params["code"]) == ("coupon_not_stackable", other)


def test_a_used_coupon_another_members_coupon_an_unknown_and_a_revoked_one_are_refused(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    code = coupon_of(database, program, member, off_minor=1000)
    post(database, program, member, pay=[("cash", 8333)], coupons=(code,))
    with database.session_scope() as session:
        other = make_member(session, program)
        session.expunge(other)
    theirs = coupon_of(database, program, other, off_minor=1000)
    revoked = coupon_of(database, program, member, off_minor=1000, coupon={"status": "revoked"})

    outcomes = [
        _refused(
            database,
            lambda named=named: post(  # type: ignore[misc]
                database, program, member, pay=[("cash", 8333)], coupons=(named,)
            ),
        )
        for named in (code, theirs, "NOSUCHCODE", revoked)
    ]

    assert [(e.code, e.status) for e in outcomes] == [
        ("coupon_used", 409),
        ("coupon_not_yours", 409),
        ("coupon_not_found", 404),
        ("coupon_revoked", 409),
    ]


def test_a_template_whose_budget_is_spent_refuses_the_order_and_changes_nothing(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    first = coupon_of(database, program, member, off_minor=1000, budget_minor=1500)
    post(database, program, member, pay=[("cash", 8333)], coupons=(first,))
    with database.session_scope() as session:
        template = session.scalars(select(CouponTemplate)).one()
        second = make_coupon(session, template, session.get(Member, member.id)).code

    refusal = _refused(
        database,
        lambda: post(database, program, member, pay=[("cash", 8333)], coupons=(second,)),
    )

    assert (refusal.code, refusal.status) == ("coupon_budget_spent", 409)


def _state(database: Database) -> tuple[Any, ...]:
    with database.session_scope(read_only=True) as session:
        order = session.scalars(select(Order)).all()[-1]
        use = session.scalars(select(OrderCoupon)).one()
        coupon = session.get(Coupon, use.coupon_id)
        template = session.get(CouponTemplate, use.template_id)
        assert coupon is not None and template is not None
        return (
            order.refunded_minor,
            order.tier_taken_back_minor,
            order.coupon_taken_back_minor,
            use.taken_back_minor,
            template.discount_used_minor,
            coupon.status,
            use.returned_at is not None,
        )


@pytest.mark.parametrize(
    "pieces",
    [
        [{}],
        [{"lines": {1: 1}}, {"lines": {1: 1}}, {"lines": {2: 1}}],
        [{"amount_minor": 1000}, {"amount_minor": 3333}, {}],
        [{"lines": {2: 1}}, {"amount_minor": 1}, {}],
    ],
)
def test_refunds_in_pieces_take_back_the_discounts_of_one_refund_and_give_the_coupon_back(
    database: Database, program: ProgramConfig, member: Member, pieces: list[dict[str, Any]]
) -> None:
    # given an order with 95 % for the tier and a ¥10.00 coupon (¥4.66 + ¥10.00 off ¥93.33)
    with database.session_scope() as session:
        grant_tier_discount(session, program, rate=9500)
    code = coupon_of(database, program, member, off_minor=1000)
    order = post(database, program, member, pay=[("cash", 7867)], coupons=(code,))
    assert (order.tier_discount_minor, order.coupon_discount_minor) == (466, 1000)

    # when it is refunded in pieces (the last returns all that is left)
    results = [refund(database, order.external_id, **piece) for piece in pieces]

    # then all the discounts are taken back, the budget is whole again, the coupon is back
    assert sum(r.amount_minor for r in results) == 7867
    assert sum(r.tier_taken_back_minor for r in results) == 466
    assert sum(r.coupon_taken_back_minor for r in results) == 1000
    assert [r.coupons_returned for r in results][-1] == (code,)
    assert _state(database) == (7867, 466, 1000, 1000, 0, "available", True)


def test_a_part_refund_takes_back_its_share_and_keeps_the_coupon_used(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    code = coupon_of(database, program, member, off_minor=1000)
    order = post(database, program, member, pay=[("cash", 8333)], coupons=(code,))

    result = refund(database, order.external_id, lines={1: 1})

    # one coffee of two: half of line 1's paid ¥53.57 and of its ¥6.43 off
    assert (result.amount_minor, result.coupon_taken_back_minor) == (2678, 321)
    assert result.coupons_returned == ()
    assert _state(database) == (2678, 0, 321, 321, 679, "used", False)


@pytest.mark.parametrize(("terms", "lapsed"), [({"return_on_refund": False}, False), ({}, True)])
def test_a_coupon_is_not_given_back_when_its_template_keeps_it_or_it_has_lapsed(
    database: Database,
    program: ProgramConfig,
    member: Member,
    terms: dict[str, Any],
    lapsed: bool,
) -> None:
    code = coupon_of(database, program, member, off_minor=1000, **terms)
    order = post(database, program, member, pay=[("cash", 8333)], coupons=(code,))

    with database.session_scope() as session:
        if lapsed:  # by the refund, the coupon's validity is over
            coupon = session.scalars(select(Coupon).where(Coupon.code == code)).one()
            coupon.valid_until = utcnow() - timedelta(seconds=1)
    result = refund(database, order.external_id)

    assert (result.coupon_taken_back_minor, result.coupons_returned) == (1000, ())
    assert _state(database) == (8333, 0, 1000, 1000, 0, "used", False)


def test_a_given_back_coupon_serves_another_order(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    code = coupon_of(database, program, member, off_minor=1000)
    first = post(database, program, member, pay=[("cash", 8333)], coupons=(code,))
    refund(database, first.external_id)

    again = post(database, program, member, pay=[("cash", 8333)], coupons=(code,))

    assert again.coupon_discount_minor == 1000
    with database.session_scope(read_only=True) as session:
        uses = session.scalars(select(OrderCoupon).order_by(OrderCoupon.id)).all()
        assert [(u.order_id, u.returned_at is not None) for u in uses] == [
            (first.order_id, True),
            (again.order_id, False),
        ]


def test_a_plain_order_after_an_earlier_one_still_earns_as_before(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    with database.session_scope() as session:
        held = session.get(Member, member.id)
        assert held is not None
        result = post_plain_order(session, program, held, amount_minor=6000)
    assert (result.total_minor, result.points_earned, result.discount_minor) == (6000, 60, 0)


def test_a_coupon_named_twice_even_typed_differently_is_refused(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    code = coupon_of(database, program, member, off_minor=1000, with_coupons=True)

    refusal = _refused(
        database,
        lambda: post(database, program, member, pay=[("cash", 7333)], coupons=(code, code.lower())),
    )

    assert (refusal.code, refusal.status) == ("coupon_named_twice", 422)


def test_the_order_posted_and_refunded_events_tell_the_discounts(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    with database.session_scope() as session:
        grant_tier_discount(session, program, rate=9500)
    code = coupon_of(database, program, member, off_minor=1000)
    order = post(database, program, member, pay=[("cash", 7867)], coupons=(code,))
    refund(database, order.external_id)

    with database.session_scope(read_only=True) as session:
        events = {
            e.type: e.payload for e in session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        }
    assert events["order.posted"]["discounts"] == {
        "lines_amount": "93.33",
        "tier_discount": "4.66",
        "coupon_discount": "10.00",
        "due_amount": "78.67",
        "coupons": [{"code": code, "discount": "10.00", "lines": {"1": "6.43", "2": "3.57"}}],
        "lines": [
            {
                "line_no": 1,
                "amount": "60.00",
                "tier_discount": "3.00",
                "coupon_discount": "6.43",
                "due": "50.57",
            },
            {
                "line_no": 2,
                "amount": "33.33",
                "tier_discount": "1.66",
                "coupon_discount": "3.57",
                "due": "28.10",
            },
        ],
    }
    refunded = events["order.refunded"]
    assert (
        refunded["tier_discount_taken_back"],
        refunded["coupon_discount_taken_back"],
        refunded["coupons_returned"],
    ) == ("4.66", "10.00", [code])
