"""Properties of the checkout over random carts: the order does what its preview said, and
refunds in pieces take back what one refund takes back."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.member.models import Member
from memberkit.member.service import MemberRef
from memberkit.order import checkout
from memberkit.order import service as order_service
from memberkit.program.service import ProgramConfig
from tests.coupon.factories import grant_tier_discount, make_coupon, make_template
from tests.factories import make_member

_serial = itertools.count(1)
CATEGORIES = ("coffee", "cake", "tea")

lines_strategy = st.lists(
    st.tuples(st.sampled_from(CATEGORIES), st.integers(1, 4), st.integers(0, 20_000)),
    min_size=1,
    max_size=4,
).filter(lambda lines: sum(q * unit for _c, q, unit in lines) > 0)
offer_strategy = st.one_of(
    st.builds(lambda off: {"kind": "cash", "off_minor": off}, st.integers(1, 5000)),
    st.builds(
        lambda bp, cap: {"kind": "percent_off", "percent_bp": bp, "cap_minor": cap},
        st.integers(1, 5000),
        st.one_of(st.none(), st.integers(1, 3000)),
    ),
    st.builds(
        lambda threshold, off: {
            "kind": "amount_off",
            "threshold_minor": threshold,
            "off_minor": off,
        },
        st.integers(0, 20_000),
        st.integers(1, 3000),
    ),
    st.builds(lambda: {"kind": "cash", "off_minor": 800, "scope": {"categories": ["tea"]}}),
)
coupons_strategy = st.lists(
    st.tuples(offer_strategy, st.booleans(), st.booleans()), min_size=0, max_size=3
)


def _lines(drawn: list[tuple[str, int, int]]) -> list[order_service.LineIn]:
    return [
        order_service.LineIn(f"S{n}", "", category, quantity, unit, quantity * unit)
        for n, (category, quantity, unit) in enumerate(drawn, start=1)
    ]


def _setup(
    database: Database, program: ProgramConfig, drawn: list[tuple[dict[str, Any], bool, bool]]
) -> str:
    """A fresh member holding coupons of ``drawn`` (terms, stacks with coupons, with tier)."""
    with database.session_scope() as session:
        member: Member = make_member(session, program)
        for terms, with_coupons, with_tier in drawn:
            template = make_template(
                session,
                program,
                with_coupons=with_coupons,
                with_tier_discount=with_tier,
                **terms,
            )
            make_coupon(session, template, member)
        return member.member_no


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=lines_strategy, drawn=coupons_strategy, rate=st.sampled_from([10_000, 9500, 8800]))
def test_the_order_posted_as_previewed_does_what_the_preview_said(
    database: Database,
    program: ProgramConfig,
    lines: list[tuple[str, int, int]],
    drawn: list[tuple[dict[str, Any], bool, bool]],
    rate: int,
) -> None:
    # given a member of a tier paying ``rate``, holding the drawn coupons
    with database.session_scope() as session:
        grant_tier_discount(session, program, rate=rate)
    member_no = _setup(database, program, drawn)
    at = utcnow()

    # when the cart is previewed (the best coupons chosen) and then posted with them
    with database.session_scope(read_only=True, rollback=True) as session:
        seen = checkout.preview(
            session,
            program=program,
            cart=checkout.CartIn(
                member=MemberRef(member_no=member_no),
                store_code=None,
                channel="store",
                occurred_at=at,
                lines=_lines(lines),
            ),
            now=at,
        )
    said = seen.order
    with database.session_scope() as session:
        done = order_service.post_order(
            session,
            program=program,
            order=order_service.OrderIn(
                external_id=f"P-{next(_serial)}",
                member=MemberRef(member_no=member_no),
                store_code=None,
                channel="store",
                occurred_at=at,
                lines=_lines(lines),
                payments=[order_service.PaymentIn("cash", said.total_minor)],
                coupons=tuple(coupon.code for coupon in said.coupons),
            ),
        )

    # then it took off, cost and earned exactly that, and nothing off is below nothing
    assert (done.tier_discount_minor, done.coupon_discount_minor, done.total_minor) == (
        said.tier_discount_minor,
        said.coupon_discount_minor,
        said.total_minor,
    )
    assert (done.coupons, done.line_discounts) == (said.coupons, said.line_discounts)
    assert (done.points_earned, done.growth_earned) == (said.points_earned, said.growth_earned)
    assert done.total_minor + done.discount_minor == sum(q * u for _c, q, u in lines)
    assert all(line.due_minor >= 0 for line in done.line_discounts)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    lines=lines_strategy,
    terms=offer_strategy,
    pieces=st.lists(st.integers(1, 10_000), min_size=1, max_size=4),
)
def test_refunds_in_pieces_take_back_what_one_refund_takes_back(
    database: Database,
    program: ProgramConfig,
    lines: list[tuple[str, int, int]],
    terms: dict[str, Any],
    pieces: list[int],
) -> None:
    # given two identical orders with the tier discount and one coupon each (every tier has
    # the discount: the first order may move the member up)
    with database.session_scope() as session:
        grant_tier_discount(session, program, rate=9500, every_tier=True)
    member_no = _setup(database, program, [(terms, False, True), (terms, False, True)])
    at = utcnow()
    orders = []
    for _n in range(2):
        with database.session_scope(read_only=True, rollback=True) as session:
            seen = checkout.preview(
                session,
                program=program,
                cart=checkout.CartIn(
                    member=MemberRef(member_no=member_no),
                    store_code=None,
                    channel="store",
                    occurred_at=at,
                    lines=_lines(lines),
                ),
                now=at,
            ).order
        with database.session_scope() as session:
            orders.append(
                order_service.post_order(
                    session,
                    program=program,
                    order=order_service.OrderIn(
                        external_id=f"Q-{next(_serial)}",
                        member=MemberRef(member_no=member_no),
                        store_code=None,
                        channel="store",
                        occurred_at=at,
                        lines=_lines(lines),
                        payments=[order_service.PaymentIn("cash", seen.total_minor)],
                        coupons=tuple(coupon.code for coupon in seen.coupons),
                    ),
                )
            )
    one, split = orders
    assert (one.tier_discount_minor, one.coupon_discount_minor) == (
        split.tier_discount_minor,
        split.coupon_discount_minor,
    )

    # when one is refunded at once and the other in pieces of its due (the last: all left)
    def refund(order: order_service.OrderResult, amount: int | None) -> Any:
        with database.session_scope() as session:
            return order_service.post_refund(
                session,
                program=program,
                refund=order_service.RefundIn(
                    external_id=f"R-{next(_serial)}",
                    order_external_id=order.external_id,
                    occurred_at=None,
                    amount_minor=amount,
                ),
            )

    whole = refund(one, None) if one.total_minor else None
    parts = []
    left = split.total_minor
    for piece in pieces:
        if left <= 1:
            break
        amount = min(piece, left - 1)
        parts.append(refund(split, amount))
        left -= amount
    if left:
        parts.append(refund(split, None))

    # then the pieces took back exactly the discounts the one refund took back: all of them
    if whole is not None:
        assert (whole.tier_taken_back_minor, whole.coupon_taken_back_minor) == (
            one.tier_discount_minor,
            one.coupon_discount_minor,
        )
        assert sum(p.tier_taken_back_minor for p in parts) == whole.tier_taken_back_minor
        assert sum(p.coupon_taken_back_minor for p in parts) == whole.coupon_taken_back_minor
        # the coupon is given back once the lines it discounted are all refunded (by one
        # piece or another), as the one refund gave it back
        returned = [code for part in parts for code in part.coupons_returned]
        assert len(returned) == len(whole.coupons_returned)
